"""The local loop's state machine: the template's definition on moto's Step Functions
interpreter, with the function under `make watch` doing every step.

    python infra/local/jobs.py backfill START END   # a backfill job, START..END (YYYY-MM-DD)
    python infra/local/jobs.py retained             # every day FortiFlex still holds

moto runs no Lambda code, so this script stands in for Lambda's SQS event source mapping: it
receives the job queue's messages one at a time and invokes the watched function with each,
as the one-record SQS event Lambda would deliver, until the execution ends. The function
answers the task token itself (SendTaskSuccess / SendTaskFailure), as in AWS.
"""

import importlib.util
import json
import os
import pathlib
import sys
import time
import urllib.request
import uuid

import boto3

HERE = pathlib.Path(__file__).parent
# infra/local/moto.py, beside this file (its name would shadow the moto package on import).
_spec = importlib.util.spec_from_file_location("local_moto", HERE / "moto.py")
local = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(local)
ROOT = HERE.parent.parent
DEFINITION = ROOT / "infra" / "statemachine.asl.json"
LAMBDA_URL = "http://127.0.0.1:{port}/2015-03-31/functions/fortiflex-lambda/invocations"


def machine(e):
    endpoint = e["AWS_ENDPOINT_URL"]
    config = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(config).read()
    kw = dict(
        endpoint_url=endpoint,
        region_name=e["AWS_REGION"],
        aws_access_key_id=e["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=e["AWS_SECRET_ACCESS_KEY"],
    )
    sfn, sqs = boto3.client("stepfunctions", **kw), boto3.client("sqs", **kw)
    # FIFO with one message group, as template.yaml's JobQueue: one step at a time.
    queue = sqs.create_queue(
        QueueName="fortiflex-reporter-jobs.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    definition = DEFINITION.read_text().replace("${JobQueueUrl}", queue).replace("${Partition}", "aws")
    name = "fortiflex-reporter-jobs"
    existing = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == name]
    if existing:
        sfn.update_state_machine(stateMachineArn=existing[0], definition=definition)
        arn = existing[0]
    else:
        arn = sfn.create_state_machine(
            name=name, definition=definition, roleArn="arn:aws:iam::123456789012:role/local-jobs"
        )["stateMachineArn"]
    return sfn, sqs, queue, arn


def run(e, job_input, port):
    sfn, sqs, queue, arn = machine(e)
    execution = sfn.start_execution(
        stateMachineArn=arn, name=f"local-{uuid.uuid4().hex[:12]}", input=json.dumps(job_input)
    )["executionArn"]
    print(f"started {execution} with {json.dumps(job_input)}")
    while True:
        d = sfn.describe_execution(executionArn=execution)
        if d["status"] != "RUNNING":
            print(f"{d['status']}: {d.get('output') or d.get('error') or ''}")
            return 0 if d["status"] == "SUCCEEDED" else 1
        for m in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []):
            step = json.loads(m["Body"])["step"]
            event = {"Records": [{"messageId": m["MessageId"], "eventSource": "aws:sqs", "body": m["Body"]}]}
            invoke = urllib.request.Request(
                LAMBDA_URL.format(port=port), data=json.dumps(event).encode(), method="POST"
            )
            reply = json.loads(urllib.request.urlopen(invoke, timeout=900).read() or b"{}")
            if "errorType" in reply:
                sys.exit(f"the function failed on a {step} message: {reply}")
            for done in reply.get("steps", []):
                print(f"  {step}: {json.dumps(done.get('reply') or done.get('error_type') or 'done')}")
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        time.sleep(0.1)


if __name__ == "__main__":
    port = int(os.environ.get("LAMBDA_PORT", "9000"))
    args = sys.argv[1:]
    if args[:1] == ["backfill"] and len(args) == 3:
        job = {"start_date": args[1], "end_date": args[2]}
    elif args == ["retained"]:
        job = {"retained": True}
    else:
        sys.exit(__doc__)
    sys.exit(run(local.env(), job, port))
