"""The SAM template's promises, checked on the template AWS would deploy.

The template is expanded with SAM's own translator (the resources SAM generates, such as the
scheduler's role, are checked too), then each security and operations property the README
promises is asserted. cfn-lint and `sam validate --lint` run beside this (`make template-check`);
they miss time zones, runtimes and IAM breadth, which is why this exists.

Run: .venv-sam/bin/python -m unittest discover -s tests/template
"""

import json
import os
import re
import unittest
import zoneinfo
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


class Function(unittest.TestCase):
    def test_runtime_architecture_and_build(self):
        self.assertEqual(FUNCTION["Runtime"], "provided.al2023")
        self.assertEqual(FUNCTION["Architectures"], ["arm64"])
        self.assertEqual(FUNCTION["Handler"], "bootstrap")
        meta = RAW_FUNCTION["Metadata"]
        self.assertEqual(meta["BuildMethod"], "rust-cargolambda")
        binary = meta["BuildProperties"]["Binary"]
        cargo = (ROOT / "Cargo.toml").read_text()
        self.assertIn(f'name = "{binary}"', cargo, "the Binary SAM builds must be a [[bin]]")
        self.assertTrue((ROOT / "src/bin" / f"{binary}.rs").exists())

    def test_one_run_at_a_time_with_room_for_a_backfill(self):
        self.assertEqual(FUNCTION["ReservedConcurrentExecutions"], 1)
        # 366 daily calls + login and lists, at the 90 calls a minute the reporter keeps to.
        self.assertGreaterEqual(FUNCTION["Timeout"], (366 + 5) / 90 * 60 * 2)
        self.assertLessEqual(FUNCTION["Timeout"], 900)
        # `make bench`: about 60 MiB at 100,000 entitlements; 128 MB is twice that.
        self.assertGreaterEqual(FUNCTION["MemorySize"], 128)

    def test_json_logs_in_a_log_group_with_retention(self):
        logging = FUNCTION["LoggingConfig"]
        self.assertEqual(logging["LogFormat"], "JSON")
        self.assertEqual(logging["LogGroup"], {"Ref": "FunctionLogGroup"})
        group = RES["FunctionLogGroup"]["Properties"]
        self.assertEqual(group["RetentionInDays"], {"Ref": "LogRetentionDays"})

    def test_environment_carries_every_setting_the_lambda_needs(self):
        env = FUNCTION["Environment"]["Variables"]
        for name in ["REPORT_BUCKET", "REPORT_PREFIX", "FORTIFLEX_SECRET_ID", "REPORT_TIMEZONE",
                     "FORTIFLEX_END_DATE", "RESTATE_DAYS"]:
            self.assertIn(name, env)
        self.assertNotIn("S3_FORCE_PATH_STYLE", env, "path-style S3 is for local servers only")
        source = "".join(p.read_text() for p in (ROOT / "src/config").glob("*.rs"))
        for name in env:
            self.assertIn(f'"{name}"', source, f"{name} is set but the code never reads it")

    def test_default_timezone_is_a_real_zone(self):
        zoneinfo.ZoneInfo(RAW["Parameters"]["ReportTimezone"]["Default"])


