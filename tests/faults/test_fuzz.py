"""Hostile and broken input, generated: webhook bodies (valid, mutated, truncated, wrong types, huge
strings, deep nesting, invalid UTF-8), signed or not, through the local pipeline's front door; the
same as End User Messaging Social's SNS messages (its envelope broken too), from its topic or not;
and outbound documents of every shape straight onto the outbound queue, on both ways out.

Whatever arrives: no handler raises out, no answer is a 5xx or names an internal, nothing unsigned
(or from a topic the stack does not subscribe to) is queued, every accepted event is handled without
a retry (the queues drain, nothing lands in a dead-letter queue), and every outbound document ends
with a record that says so: sent (`accepted`, or `failed` with Meta's refusal) or `rejected` with
the reason.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacloud.adapters.store import Store
from wacloud.local.meta.business_numbers import sns_messages
from wacloud.local.meta.webhooks import customer_message, status_update
from wacloud.local.pipeline import LocalPipeline
from wacloud.outbound.document_keys import idempotency_key_of as _idempotency_key_of

REGION = "us-east-1"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The suites that run on both transports draw half as many examples on each (CI's time).
FUZZ_EACH = settings(FUZZ, max_examples=20)
FINAL_OUTBOUND = {"accepted", "rejected", "failed"}


# --- JSON and webhook bodies ------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
# Hypothesis draws short texts; a huge one is a short one repeated.
huge_strings = st.tuples(st.text(min_size=1, max_size=4), st.integers(10_000, 300_000)).map(lambda t: t[0] * t[1])
numbers = st.from_regex(r"\A[1-9][0-9]{7,14}\Z")
DEFAULT_NUMBER = "100000000000001"  # the local run's default phone number id


@st.composite
def valid_bodies(draw: st.DrawFn, number: str = DEFAULT_NUMBER) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "reaction", "location", "button", "image", "unknown", "status"]))
    sender = draw(numbers)
    if kind == "status":
        return status_update(
            f"wamid.{uuid.uuid4().hex}",
            draw(st.sampled_from(["sent", "delivered", "read", "failed", "deleted"])),
            phone_number_id=number,
            recipient=sender,
        )
    text = draw(st.text(max_size=300))
    message: dict[str, Any] = {
        "text": {"type": "text", "text": {"body": text}},
        "reaction": {"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": text[:2]}},
        "location": {"type": "location", "location": {"latitude": draw(st.floats()), "longitude": 1.0}},
        "button": {"type": "button", "button": {"payload": text, "text": text}},
        "image": {"type": "image", "image": {"id": text or "1", "mime_type": "image/jpeg", "sha256": "x"}},
        "unknown": {"type": draw(st.text(min_size=1, max_size=10)), "whatever": draw(json_values)},
    }[kind]
    return customer_message(
        message,
        phone_number_id=number,
        sender=sender,
        name=draw(st.text(max_size=40)),
        wamid=f"wamid.{uuid.uuid4().hex}",
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated_bodies(draw: st.DrawFn, number: str = DEFAULT_NUMBER) -> dict[str, Any] | Any:
    """A valid body with one part replaced (by another type, a huge string, deep nesting) or removed."""
    body = draw(valid_bodies(number))
    path = draw(st.sampled_from(_paths(body)))
    replacement = draw(
        json_values
        | huge_strings
        | st.integers(60, 3000).map(lambda depth: json.loads("[" * depth + "]" * depth) if depth < 900 else [])
    )
    if not path:
        return replacement
    parent = body
    for part in path[:-1]:
        parent = parent[part]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return body


def encoded(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=draw_ascii(body)).encode("utf-8", "surrogatepass")


def draw_ascii(body: Any) -> bool:
    return len(json.dumps(body)) % 2 == 0  # both escaping styles, deterministically per body


@st.composite
def truncated_bodies(draw: st.DrawFn, number: str = DEFAULT_NUMBER) -> bytes:
    data = encoded(draw(valid_bodies(number)))
    return data[: draw(st.integers(0, len(data) - 1))]


@st.composite
def deep_bodies(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(60, 200_000))
    opener, inner, closer = draw(st.sampled_from([("[", "", "]"), ('{"a":', "1", "}")]))
    nested = opener * depth + inner + closer * depth
    return ('{"object":"whatsapp_business_account","entry":' + nested + "}").encode()


@st.composite
def bad_utf8_bodies(draw: st.DrawFn) -> bytes:
    data = bytearray(encoded(draw(valid_bodies())))
    for _ in range(draw(st.integers(1, 5))):
        data.insert(draw(st.integers(0, len(data))), draw(st.sampled_from([0xFF, 0xC0, 0xED, 0x80])))
    return bytes(data)


raw_bodies = st.one_of(
    valid_bodies().map(encoded),
    mutated_bodies().map(encoded),
    truncated_bodies(),
    json_values.map(encoded),
    deep_bodies(),
    st.binary(max_size=2000),
    bad_utf8_bodies(),
    st.just(b""),
)


def queue_depth(pipeline: LocalPipeline, queue: str) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=pipeline.stack.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def assert_answer_leaks_nothing(text: str) -> None:
    for internal in ("Traceback", 'File "', "botocore", "/work/", "site-packages", ".py"):
        assert internal not in text, text
    assert not re.search(r"\b[A-Z]\w*(Error|Exception)\b", text), text  # no exception class names


# --- The webhook ------------------------------------------------------------------------------


@FUZZ
@given(body=raw_bodies, signature=st.sampled_from(["sign", None, "sha256=" + "0" * 64, "md5=abc", "sha256=zz", ""]))
def test_any_webhook_body_is_answered_without_a_5xx_and_only_signed_ones_are_queued(pipeline, body, signature):
    status, text = pipeline.post_webhook(body, signature=signature)

    assert status < 500, text
    assert_answer_leaks_nothing(text)
    if signature != "sign":
        assert status in (401, 403), text
        assert queue_depth(pipeline, "InboundQueue") == 0  # nothing unsigned is ever queued
        return
    assert status == 200, text
    pipeline.drain()
    # Every event was handled (stored, applied, or recorded as rejected): none was retried to death.
    assert queue_depth(pipeline, "InboundQueue") == 0
    assert queue_depth(pipeline, "InboundDLQ") == 0
    assert queue_depth(pipeline, "OutboundDLQ") == 0


def test_an_oversized_body_is_refused_before_its_signature_is_even_checked(pipeline):
    body = b'{"entry":[' + b" " * (3 * 1024 * 1024) + b"]}"
    status, text = pipeline.post_webhook(body, signature="sha256=" + "0" * 64)  # checked first: 403
    assert (status, json.loads(text)) == (413, {"error": "payload too large"})
    assert queue_depth(pipeline, "InboundQueue") == 0


@pytest.mark.parametrize("depth", [65, 990, 100_000])
def test_hostile_nesting_is_recorded_as_rejected_not_crashed_on(pipeline, depth):
    body = ('{"object":"whatsapp_business_account","entry":' + "[" * depth + "]" * depth + "}").encode()
    status, _ = pipeline.post_webhook(body)
    pipeline.drain()

    assert status == 200
    assert queue_depth(pipeline, "InboundDLQ") == 0
    from wacloud.models.keys import digest

    rejection = Store().rejections.get("webhook", digest(body))
    assert rejection is not None and "nests more than 64 levels" in rejection.reason


# --- End User Messaging Social's SNS messages --------------------------------------------------


@st.composite
def sns_bodies(draw: st.DrawFn, number: Any) -> str:
    """What an SNS message of the EUM topic may carry: AWS's envelope around a valid, mutated or
    truncated entry, the envelope itself broken, or anything at all."""
    kind = draw(st.sampled_from(["valid", "entry", "entry", "envelope", "json", "text"]))
    if kind in ("json", "text"):
        return json.dumps(draw(json_values)) if kind == "json" else draw(st.text(max_size=500))
    body = draw(valid_bodies(number.phone_number_id))
    envelope = json.loads(sns_messages(body, number)[0])
    if kind == "entry":
        entry = draw(
            mutated_bodies(number.phone_number_id).map(encoded).map(lambda b: b.decode("utf-8", "replace"))
            | truncated_bodies(number.phone_number_id).map(lambda b: b.decode("utf-8", "replace"))
            | json_values
        )
        envelope["whatsAppWebhookEntry"] = entry
    elif kind == "envelope":
        path = draw(st.sampled_from(_paths(envelope)[1:]))
        parent = envelope
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return json.dumps(envelope)


@pytest.mark.parametrize("transport", ["eum"])
@FUZZ_EACH
@given(data=st.data(), ours=st.booleans())
def test_any_eum_message_is_handled_without_a_retry_and_only_our_topics_are_queued(pipeline, data, ours):
    message = data.draw(sns_bodies(pipeline.numbers[0]))
    topic = pipeline.deliveries.topic_arn if ours else pipeline.deliveries.topic_arn + "-another"
    record = {"EventSource": "aws:sns", "Sns": {"TopicArn": topic, "Message": message, "MessageId": uuid.uuid4().hex}}

    pipeline.invoke("EumIngestFunction", {"Records": [record]})  # raising would be Lambda's retry

    if not ours:
        assert queue_depth(pipeline, "InboundQueue") == 0  # nothing from another topic is queued
        return
    pipeline.drain()
    assert queue_depth(pipeline, "InboundQueue") == 0
    assert queue_depth(pipeline, "InboundDLQ") == 0
    assert queue_depth(pipeline, "OutboundDLQ") == 0


# --- Outbound documents -----------------------------------------------------------------------

recipients = numbers.map(lambda digits: "+" + digits) | st.text(max_size=20)
message_shapes = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("text"), "to": recipients, "text": st.fixed_dictionaries({"body": st.text(max_size=5000)})}
    ),
    st.fixed_dictionaries(
        {"type": st.just("image"), "to": recipients, "image": st.fixed_dictionaries({"link": st.text(max_size=50)})}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("interactive"),
            "to": recipients,
            "interactive": st.fixed_dictionaries(
                {
                    "type": st.just("button"),
                    "body": st.fixed_dictionaries({"text": st.text(max_size=1100)}),
                    "action": st.fixed_dictionaries(
                        {
                            "buttons": st.lists(
                                st.fixed_dictionaries(
                                    {
                                        "type": st.just("reply"),
                                        "reply": st.fixed_dictionaries(
                                            {"id": st.text(max_size=300), "title": st.text(max_size=25)}
                                        ),
                                    }
                                ),
                                max_size=4,
                            )
                        }
                    ),
                }
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("template"),
            "to": recipients,
            "template": st.fixed_dictionaries(
                {"name": st.text(max_size=30), "language": st.fixed_dictionaries({"code": st.text(max_size=6)})}
            ),
        }
    ),
    st.fixed_dictionaries({"type": st.text(max_size=12), "to": recipients}),
    json_values,
)
keys = st.from_regex(r"\A[A-Za-z0-9._:-]{1,40}\Z") | st.text(max_size=140) | json_scalars


@st.composite
def outbound_bodies(draw: st.DrawFn) -> str:
    choice = draw(st.sampled_from(["document", "document", "document", "json", "text", "deep"]))
    if choice == "document":
        document = {"idempotency_key": draw(keys), "message": draw(message_shapes)}
        if draw(st.booleans()):
            document[draw(st.text(max_size=10))] = draw(json_values)
        return json.dumps(document)
    if choice == "json":
        return json.dumps(draw(json_values))
    if choice == "deep":
        depth = draw(st.integers(60, 50_000))
        return '{"idempotency_key":"' + uuid.uuid4().hex + '","message":' + "[" * depth + "]" * depth + "}"
    return draw(st.text(min_size=1, max_size=500))


@pytest.mark.parametrize("transport", ["cloud_api", "eum"])
@FUZZ_EACH
@given(bodies=st.lists(outbound_bodies(), min_size=1, max_size=5))
def test_every_outbound_document_ends_sent_or_recorded_as_rejected(pipeline, bodies):
    sqs = boto3.client("sqs", region_name=REGION)
    sent = []
    for body in bodies:
        answer = sqs.send_message(
            QueueUrl=pipeline.stack.queue_urls["OutboundQueue"],
            MessageBody=body,
            MessageGroupId="fuzz",
            MessageDeduplicationId=uuid.uuid4().hex,
        )
        sent.append((body, answer["MessageId"]))

    pipeline.drain()

    assert queue_depth(pipeline, "OutboundQueue") == 0
    assert queue_depth(pipeline, "OutboundDLQ") == 0
    store = Store()
    for body, message_id in sent:
        record = store.outbound.get(_idempotency_key_of(body) or f"sqs:{message_id}")  # the sender's own rule
        assert record is not None, body[:200]
        assert record.state in FINAL_OUTBOUND, (record.state, body[:200])
        if record.state == "rejected":
            assert record.reason, body[:200]
