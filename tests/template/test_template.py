"""The SAM template's promises, checked on the template AWS would deploy (stack.py expands it).

Run: .venv-sam/bin/python -m unittest discover -s tests/template
"""

import json
import re
import unittest
import zoneinfo

from stack import (ASL, ASL_TEXT, CFN, ERROR_KINDS, FUNCTION, RAW, RAW_FUNCTION, RAW_MACHINE, RES, ROOT,
                   UNSCOPED, as_list, of_type, statements)


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

    def test_no_reserved_concurrency_and_room_for_a_backfill(self):
        # A reservation fails the first deploy on a new account (a concurrency quota of 10,
        # all of it the unreserved minimum): steps are single-file through the FIFO queue.
        for name, res in RES.items():
            self.assertNotIn("ReservedConcurrentExecutions", res.get("Properties", {}), name)
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
        # Its own executions only (ContinueAsNew), by the name the template gives it.
        own = actions.pop("states:StartExecution")["Fn::Sub"]
        self.assertTrue(own.endswith(":stateMachine:${AWS::StackName}-jobs"), own)
        self.assertEqual(RAW_MACHINE["Name"], {"Fn::Sub": "${AWS::StackName}-jobs"})
        self.assertLessEqual(set(actions), UNSCOPED)
        self.assertFalse([a for a in actions if a.startswith("lambda:")])

    def test_every_step_is_a_message_on_the_job_queue_answered_by_token(self):
        tasks = {n: st for n, st in ASL["States"].items() if st["Type"] == "Task" and n != "ContinueAsNew"}
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
            # A direct run holds the run lock for at most the function's timeout: waited out.
            (busy,) = [r for r in retries if "Busy" in r["ErrorEquals"]]
            self.assertGreaterEqual(busy["IntervalSeconds"] * busy["MaxAttempts"], FUNCTION["Timeout"] + 300)

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
        self.assertEqual(ASL["States"]["Chunk"]["Next"], "Count")
        self.assertEqual(ASL["States"]["Count"]["Next"], "Published?")
        targets = {c["Next"] for c in choice["Choices"]} | {choice["Default"]}
        self.assertEqual(targets, {"Finish", "ContinueAsNew", "WaitForBudget", "Chunk"})
        reply = (ROOT / "src/pipeline/job/mod.rs").read_text()
        for field in ("wait_seconds", "done", "cursor", "job"):
            self.assertIn(f"pub {field}:", reply)

    def test_a_long_job_continues_as_a_new_execution_well_before_the_history_limit(self):
        states = ASL["States"]
        (limit,) = [c["NumericGreaterThanEquals"] for c in states["Published?"]["Choices"]
                    if c["Next"] == "ContinueAsNew"]
        # A chunk's loop is about twelve events (task: six, count, choice, wait: two each);
        # retries add a few: half the 25,000 keeps room for them.
        self.assertLessEqual(limit * 12, 25000 // 2)
        self.assertEqual(states["Plan"]["ResultSelector"]["chunks"], 1)
        self.assertEqual(states["Count"]["Parameters"]["chunks.$"], "States.MathAdd($.chunks, 1)")
        cont = states["ContinueAsNew"]
        self.assertEqual(cont["Resource"], "arn:${Partition}:states:::states:startExecution")
        params = cont["Parameters"]
        self.assertEqual(params["StateMachineArn.$"], "$$.StateMachine.Id")
        # Named from this execution, never at random: a retried start is the same start.
        self.assertIn("States.Hash($$.Execution.Id", params["Name.$"])
        self.assertNotIn("UUID", params["Name.$"])
        self.assertEqual(params["Input"]["continued_from.$"], "$$.Execution.Id")
        self.assertEqual(params["Input"]["chunks"], 0)
        start = states[ASL["StartAt"]]
        self.assertEqual([(c["Variable"], c["Next"]) for c in start["Choices"]],
                         [("$.continued_from", "Published?")])
        self.assertEqual(start["Default"], "Plan")
        exists = "StepFunctions.ExecutionAlreadyExistsException"
        self.assertEqual(cont["Retry"][0], {"ErrorEquals": [exists], "MaxAttempts": 0})
        (caught,) = cont["Catch"]
        self.assertEqual((caught["ErrorEquals"], states[caught["Next"]]["Type"]), ([exists], "Succeed"))

    def test_the_queue_feeds_the_function_one_step_at_a_time(self):
        (mapping,) = of_type("AWS::Lambda::EventSourceMapping").values()
        p = mapping["Properties"]
        self.assertEqual((p["BatchSize"], p["FunctionName"]), (1, {"Ref": "ReportFunction"}))
        self.assertEqual(p["EventSourceArn"], {"Fn::GetAtt": ["JobQueue", "Arn"]})
        self.assertNotIn("ScalingConfig", p, "one message group: Lambda invokes one at a time")
        queue = RES["JobQueue"]["Properties"]
        self.assertEqual((queue["FifoQueue"], queue["ContentBasedDeduplication"]), (True, True))
        self.assertTrue(RES["JobDeadLetterQueue"]["Properties"]["FifoQueue"])
        for fifo in ("JobQueue", "JobDeadLetterQueue"):
            self.assertTrue(RES[fifo]["Properties"]["QueueName"]["Fn::Sub"].endswith(".fifo"), fifo)
        groups = {st["Parameters"]["MessageGroupId"] for st in ASL["States"].values()
                  if st.get("Resource", "").endswith("sqs:sendMessage.waitForTaskToken")}
        self.assertEqual(len(groups), 1, "every step in one message group")
        # An unanswered message blocks its group until visible again: back soon after the
        # function's end, not hours later.
        self.assertGreaterEqual(queue["VisibilityTimeout"], FUNCTION["Timeout"])
        self.assertLessEqual(queue["VisibilityTimeout"], FUNCTION["Timeout"] + 120)
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
        header = (ROOT / "tests/golden/walkthrough_daily.csv").read_text().splitlines()[0].split(",")
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
