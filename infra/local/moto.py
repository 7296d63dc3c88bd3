"""The local loop's S3 and Secrets Manager (a moto server on loopback).

    python infra/local/moto.py seed   # wait for moto and the simulator, create bucket + secret
    python infra/local/moto.py ls     # list what landed in the bucket

Reads the bucket, secret id and endpoint from infra/local/lambda.env, so the Lambda and this
script always agree.
"""

import json
import pathlib
import socket
import sys
import time
import urllib.parse

import boto3

ENV_FILE = pathlib.Path(__file__).with_name("lambda.env")

# The simulator's demo API user (see `fortiflex-report sim`): not a real credential.
DEMO_SECRET = {
    "fortiflex": {
        "api_username": "demo-api-user",
        "api_password": "demo-api-password",
        "program_serial_number": "ELAVMS0000123456",
        "account_id": 2321234,
    }
}


def env():
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def wait_for(url, what, seconds=60):
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((parts.hostname, parts.port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"{what} is not answering on {parts.hostname}:{parts.port}")
            time.sleep(0.2)


def clients(e):
    kw = dict(
        endpoint_url=e["AWS_ENDPOINT_URL"],
        region_name=e["AWS_REGION"],
        aws_access_key_id=e["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"],
    )
    return boto3.client("s3", **kw), boto3.client("secretsmanager", **kw)


def seed(e):
    wait_for(e["AWS_ENDPOINT_URL"], "moto server")
    wait_for(e["FORTIFLEX_API_URL"], "FortiFlex simulator", seconds=300)
    s3, sm = clients(e)
    bucket, secret = e["REPORT_BUCKET"], e["FORTIFLEX_SECRET_ID"]
    if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=bucket)
    try:
        sm.create_secret(Name=secret, SecretString=json.dumps(DEMO_SECRET))
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=secret, SecretString=json.dumps(DEMO_SECRET))
    print(f"s3://{bucket} and secret {secret} are ready on {e['AWS_ENDPOINT_URL']}")


def ls(e):
    s3, _ = clients(e)
    bucket = e["REPORT_BUCKET"]
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            count += 1
            print(f"{obj['Size']:>8}  s3://{bucket}/{obj['Key']}")
    print(f"{count} object(s)")


if __name__ == "__main__":
    commands = {"seed": seed, "ls": ls}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](env())
