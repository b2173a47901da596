"""wacloud.outbound.policy: the sending rules checked before a Graph call, and opt-in/opt-out keywords."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import outbound_document
from wacloud.config import Settings
from wacloud.models.number_entry import NumberEntry
from wacloud.models.outbound import OutboundMessage
from wacloud.models.records import ContactRecord, OptChoice
from wacloud.models.webhook import InboundMessage
from wacloud.outbound.policy import SERVICE_WINDOW_SECONDS, enforces_window, opt_keyword, refusal

NOW = 1_800_000_000
HOUR = 3600
SETTINGS = Settings()
TEXT = outbound_document("k")
TEXT_BODY = {"type": "text", "text": {"body": "hi"}}
TEMPLATE = OutboundMessage.model_validate(
    {
        "idempotency_key": "t",
        "message": {
            "to": "+16505551234",
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
    }
)
RECEIPT = OutboundMessage.model_validate(
    {"idempotency_key": "read:w", "message": {"status": "read", "message_id": "w"}}
)


def contact(*, wrote_ago: int | None = None, **fields: Any) -> ContactRecord:
    return ContactRecord(wa_id="16505551234", last_inbound_at=None if wrote_ago is None else NOW - wrote_ago, **fields)


OPTED_OUT = contact(wrote_ago=60, opted_out=True, opt_keyword="STOP")


@pytest.mark.parametrize(
    ("document", "who"),
    [
        pytest.param(TEXT, contact(wrote_ago=HOUR), id="text-in-the-window"),
        pytest.param(TEXT, contact(wrote_ago=SERVICE_WINDOW_SECONDS), id="text-at-the-windows-last-second"),
        pytest.param(TEMPLATE, contact(wrote_ago=30 * 24 * HOUR), id="template-outside-the-window"),
        pytest.param(TEMPLATE, None, id="template-to-someone-who-never-wrote"),
        pytest.param(RECEIPT, None, id="read-receipt-no-contact"),
        pytest.param(RECEIPT, OPTED_OUT, id="read-receipt-to-an-opted-out-customer"),
        pytest.param(
            OutboundMessage.model_validate(
                {"idempotency_key": "g", "message": {"recipient_type": "group", "to": "G1", **TEXT_BODY}}
            ),
            None,
            id="text-to-a-group-whose-members-are-each-their-own",
        ),
    ],
)
def test_documents_the_rules_allow(document, who):
    assert refusal(document, who, SETTINGS, NOW) is None


@pytest.mark.parametrize("document", [pytest.param(TEXT, id="text"), pytest.param(TEMPLATE, id="template")])
def test_nothing_goes_to_a_customer_who_opted_out_not_even_a_template(document):
    reason = refusal(document, OPTED_OUT, SETTINGS, NOW)
    assert reason is not None
    assert "opted out" in reason and "'STOP'" in reason


@pytest.mark.parametrize(
    "who",
    [pytest.param(None, id="no-contact"), pytest.param(contact(), id="contact-without-an-inbound-message")],
)
def test_a_free_form_message_to_someone_who_never_wrote_is_refused(who):
    reason = refusal(TEXT, who, SETTINGS, NOW)
    assert reason is not None
    assert "outside the 24-hour customer service window" in reason
    assert "has not written" in reason and "only a template" in reason


@pytest.mark.parametrize(
    ("ago", "hours"),
    [
        pytest.param(SERVICE_WINDOW_SECONDS + 1, 24, id="a-second-too-late"),
        pytest.param(49 * HOUR + 59 * 60, 49, id="hours-rounded-down"),
    ],
)
def test_a_free_form_message_after_the_window_closed_says_how_long_ago(ago, hours):
    reason = refusal(TEXT, contact(wrote_ago=ago), SETTINGS, NOW)
    assert reason is not None
    assert f"last wrote {hours} hours ago" in reason and "only a template" in reason


def test_with_the_window_not_enforced_free_form_messages_go_to_anyone_who_has_not_opted_out():
    relaxed = Settings(enforce_service_window=False)
    assert refusal(TEXT, None, relaxed, NOW) is None
    assert refusal(TEXT, contact(wrote_ago=30 * 24 * HOUR), relaxed, NOW) is None
    assert refusal(TEXT, OPTED_OUT, relaxed, NOW) is not None


# --- per sending number (issue 20) -----------------------------------------------------------------

DEFAULT = NumberEntry(phone_number_id="100", default=True)
SALES = NumberEntry(phone_number_id="200")
SUPPORT = NumberEntry(phone_number_id="300", opt_out_scope="number", window_policy="off")
STRICT = NumberEntry(phone_number_id="400", window_policy="enforce")


def test_the_window_checked_is_the_sending_numbers():
    # Wrote to the default number an hour ago, to sales two days ago.
    who = contact(wrote_ago=HOUR, windows={"200": NOW - 48 * HOUR})
    assert refusal(TEXT, who, SETTINGS, NOW, entry=DEFAULT) is None
    assert refusal(TEXT, who, SETTINGS, NOW) is None  # no entry: the default number, as before
    reason = refusal(TEXT, who, SETTINGS, NOW, entry=SALES)
    assert reason is not None and "last wrote 48 hours ago" in reason
    never = refusal(TEXT, who, SETTINGS, NOW, entry=STRICT)
    assert never is not None and "has not written to this number" in never


def test_a_numbers_window_policy_overrides_the_stacks():
    relaxed = Settings(enforce_service_window=False)
    assert refusal(TEXT, None, SETTINGS, NOW, entry=SUPPORT) is None  # "off" on an enforcing stack
    assert refusal(TEXT, None, relaxed, NOW, entry=STRICT) is not None  # "enforce" on a relaxed one
    assert refusal(TEXT, None, relaxed, NOW, entry=SALES) is None  # "": the stack's
    assert (enforces_window(None, SETTINGS), enforces_window(SALES, relaxed)) == (True, False)


def test_the_opt_out_checked_is_the_one_binding_the_sending_number():
    said_to_support = contact(wrote_ago=HOUR, number_opts={"300": OptChoice(opted_out=True, opt_keyword="STOP")})
    reason = refusal(TEXT, said_to_support, SETTINGS, NOW, entry=SUPPORT)
    assert reason is not None and "'STOP'" in reason
    assert refusal(TEMPLATE, said_to_support, SETTINGS, NOW, entry=SALES) is None
    # A business-wide opt-out binds every number, the number-scoped ones too.
    for entry in (None, DEFAULT, SALES, SUPPORT):
        assert refusal(TEMPLATE, OPTED_OUT, SETTINGS, NOW, entry=entry) is not None, entry


def text_message(body: str) -> InboundMessage:
    return InboundMessage.model_validate(
        {"from": "16505551234", "id": "wamid.IN", "type": "text", "text": {"body": body}}
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("STOP", ("out", "STOP"), id="stop"),
        pytest.param("stop", ("out", "STOP"), id="lowercase"),
        pytest.param("  Unsubscribe  ", ("out", "UNSUBSCRIBE"), id="surrounding-spaces"),
        pytest.param("stop   all", ("out", "STOP ALL"), id="inner-spaces-collapsed"),
        pytest.param("Stop all!!", ("out", "STOP ALL"), id="trailing-exclamation-marks"),
        pytest.param("stop.", ("out", "STOP"), id="trailing-full-stop"),
        pytest.param("Start", ("in", "START"), id="start"),
        pytest.param("unstop!", ("in", "UNSTOP"), id="opt-in-with-punctuation"),
        pytest.param("please stop", None, id="not-the-whole-message"),
        pytest.param("stopping", None, id="a-longer-word"),
        pytest.param("", None, id="empty"),
    ],
)
def test_a_whole_message_equal_to_a_keyword_is_an_opt_out_or_opt_in(body, expected):
    assert opt_keyword(text_message(body), SETTINGS) == expected


def test_keywords_come_from_the_settings_normalised_like_the_message():
    settings = Settings(opt_out_keywords="halt, Cancel Now.,", opt_in_keywords="resume")
    assert opt_keyword(text_message("cancel now"), settings) == ("out", "CANCEL NOW")
    assert opt_keyword(text_message("HALT!"), settings) == ("out", "HALT")
    assert opt_keyword(text_message("Resume"), settings) == ("in", "RESUME")
    assert opt_keyword(text_message("stop"), settings) is None  # the defaults are replaced


def test_a_word_in_both_lists_opts_out():
    settings = Settings(opt_out_keywords="STOP", opt_in_keywords="STOP,START")
    assert opt_keyword(text_message("stop"), settings) == ("out", "STOP")


@pytest.mark.parametrize(
    "message",
    [
        pytest.param({"type": "button", "button": {"text": "STOP", "payload": "STOP"}}, id="button-tap"),
        pytest.param({"type": "image", "image": {"id": "1", "caption": "STOP"}}, id="image-caption"),
        pytest.param({"type": "text"}, id="text-without-a-body-object"),
        pytest.param({"type": "reaction", "text": {"body": "STOP"}}, id="another-type-carrying-a-text-object"),
    ],
)
def test_only_text_messages_carry_keywords(message):
    inbound = InboundMessage.model_validate({"from": "16505551234", "id": "wamid.IN", **message})
    assert opt_keyword(inbound, SETTINGS) is None
