"""Checks, with the deployer's credentials, what would make the first deploy or the first run
fail, and prints for each what to do. `make deploy` runs it before `sam deploy`; `make preflight`
runs it alone.

    python infra/preflight.py [--config infra/samconfig.toml] [--region R] [--stack NAME] [Key=Value ...]

The template's parameters come from the config's `parameter_overrides`, then from Key=Value
arguments. Exit 0 when nothing fails (warnings allowed), 1 otherwise. Only reads: it never
creates or changes anything.
"""

import argparse
import os
import shlex
import sys
import tomllib

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

OK, WARN, FAIL = "ok", "warn", "FAIL"


def code(e):
    return e.response.get("Error", {}).get("Code", "") if isinstance(e, ClientError) else type(e).__name__


class Preflight:
    def __init__(self, session, region, stack, params):
        self.session, self.region, self.stack, self.params = session, region, stack, params
        self.results = []

    def client(self, name):
        return self.session.client(name, region_name=self.region)

    def say(self, status, what, fix=""):
        self.results.append((status, what, fix))

    def run(self):
        if not self.identity():
            return self.results
        self.concurrency()
        self.service("stepfunctions", "Step Functions", lambda c: c.list_state_machines(maxResults=1))
        self.service("scheduler", "EventBridge Scheduler", lambda c: c.list_schedule_groups(MaxResults=1))
        self.previous_stack()
        if self.params.get("ExistingBucketName"):
            self.bucket(self.params["ExistingBucketName"])
        secrets = [("ExistingSecretArn", "the FortiFlex credentials")]
        if self.params.get("PushOnFinal", "false") == "true":
            secrets.append(("ExistingBillingSecretArn", "the billing credentials"))
        for param, what in secrets:
            if self.params.get(param):
                self.secret(param, self.params[param], what)
        return self.results

    def identity(self):
        try:
            who = self.client("sts").get_caller_identity()
        except (ClientError, BotoCoreError, NoCredentialsError) as e:
            self.say(FAIL, f"AWS credentials: {e}", "configure credentials for the target account "
                     "(aws configure, AWS_PROFILE or SSO), then run this again")
            return False
        self.say(OK, f"credentials of account {who['Account']} in {self.region}")
        return True

    def concurrency(self):
        try:
            limit = self.client("lambda").get_account_settings()["AccountLimit"]
        except (ClientError, BotoCoreError) as e:
            self.say(FAIL, f"Lambda account settings: {code(e) or e}",
                     "the deployer needs lambda:GetAccountSettings (and Lambda in this region)")
            return
        quota, free = limit["ConcurrentExecutions"], limit["UnreservedConcurrentExecutions"]
        # The stack reserves no concurrency (a reservation below the unreserved minimum is what
        # fails a first deploy on a new account); it runs one job step, and at times a direct
        # run, at once: two unreserved executions.
        if free < 2:
            self.say(FAIL, f"Lambda concurrency: {free} of {quota} unreserved",
                     "other functions reserve the rest: lower their reservations, or ask for more in "
                     "Service Quotas (Lambda, 'Concurrent executions', L-B99A9384)")
        elif quota <= 10:
            self.say(OK, f"Lambda concurrency: quota {quota}, {free} unreserved (a new account's); "
                     "enough: the stack reserves none and runs one step at a time")
        else:
            self.say(OK, f"Lambda concurrency: quota {quota}, {free} unreserved")

    def service(self, name, label, call):
        try:
            call(self.client(name))
            self.say(OK, f"{label} answers in {self.region}")
        except (ClientError, BotoCoreError) as e:
            self.say(FAIL, f"{label} in {self.region}: {code(e) or e}",
                     f"deploy to a region that offers {label}, and let the deployer list it")

    def previous_stack(self):
        try:
            (stack,) = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"]
        except ClientError:
            return  # no stack yet: the first deploy
        if stack["StackStatus"] == "ROLLBACK_COMPLETE":
            self.say(FAIL, f"stack {self.stack} is ROLLBACK_COMPLETE (a failed first deploy)",
                     f"delete it (aws cloudformation delete-stack --stack-name {self.stack}); its retained "
                     "bucket and secrets stay: pass them as ExistingBucketName and ExistingSecretArn")
        else:
            self.say(OK, f"stack {self.stack} is {stack['StackStatus']}")

    def bucket(self, name):
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as e:
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or code(e) in ("404", "NoSuchBucket"):
                self.say(FAIL, f"ExistingBucketName {name}: no such bucket",
                         f"create it in {self.region} (private, versioned), or leave ExistingBucketName "
                         "empty and the stack creates one")
            else:
                self.say(FAIL, f"ExistingBucketName {name}: not reachable ({code(e) or status})",
                         "it belongs to another account or its policy denies this one: use a bucket of "
                         "this account, or leave ExistingBucketName empty")
            return
        where = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        if where != self.region:
            self.say(FAIL, f"ExistingBucketName {name} is in {where}, the stack in {self.region}",
                     f"deploy the stack to {where}, or use a bucket in {self.region}")
        else:
            self.say(OK, f"ExistingBucketName {name} is reachable, in {self.region}")

    def secret(self, param, arn, what):
        region = arn.split(":")[3] if arn.count(":") >= 6 else ""
        if region and region != self.region:
            self.say(FAIL, f"{param} ({what}) is in {region}, the stack in {self.region}",
                     f"replicate the secret to {self.region} and pass that ARN, or deploy to {region}")
            return
        try:
            secret = self.client("secretsmanager").describe_secret(SecretId=arn)
        except ClientError as e:
            self.say(FAIL, f"{param} ({what}): {code(e)}",
                     "pass the secret's full ARN (with its 6-character suffix) from this account, or "
                     f"leave {param} empty and the stack creates one")
            return
        key = secret.get("KmsKeyId")
        if not key or key in ("alias/aws/secretsmanager",):
            self.say(OK, f"{param} ({what}) exists, encrypted with the AWS managed key")
            return
        try:
            meta = self.client("kms").describe_key(KeyId=key)["KeyMetadata"]
        except ClientError as e:
            self.say(FAIL, f"{param}: its KMS key {key} cannot be read ({code(e)})",
                     "let the deployer describe the key, or check that it still exists")
            return
        if meta.get("KeyManager") == "AWS":
            self.say(OK, f"{param} ({what}) exists, encrypted with an AWS managed key")
        elif meta.get("KeyState") != "Enabled":
            self.say(FAIL, f"{param}: its KMS key {meta['Arn']} is {meta.get('KeyState')}",
                     "enable the key (or re-encrypt the secret with an enabled one): the function "
                     "could not read the secret")
        elif self.params.get("SecretKmsKeyArn") != meta["Arn"]:
            self.say(FAIL, f"{param} is encrypted with the customer key {meta['Arn']}",
                     f"pass SecretKmsKeyArn={meta['Arn']} so the function may decrypt it")
        else:
            self.say(OK, f"{param} ({what}) exists; SecretKmsKeyArn grants its key")


