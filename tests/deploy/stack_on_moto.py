"""The template's stack created on a moto server by moto's CloudFormation, as far as moto
implements it; prints what the stack made, as JSON, for the test that then runs the scheduled
job against it (tests/it/jobs/stack.rs).

    .venv/bin/python tests/deploy/stack_on_moto.py ENDPOINT STACK_NAME

AWS applies the `AWS::Serverless-2016-10-31` transform, not moto: the template is expanded first
with SAM's own translator (tests/template/stack.py, in .venv-sam). Lambda's poller is switched
off (the event source mapping disabled): moto runs no function code, and the test stands in for
the poller, handing each job-queue message to the real handler.
"""

import io
import json
import pathlib
import subprocess
import sys
import time
import urllib.request
import zipfile

import boto3
from botocore.exceptions import ClientError

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTEFACTS = "artefacts"  # where tests/template/stack.py points the function's code


def expanded():
    code = ("import json, sys; sys.path.insert(0, 'tests/template'); "
            "from stack import CFN; print(json.dumps(CFN))")
    out = subprocess.run([str(ROOT / ".venv-sam/bin/python"), "-c", code], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return out.stdout


def main(endpoint, name):
    kw = dict(region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="test",
              aws_secret_access_key="test")
    s3, cf = boto3.client("s3", **kw), boto3.client("cloudformation", **kw)
    try:
        s3.create_bucket(Bucket=ARTEFACTS)
    except ClientError:
        pass  # another test made it
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")  # moto stores the code; it never runs it
    s3.put_object(Bucket=ARTEFACTS, Key="fortiflex-lambda.zip", Body=code.getvalue())

    template = expanded()
    declared = {k: v["Type"] for k, v in json.loads(template)["Resources"].items()}
    cf.create_stack(StackName=name, TemplateBody=template,
                    Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    for _ in range(240):
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("IN_PROGRESS"):
            break
        time.sleep(0.25)
    resources = cf.list_stack_resources(StackName=name)["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources}
    # moto answers CREATE_COMPLETE for a type it does not implement, and creates nothing.
    placeholders = sorted({t for k, t in declared.items() if not physical.get(k)})

    # moto's CloudFormation creates state machines where its interpreter does not look (the
    # interpreter keeps its own), and ignores DefinitionSubstitutions, which AWS applies. The one
    # the stack made is created again there under the same name once execution is on, with the
    # stack's substitutions applied as AWS would (each a Ref to a resource of the stack).
    # The definition is the one `sam build` inlines (infra/statemachine.asl.json), read here
    # rather than from moto, which may already route reads to its interpreter.
    sfn = boto3.client("stepfunctions", **kw)
    definition = (ROOT / "infra" / "statemachine.asl.json").read_text()
    role = boto3.client("iam", **kw).get_role(RoleName=physical["StateMachineRole"])["Role"]["Arn"]
    made = {"name": physical["ReportStateMachine"].rsplit(":", 1)[1], "roleArn": role}
    machine = json.loads(template)["Resources"]["ReportStateMachine"]["Properties"]
    for key, value in machine.get("DefinitionSubstitutions", {}).items():
        ref = value["Ref"]
        definition = definition.replace("${%s}" % key, "aws" if ref == "AWS::Partition" else physical[ref])
    config = urllib.request.Request(f"{endpoint}/moto-api/config", method="POST",
                                    data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                                    headers={"Content-Type": "application/json"})
    urllib.request.urlopen(config).read()
    try:
        sfn.create_state_machine(name=made["name"], definition=definition, roleArn=made["roleArn"])
    except ClientError as e:
        if "AlreadyExists" not in str(e):
            raise

    lam = boto3.client("lambda", **kw)
    function = lam.get_function_configuration(FunctionName=physical["ReportFunction"])
    lam.update_event_source_mapping(UUID=physical["JobQueueMapping"], Enabled=False)
    print(json.dumps({
        "status": stack["StackStatus"],
        "resources": len(resources),
        "not_created": placeholders,
        "bucket": physical["ReportBucket"],
        "queue_url": physical["JobQueue"],
        "dead_letter_url": physical["JobDeadLetterQueue"],
        "state_machine": physical["ReportStateMachine"],
        "definition": json.loads(definition),
        "function_env": function["Environment"]["Variables"],
        "reserved_concurrency": lam.get_function_concurrency(
            FunctionName=physical["ReportFunction"]).get("ReservedConcurrentExecutions"),
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
