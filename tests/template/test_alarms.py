"""The stack's alarms: what each watches, where it goes, and its runbook entry.

Run: .venv-sam/bin/python -m unittest discover -s tests/template
"""

import json
import re
import unittest

from stack import CFN, RES, ROOT, of_type


class Alarms(unittest.TestCase):
    def setUp(self):
        self.alarms = of_type("AWS::CloudWatch::Alarm")

    def watching(self, namespace, metric):
        return [a["Properties"] for a in self.alarms.values()
                if a["Properties"].get("Namespace") == namespace
                and a["Properties"].get("MetricName") == metric]

    BUSINESS = {"RunwayAlarm", "AlertsAlarm", "TieoutAlarm", "BillingAlarm"}

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
            self.assertNotEqual(p.get("TreatMissingData"), "breaching",
                                f"{name}: silence before the first run would be an alarm")

    def test_every_alarm_watches_what_it_says(self):
        # alarm: (metric, statistic, missing data). What each watches, and that silence means
        # health except where silence is the failure.
        expected = {
            "FunctionErrorsAlarm": ("Errors", "Sum", "notBreaching"),
            "ThrottlesAlarm": ("Throttles", "Sum", "notBreaching"),
            "ScheduleDeadLetterAlarm": ("NumberOfMessagesSent", "Sum", "notBreaching"),
            "FailedInvocationAlarm": ("NumberOfMessagesSent", "Sum", "notBreaching"),
            "JobDeadLetterAlarm": ("ApproximateNumberOfMessagesVisible", "Maximum", "notBreaching"),
            "HeartbeatAlarm": ("ScheduledRunsSucceeded", "Sum", "missing"),
            "ExecutionsFailedAlarm": ("ExecutionsFailed", "Sum", "notBreaching"),
            "RefusedRepullsAlarm": ("RefusedRepulls", "Sum", "notBreaching"),
            "LostDaysAlarm": ("LostDays", "Sum", "notBreaching"),
            "RunwayAlarm": ("RunwayDays", "Minimum", "notBreaching"),
            "AlertsAlarm": ("Alerts", "Sum", "notBreaching"),
            "TieoutAlarm": ("Alerts", "Sum", "notBreaching"),
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

    def test_the_tieout_alarm_reads_its_own_kind(self):
        dims = {d["Name"]: d["Value"] for d in RES["TieoutAlarm"]["Properties"]["Dimensions"]}
        self.assertEqual(dims, {"Function": {"Ref": "ReportFunction"}, "Kind": "tieout"})
        kinds = (ROOT / "src/domain/alerts/mod.rs").read_text()
        self.assertIn('Kind::Tieout => "tieout"', kinds)

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

    def test_heartbeat_watches_the_scheduled_run_only_and_is_quiet_before_it(self):
        metrics_rs = (ROOT / "src/lambda/metrics.rs").read_text()
        namespace = re.search(r'pub const NAMESPACE: &str = "([^"]+)"', metrics_rs).group(1)
        self.assertIn('"ScheduledRunsSucceeded": u8::from(outcome.scheduled)', metrics_rs)
        (beat,) = self.watching(namespace, "ScheduledRunsSucceeded")
        self.assertFalse(self.watching("AWS/States", "ExecutionsSucceeded"), "backfills must not feed it")
        self.assertEqual(beat["Period"] * beat["EvaluationPeriods"], 26 * 3600)
        # Nothing to evaluate before the first run: INSUFFICIENT_DATA, never ALARM; after an OK,
        # silence turns it INSUFFICIENT_DATA, and that transition notifies.
        self.assertEqual(beat["TreatMissingData"], "missing")
        self.assertEqual(beat["InsufficientDataActions"], [{"Ref": "AlarmTopic"}])
        self.assertEqual(beat["ComparisonOperator"], "LessThanThreshold")
        self.assertEqual(beat["Dimensions"], [{"Name": "Function", "Value": {"Ref": "ReportFunction"}}])

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
        (alerts,) = [a for a in self.watching(namespace, "Alerts") if len(a["Dimensions"]) == 1]
        self.assertEqual((alerts["Threshold"], alerts["Statistic"]), (1, "Sum"))
        self.assertEqual(alerts["ComparisonOperator"], "GreaterThanOrEqualToThreshold")
        # The total (Function only), which the per-kind lines also feed.
        self.assertEqual(alerts["Dimensions"], [{"Name": "Function", "Value": {"Ref": "ReportFunction"}}])
        self.assertIn("alerts/", alerts["AlarmDescription"])
        env = RES["ReportFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["LOW_RUNWAY_DAYS"], {"Ref": "LowRunwayDays"})
        self.assertEqual(env["RATE_NOTICE_DAYS"], {"Ref": "RateNoticeDays"})
        self.assertEqual(env["ORGANIZATIONS"], {"Ref": "Organizations"})
        # The values the Lambda's settings take (src/config: off, company, unit).
        self.assertEqual(CFN["Parameters"]["Organizations"]["AllowedValues"], ["off", "company", "unit"])
        self.assertEqual(env["COMMITMENT_POINTS"], {"Ref": "CommitmentPoints"})
