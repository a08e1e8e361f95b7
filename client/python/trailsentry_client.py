"""trailsentry_client: a small Python client for trailsentry, for SOAR playbooks.

Wraps the generated gRPC stubs (trailsentry/v1/*_pb2*.py, generated from protos/
and shipped in this package: `pip install client/python`) with plain methods:

    from trailsentry_client import Client
    ts = Client("127.0.0.1:50051", token=os.environ["TRAILSENTRY_TOKEN"])
    response = ts.evaluate([record_json_string, ...])
    for change in response.alerts:
        print(change.kind, change.alert.identity, list(change.alert.access_key_ids))
    profile = ts.get_identity("arn:aws:iam::111122223333:user/ci-deployer")
    for alert in ts.list_alerts(rule_id="aws-discovery-cli-burst", limit=50): ...
    ts.add_known_network("203.0.113.0/24", identity="arn:...")   # triage feedback

Errors are raised as trailsentry_client.Error with the gRPC status code name
(e.g. "NOT_FOUND", "UNAUTHENTICATED", "INVALID_ARGUMENT") and the server's message.
"""

import json
from datetime import datetime, timezone

import grpc
from google.protobuf import json_format

from trailsentry.v1 import alert_pb2, detection_pb2, detection_pb2_grpc, event_pb2

__all__ = ["Client", "Error", "PartialError", "to_dict", "record_account"]

# The header a proxy in front of account-sharded replicas routes on
# (docs/operations.md, "Scaling out"): the account a call's events or lookup
# belong to.
SHARD_HEADER = "x-trailsentry-shard"


# Every Detection call may be sent twice (re-evaluating a batch changes nothing,
# docs/spec.md §4): UNAVAILABLE (a server restarting or draining) is retried at
# 0.25, 0.5, 1 and 2 s, and with wait_for_ready calls wait (up to their timeout)
# while the server cannot be reached, as with the C++ client.
def _service_config(wait_for_ready):
    return json.dumps({
        "methodConfig": [{
            "name": [{"service": "trailsentry.v1.Detection"}],
            "waitForReady": bool(wait_for_ready),
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.25s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }]
    })


