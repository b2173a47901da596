"""A customer's new number or business-scoped user id, as a system message tells it
(wacloud.models.system_messages); the bodies: tests/data/meta_webhooks.py."""

from __future__ import annotations

from typing import Any

from tests.data import meta_webhooks as meta
from wacloud.inbound.parse import parse_webhook
from wacloud.models.events import MessageEvent
from wacloud.models.system_messages import IdentityChange, identity_change
from wacloud.models.webhook import InboundMessage


def message(body: dict[str, Any]) -> InboundMessage:
    (event,) = parse_webhook(body)
    assert isinstance(event, MessageEvent)
    return event.message


def test_a_changed_number_gives_the_old_and_the_new_number():
    changed = message(meta.USER_CHANGED_NUMBER)
    assert changed.system and changed.system.type == "user_changed_number"
    assert identity_change(changed) == IdentityChange(
        kind="user_changed_number",
        old_phone=meta.PHONE,
        new_phone="16505559999",
        old_user_id=None,
        new_user_id=None,
        new_parent_user_id=None,
    )


def test_a_changed_user_id_gives_the_old_and_the_new_bsuid():
    change = message(meta.USER_CHANGED_USER_ID).identity_change
    assert change == IdentityChange(
        kind="user_changed_user_id",
        old_phone=meta.PHONE,
        new_phone="16505559999",
        old_user_id=meta.BSUID,
        new_user_id="US.99999999999999999999",
        new_parent_user_id="US.ENT.99999999999999999999",
    )


def test_the_body_names_the_old_address_the_message_leaves_out():
    raw = meta.USER_CHANGED_USER_ID["entry"][0]["changes"][0]["value"]["messages"][0]
    without = InboundMessage.model_validate({k: v for k, v in raw.items() if k != "from_user_id"})
    change = without.identity_change
    assert change is not None and change.old_user_id == meta.BSUID
    raw = meta.USER_CHANGED_NUMBER["entry"][0]["changes"][0]["value"]["messages"][0]
    change = InboundMessage.model_validate({**raw, "from": ""}).identity_change
    assert change is not None and change.old_phone == meta.PHONE


def test_other_messages_change_no_identity():
    identity = InboundMessage.model_validate(
        {"from": meta.PHONE, "id": "wamid.X", "type": "system", "system": {"type": "customer_identity_changed"}}
    )
    assert identity.identity_change is None
    assert message(meta.GROUP_MESSAGE).identity_change is None
