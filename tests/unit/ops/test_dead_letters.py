"""wacloud.ops.dead_letters and `wacloud dlq`: peeking at the dead-letter queues and moving messages back (moto).

Messages are put on the DLQs directly: moto's own dead-lettering does not keep a group's order.
"""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import PHONE_NUMBER_ID, queue_bodies
from wacloud.cli import main
from wacloud.inbound.split import queue_document, split_webhook
from wacloud.local.cloudformation import REGION, Stack
from wacloud.local.meta.webhooks import status_update, text_message
from wacloud.ops import dead_letters as dlq
from wacloud.runtime.masking import mask_wamid

PHONE = "16505551234"
OTHER_PHONE = "447700900123"
TEXT = "Your parcel is at the depot"
DEDUPLICATION_WINDOW = 300  # SQS: a deduplication id is remembered for 5 minutes, deleted or not


@pytest.fixture(autouse=True)
def short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers an empty long poll only when the wait is over: no waiting in tests."""
    monkeypatch.setattr(dlq, "WAIT_SECONDS", 0)


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def outbound(key: str, to: str = PHONE, text: str = TEXT) -> str:
    return json.dumps({"idempotency_key": key, "message": {"to": f"+{to}", "type": "text", "text": {"body": text}}})


def put(url: str, body: str, group: str = PHONE, dedup: str | None = None, **extra: Any) -> str:
    """Put a message on a queue (as SQS does when it dead-letters one); its message id."""
    response = sqs().send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=dedup or f"d-{time.time_ns()}",
        **extra,
    )
    return response["MessageId"]


def visible(url: str) -> list[dict[str, Any]]:
    """What a consumer would receive now (without deleting it): message id, group, body."""
    messages = (
        sqs()
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["All"])
        .get("Messages", [])
    )
    return [{"id": m["MessageId"], "group": m["Attributes"]["MessageGroupId"], "body": m["Body"]} for m in messages]


def keys(received: list[dict[str, Any]]) -> list[str]:
    return [r["body"]["idempotency_key"] for r in received]


def visible_keys(url: str) -> list[str]:
    """The idempotency keys of the documents a consumer would receive now (nothing deleted)."""
    return [json.loads(m["body"])["idempotency_key"] for m in visible(url)]


class Wrapped:
    """The moto SQS client, with some calls replaced."""

    def __init__(self) -> None:
        self.real = sqs()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class FailingSends(Wrapped):
    """SendMessageBatch reports the entries whose body contains one of `fail` as Failed (not sent)."""

    def __init__(self, *fail: str) -> None:
        super().__init__()
        self.fail = fail
        self.batches: list[list[dict[str, Any]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.batches.append(Entries)
        failing = [e for e in Entries if any(marker in e["MessageBody"] for marker in self.fail)]
        passing = [e for e in Entries if e not in failing]
        response = self.real.send_message_batch(QueueUrl=QueueUrl, Entries=passing) if passing else {}
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try later"} for e in failing
        ]
        return {"Successful": response.get("Successful", []), "Failed": failed}


class DeduplicationWindow(Wrapped):
    """SQS's deduplication as documented (moto forgets an id once its message is deleted): a send
    with a (group, deduplication id) seen on the queue in the last 5 minutes is answered as a
    success and dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[tuple[str, str, str], float] = {}

    def _duplicate(self, url: str, entry: dict[str, Any]) -> bool:
        key = (url, entry["MessageGroupId"], entry["MessageDeduplicationId"])
        if time.time() - self.seen.get(key, -DEDUPLICATION_WINDOW) < DEDUPLICATION_WINDOW:
            return True
        self.seen[key] = time.time()
        return False

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        if self._duplicate(kwargs["QueueUrl"], kwargs):
            return {"MessageId": "dropped-duplicate"}
        return self.real.send_message(**kwargs)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        new = [e for e in Entries if not self._duplicate(QueueUrl, e)]
        response = self.real.send_message_batch(QueueUrl=QueueUrl, Entries=new) if new else {}
        dropped = [{"Id": e["Id"], "MessageId": "dropped-duplicate"} for e in Entries if e not in new]
        return {"Successful": response.get("Successful", []) + dropped, "Failed": []}


# --- inspect ---------------------------------------------------------------------------------------


