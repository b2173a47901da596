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


def test_marketing_preferences_say_stopped_or_not_with_every_address():
    from tests.data import meta_webhooks as meta

    (event,) = parse_webhook(meta.MARKETING_STOPPED)
    typed = event.typed() if isinstance(event, ChangeEvent) else None
    assert isinstance(typed, UserPreferencesUpdate) and typed.user_preferences
    (stop,) = typed.user_preferences
    assert (stop.is_marketing, stop.stopped, stop.user_id, stop.parent_user_id, stop.timestamp) == (
        True,
        True,
        meta.BSUID,
        meta.PARENT_BSUID,
        1731705721,
    )
    (event,) = parse_webhook(meta.MARKETING_RESUMED)
    typed = event.typed() if isinstance(event, ChangeEvent) else None
    assert isinstance(typed, UserPreferencesUpdate) and typed.user_preferences
    assert typed.user_preferences[0].stopped is False


def test_a_user_id_update_gives_the_previous_and_current_bsuid():
    from tests.data import meta_webhooks as meta
    from wacloud.models.changes import UserIdUpdate

    (event,) = parse_webhook(meta.USER_ID_UPDATED)
    typed = event.typed() if isinstance(event, ChangeEvent) else None
    assert isinstance(typed, UserIdUpdate) and typed.user_id_update
    (change,) = typed.user_id_update
    assert change.user_id and (change.user_id.previous, change.user_id.current) == (
        meta.BSUID,
        "US.99999999999999999999",
    )
    assert change.timestamp == 1753851400


def test_every_new_field_has_a_model():
    from wacloud.models.calls import CallsUpdate
    from wacloud.models.changes import CHANGE_MODELS
    from wacloud.models.groups import GroupsUpdate

    assert CHANGE_MODELS["calls"] is CallsUpdate
    for field in (
        "group_lifecycle_update",
        "group_participants_update",
        "group_settings_update",
        "group_status_update",
    ):
        assert CHANGE_MODELS[field] is GroupsUpdate
