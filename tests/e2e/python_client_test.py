"""The Python client against a real trailsentryd (started by python_client_e2e_test.sh).

Run with Debian's python3 (its python3-grpcio and python3-protobuf packages) and
PYTHONPATH=<build>/python. Environment: TS_TARGET, TS_TOKEN, TS_OTHER_TOKEN, TS_EXAMPLES.
"""

import glob
import json
import os
import unittest

from trailsentry_client import Client, Error, to_dict

TARGET = os.environ["TS_TARGET"]
TOKEN = os.environ["TS_TOKEN"]
OTHER = os.environ["TS_OTHER_TOKEN"]
EXAMPLES = os.environ["TS_EXAMPLES"]
CI_DEPLOYER = "arn:aws:iam::111122223333:user/ci-deployer"


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ts = Client(TARGET, token=TOKEN, timeout=10)
        path = glob.glob(os.path.join(EXAMPLES, "*.json"))[0]
        with open(path) as f:
            cls.records = json.load(f)["Records"]
        cls.first = cls.ts.evaluate(cls.records)

    def test_evaluate_returns_verdicts_and_the_alert(self):
        self.assertEqual(len(self.first.verdicts), len(self.records))
        self.assertEqual(self.first.accepted, 23)
        self.assertEqual(len(self.first.alerts), 1)
        alert = to_dict(self.first.alerts[0])["alert"]
        self.assertEqual(alert["ruleId"], "aws-discovery-cli-burst")
        self.assertEqual(alert["identity"], CI_DEPLOYER)
        self.assertEqual(alert["accessKeyIds"], ["AKIAQXZ5EXAMPLEKEY7"])
        self.assertEqual(alert["sourceIps"], ["185.220.101.47"])

    def test_rejections_name_the_field(self):
        r = self.ts.evaluate([{"eventName": "ListUsers"}, "not json"])
        self.assertEqual(r.rejected, 2)
        self.assertEqual(r.verdicts[0].reject_field, "eventSource")
        self.assertEqual(r.verdicts[1].reject_field, "raw_json")

    def test_records_of_several_accounts_keep_their_order(self):
        # One call per account (each with its shard header), verdicts merged
        # back into the records' order.
        def record(account, i):
            return {"eventVersion": "1.09", "eventTime": "2026-03-15T10:00:0%dZ" % i,
                    "eventSource": "s3.amazonaws.com", "eventName": "PutObject",
                    "eventID": "py-order-%s-%d" % (account, i), "sourceIPAddress": "198.51.100.9",
                    "userAgent": "Boto3/1.34.45", "recipientAccountId": account,
                    "userIdentity": {"type": "IAMUser", "accountId": account,
                                     "arn": "arn:aws:iam::%s:user/py" % account}}
        records = [record("111111111111", 1), record("222222222222", 2), {"eventName": "ListUsers"},
                   record("111111111111", 3)]
        r = self.ts.evaluate(records)
        self.assertEqual(len(r.verdicts), 4)
        self.assertEqual([v.reject_field for v in r.verdicts], ["", "", "eventSource", ""])
        self.assertEqual((r.accepted, r.rejected), (3, 1))

    def test_lookups_and_history(self):
        profile = self.ts.get_identity(CI_DEPLOYER)
        self.assertEqual(profile.identity, CI_DEPLOYER)
        self.assertGreaterEqual(len(profile.recent_alerts), 1)
        alerts = list(self.ts.list_alerts(rule_id="aws-discovery-cli-burst", limit=10))
        self.assertEqual(len(alerts), 1)
        self.assertEqual(alerts[0].identity, CI_DEPLOYER)
        self.assertEqual(list(self.ts.list_alerts(since="2030-01-01T00:00:00Z")), [])

    def test_errors_carry_the_status_code(self):
        with self.assertRaises(Error) as e:
            self.ts.get_identity("arn:aws:iam::111122223333:user/nobody")
        self.assertEqual(e.exception.code, "NOT_FOUND")
        with self.assertRaises(Error) as e:
            self.ts.add_known_network("10.0.0.1/8", identity=CI_DEPLOYER)
        self.assertEqual(e.exception.code, "INVALID_ARGUMENT")
        with self.assertRaises(Error) as e:
            Client(TARGET, token="wrong-token-000000000000", timeout=5).get_identity(CI_DEPLOYER)
        self.assertEqual(e.exception.code, "UNAUTHENTICATED")

    def test_tenants_are_separate(self):
        other = Client(TARGET, token=OTHER, timeout=5)
        with self.assertRaises(Error) as e:
            other.get_identity(CI_DEPLOYER)
        self.assertEqual(e.exception.code, "NOT_FOUND")

    def test_triage_feedback(self):
        self.assertEqual(self.ts.add_known_network("192.0.2.0/24", account_id="111122223333"),
                         "192.0.2.0/24")
        # Listed, renewed with an expiry, removed; broad prefixes need force.
        self.ts.add_known_network("192.0.2.0/24", account_id="111122223333",
                                  expires_at="2026-04-01T00:00:00Z")
        listed = self.ts.list_known_networks(account_id="111122223333")
        self.assertEqual([(n["network"], n.get("expiresAt")) for n in listed],
                         [("192.0.2.0/24", "2026-04-01T00:00:00Z")])
        with self.assertRaises(Error) as e:
            self.ts.add_known_network("0.0.0.0/0", account_id="111122223333")
        self.assertEqual(e.exception.code, "INVALID_ARGUMENT")
        self.assertEqual(self.ts.remove_known_network("192.0.2.0/24", account_id="111122223333"),
                         "192.0.2.0/24")
        self.assertEqual(self.ts.list_known_networks(account_id="111122223333"), [])
        with self.assertRaises(Error) as e:
            self.ts.remove_known_network("192.0.2.0/24", account_id="111122223333")
        self.assertEqual(e.exception.code, "NOT_FOUND")

    def test_triage_and_watch(self):
        alert_id = self.first.alerts[0].alert.alert_id
        with self.assertRaises(Error) as e:
            self.ts.update_alert(alert_id, status="RESOLVED")
        self.assertEqual(e.exception.code, "INVALID_ARGUMENT")
        resolved = self.ts.update_alert(alert_id, status="RESOLVED", disposition="TRUE_POSITIVE",
                                        assignee="soar", note="escalated", author="playbook")
        self.assertEqual(to_dict(resolved)["status"], "RESOLVED")
        self.assertEqual(to_dict(resolved)["notes"][0]["author"], "playbook")
        self.assertEqual(to_dict(self.ts.get_alert(alert_id))["disposition"], "TRUE_POSITIVE")
        self.assertEqual([a.alert_id for a in self.ts.list_alerts(status="RESOLVED")], [alert_id])
        self.assertEqual(
            [a.alert_id for a in self.ts.list_alerts(updated_since=resolved.updated_at.ToJsonString())],
            [alert_id])
        # The change log, from the start: the alert opening, then the triage.
        watch = self.ts.watch_alerts(after_sequence=0)
        kinds = []
        for change in watch:
            if change.alert.alert_id == alert_id:
                kinds.append(to_dict(change)["kind"])
            if change.sequence == resolved.change_sequence:
                break
        watch.close()
        self.assertEqual(kinds[0], "NEW")
        self.assertEqual(kinds[-1], "TRIAGED")

    def test_evaluate_file(self):
        path = glob.glob(os.path.join(EXAMPLES, "*.json"))[0]
        responses = list(self.ts.evaluate_file(path))
        self.assertEqual(sum(len(r.verdicts) for r in responses), 23)


if __name__ == "__main__":
    unittest.main(verbosity=2)