def test_inspect_lists_messages_with_groups_and_receive_counts_and_leaves_them_on_the_dlq(aws: Stack) -> None:
    url = aws.queue_urls["OutboundDLQ"]
    ids = [
        put(url, outbound("a-1"), group=PHONE, dedup="a-1"),
        put(url, outbound("b-1", to=OTHER_PHONE), group=OTHER_PHONE, dedup="b-1"),
        put(url, outbound("a-2"), group=PHONE, dedup="a-2"),
    ]

    first = dlq.inspect(url)

    assert [letter.message_id for letter in first] == ids
    assert [letter.group_id for letter in first] == [PHONE, OTHER_PHONE, PHONE]
    assert [letter.deduplication_id for letter in first] == ["a-1", "b-1", "a-2"]
    assert [json.loads(letter.body)["idempotency_key"] for letter in first] == ["a-1", "b-1", "a-2"]
    assert [letter.receive_count for letter in first] == [1, 1, 1]
    assert all(abs(datetime.now(UTC) - letter.sent_at) < timedelta(minutes=1) for letter in first)
    # The peek left every message where it was, visible: a second look sees the same (one receive more)
    second = dlq.inspect(url)
    assert [letter.message_id for letter in second] == ids
    assert [letter.receive_count for letter in second] == [2, 2, 2]
    assert [m["id"] for m in visible(url)] == ids


def test_inspect_stops_at_the_limit_and_leaves_the_rest(aws: Stack) -> None:
    url = aws.queue_urls["InboundDLQ"]
    ids = [put(url, json.dumps({"kind": "change", "field": f"f{n}"}), group=f"g{n}") for n in range(15)]

    assert [letter.message_id for letter in dlq.inspect(url, limit=12)] == ids[:12]
    assert [letter.message_id for letter in dlq.inspect(url, limit=3)] == ids[:3]
    assert [letter.message_id for letter in dlq.inspect(url, limit=100)] == ids


def test_inspect_of_an_empty_dlq_is_empty(aws: Stack) -> None:
    assert dlq.inspect(aws.queue_urls["InboundDLQ"]) == []


# --- redrive ---------------------------------------------------------------------------------------


