"""`make preflight` (infra/preflight.py) against the local moto server, and a stand-in for
Lambda's GetAccountSettings, which moto does not answer (it serves the documented reply shape
over real HTTP).

Run: .venv/bin/python -m unittest discover -s tests/deploy
"""

import http.server
import json
import logging
import os
import pathlib
import socket
import subprocess
import sys
import threading
import unittest

import boto3
from moto.server import ThreadedMotoServer

ROOT = pathlib.Path(__file__).resolve().parents[2]
PREFLIGHT = ROOT / "infra" / "preflight.py"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AccountSettings(http.server.BaseHTTPRequestHandler):
    """Lambda's GET /2016-08-19/account-settings, with the limits the test sets."""

    limit = {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}

    def do_GET(self):
        if not self.path.startswith("/2016-08-19/account-settings"):
            self.send_error(404)
            return
        body = json.dumps({
            "AccountLimit": {"TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000,
                             "CodeSizeZipped": 52428800, **self.limit},
            "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Preflight(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        cls.moto_port, lambda_port = free_port(), free_port()
        cls.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=cls.moto_port)
        cls.moto.start()
        cls.lambda_server = http.server.ThreadingHTTPServer(("127.0.0.1", lambda_port), AccountSettings)
        threading.Thread(target=cls.lambda_server.serve_forever, daemon=True).start()
        cls.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{cls.moto_port}",
            "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{lambda_port}",
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }

    @classmethod
    def tearDownClass(cls):
        cls.lambda_server.shutdown()
        cls.moto.stop()

    def setUp(self):
        AccountSettings.limit = {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}

    def aws(self, service, region="us-east-1"):
        return boto3.client(service, region_name=region, endpoint_url=self.env["AWS_ENDPOINT_URL"],
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def preflight(self, *params):
        out = subprocess.run([sys.executable, str(PREFLIGHT), "--config", "", "--region", "us-east-1",
                              *params], env=self.env, capture_output=True, text=True, timeout=120)
        return out.returncode, out.stdout + out.stderr

    def test_a_new_accounts_concurrency_quota_of_10_passes(self):
        status, out = self.preflight()
        self.assertEqual(status, 0, out)
        self.assertIn("ok    Lambda concurrency: quota 10, 10 unreserved", out)
        self.assertIn("ok    Step Functions answers in us-east-1", out)
        self.assertIn("ok    EventBridge Scheduler answers in us-east-1", out)

    def test_concurrency_all_reserved_by_other_functions_fails_with_its_fix(self):
        AccountSettings.limit = {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 1}
        status, out = self.preflight()
        self.assertEqual(status, 1, out)
        self.assertIn("FAIL  Lambda concurrency: 1 of 10 unreserved", out)
        self.assertIn("L-B99A9384", out)

    def test_a_missing_existing_bucket_fails_with_its_fix(self):
        status, out = self.preflight("ExistingBucketName=no-such-reports-bucket")
        self.assertEqual(status, 1, out)
        self.assertIn("FAIL  ExistingBucketName no-such-reports-bucket: no such bucket", out)
        self.assertIn("-> create it in us-east-1 (private, versioned), or leave ExistingBucketName empty", out)
        self.assertIn("preflight: 4 passed, 1 failed", out)

    def test_a_bucket_in_another_region_fails_and_one_in_the_region_passes(self):
        self.aws("s3", "eu-west-1").create_bucket(
            Bucket="reports-in-ireland", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        status, out = self.preflight("ExistingBucketName=reports-in-ireland")
        self.assertEqual(status, 1, out)
        self.assertIn("is in eu-west-1, the stack in us-east-1", out)
        self.aws("s3").create_bucket(Bucket="reports-in-virginia")
        status, out = self.preflight("ExistingBucketName=reports-in-virginia")
        self.assertEqual(status, 0, out)

    def test_a_secret_under_a_customer_key_needs_secret_kms_key_arn(self):
        key = self.aws("kms").create_key(Description="partner secrets")["KeyMetadata"]["Arn"]
        arn = self.aws("secretsmanager").create_secret(
            Name="fortiflex/api-cmk", SecretString="{}", KmsKeyId=key)["ARN"]
        status, out = self.preflight(f"ExistingSecretArn={arn}")
        self.assertEqual(status, 1, out)
        self.assertIn(f"-> pass SecretKmsKeyArn={key} so the function may decrypt it", out)
        status, out = self.preflight(f"ExistingSecretArn={arn}", f"SecretKmsKeyArn={key}")
        self.assertEqual(status, 0, out)
        missing = arn.replace("api-cmk", "api-gone")
        status, out = self.preflight(f"ExistingSecretArn={missing}")
        self.assertEqual(status, 1, out)
        self.assertIn("ResourceNotFoundException", out)

    def test_samconfig_parameters_are_read(self):
        config = pathlib.Path(self.id().replace(".", "_") + ".toml")
        config = pathlib.Path("/tmp") / config
        config.write_text('version = 0.1\n[default.deploy.parameters]\nregion = "us-east-1"\n'
                          'parameter_overrides = "AlarmEmail=\\"ops@example.com\\" '
                          'ExistingBucketName=\\"no-such-reports-bucket\\""\n')
        out = subprocess.run([sys.executable, str(PREFLIGHT), "--config", str(config)], env=self.env,
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("no-such-reports-bucket: no such bucket", out.stdout)


if __name__ == "__main__":
    unittest.main()
