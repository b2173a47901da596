"""The sender's floor: the fewest calls that keep the project's sender's guarantees for a text message
to a recipient in the window, written by hand on botocore's low-level client and one
`requests.Session`, without Powertools (no batch processor, idempotency, logger or metrics).

Per SQS record, in order within its message group (a failed record holds back the rest of its group,
as `SqsFifoPartialProcessor(skip_group_on_error=True)` does), answered as Lambda expects
(`batchItemFailures`):

1. the document checked by the contract's own model (`parse_document`) and its digest taken
   (`document_digest`: another document under a key in use is refused, not sent);
2. one `BatchGetItem`: the document's `OUT#` record and its recipient's customer items (the keys
   `Store.send_context` reads): a settled record answers without a call, a record left `sending`
   becomes `unconfirmed` (never a second call), an opted-out recipient (or, when the window is
   enforced, one outside it) is `rejected`;
3. one `UpdateItem` on the number's shared send-rate counter (`RATE#<number>#<slot>`, the item and
   slot budget of `send_rate`; a spent slot is waited out), before the lock as the project does, so
   that no wait happens with the record `sending`;
4. one conditional `UpdateItem` as the lock: the `OUT#` record becomes `sending` with this attempt as
   owner, only over no state or an open one (the project's `mark_sending` condition);
5. the Graph call: `POST {base}/{version}/{number}/messages`, the contract's Graph body with the
   confirmation marker in `biz_opaque_callback_data`, the token from the secret (read once per
   process);
6. the outcome on the `OUT#` record (only over this attempt's own `sending`) and, for an acceptance,
   the `MSG#<wamid>` record its statuses go to: two `UpdateItem`s.

What it leaves out (the bench's documents need none of it): templates and media, aliases and merged
customers (it stops on one rather than guess), the retry backoff (`ChangeMessageVisibility`), the
deadline checks, a fresh token after Graph refuses one, refusals recorded apart, logs and metrics.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
import uuid
from typing import Any

import boto3
import requests
from pydantic import ValidationError

from wacloud.adapters.store.messages import OUTBOUND_ACCEPTED
from wacloud.models.confirmation_marker import no_room, stamp
from wacloud.models.keys import customer_key
from wacloud.models.outbound import OutboundMessage
from wacloud.models.records import STATUS_RANK, Direction, MessageStatus
from wacloud.outbound.contract import document_digest, parse_document

SLOT_SECONDS = 0.1  # the shared send rate's slot (`wacloud.outbound.send_rate`)
WINDOW_SECONDS = 24 * 3600
TIMEOUT = (3.05, 10.0)  # the Graph client's (connect, read)
CUSTOMER_SKS = ("PROFILE", "OPT", "HANDOVER", "MARKETING", "MERGED")
SETTLED = frozenset({"accepted", "unconfirmed", "failed", "rejected"})
# Throttling and Meta's own transient errors: the document goes back to the queue.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131048, 131056, 133004})


# What an outcome is written over (`_write_outcome`), besides an attempt's own `sending`.
OPEN, IN_FLIGHT, ANY_OPEN = "open", "in flight", "open or in flight"


class FloorRetry(Exception):
    """The record goes back to SQS (reported in `batchItemFailures`)."""


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": str(value)}


def _error(details: str, code: object = None) -> dict[str, Any]:
    """An `ErrorInfo` as the project stores it (a map)."""
    error = {"title": _s("Graph error" if code is not None else "transport error"), "details": _s(details)}
    if isinstance(code, int):
        error["code"] = _n(code)
    return {"M": error}


def _key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": _s(pk), "sk": _s(sk)}


def _text(item: dict[str, Any] | None, name: str) -> str | None:
    value = (item or {}).get(name)
    return value.get("S") if value else None


class FloorSender:
    def __init__(
        self,
        *,
        table_name: str,
        secret_name: str,
        graph_url: str,
        phone_number_id: str,
        rate_per_second: float,
        enforce_window: bool,
        ttl_seconds: int,
    ) -> None:
        self.table = table_name
        self.secret_name = secret_name
        self.graph_url = graph_url
        self.phone_number_id = phone_number_id
        self.rate = rate_per_second
        self.enforce_window = enforce_window
        self.ttl = ttl_seconds
        self.dynamodb = boto3.client("dynamodb")
        self.http = requests.Session()
        # Lambda sets no proxy or CA bundle, so requests need not read the environment on every
        # request; where a variable sets one (this machine may), it must, as the project's client does.
        self.http.trust_env = sys.platform != "linux" or any(
            name.lower().endswith("_proxy") or name.lower() in {"requests_ca_bundle", "curl_ca_bundle"}
            for name in os.environ
        )
        self._secret: dict[str, str] | None = None

    @classmethod
    def from_environment(cls) -> FloorSender:
        """The sender function's own variables (template.yaml's)."""
        env = os.environ
        return cls(
            table_name=env["WACLOUD_TABLE_NAME"],
            secret_name=env.get("WACLOUD_SECRET_NAME", "whatsapp/cloud-api"),
            graph_url="{}/{}".format(
                env.get("WACLOUD_GRAPH_BASE_URL", "https://graph.facebook.com").rstrip("/"),
                env.get("WACLOUD_GRAPH_API_VERSION", "v26.0"),
            ),
            phone_number_id=env.get("WACLOUD_PHONE_NUMBER_ID", ""),
            rate_per_second=float(env.get("WACLOUD_SEND_RATE_PER_SECOND", "80")),
            enforce_window=env.get("WACLOUD_ENFORCE_SERVICE_WINDOW", "true").lower() in {"1", "true", "t", "yes", "on"},
            ttl_seconds=int(env.get("WACLOUD_RECORD_TTL_DAYS", "90")) * 86400,
        )

    @property
    def secret(self) -> dict[str, str]:
        """The app's credentials, read once per process."""
        if self._secret is None:
            answer = boto3.client("secretsmanager").get_secret_value(SecretId=self.secret_name)
            self._secret = json.loads(answer["SecretString"])
        return self._secret

    # --- the batch ---------------------------------------------------------------------------

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
        failures: list[dict[str, str]] = []
        failed_groups: set[str] = set()
        for record in event.get("Records") or []:
            group = (record.get("attributes") or {}).get("MessageGroupId") or record["messageId"]
            if group not in failed_groups:
                try:
                    self.send(record["body"])
                    continue
                except Exception:
                    failed_groups.add(group)
            failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    # --- one document --------------------------------------------------------------------------

    def send(self, body: str) -> str:
        """The state the document ends in (raises `FloorRetry` to have SQS deliver it again)."""
        try:
            document = parse_document(body)
        except ValidationError:
            return self._invalid(body)
        if document.kind != "text" or document.message.recipient_type != "individual":
            raise NotImplementedError("the floor sends text messages to individuals only")
        key, digest = document.idempotency_key, document_digest(document)
        number = document.phone_number_id or self.phone_number_id
        person = customer_key(document.message.address)
        previous, customer = self._context(key, person)
        answered = self._answered(previous, document, digest, number) if previous is not None else None
        if answered is not None:
            return answered
        reason = self._refusal(customer) or no_room(document.message.biz_opaque_callback_data, key)
        if reason is not None:
            self._write_outcome(key, {"#state": _s("rejected"), "reason": _s(reason)}, OPEN)
            return "rejected"
        owner = uuid.uuid4().hex
        self._take_turn(number)
        self._lock(document, number, digest, owner)
        return self._call(document, number, owner)

    def _answered(self, previous: dict[str, Any], document: OutboundMessage, digest: str, number: str) -> str | None:
        """What the stored record answers a document with (None: the send is still to be done)."""
        if previous.get("invalid", {}).get("BOOL") is True:
            return None  # an invalid document's: the key is free
        key = document.idempotency_key
        if _text(previous, "digest") not in (None, digest):
            return "rejected"  # another document under this key: refused, not sent
        state, confirmed = _text(previous, "state"), _text(previous, "confirmed_wamid")
        if state in SETTLED:
            return str(state)
        if confirmed:  # a status named it: Meta took it (a redrive after a lost answer)
            written = self._write_outcome(key, {"#state": _s("accepted"), "wamid": _s(confirmed)}, ANY_OPEN)
            self._record_message(document, confirmed, number, mark=written)
            return "accepted"
        if state == "sending":  # an earlier attempt's call may be out: never a second one
            self._write_outcome(key, {"#state": _s("unconfirmed"), "#error": _error("answer not recorded")}, IN_FLIGHT)
            return "unconfirmed"
        return None

    def _context(self, key: str, person: str) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
        """One round trip: the document's record, and the customer's items by sort key."""
        keys = [_key(f"OUT#{key}", "OUTBOUND"), _key(f"ALIAS#{person}", "ALIAS")]
        keys += [_key(f"CONTACT#{person}", sk) for sk in CUSTOMER_SKS]
        answer = self.dynamodb.batch_get_item(RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}})
        if answer.get("UnprocessedKeys"):
            raise FloorRetry("DynamoDB left keys unread")
        previous, customer = None, {}
        for item in answer["Responses"][self.table]:
            pk, sk = item["pk"]["S"], item["sk"]["S"]
            if pk.startswith("OUT#"):
                previous = item
            elif pk.startswith("ALIAS#"):
                if _text(item, "customer") != person:
                    raise NotImplementedError("the floor does not follow aliases")
            else:
                customer[sk] = item
        if "MERGED" in customer:
            raise NotImplementedError("the floor does not follow merged customers")
        return previous, customer

    def _refusal(self, customer: dict[str, dict[str, Any]]) -> str | None:
        if customer.get("OPT", {}).get("opted_out", {}).get("BOOL"):
            return "the recipient opted out; nothing is sent until they opt in"
        if self.enforce_window:
            last = customer.get("PROFILE", {}).get("last_inbound_at", {}).get("N")
            if last is None or time.time() - int(last) > WINDOW_SECONDS:
                return "outside the 24-hour customer service window; only a template can be sent"
        return None

    def _take_turn(self, number: str) -> None:
        """One send from the number's shared budget: an atomic ADD on the slot's counter."""
        if self.rate <= 0:
            return
        while True:
            now = time.time()
            slot = math.floor(now / SLOT_SECONDS)
            budget = math.floor(self.rate * (slot + 1) * SLOT_SECONDS + 1e-9) - math.floor(
                self.rate * slot * SLOT_SECONDS + 1e-9
            )
            if budget:
                answer = self.dynamodb.update_item(
                    TableName=self.table,
                    Key=_key(f"RATE#{number}#{slot}", "RATE"),
                    UpdateExpression="ADD used :n SET expires_at = if_not_exists(expires_at, :exp)",
                    ExpressionAttributeValues={":n": _n(1), ":exp": _n(int(now) + 120)},
                    ReturnValues="UPDATED_NEW",
                )
                if int(answer["Attributes"]["used"]["N"]) <= budget:
                    return
            time.sleep((slot + 1) * SLOT_SECONDS - now + 0.001)

    def _lock(self, document: OutboundMessage, number: str, digest: str, owner: str) -> None:
        """`sending`, owned by this attempt, over no state or an open one; else back to the queue."""
        now = int(time.time())
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=_key(f"OUT#{document.idempotency_key}", "OUTBOUND"),
                UpdateExpression=(
                    "SET #state = :sending, sending_owner = :owner, idempotency_key = :key, recipient = :recipient, "
                    "#type = :type, phone_number_id = :pnid, digest = :digest, updated_at = :now, "
                    "created_at = if_not_exists(created_at, :now), expires_at = :exp "
                    "REMOVE #error, reason, invalid, #raw"
                ),
                ConditionExpression="attribute_not_exists(#state) OR #state IN (:retrying, :dead) OR invalid = :true",
                ExpressionAttributeNames={"#state": "state", "#type": "type", "#error": "error", "#raw": "raw"},
                ExpressionAttributeValues={
                    ":sending": _s("sending"),
                    ":owner": _s(owner),
                    ":key": _s(document.idempotency_key),
                    ":recipient": _s(customer_key(document.recipient or "")),
                    ":type": _s(document.kind),
                    ":pnid": _s(number),
                    ":digest": _s(digest),
                    ":now": _n(now),
                    ":exp": _n(now + self.ttl),
                    ":retrying": _s("retrying"),
                    ":dead": _s("dead_lettered"),
                    ":true": {"BOOL": True},
                },
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException as exc:
            raise FloorRetry("the document's record changed while it was being sent") from exc

    def _call(self, document: OutboundMessage, number: str, owner: str) -> str:
        key = document.idempotency_key
        body = document.graph_body()
        body["biz_opaque_callback_data"] = stamp(body.get("biz_opaque_callback_data"), key, self.secret["app_secret"])
        try:
            response = self.http.post(
                f"{self.graph_url}/{number}/{document.endpoint}",
                json=body,
                headers={"Authorization": f"Bearer {self.secret['access_token']}"},
                timeout=TIMEOUT,
            )
        except requests.ConnectTimeout as exc:
            self._write_outcome(key, {"#state": _s("retrying"), "#error": _error(str(exc))}, owner)
            raise FloorRetry(str(exc)) from exc
        except requests.RequestException as exc:  # the request may have been written: never again
            self._write_outcome(key, {"#state": _s("unconfirmed"), "#error": _error(str(exc))}, owner)
            return "unconfirmed"
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {}
            code = error.get("code") if isinstance(error, dict) else None
            state = "retrying" if response.status_code >= 500 or code in TRANSIENT_CODES else "failed"
            self._write_outcome(key, {"#state": _s(state), "#error": _error(response.text[:500], code)}, owner)
            if state == "retrying":
                raise FloorRetry(f"Graph answered {response.status_code}")
            return state
        wamid = response.json()["messages"][0]["id"]
        written = self._write_outcome(key, {"#state": _s("accepted"), "wamid": _s(wamid)}, owner)
        self._record_message(document, wamid, number, mark=written)
        return "accepted"

    def _write_outcome(self, key: str, fields: dict[str, dict[str, Any]], over: str) -> bool:
        """The outcome on the `OUT#` record, over `over`: an attempt's own `sending` (its owner),
        `OPEN` (no state or an open one: a refusal before any call), `ANY_OPEN` (that, or any
        `sending`) or `IN_FLIGHT` (any `sending`). False when the record had moved on."""
        names = {"#state": "state", "#error": "error"}
        values: dict[str, Any] = {":one": _n(1), ":zero": _n(0), ":now": _n(int(time.time()))}
        sets = ["attempts = if_not_exists(attempts, :zero) + :one", "updated_at = :now"]
        for name, value in fields.items():
            placeholder = ":" + name.lstrip("#")
            sets.append(f"{name} = {placeholder}")
            values[placeholder] = value
        open_states = "attribute_not_exists(#state) OR #state IN (:retrying, :dead) OR invalid = :true"
        condition = {OPEN: open_states, IN_FLIGHT: "#state = :sending", ANY_OPEN: f"{open_states} OR #state = :sending"}
        if over in (OPEN, ANY_OPEN):
            values.update({":retrying": _s("retrying"), ":dead": _s("dead_lettered"), ":true": {"BOOL": True}})
        if over != OPEN:
            values[":sending"] = _s("sending")
        if over not in condition:  # an owner
            values[":owner"] = _s(over)
        # What this outcome does not carry is an earlier attempt's: removed.
        stale = [name for name in ("#error", "reason") if name not in fields]
        remove = ", ".join(stale if fields["#state"]["S"] == "retrying" else [*stale, "sending_owner"])
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=_key(f"OUT#{key}", "OUTBOUND"),
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE " + remove,
                ConditionExpression=condition.get(over, "#state = :sending AND sending_owner = :owner"),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False  # a status webhook settled it first, or another attempt owns it
        return True

    def _record_message(self, document: OutboundMessage, wamid: str, number: str, *, mark: bool) -> None:
        """The `MSG#<wamid>` record its statuses go to, as `MessageRecords.record_outbound` writes it."""
        now = int(time.time())
        sets = (
            "wamid = :wamid, direction = :dir, customer = :customer, #type = :type, phone_number_id = :pnid, "
            "idempotency_key = :key, at_accepted = if_not_exists(at_accepted, :now), "
            "#status = if_not_exists(#status, :accepted), status_rank = if_not_exists(status_rank, :zero), "
            "updated_at = :now, created_at = if_not_exists(created_at, :now), "
            "expires_at = if_not_exists(expires_at, :exp)"
        )
        values = {
            ":wamid": _s(wamid),
            ":dir": _s(Direction.OUTBOUND.value),
            ":customer": _s(customer_key(document.recipient or "")),
            ":type": _s(document.kind),
            ":pnid": _s(number),
            ":key": _s(document.idempotency_key),
            ":accepted": _s(MessageStatus.ACCEPTED.value),
            ":zero": _n(STATUS_RANK[MessageStatus.ACCEPTED]),
            ":now": _n(now),
            ":exp": _n(now + self.ttl),
        }
        if mark:
            sets += f", {OUTBOUND_ACCEPTED} = :true"
            values[":true"] = {"BOOL": True}
        self.dynamodb.update_item(
            TableName=self.table,
            Key=_key(f"MSG#{wamid}", "MESSAGE"),
            UpdateExpression="SET " + sets,
            ExpressionAttributeNames={"#type": "type", "#status": "status"},
            ExpressionAttributeValues=values,
        )

    def _invalid(self, body: str) -> str:
        """A document that breaks the contract: `rejected` under the key it gave, saving no result."""
        try:
            key = json.loads(body).get("idempotency_key")
        except (ValueError, AttributeError):
            key = None
        if isinstance(key, str) and key:
            now = int(time.time())
            # Not over a valid document's record: a malformed copy changes nothing.
            with contextlib.suppress(self.dynamodb.exceptions.ConditionalCheckFailedException):
                self.dynamodb.update_item(
                    TableName=self.table,
                    Key=_key(f"OUT#{key}", "OUTBOUND"),
                    UpdateExpression=(
                        "SET #state = :rejected, reason = :reason, idempotency_key = :key, invalid = :true, "
                        "updated_at = :now, created_at = if_not_exists(created_at, :now), expires_at = :exp"
                    ),
                    ConditionExpression=(
                        "(attribute_not_exists(#state) AND attribute_not_exists(confirmed_wamid)) OR invalid = :true"
                    ),
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues={
                        ":rejected": _s("rejected"),
                        ":reason": _s("the document breaks the outbound contract"),
                        ":key": _s(key),
                        ":true": {"BOOL": True},
                        ":now": _n(now),
                        ":exp": _n(now + self.ttl),
                    },
                )
        return "rejected"
