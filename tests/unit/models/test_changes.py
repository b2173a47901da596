"""Known change fields of a webhook become typed values; anything new keeps its raw value
(wacloud.models.changes)."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud.inbound.parse import parse_webhook
from wacloud.models.changes import AccountUpdate, TemplateQualityUpdate, TemplateStatusUpdate, UserPreferencesUpdate
from wacloud.models.events import ChangeEvent

FROM = "16505551234"


def webhook(value: dict[str, Any], field: str) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": value}]}],
    }


@pytest.mark.parametrize(
    ("field", "value", "model", "check"),
    [
        (
            "message_template_status_update",
            {
                "event": "APPROVED",
                "message_template_id": 806312974732579,
                "message_template_name": "order_update",
                "message_template_language": "en_US",
                "reason": "NONE",
            },
            TemplateStatusUpdate,
            lambda t: t.event == "APPROVED",
        ),
        (
            "message_template_quality_update",
            {
                "previous_quality_score": "GREEN",
                "new_quality_score": "YELLOW",
                "message_template_id": 1,
                "message_template_name": "x",
                "message_template_language": "en",
            },
            TemplateQualityUpdate,
            lambda t: t.new_quality_score == "YELLOW",
        ),
        (
            "account_update",
            {
                "phone_number": "15550783881",
                "event": "ACCOUNT_RESTRICTION",
                "restriction_info": [
                    {"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": 1577985000}
                ],
            },
            AccountUpdate,
            lambda t: t.restriction_info[0]["expiration"] == 1577985000,
        ),
        (
            "user_preferences",
            {
                "messaging_product": "whatsapp",
                "metadata": {"phone_number_id": "1"},
                "user_preferences": [
                    {
                        "wa_id": FROM,
                        "detail": "User requested to stop",
                        "category": "marketing_messages",
                        "value": "stop",
                        "timestamp": 1731705721,
                    }
                ],
            },
            UserPreferencesUpdate,
            lambda t: t.user_preferences[0].value == "stop",
        ),
    ],
    ids=["template-status", "template-quality", "account-update", "user-preferences"],
)
def test_known_change_fields_are_typed(field, value, model, check):
    (event,) = parse_webhook(webhook(value, field=field))
    assert isinstance(event, ChangeEvent) and event.value == value
    typed = event.typed()
    assert isinstance(typed, model) and check(typed)


def test_unknown_change_field_keeps_its_raw_value():
    (event,) = parse_webhook(webhook({"anything": [1, 2]}, field="brand_new_field"))
    assert isinstance(event, ChangeEvent) and event.typed() is None and event.value == {"anything": [1, 2]}