def overrides(config):
    """The template parameters saved in a samconfig file, and its region."""
    if not config or not os.path.exists(config):
        return {}, None
    with open(config, "rb") as f:
        deploy = tomllib.load(f).get("default", {}).get("deploy", {}).get("parameters", {})
    params = {}
    raw = deploy.get("parameter_overrides", "")
    for item in shlex.split(raw) if isinstance(raw, str) else raw:
        key, _, value = item.partition("=")
        params[key] = value
    return params, deploy.get("region")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="infra/samconfig.toml")
    ap.add_argument("--region")
    ap.add_argument("--stack", default="fortiflex-reporter")
    ap.add_argument("params", nargs="*", help="Key=Value template parameters")
    args = ap.parse_args(argv)
    params, config_region = overrides(args.config)
    for item in args.params:
        key, _, value = item.partition("=")
        params[key] = value
    session = boto3.session.Session()
    region = args.region or config_region or session.region_name
    if not region:
        print("FAIL  no region: pass REGION=<region> (make deploy REGION=eu-west-1), or set AWS_REGION")
        return 1
    try:
        results = Preflight(session, region, args.stack, params).run()
    except NoRegionError:
        results = [(FAIL, "no region", "set AWS_REGION")]
    for status, what, fix in results:
        print(f"{status:<4}  {what}")
        if fix:
            print(f"      -> {fix}")
    failed = sum(1 for r in results if r[0] == FAIL)
    print(f"preflight: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