def test_redrive_moves_everything_back_in_order_per_group_with_new_deduplication_ids(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    plan = [("a-1", PHONE), ("b-1", OTHER_PHONE), ("a-2", PHONE), ("b-2", OTHER_PHONE), ("a-3", PHONE)]
    ids = {key: put(url, outbound(key, to=group), group=group, dedup=key) for key, group in plan}

    result = dlq.redrive(url, source)

    assert (result.moved, result.failed) == (5, 0)
    assert [o.letter.message_id for o in result.outcomes] == [ids[key] for key, _ in plan]
    assert visible(url) == []
    assert dlq.approximate_count(url) == 0
    received = queue_bodies(aws, "OutboundQueue")
    assert keys(received) == ["a-1", "b-1", "a-2", "b-2", "a-3"]
    for r in received:
        key = r["body"]["idempotency_key"]
        assert r["attributes"]["MessageGroupId"] == dict(plan)[key]
        assert r["attributes"]["MessageDeduplicationId"] == f"redrive-{ids[key]}"
        assert r["body"] == json.loads(outbound(key, to=dict(plan)[key]))


def test_message_attributes_travel_with_a_redriven_message(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    put(url, outbound("k-1"), MessageAttributes={"origin": {"DataType": "String", "StringValue": "crm"}})

    dlq.redrive(url, source)

    [moved] = sqs().receive_message(QueueUrl=source, MessageAttributeNames=["All"])["Messages"]
    assert moved["MessageAttributes"]["origin"] == {"DataType": "String", "StringValue": "crm"}


def test_a_document_redriven_twice_within_5_minutes_is_not_dropped_as_a_duplicate(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    client = DeduplicationWindow()
    # A producer queues a document; the sender fails it until SQS dead-letters it
    client.send_message(
        QueueUrl=source, MessageBody=outbound("order-1"), MessageGroupId=PHONE, MessageDeduplicationId="order-1"
    )

    def fails_until_dead_lettered() -> None:
        [message] = sqs().receive_message(QueueUrl=source, MessageSystemAttributeNames=["All"])["Messages"]
        attrs = message["Attributes"]
        put(url, message["Body"], group=attrs["MessageGroupId"], dedup=attrs["MessageDeduplicationId"])
        sqs().delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])

    fails_until_dead_lettered()
    # Redriven within 5 minutes of the producer's send: on the source queue again
    assert dlq.redrive(url, source, client=client).moved == 1
    assert visible_keys(source) == ["order-1"]
    # It fails again, and is redriven again within 5 minutes of the first redrive: still not dropped
    fails_until_dead_lettered()
    assert dlq.redrive(url, source, client=client).moved == 1
    assert visible_keys(source) == ["order-1"]


def test_a_message_whose_send_fails_stays_on_the_dlq_and_is_reported(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    put(url, outbound("a-1"), group="g-a")
    failing_id = put(url, outbound("b-1"), group="g-b")
    put(url, outbound("c-1"), group="g-c")

    result = dlq.redrive(url, source, client=FailingSends('"b-1"'))

    assert (result.moved, result.failed) == (2, 1)
    [failure] = [o for o in result.outcomes if not o.moved]
    assert failure.letter.message_id == failing_id
    assert "InternalError" in failure.error
    # Exactly that message is still on the DLQ, visible again; the others are on the source queue
    assert [m["id"] for m in visible(url)] == [failing_id]
    assert keys(queue_bodies(aws, "OutboundQueue")) == ["a-1", "c-1"]


def test_a_message_not_moved_holds_back_the_later_messages_of_its_group(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    a1 = put(url, outbound("a-1"), group="g-a")
    a2 = put(url, outbound("a-2"), group="g-a")
    put(url, outbound("b-1"), group="g-b")
    client = FailingSends('"a-1"')

    result = dlq.redrive(url, source, client=client)

    assert (result.moved, result.failed) == (1, 2)
    # a-2 was never sent: sent before a-1 it would overtake it
    assert all('"a-2"' not in e["MessageBody"] for batch in client.batches for e in batch)
    assert [m["id"] for m in visible(url)] == [a1, a2]
    assert keys(queue_bodies(aws, "OutboundQueue")) == ["b-1"]


def test_a_failed_send_call_moves_nothing(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    ids = [put(url, outbound(f"k-{n}"), group=f"g{n}") for n in range(3)]

    class Refusing(Wrapped):
        def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "SendMessageBatch")

    result = dlq.redrive(url, source, client=Refusing())

    assert (result.moved, result.failed) == (0, 3)
    assert all("AccessDenied" in o.error for o in result.outcomes)
    assert [m["id"] for m in visible(url)] == ids
    assert visible(source) == []


class ReceiveFailsAfter(Wrapped):
    """ReceiveMessage works `n` times, then raises."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        if self.left == 0:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "ReceiveMessage")
        self.left -= 1
        return self.real.receive_message(**kwargs)


def test_a_receive_failing_midway_ends_the_run_and_reports_what_was_moved(aws: Stack) -> None:
    source, url = aws.queue_urls["InboundQueue"], aws.queue_urls["InboundDLQ"]
    ids = [put(url, json.dumps({"kind": "change", "field": f"f{n}"}), group=f"g{n}") for n in range(12)]

    result = dlq.redrive(url, source, client=ReceiveFailsAfter(1))

    assert (result.moved, result.failed) == (10, 0)
    assert "ThrottlingException" in result.stopped
    assert [m["id"] for m in visible(url)] == ids[10:]
    # And when nothing could be received at all, that is an error, not an empty result
    with pytest.raises(ClientError):
        dlq.redrive(url, source, client=ReceiveFailsAfter(0))


def test_the_sqs_client_is_made_for_the_region_of_the_queue_url(aws: Stack) -> None:
    other = boto3.client("sqs", region_name="eu-west-1")
    url = other.create_queue(QueueName="elsewhere-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    assert ".eu-west-1." in url
    other.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d")

    assert [letter.group_id for letter in dlq.inspect(url)] == ["g"]  # the default region is us-east-1


@pytest.mark.parametrize("limit", [2, 11])
def test_redrive_moves_no_more_than_the_limit(aws: Stack, limit: int) -> None:
    source, url = aws.queue_urls["InboundQueue"], aws.queue_urls["InboundDLQ"]
    ids = [put(url, json.dumps({"kind": "change", "field": f"f{n}"}), group=f"g{n}") for n in range(12)]

    result = dlq.redrive(url, source, limit=limit)

    assert result.moved == limit
    assert [o.letter.message_id for o in result.outcomes] == ids[:limit]
    assert [r["body"]["field"] for r in queue_bodies(aws, "InboundQueue")] == [f"f{n}" for n in range(limit)]
    assert [letter.message_id for letter in dlq.inspect(url)] == ids[limit:]


def test_redrive_into_the_dlq_itself_is_refused(aws: Stack) -> None:
    url = aws.queue_urls["InboundDLQ"]
    put(url, json.dumps({"kind": "change", "field": "f"}))

    with pytest.raises(dlq.DlqError):
        dlq.redrive(url, url, limit=5)  # (a limit, so that a missing check ends the test instead of looping)
    assert len(visible(url)) == 1


# --- what is shown ---------------------------------------------------------------------------------


def inbound_message_event(text: str = TEXT, sender: str = PHONE) -> tuple[str, str, str]:
    """(document, group, wamid) of a customer's text message as the webhook queues it."""
    [event] = split_webhook(text_message(text, phone_number_id=PHONE_NUMBER_ID, sender=sender, name="Ana Lima"))
    event, document = queue_document(event)
    return document, event.group, event.document["message"]["id"]


def test_describe_names_documents_without_personal_data() -> None:
    document, _, wamid = inbound_message_event()
    [status] = split_webhook(status_update("wamid.OUT1", "delivered", phone_number_id=PHONE_NUMBER_ID, recipient=PHONE))
    _, status_document = queue_document(status)

    assert dlq.describe_body(outbound("order-7")) == "key=order-7 type=text"
    assert dlq.describe_body(outbound(f"read:{wamid}")) == f"key=read:{mask_wamid(wamid)} type=text"
    assert dlq.describe_body(document) == f"kind=message type=text wamid={mask_wamid(wamid)}"
    assert dlq.describe_body(status_document) == f"kind=status status=delivered wamid={mask_wamid('wamid.OUT1')}"
    assert (
        dlq.describe_body(json.dumps({"kind": "change", "field": "account_update"}))
        == "kind=change field=account_update"
    )
    assert dlq.describe_body(json.dumps({"kind": "unparsed", "raw_sha256": "ab" * 32, "raw": PHONE})) == (
        f"kind=unparsed raw_sha256={'ab' * 8}"
    )
    assert dlq.describe_body("not json") == "body is not JSON (8 bytes)"
    for body in (document, status_document, outbound("k")):
        assert PHONE not in dlq.describe_body(body)
        assert TEXT not in dlq.describe_body(body)


@pytest.mark.parametrize(
    ("group", "shown"),
    [
        (PHONE, "165******34"),
        ("+1-650-555-1234", "+1-6*********34"),
        ("US.13491208655302741918", "US.1*****************18"),
        ("change-102290129340398", "change-102290129340398"),
        ("unparsed", "unparsed"),
        ("h-" + "0123456789abcdef" * 2 + "01234567", "h-" + "0123456789abcdef" * 2 + "01234567"),
    ],
)
def test_groups_that_may_be_a_person_are_masked(group: str, shown: str) -> None:
    assert dlq.display_group(group) == shown


def test_age_is_counted_from_when_sqs_stamped_the_message() -> None:
    sent = datetime(2026, 1, 1, tzinfo=UTC)
    letter = dlq.DeadLetter(
        message_id="m", group_id="g", deduplication_id="d", receive_count=1, sent_at=sent, body="{}"
    )

    assert letter.age(sent + timedelta(seconds=42)) == "42s"
    assert letter.age(sent + timedelta(minutes=3, seconds=5)) == "3m05s"
    assert letter.age(sent + timedelta(hours=2, minutes=7)) == "2h07m"
    assert letter.age(sent + timedelta(days=3, hours=4)) == "3d04h"


# --- stack outputs ---------------------------------------------------------------------------------


class CloudFormation:
    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs
        self.calls: list[dict[str, Any]] = []

    def describe_stacks(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        outputs = [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]
        return {"Stacks": [{"StackName": kwargs["StackName"], "Outputs": outputs}]}


STACK_OUTPUTS = {
    "WebhookUrl": "https://example.execute-api/Prod/webhook",
    "InboundQueueUrl": "https://sqs/1/s-inbound.fifo",
    "OutboundQueueUrl": "https://sqs/1/s-outbound.fifo",
    "InboundDLQUrl": "https://sqs/1/s-inbound-dlq.fifo",
    "OutboundDLQUrl": "https://sqs/1/s-outbound-dlq.fifo",
}


def test_queue_urls_come_from_the_stack_outputs() -> None:
    cloudformation = CloudFormation(STACK_OUTPUTS)

    assert dlq.stack_queue_urls("whatsapp-cloud", "inbound", client=cloudformation) == (
        "https://sqs/1/s-inbound-dlq.fifo",
        "https://sqs/1/s-inbound.fifo",
    )
    assert dlq.stack_queue_urls("whatsapp-cloud", "outbound", client=cloudformation) == (
        "https://sqs/1/s-outbound-dlq.fifo",
        "https://sqs/1/s-outbound.fifo",
    )
    assert cloudformation.calls == [{"StackName": "whatsapp-cloud"}] * 2


def test_a_stack_without_the_outputs_is_an_error() -> None:
    outputs = {k: v for k, v in STACK_OUTPUTS.items() if k != "OutboundDLQUrl"}

    with pytest.raises(dlq.DlqError, match="OutboundDLQUrl"):
        dlq.stack_queue_urls("other-stack", "outbound", client=CloudFormation(outputs))


# --- the command -----------------------------------------------------------------------------------


def no_full_number(text: str) -> None:
    assert PHONE not in text
    assert OTHER_PHONE not in text


LINE = re.compile(r"^(?P<id>\S+)  group=(?P<group>\S+)  receives=(?P<receives>\d+)  age=(?P<age>\d+\w+)  (?P<what>.+)$")


def test_cli_inspect_prints_one_masked_line_per_message_and_a_summary(
    aws: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    url = aws.queue_urls["OutboundDLQ"]
    first = put(url, outbound("order-1234-shipped"), group=PHONE)
    second = put(url, outbound("order-99", to=OTHER_PHONE), group=OTHER_PHONE)

    code = main(["dlq", "inspect", "outbound", "--dlq-url", url])

    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    parsed = [LINE.match(line) for line in lines[:2]]
    assert all(parsed), lines
    assert [(m["id"], m["group"], m["receives"], m["what"]) for m in parsed] == [  # type: ignore[index]
        (first, "165******34", "1", "key=order-1234-shipped type=text"),
        (second, "4477******23", "1", "key=order-99 type=text"),
    ]
    assert lines[2] == f"2 message(s) shown from the outbound DLQ {url} (about 2 on the queue)."
    no_full_number(out + err)
    assert TEXT not in out
    assert len(visible(url)) == 2


def test_cli_inspect_of_inbound_events_shows_kind_and_masked_wamid(
    aws: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    url = aws.queue_urls["InboundDLQ"]
    document, group, wamid = inbound_message_event()
    put(url, document, group=group)

    assert main(["dlq", "inspect", "inbound", "--dlq-url", url]) == 0

    out = capsys.readouterr().out
    assert "group=165******34  receives=1" in out
    assert f"kind=message type=text wamid={mask_wamid(wamid)}" in out
    no_full_number(out)
    assert wamid not in out
    assert TEXT not in out
    assert "Ana Lima" not in out


def test_cli_shows_bodies_only_when_asked(aws: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    url = aws.queue_urls["OutboundDLQ"]
    put(url, outbound("k-1"))

    main(["dlq", "inspect", "outbound", "--dlq-url", url])
    assert TEXT not in capsys.readouterr().out
    main(["dlq", "inspect", "outbound", "--dlq-url", url, "--show-bodies"])
    assert f"    body: {outbound('k-1')}" in capsys.readouterr().out


def test_cli_redrive_yes_moves_everything_and_reports_each_message(
    aws: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    first = put(url, outbound("k-1"), group=PHONE)
    second = put(url, outbound("k-2", to=OTHER_PHONE), group=OTHER_PHONE)

    code = main(["dlq", "redrive", "outbound", "--dlq-url", url, "--target-url", source, "--yes"])

    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"moved  {first}  group=165******34  receives=1  age=")
    assert lines[0].endswith("key=k-1 type=text")
    assert lines[1].startswith(f"moved  {second}  group=4477******23  receives=1  age=")
    assert lines[2] == (
        f"2 message(s) moved to {source}; 0 not moved (still on the DLQ); about 0 left on the outbound DLQ."
    )
    no_full_number(out + err)
    assert keys(queue_bodies(aws, "OutboundQueue")) == ["k-1", "k-2"]
    assert visible(url) == []


def test_cli_redrive_reports_what_was_not_moved_and_fails(
    aws: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    failing = put(url, outbound("k-1"), group="g-1")
    put(url, outbound("k-2"), group="g-2")
    real_redrive = dlq.redrive
    monkeypatch.setattr(dlq, "redrive", lambda *a, **kw: real_redrive(*a, **kw, client=FailingSends('"k-1"')))

    code = main(["dlq", "redrive", "outbound", "--dlq-url", url, "--target-url", source, "--yes"])

    out = capsys.readouterr().out
    assert code == 1
    assert f"FAILED {failing}  group=g-1" in out
    assert "(InternalError: try later)" in out
    assert "1 message(s) moved" in out
    assert "1 not moved (still on the DLQ); about 1 left on the outbound DLQ." in out


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_redrive_without_yes_and_without_a_terminal_refuses_and_moves_nothing(
    aws: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    put(url, outbound("k-1"))
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped: even a "y" is no confirmation

    code = main(["dlq", "redrive", "outbound", "--dlq-url", url, "--target-url", source])

    err = capsys.readouterr().err
    assert code != 0
    assert "--yes" in err
    assert len(visible(url)) == 1
    assert visible(source) == []


@pytest.mark.parametrize(("answer", "code", "moved"), [("y\n", 0, True), ("n\n", 1, False), ("\n", 1, False)])
def test_cli_redrive_asks_on_a_terminal_after_showing_what_it_would_move(
    aws: Stack,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    code: int,
    moved: bool,
) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    message_id = put(url, outbound("k-1"))
    monkeypatch.setattr("sys.stdin", Terminal(answer))

    assert main(["dlq", "redrive", "outbound", "--dlq-url", url, "--target-url", source]) == code

    out = capsys.readouterr().out
    assert out.startswith(f"{message_id}  group=165******34  receives=1  ")
    assert f"Move all of the messages on the outbound DLQ (about 1) to {source}? [y/N] " in out
    no_full_number(out)
    assert (len(visible(source)), len(visible(url))) == ((1, 0) if moved else (0, 1))


def test_cli_finds_the_queues_by_stack_name(
    aws: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, url = aws.queue_urls["InboundQueue"], aws.queue_urls["InboundDLQ"]
    put(url, json.dumps({"kind": "change", "field": "f"}), group="change-1")
    cloudformation = CloudFormation({"InboundDLQUrl": url, "InboundQueueUrl": source})
    real_client = boto3.client
    monkeypatch.setattr(
        dlq.boto3,
        "client",
        lambda name, *a, **kw: cloudformation if name == "cloudformation" else real_client(name, *a, **kw),
    )

    assert main(["dlq", "redrive", "inbound", "--stack", "whatsapp-cloud", "--yes"]) == 0

    assert cloudformation.calls == [{"StackName": "whatsapp-cloud"}]
    assert "1 message(s) moved" in capsys.readouterr().out
    assert [r["body"]["field"] for r in queue_bodies(aws, "InboundQueue")] == ["f"]


@pytest.mark.parametrize(
    "argv",
    [
        ["dlq", "redrive", "outbound", "--dlq-url", "https://dlq"],  # no target
        ["dlq", "redrive", "outbound", "--stack", "s", "--target-url", "https://q"],
        ["dlq", "inspect", "sideways", "--stack", "s"],
        ["dlq", "inspect", "outbound", "--stack", "s", "--limit", "0"],
    ],
)
def test_cli_refuses_incomplete_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_cli_without_a_stack_or_url_works_on_the_local_run(
    capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch
) -> None:
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    (tmp_path / "functions").mkdir()
    monkeypatch.chdir(tmp_path)  # a folder with no local run going

    assert main(["dlq", "list", "outbound"]) == 1
    assert "no local pipeline is running here" in capsys.readouterr().err
