"""The stack as AWS would deploy it, shared by the template tests (test_*.py here).

The template is expanded with SAM's own translator (the resources SAM generates, such as the
scheduler's role, are checked too), then each security and operations property the README
promises is asserted. cfn-lint and `sam validate --lint` run beside this (`make template-check`);
they miss time zones, runtimes and IAM breadth, which is why this exists.
"""

import json
import os
import re
from pathlib import Path

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
RAW = yaml_parse((ROOT / "template.yaml").read_text())


class _Policies:
    def load(self):
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        }


def _translated():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    doc = json.loads(json.dumps(RAW))
    # `sam build` replaces CodeUri with the built artefact; the translator wants an S3 URI.
    doc["Resources"]["ReportFunction"]["Properties"]["CodeUri"] = "s3://artefacts/fortiflex-lambda.zip"
    # `sam build` inlines the definition file the same way.
    machine = doc["Resources"]["ReportStateMachine"]["Properties"]
    machine["Definition"] = json.loads((ROOT / machine.pop("DefinitionUri")).read_text())
    return transform(doc, {"AWS::Region": "us-east-1"}, _Policies())


CFN = _translated()
RES = CFN["Resources"]


def of_type(kind):
    return {k: v for k, v in RES.items() if v["Type"] == kind}


def statements(role):
    """Every statement of the role's policies; a conditional one (Fn::If) as granted."""
    docs = [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
    for doc in docs:
        st = doc["Statement"]
        for one in st if isinstance(st, list) else [st]:
            yield one["Fn::If"][1] if "Fn::If" in one else one


def as_list(x):
    return x if isinstance(x, list) else [x]


FUNCTION = RES["ReportFunction"]["Properties"]
RAW_FUNCTION = RAW["Resources"]["ReportFunction"]
RAW_MACHINE = RAW["Resources"]["ReportStateMachine"]["Properties"]
ASL_TEXT = (ROOT / RAW_MACHINE["DefinitionUri"]).read_text()
ASL = json.loads(ASL_TEXT)
ERROR_KINDS = set(re.findall(r'=> "([A-Za-z]+)",', (ROOT / "src/error.rs").read_text()))
# Wildcard resources IAM allows no other way: callback task tokens, and CloudWatch Logs
# delivery for state machines.
UNSCOPED = {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat", "logs:CreateLogDelivery",
            "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups"}