class Error(Exception):
    """A failed call: .code is the gRPC status code name, .message the server's text."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PartialError(Error):
    """Some accounts of an evaluate() failed (their replica is down, say) and the
    others were evaluated. .response is the merged EvaluateResponse, with the
    failed accounts' records REJECTED (reject_field "account", the error as
    reason); .failed maps each failed account to its Error."""

    def __init__(self, response, failed):
        first = next(iter(failed.values()))
        super().__init__(first.code, "accounts not evaluated: " + "; ".join(
            f"{account or '(none)'}: {e}" for account, e in failed.items()))
        self.response = response
        self.failed = failed


def _arn_account(arn):
    parts = arn.split(":", 5)
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


def identity_account(identity):
    """The account of an identity key: its ARN's, or the part before the first
    ':' of a key composed as "account:principalId"."""
    if identity.startswith("arn:"):
        return _arn_account(identity)
    return identity.split(":", 1)[0]


def record_account(record):
    """The account a CloudTrail record (dict or JSON string) is routed by, as the
    server reads it: userIdentity.accountId, else the ARN's account, else
    recipientAccountId (EventBridge envelopes unwrapped). "" when none."""
    if isinstance(record, str):
        try:
            record = json.loads(record)
        except ValueError:
            return ""
    if not isinstance(record, dict):
        return ""
    if isinstance(record.get("detail"), dict) and "detail-type" in record:
        record = record["detail"]
    identity = record.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
    for account in (identity.get("accountId"), _arn_account(str(identity.get("arn") or ""))):
        if isinstance(account, str) and account:
            return account
    recipient = record.get("recipientAccountId")
    return recipient if isinstance(recipient, str) else ""


def to_dict(message):
    """A response as a dict with the proto3 JSON field names (alertId, accessKeyIds, ...)."""
    return json_format.MessageToDict(message)


def _timestamp(value, field):
    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        ts.FromDatetime(value.astimezone(timezone.utc).replace(tzinfo=None))
    elif isinstance(value, str):
        ts.FromJsonString(value)
    else:
        raise TypeError(f"{field}: expected an RFC 3339 string or a datetime")
    return ts


class Client:
    """A connection to trailsentryd.

    target: "host:port". token: bearer token (tenant). root_ca / cert / key: PEM
    bytes or file paths for TLS and mTLS. timeout: seconds per call.
    wait_for_ready: while the server cannot be reached (restarting), calls wait
    for it up to their timeout; UNAVAILABLE is retried either way.
    """

    def __init__(self, target="127.0.0.1:50051", token=None, root_ca=None, cert=None, key=None,
                 timeout=30.0, server_name=None, wait_for_ready=True):
        self._timeout = timeout
        self._metadata = [("authorization", f"Bearer {token}")] if token else []
        options = [("grpc.max_receive_message_length", 64 << 20),
                   ("grpc.max_send_message_length", 64 << 20),
                   # A restarting server is ridden out: UNAVAILABLE is retried
                   # for about 4 s and the channel reconnects within a second.
                   ("grpc.enable_retries", 1),
                   ("grpc.service_config", _service_config(wait_for_ready)),
                   ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.initial_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 1000)]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        if root_ca or cert:
            creds = grpc.ssl_channel_credentials(
                root_certificates=_pem(root_ca), private_key=_pem(key), certificate_chain=_pem(cert))
            self._channel = grpc.secure_channel(target, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._stub = detection_pb2_grpc.DetectionStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request, shard_key=None):
        metadata = self._metadata + [(SHARD_HEADER, shard_key)] if shard_key else self._metadata
        try:
            return method(request, timeout=self._timeout, metadata=metadata)
        except grpc.RpcError as e:  # grpc.Call
            raise Error(e.code().name, e.details()) from None

    def evaluate(self, records=(), payload=None):
        """Evaluates CloudTrail records (JSON strings or dicts) and/or a whole file's
        bytes (`payload`: S3 delivery file, JSON array or lines, gzip or not).
        Returns the EvaluateResponse: .verdicts (one per record, in order) and
        .alerts (each opened or updated alert once).

        Records are sent one call per account, each with the account in the
        x-trailsentry-shard header, so a proxy in front of account-sharded
        replicas sends each to its replica; the verdicts come back in the
        records' order. If some accounts fail, PartialError carries the others'
        results. A `payload` goes whole, in a call of its own, with no header."""
        texts = [r if isinstance(r, str) else json.dumps(r) for r in records]
        parts = {}  # account -> indexes of its records, in order
        for i, text in enumerate(texts):
            parts.setdefault(record_account(text), []).append(i)
        if payload is not None or not parts:
            request = detection_pb2.EvaluateRequest()
            for text in texts if len(parts) <= 1 else ():
                request.events.add().raw_json = text
            if payload is not None:
                request.payload = payload
            key = next(iter(parts)) if len(parts) == 1 else None
            if len(parts) <= 1:
                return self._call(self._stub.Evaluate, request, key)
            whole = self._call(self._stub.Evaluate, request)
        else:
            whole = None
        merged = detection_pb2.EvaluateResponse()
        verdicts = [None] * len(texts)
        failed = {}
        for account, indexes in parts.items():
            request = detection_pb2.EvaluateRequest()
            for i in indexes:
                request.events.add().raw_json = texts[i]
            try:
                response = self._call(self._stub.Evaluate, request, account)
            except Error as e:
                failed[account] = e
                for i in indexes:
                    verdicts[i] = event_pb2.Verdict(
                        status=event_pb2.Verdict.REJECTED, reject_field="account",
                        reject_reason=f"not evaluated: {e}")
                continue
            for i, verdict in zip(indexes, response.verdicts):
                verdicts[i] = verdict
            merged.alerts.extend(response.alerts)
        merged.verdicts.extend(verdicts)
        if whole is not None:
            merged.verdicts.extend(whole.verdicts)
            merged.alerts.extend(whole.alerts)
        merged.rejected = sum(v.status == event_pb2.Verdict.REJECTED for v in merged.verdicts)
        merged.accepted = len(merged.verdicts) - merged.rejected
        if failed:
            if len(failed) == len(parts):
                raise next(iter(failed.values()))
            raise PartialError(merged, failed)
        return merged

    def evaluate_file(self, path, batch=500):
        """Sends a CloudTrail file in requests of `batch` records (split client-side
        for JSON lines; other containers go whole as one payload). Yields responses."""
        with open(path, "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b" or data.lstrip()[:1] != b"{" or b"\n{" not in data:
            yield self.evaluate(payload=data)
            return
        lines = [line for line in data.decode("utf-8").splitlines() if line.strip()]
        for i in range(0, len(lines), batch):
            yield self.evaluate(lines[i:i + batch])

    def get_identity(self, identity):
        """What trailsentry knows of an identity (IdentityProfile); Error NOT_FOUND if never seen."""
        return self._call(self._stub.GetIdentity, detection_pb2.GetIdentityRequest(identity=identity),
                          identity_account(identity))

    def list_alerts(self, since=None, until=None, rule_id=None, identity=None, limit=100, page_size=100,
                    status=None, updated_since=None):
        """Alert history, newest first: a generator of Alert messages, paging as needed.
        status: "OPEN", "ACKNOWLEDGED" or "RESOLVED". updated_since (server clock,
        datetime or RFC 3339): the alerts changed since then, most recently changed
        first (what a polling playbook asks with the time of its last poll)."""
        request = detection_pb2.ListAlertsRequest(rule_id=rule_id or "", identity=identity or "")
        if since is not None:
            request.since.CopyFrom(_timestamp(since, "since"))
        if until is not None:
            request.until.CopyFrom(_timestamp(until, "until"))
        if status is not None:
            request.status = alert_pb2.Alert.Status.Value(status)
        if updated_since is not None:
            request.updated_since.CopyFrom(_timestamp(updated_since, "updated_since"))
        seen = 0
        while seen < limit:
            request.page_size = min(page_size, limit - seen)
            page = self._call(self._stub.ListAlerts, request)
            for alert in page.alerts:
                yield alert
                seen += 1
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def get_alert(self, alert_id):
        """One alert with its triage; Error NOT_FOUND if there is none by that id."""
        return self._call(self._stub.GetAlert, detection_pb2.GetAlertRequest(alert_id=alert_id))

    def update_alert(self, alert_id, status=None, disposition=None, assignee=None, note=None,
                     author=None, trust_network=None):
        """Triage: status "OPEN" | "ACKNOWLEDGED" | "RESOLVED" (RESOLVED needs a
        disposition: "TRUE_POSITIVE" | "FALSE_POSITIVE" | "BENIGN"), assignee ("" to
        unassign), a note to add. trust_network "FOR_IDENTITY" | "FOR_ACCOUNT": with a
        FALSE_POSITIVE or BENIGN unusual-IP alert, trust its network. Resolving an
        unusual-IP alert TRUE_POSITIVE marks its network hostile. Returns the Alert
        as it is now."""
        request = detection_pb2.UpdateAlertRequest(alert_id=alert_id, note=note or "",
                                                   author=author or "")
        if status is not None:
            request.status = alert_pb2.Alert.Status.Value(status)
        if disposition is not None:
            request.disposition = alert_pb2.Alert.Disposition.Value(disposition)
        if assignee is not None:
            request.assignee = assignee
        if trust_network is not None:
            request.trust_network = detection_pb2.UpdateAlertRequest.TrustNetwork.Value(trust_network)
        return self._call(self._stub.UpdateAlert, request)

    def watch_alerts(self, after_sequence=0, from_now=False):
        """Every alert change (AlertChange: kind NEW, UPDATED or TRIAGED, the alert,
        its sequence) after `after_sequence`, then each new one as the server commits
        it: a generator that runs until closed. Delivery is at least once: keep the
        last sequence handled and resume from it after an error."""
        request = detection_pb2.WatchAlertsRequest(after_sequence=after_sequence, from_now=from_now)
        call = self._stub.WatchAlerts(request, metadata=self._metadata)
        try:
            for change in call:
                yield change
        except grpc.RpcError as e:
            raise Error(e.code().name, e.details()) from None
        finally:
            call.cancel()

    def add_known_network(self, cidr, identity=None, account_id=None, expires_at=None,
                          force=False):
        """Triage feedback: trust `cidr` for an identity or a whole account, for calls
        before `expires_at` (datetime or RFC 3339; None: until removed). `force`
        also trusts a prefix broader than the server's minimum (/16, /32) or an
        identity never seen. Returns the network as stored."""
        request = detection_pb2.AddKnownNetworkRequest(cidr=cidr, force=force)
        self._scope(request, identity, account_id)
        if expires_at is not None:
            request.expires_at.CopyFrom(_timestamp(expires_at, "expires_at"))
        return self._call(self._stub.AddKnownNetwork, request, self._scope_key(request)).network

    def list_known_networks(self, identity=None, account_id=None):
        """The networks trusted for an identity or an account: dicts with network,
        addedAt and, when they expire, expiresAt."""
        request = detection_pb2.ListKnownNetworksRequest()
        self._scope(request, identity, account_id)
        response = self._call(self._stub.ListKnownNetworks, request, self._scope_key(request))
        return [json_format.MessageToDict(n) for n in response.networks]

    def remove_known_network(self, cidr, identity=None, account_id=None):
        """Stops trusting `cidr`; Error NOT_FOUND if it was not trusted."""
        request = detection_pb2.RemoveKnownNetworkRequest(cidr=cidr)
        self._scope(request, identity, account_id)
        return self._call(self._stub.RemoveKnownNetwork, request, self._scope_key(request)).network

    @staticmethod
    def _scope(request, identity, account_id):
        if (identity is None) == (account_id is None):
            raise ValueError("give exactly one of identity or account_id")
        if identity is not None:
            request.identity = identity
        else:
            request.account_id = account_id

    @staticmethod
    def _scope_key(request):
        return identity_account(request.identity) if request.identity else request.account_id

    def forget_identity(self, identity):
        """Deletes an identity's profile, baselines and trusted networks (alerts stay)."""
        self._call(self._stub.ForgetIdentity, detection_pb2.ForgetIdentityRequest(identity=identity),
                   identity_account(identity))


def _pem(value):
    if value is None or isinstance(value, bytes):
        return value
    with open(value, "rb") as f:
        return f.read()