class Schedule(unittest.TestCase):
    def setUp(self):
        (self.schedule,) = of_type("AWS::Scheduler::Schedule").values()
        self.props = self.schedule["Properties"]

    def test_six_in_the_morning_pacific(self):
        self.assertEqual(self.props["ScheduleExpressionTimezone"], "America/Los_Angeles")
        zoneinfo.ZoneInfo(self.props["ScheduleExpressionTimezone"])
        m = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", self.props["ScheduleExpression"])
        self.assertIsNotNone(m)
        self.assertEqual((m.group(1), m.group(2)), ("0", "6"))
        self.assertEqual(m.group(3, 4, 6), ("*", "*", "*"), "every day")

    def test_input_carries_the_scheduled_time_in_a_payload_the_handler_accepts(self):
        payload = json.loads(self.props["Target"]["Input"])
        self.assertEqual(payload, {"scheduled_time": "<aws.scheduler.scheduled-time>"})
        self.assertIn('pub scheduled_time: Option<String>', (ROOT / "src/lambda/payload.rs").read_text())

    def test_it_starts_the_state_machine(self):
        self.assertEqual(self.props["Target"]["Arn"], {"Ref": "ReportStateMachine"})
        self.assertNotIn("Events", FUNCTION, "the function is no longer scheduled itself")

    def test_retries_then_a_dead_letter_queue(self):
        target = self.props["Target"]
        self.assertGreaterEqual(target["RetryPolicy"]["MaximumRetryAttempts"], 1)
        self.assertEqual(target["DeadLetterConfig"]["Arn"], {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]})

    def test_schedule_name_is_per_stack(self):
        self.assertIn("AWS::StackName", json.dumps(self.props["Name"]))

    def test_async_invocations_retry_boundedly_then_go_to_a_queue(self):
        (config,) = of_type("AWS::Lambda::EventInvokeConfig").values()
        p = config["Properties"]
        self.assertLessEqual(p["MaximumRetryAttempts"], 2)
        on_failure = p["DestinationConfig"]["OnFailure"]["Destination"]
        self.assertEqual(on_failure, {"Fn::GetAtt": ["FailedInvocationQueue", "Arn"]})


class Bucket(unittest.TestCase):
    def setUp(self):
        self.bucket = RES["ReportBucket"]
        self.props = self.bucket["Properties"]

    def test_private_encrypted_versioned_and_retained(self):
        sse = self.props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        self.assertIn(sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"], ["AES256", "aws:kms"])
        block = self.props["PublicAccessBlockConfiguration"]
        self.assertEqual(
            block,
            {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
             "RestrictPublicBuckets": True},
        )
        self.assertEqual(self.props["OwnershipControls"]["Rules"], [{"ObjectOwnership": "BucketOwnerEnforced"}])
        self.assertEqual(self.props["VersioningConfiguration"]["Status"], "Enabled")
        self.assertEqual(self.bucket["DeletionPolicy"], "Retain")
        rules = self.props["LifecycleConfiguration"]["Rules"]
        self.assertTrue(any("NoncurrentVersionExpiration" in r for r in rules))

    def test_policy_denies_requests_without_tls(self):
        policy = RES["ReportBucketPolicy"]["Properties"]["PolicyDocument"]
        deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
        self.assertTrue(deny)
        self.assertEqual(deny[0]["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
        self.assertEqual(len(deny[0]["Resource"]), 2, "the bucket and its objects")

    def test_existing_bucket_and_secret_are_supported(self):
        self.assertEqual(self.bucket["Condition"], "CreateBucket")
        self.assertEqual(RES["ApiSecret"]["Condition"], "CreateSecret")

    def test_a_secrets_own_kms_key_decrypts_through_secrets_manager_only(self):
        kms = [st for st in statements(RES["ReportFunctionRole"]) if "kms:Decrypt" in as_list(st["Action"])]
        (st,) = kms
        self.assertEqual(st["Resource"], {"Ref": "SecretKmsKeyArn"})
        self.assertIn("secretsmanager.", json.dumps(st["Condition"]["StringEquals"]["kms:ViaService"]))
        self.assertEqual(RAW["Conditions"]["HasSecretKmsKey"],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": "SecretKmsKeyArn"}, ""]}]})

    def test_the_prefix_cannot_be_an_iam_wildcard(self):
        pattern = re.compile(RAW["Parameters"]["ReportPrefix"]["AllowedPattern"])
        self.assertTrue(pattern.match("fortiflex/partner-a"))
        for bad in ("fortiflex*", "*", "a/*/b", "a?"):
            self.assertIsNone(pattern.match(bad), bad)

    def test_placeholder_secret_has_the_credentials_shape(self):
        doc = json.loads(RES["ApiSecret"]["Properties"]["SecretString"])
        self.assertEqual(
            set(doc["fortiflex"]),
            {"api_username", "api_password", "program_serial_number", "account_id"},
        )


class Permissions(unittest.TestCase):
    def test_no_wildcard_actions_or_resources_in_any_role(self):
        roles = of_type("AWS::IAM::Role")
        self.assertGreaterEqual(len(roles), 2, "the function's role and the scheduler's")
        for name, role in roles.items():
            for st in statements(role):
                if st["Effect"] != "Allow":
                    continue
                for action in as_list(st["Action"]):
                    self.assertNotIn("*", action, f"{name}: {action}")
                for resource in as_list(st["Resource"]):
                    if resource == "*":
                        self.assertLessEqual(set(as_list(st["Action"])), UNSCOPED, f"{name}: {st}")
            managed = role["Properties"].get("ManagedPolicyArns", [])
            for arn in managed:
                self.assertTrue(arn.endswith("/AWSLambdaBasicExecutionRole"), f"{name}: {arn}")

    def test_the_function_reaches_only_its_prefix_and_its_secret(self):
        role = RES["ReportFunctionRole"]
        allowed = {}
        for st in statements(role):
            for action in as_list(st["Action"]):
                allowed.setdefault(action, []).append(st)
        self.assertEqual(
            set(allowed),
            {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "secretsmanager:GetSecretValue",
             "sqs:SendMessage", "s3:DeleteObject", "sqs:ReceiveMessage", "sqs:DeleteMessage",
             "sqs:GetQueueAttributes", "states:SendTaskSuccess", "states:SendTaskFailure",
             "states:SendTaskHeartbeat", "kms:Decrypt"},
        )
        deleting = json.dumps(allowed["s3:DeleteObject"][0]["Resource"])
        self.assertIn("/${ReportPrefix}/staging/*", deleting, "only a job's staging is ever deleted")
        self.assertIn('pub const STAGING: &str = "staging/";', (ROOT / "src/contract/keys.rs").read_text())
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage"):
            self.assertEqual(allowed[action][0]["Resource"], {"Fn::GetAtt": ["JobQueue", "Arn"]})
        objects = json.dumps(allowed["s3:PutObject"][0]["Resource"])
        self.assertIn("/${ReportPrefix}/*", objects)
        listing = allowed["s3:ListBucket"][0]
        self.assertIn("${ReportPrefix}/*", json.dumps(listing["Condition"]))
        secret = allowed["secretsmanager:GetSecretValue"][0]["Resource"]
        self.assertEqual(secret, {"Fn::If": ["CreateSecret", {"Ref": "ApiSecret"}, {"Ref": "ExistingSecretArn"}]})

    def test_the_billing_secret_is_readable_only_when_months_are_pushed(self):
        docs = [p["PolicyDocument"] for p in RES["ReportFunctionRole"]["Properties"]["Policies"]]
        conditional = [st for d in docs for st in d["Statement"]
                       if "Fn::If" in st and st["Fn::If"][0] == "PushesOnFinal"]
        self.assertEqual(len(conditional), 1)
        cond, billing, otherwise = conditional[0]["Fn::If"]
        self.assertEqual((cond, otherwise), ("PushesOnFinal", {"Ref": "AWS::NoValue"}))
        self.assertEqual(billing["Action"], "secretsmanager:GetSecretValue")
        self.assertEqual(billing["Resource"], {"Fn::If": ["CreateBillingSecret", {"Ref": "BillingSecret"},
                                                          {"Ref": "ExistingBillingSecretArn"}]})
        self.assertEqual(RES["BillingSecret"]["Condition"], "CreateBillingSecret")
        # The placeholder sets no target: nothing can be sent until it is filled in.
        doc = json.loads(RES["BillingSecret"]["Properties"]["SecretString"])
        self.assertEqual(doc, {"connectwise": None, "stripe": None, "webhook": None})
        env = FUNCTION["Environment"]["Variables"]
        self.assertEqual(env["PUSH_ON_FINAL"], {"Ref": "PushOnFinal"})
        self.assertEqual(env["BILLING_SECRET_ID"]["Fn::If"][0], "PushesOnFinal")
        self.assertEqual(RAW["Parameters"]["PushOnFinal"]["Default"], "false", "off unless asked")
        self.assertTrue(RAW["Parameters"]["BillingWebhookUrl"]["AllowedPattern"].startswith("^$|^https://"))


class Alarms(unittest.TestCase):
    def setUp(self):
        self.alarms = of_type("AWS::CloudWatch::Alarm")

    def watching(self, namespace, metric):
        return [a["Properties"] for a in self.alarms.values()
                if a["Properties"].get("Namespace") == namespace
                and a["Properties"].get("MetricName") == metric]

    BUSINESS = {"RunwayAlarm", "AlertsAlarm", "BillingAlarm"}

    def test_every_alarm_notifies_its_topic(self):
        for name, alarm in self.alarms.items():
            topic = "AlertTopic" if name in self.BUSINESS else "AlarmTopic"
            self.assertEqual(alarm["Properties"]["AlarmActions"], [{"Ref": topic}], name)
        self.assertEqual(RES["AlarmEmailSubscription"]["Condition"], "HasAlarmEmail")
        self.assertEqual(RES["AlertEmailSubscription"]["Condition"], "HasAlertEmail")

    def test_every_alarm_says_what_happened_and_has_a_runbook_entry(self):
        runbook = (ROOT / "docs/operations.md").read_text().split("## Alarms", 1)[1].split("\n## ", 1)[0]
        for name, alarm in self.alarms.items():
            self.assertIn(f"`{name}`", runbook, f"{name} has no runbook entry")
            p = alarm["Properties"]
            self.assertIn("TreatMissingData", p, name)
            if p.get("TreatMissingData") == "breaching":
                self.assertIn(name, {"HeartbeatAlarm"}, "only the heartbeat counts silence")

    def test_every_alarm_watches_what_it_says(self):
        # alarm: (metric, statistic, missing data). What each watches, and that silence means
        # health except where silence is the failure.
        expected = {
            "FunctionErrorsAlarm": ("Errors", "Sum", "notBreaching"),
            "ThrottlesAlarm": ("Throttles", "Sum", "notBreaching"),
            "ScheduleDeadLetterAlarm": ("NumberOfMessagesSent", "Sum", "notBreaching"),
            "FailedInvocationAlarm": ("NumberOfMessagesSent", "Sum", "notBreaching"),
            "JobDeadLetterAlarm": ("ApproximateNumberOfMessagesVisible", "Maximum", "notBreaching"),
            "HeartbeatAlarm": ("ExecutionsSucceeded", "Sum", "breaching"),
            "ExecutionsFailedAlarm": ("ExecutionsFailed", "Sum", "notBreaching"),
            "RefusedRepullsAlarm": ("RefusedRepulls", "Sum", "notBreaching"),
            "LostDaysAlarm": ("LostDays", "Sum", "notBreaching"),
            "RunwayAlarm": ("RunwayDays", "Minimum", "notBreaching"),
            "AlertsAlarm": ("Alerts", "Sum", "notBreaching"),
            "BillingAlarm": ("BillingDifferences", "Sum", "notBreaching"),
        }
        self.assertEqual(set(self.alarms), set(expected))
        for name, (metric, stat, missing) in expected.items():
            p = self.alarms[name]["Properties"]
            if "MetricName" in p:
                got = (p["MetricName"], p["Statistic"])
            else:
                stats = [m["MetricStat"] for m in p["Metrics"] if "MetricStat" in m]
                got = next(((s["Metric"]["MetricName"], s["Stat"]) for s in stats
                            if s["Metric"]["MetricName"] == metric), None)
            self.assertEqual(got, (metric, stat), name)
            self.assertEqual(p["TreatMissingData"], missing, name)

    def test_throttles(self):
        (throttles,) = self.watching("AWS/Lambda", "Throttles")
        self.assertEqual(throttles["Dimensions"][0]["Value"], {"Ref": "ReportFunction"})
        self.assertEqual((throttles["Statistic"], throttles["Threshold"]), ("Sum", 1))

    def test_function_errors(self):
        (errors,) = self.watching("AWS/Lambda", "Errors")
        self.assertEqual(errors["Dimensions"][0]["Value"], {"Ref": "ReportFunction"})

    def test_each_new_dead_letter_alarms_not_the_depth(self):
        # Scheduler and Lambda's destination send: NumberOfMessagesSent counts each message.
        sent = {json.dumps(a["Dimensions"][0]["Value"]) for a in self.watching("AWS/SQS", "NumberOfMessagesSent")}
        self.assertEqual(sent, {
            json.dumps({"Fn::GetAtt": ["ScheduleDeadLetterQueue", "QueueName"]}),
            json.dumps({"Fn::GetAtt": ["FailedInvocationQueue", "QueueName"]}),
        })
        # SQS's redrive does not count there: the job queue's dead letters alarm on the rise.
        jobs = self.alarms["JobDeadLetterAlarm"]["Properties"]
        (depth,) = [m for m in jobs["Metrics"] if "MetricStat" in m]
        self.assertEqual(depth["MetricStat"]["Metric"]["MetricName"], "ApproximateNumberOfMessagesVisible")
        self.assertEqual(depth["MetricStat"]["Metric"]["Dimensions"][0]["Value"],
                         {"Fn::GetAtt": ["JobDeadLetterQueue", "QueueName"]})
        (arrived,) = [m for m in jobs["Metrics"] if m.get("ReturnData")]
        self.assertIn("DIFF(", arrived["Expression"])
        self.assertEqual((jobs["Threshold"], jobs["ComparisonOperator"]), (0, "GreaterThanThreshold"))
        self.assertFalse(self.watching("AWS/SQS", "ApproximateNumberOfMessagesVisible"), "no depth alarm")

    def test_heartbeat_watches_the_jobs(self):
        (beat,) = self.watching("AWS/States", "ExecutionsSucceeded")
        self.assertEqual(beat["Period"] * beat["EvaluationPeriods"], 26 * 3600)
        self.assertEqual(beat["TreatMissingData"], "breaching")
        self.assertEqual(beat["ComparisonOperator"], "LessThanThreshold")
        self.assertEqual(beat["Dimensions"], [{"Name": "StateMachineArn", "Value": {"Ref": "ReportStateMachine"}}])

    def test_failed_and_timed_out_jobs(self):
        alarm = RES["ExecutionsFailedAlarm"]["Properties"]
        watched = {m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"]["Metric"]
                   for m in alarm["Metrics"] if "MetricStat" in m}
        self.assertEqual(set(watched), {"ExecutionsFailed", "ExecutionsTimedOut"})
        for metric in watched.values():
            self.assertEqual(metric["Namespace"], "AWS/States")
            self.assertEqual(metric["Dimensions"], [{"Name": "StateMachineArn", "Value": {"Ref": "ReportStateMachine"}}])
        (total,) = [m for m in alarm["Metrics"] if m.get("ReturnData", True)]
        self.assertIn("failed", total["Expression"])
        self.assertIn("timedout", total["Expression"])
        self.assertEqual((alarm["Threshold"], alarm["ComparisonOperator"]), (1, "GreaterThanOrEqualToThreshold"))

    def test_a_refused_re_pull_reaches_a_person(self):
        metrics_rs = (ROOT / "src/lambda/metrics.rs").read_text()
        namespace = re.search(r'pub const NAMESPACE: &str = "([^"]+)"', metrics_rs).group(1)
        self.assertIn('"RefusedRepulls"', metrics_rs)
        (alarm,) = self.watching(namespace, "RefusedRepulls")
        self.assertEqual(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold")
        self.assertEqual(alarm["Threshold"], 1)
        self.assertIn("force", alarm["AlarmDescription"])

    def test_a_lost_day_reaches_a_person(self):
        metrics_rs = (ROOT / "src/lambda/metrics.rs").read_text()
        namespace = re.search(r'pub const NAMESPACE: &str = "([^"]+)"', metrics_rs).group(1)
        self.assertIn('"LostDays"', metrics_rs)
        (alarm,) = self.watching(namespace, "LostDays")
        self.assertEqual((alarm["Threshold"], alarm["Statistic"]), (1, "Sum"))
        self.assertEqual(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold")
        self.assertEqual(alarm["TreatMissingData"], "notBreaching")
        self.assertIn("Lost days", alarm["AlarmDescription"])

    def test_a_pushed_month_that_differs_reaches_a_person(self):
        metrics_rs = (ROOT / "src/lambda/metrics.rs").read_text()
        namespace = re.search(r'pub const NAMESPACE: &str = "([^"]+)"', metrics_rs).group(1)
        self.assertIn('"BillingDifferences"', metrics_rs)
        (alarm,) = self.watching(namespace, "BillingDifferences")
        self.assertEqual(RES["BillingAlarm"]["Condition"], "PushesOnFinal")
        self.assertEqual((alarm["Threshold"], alarm["Statistic"]), (1, "Sum"))
        self.assertEqual(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold")
        self.assertEqual(alarm["TreatMissingData"], "notBreaching")
        self.assertIn("reconciliation", alarm["AlarmDescription"])

    def test_low_runway_and_new_alerts_reach_a_person(self):
        metrics_rs = (ROOT / "src/lambda/metrics.rs").read_text()
        namespace = re.search(r'pub const NAMESPACE: &str = "([^"]+)"', metrics_rs).group(1)
        for metric in ("RunwayDays", "Alerts"):
            self.assertIn(f'"{metric}"', metrics_rs)
        (runway,) = self.watching(namespace, "RunwayDays")
        self.assertEqual(runway["Threshold"], {"Ref": "LowRunwayDays"})
        self.assertEqual(runway["ComparisonOperator"], "LessThanThreshold")
        self.assertEqual(runway["Statistic"], "Minimum")
        self.assertIn("Buy points", json.dumps(runway["AlarmDescription"]))
        (alerts,) = self.watching(namespace, "Alerts")
        self.assertEqual((alerts["Threshold"], alerts["Statistic"]), (1, "Sum"))
        self.assertEqual(alerts["ComparisonOperator"], "GreaterThanOrEqualToThreshold")
        # The total (Function only), which the per-kind lines also feed.
        self.assertEqual(alerts["Dimensions"], [{"Name": "Function", "Value": {"Ref": "ReportFunction"}}])
        self.assertIn("alerts/", alerts["AlarmDescription"])
        env = RES["ReportFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["LOW_RUNWAY_DAYS"], {"Ref": "LowRunwayDays"})
        self.assertEqual(env["COMMITMENT_POINTS"], {"Ref": "CommitmentPoints"})


class StateMachine(unittest.TestCase):
    def test_standard_logged_and_its_definition_in_infra(self):
        machine = RES["ReportStateMachine"]["Properties"]
        self.assertEqual(RAW_MACHINE["Type"], "STANDARD")
        self.assertEqual(RAW_MACHINE["DefinitionUri"], "infra/statemachine.asl.json")
        logging = machine["LoggingConfiguration"]
        self.assertIn(logging["Level"], ("ERROR", "ALL"))
        self.assertFalse(logging["IncludeExecutionData"], "task tokens and inputs stay out of logs")
        self.assertEqual(logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"],
                         {"Fn::GetAtt": ["StateMachineLogGroup", "Arn"]})

    def test_substitutions_fill_every_placeholder(self):
        placeholders = set(re.findall(r"\$\{(\w+)\}", ASL_TEXT))
        self.assertEqual(placeholders, set(RAW_MACHINE["DefinitionSubstitutions"]))
        self.assertEqual(RAW_MACHINE["DefinitionSubstitutions"]["JobQueueUrl"], {"Ref": "JobQueue"})
        self.assertEqual(RAW_MACHINE["DefinitionSubstitutions"]["Partition"], {"Ref": "AWS::Partition"})

    def test_only_this_accounts_state_machine_assumes_its_role(self):
        (trust,) = RES["StateMachineRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(trust["Condition"]["StringEquals"]["aws:SourceAccount"], {"Ref": "AWS::AccountId"})
        self.assertIn("stateMachine:${AWS::StackName}-jobs", json.dumps(trust["Condition"]["ArnLike"]))

    def test_no_hard_coded_partition(self):
        text = (ROOT / "template.yaml").read_text() + ASL_TEXT
        self.assertEqual(re.findall(r'arn:aws:', text), [], "every ARN names ${AWS::Partition}")

    def test_its_role_uses_only_the_job_queue_and_invokes_nothing(self):
        self.assertEqual(RAW_MACHINE["Role"], {"Fn::GetAtt": ["StateMachineRole", "Arn"]})
        role = RES["StateMachineRole"]
        actions = {}
        for st in statements(role):
            for action in as_list(st["Action"]):
                actions[action] = st["Resource"]
        self.assertEqual(actions.pop("sqs:SendMessage"), {"Fn::GetAtt": ["JobQueue", "Arn"]})
        self.assertLessEqual(set(actions), UNSCOPED)
        self.assertFalse([a for a in actions if a.startswith("lambda:")])

    def test_every_step_is_a_message_on_the_job_queue_answered_by_token(self):
        tasks = {n: st for n, st in ASL["States"].items() if st["Type"] == "Task"}
        self.assertEqual(set(tasks), {"Plan", "Chunk", "Finish"})
        steps = re.findall(r"StepName::(\w+) =>", (ROOT / "src/lambda/handler.rs").read_text())
        for name, st in tasks.items():
            self.assertEqual(st["Resource"], "arn:${Partition}:states:::sqs:sendMessage.waitForTaskToken")
            self.assertEqual(st["Parameters"]["QueueUrl"], "${JobQueueUrl}")
            body = st["Parameters"]["MessageBody"]
            self.assertEqual(body["task_token.$"], "$$.Task.Token")
            self.assertEqual(body["step"], name.lower())
            self.assertIn(name, steps)
            self.assertLessEqual(st["TimeoutSeconds"], 86400)

    def test_transient_errors_retry_with_backoff_and_permanent_ones_fail_at_once(self):
        permanent = {"Authentication", "Configuration", "Credentials", "InvalidRequest", "Budget", "Customers",
                     "Billing"}
        self.assertLessEqual(permanent, ERROR_KINDS)
        for name in ("Plan", "Chunk", "Finish"):
            retries = ASL["States"][name]["Retry"]
            retried = {e for r in retries for e in r["ErrorEquals"]}
            self.assertLessEqual({"FortiFlex", "Storage"}, retried, name)
            self.assertFalse(retried & (permanent | {"States.ALL", "States.TaskFailed"}), name)
            for r in retries:
                self.assertLessEqual(set(r["ErrorEquals"]) - {"States.Timeout", "States.HeartbeatTimeout"},
                                     ERROR_KINDS, name)
            (transient,) = [r for r in retries if "FortiFlex" in r["ErrorEquals"]]
            self.assertGreater(transient["BackoffRate"], 1)
            self.assertGreaterEqual(transient["MaxAttempts"], 3)
            self.assertNotIn("Catch", ASL["States"][name], "a failed step fails the execution")

    def test_a_crashed_step_is_retried_within_minutes(self):
        handler = (ROOT / "src/lambda/handler.rs").read_text()
        every = int(re.search(r"HEARTBEAT_EVERY: Duration = Duration::from_secs\((\d+)\)", handler).group(1))
        for name in ("Plan", "Chunk", "Finish"):
            st = ASL["States"][name]
            self.assertLessEqual(st["HeartbeatSeconds"], 600, name)
            self.assertGreaterEqual(st["HeartbeatSeconds"], 3 * every, f"{name}: room for two missed beats")
            self.assertLess(st["HeartbeatSeconds"], st["TimeoutSeconds"], name)
            retried = {e for r in st["Retry"] for e in r["ErrorEquals"]}
            self.assertIn("States.HeartbeatTimeout", retried, name)
        answer = [st for st in statements(RES["ReportFunctionRole"]) if st.get("Sid") == "AnswerJobSteps"]
        self.assertIn("states:SendTaskHeartbeat", answer[0]["Action"])

    def test_the_budget_wait_comes_from_the_chunk(self):
        wait = ASL["States"]["WaitForBudget"]
        self.assertEqual((wait["Type"], wait["SecondsPath"], wait["Next"]), ("Wait", "$.wait_seconds", "Chunk"))
        choice = ASL["States"]["Published?"]
        self.assertEqual(ASL["States"]["Plan"]["Next"], "Published?")
        self.assertEqual(ASL["States"]["Chunk"]["Next"], "Published?")
        targets = {c["Next"] for c in choice["Choices"]} | {choice["Default"]}
        self.assertEqual(targets, {"Finish", "WaitForBudget", "Chunk"})
        reply = (ROOT / "src/pipeline/job/mod.rs").read_text()
        for field in ("wait_seconds", "done", "cursor", "job"):
            self.assertIn(f"pub {field}:", reply)

    def test_the_queue_feeds_the_function_one_step_at_a_time(self):
        (mapping,) = of_type("AWS::Lambda::EventSourceMapping").values()
        p = mapping["Properties"]
        self.assertEqual((p["BatchSize"], p["FunctionName"]), (1, {"Ref": "ReportFunction"}))
        self.assertEqual(p["EventSourceArn"], {"Fn::GetAtt": ["JobQueue", "Arn"]})
        queue = RES["JobQueue"]["Properties"]
        self.assertGreaterEqual(queue["VisibilityTimeout"], FUNCTION["Timeout"])
        self.assertEqual(queue["RedrivePolicy"]["deadLetterTargetArn"], {"Fn::GetAtt": ["JobDeadLetterQueue", "Arn"]})
        self.assertLessEqual(max(st["TimeoutSeconds"] for st in ASL["States"].values() if "TimeoutSeconds" in st),
                             24 * 3600)

    def test_leftover_staging_expires(self):
        rules = RES["ReportBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        (staging,) = [r for r in rules if r.get("Id") == "expire-job-staging"]
        self.assertEqual(staging["Prefix"], {"Fn::Sub": "${ReportPrefix}/staging/"})
        # It outlives the longest job the planner accepts, which reads its parts to its end.
        horizon = (ROOT / "src/pipeline/job/horizon.rs").read_text()
        longest = int(re.search(r"pub\(super\) const MAX_JOB_DAYS: u64 = (\d+);", horizon).group(1))
        expiry = int(re.search(r"pub\(super\) const STAGING_EXPIRY_DAYS: u64 = (\d+);", horizon).group(1))
        self.assertEqual(staging["ExpirationInDays"], expiry)
        self.assertGreaterEqual(staging["ExpirationInDays"], longest + 2)
        self.assertLessEqual(staging["ExpirationInDays"], 31, "a stopped job's leftovers still go")


class Athena(unittest.TestCase):
    def test_table_over_daily_csv_with_projection(self):
        table = RES["DailyConsumptionTable"]["Properties"]["TableInput"]
        params = table["Parameters"]
        self.assertEqual(params["projection.enabled"], "true")
        self.assertEqual(params["projection.dt.type"], "date")
        self.assertEqual(params["projection.dt.format"], "yyyy-MM-dd")
        # In Fn::Sub, ${!dt} is the literal ${dt} that Athena's projection fills in.
        self.assertIn("/${ReportPrefix}/daily/csv/dt=${!dt}/", json.dumps(params["storage.location.template"]))
        self.assertEqual(params["skip.header.line.count"], "1")
        self.assertEqual(table["PartitionKeys"], [{"Name": "dt", "Type": "string"}])

    def test_columns_are_the_contract_csv_header(self):
        header = (ROOT / "tests/golden/demo_daily.csv").read_text().splitlines()[0].split(",")
        columns = RES["DailyConsumptionTable"]["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
        self.assertEqual([c["Name"] for c in columns], header)


    def test_statement_table_reads_only_the_per_customer_csvs_by_month(self):
        table = RES["StatementLinesTable"]["Properties"]["TableInput"]
        params = table["Parameters"]
        self.assertEqual(params["projection.enabled"], "true")
        self.assertEqual((params["projection.month.type"], params["projection.month.format"]), ("date", "yyyy-MM"))
        self.assertEqual(params["projection.month.interval.unit"], "MONTHS")
        self.assertIn(
            "/${ReportPrefix}/statements/month=${!month}/customers/",
            json.dumps(params["storage.location.template"]),
        )
        self.assertEqual(table["PartitionKeys"], [{"Name": "month", "Type": "string"}])
        # The contract's statement columns; the CSV's own month column is renamed so it does
        # not clash with the partition key.
        contract = ["month", "customer_id", "customer_name", "account_id", "serial_number", "config_id",
                    "config_name", "product_type", "description", "days_billed", "points",
                    "price_per_point", "currency", "amount"]
        src = (ROOT / "src/contract/statement.rs").read_text()
        self.assertIn(",\n".join(f'    "{c}"' for c in contract), src)
        names = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
        self.assertEqual(names, ["statement_month"] + contract[1:])


class Outputs(unittest.TestCase):
    def test_what_an_operator_needs(self):
        self.assertLessEqual(
            {"ReportBucketName", "ReportPrefix", "FunctionName", "SecretArn", "AthenaTable", "StatementTable",
             "StateMachineArn"},
            set(CFN["Outputs"]),
        )


if __name__ == "__main__":
    unittest.main()
