from __future__ import annotations

from wacloud.models.identity import CustomerIdentity
from wacloud.models.webhook import Contact, InboundMessage


def test_of_tells_each_kind_of_address() -> None:
    assert CustomerIdentity.of("+1 650-555-1234") == CustomerIdentity(phone="16505551234")
    assert CustomerIdentity.of("US.13491208655302741918") == CustomerIdentity(user_id="US.13491208655302741918")
    assert CustomerIdentity.of("US.ENT.1181") == CustomerIdentity(parent_user_id="US.ENT.1181")
    assert CustomerIdentity.of("@Jane.Doe") == CustomerIdentity(username="Jane.Doe")


def test_from_message_takes_every_name_and_orders_by_the_user_id() -> None:
    message = InboundMessage.model_validate({"from": "", "from_user_id": "US.1", "id": "wamid.A"})
    contact = Contact.model_validate(
        {"wa_id": "", "user_id": "US.1", "parent_user_id": "US.ENT.9", "profile": {"name": "J", "username": "JaneD"}}
    )
    identity = CustomerIdentity.from_message(message, contact)
    assert identity == CustomerIdentity(user_id="US.1", parent_user_id="US.ENT.9", username="JaneD")
    assert identity.primary == "US.1"
    assert identity.addresses() == ["US.1", "US.ENT.9", "@janed"]


def test_a_phone_only_sender_is_ordered_by_its_digits() -> None:
    message = InboundMessage.model_validate({"from": "16505551234", "id": "wamid.A"})
    identity = CustomerIdentity.from_message(message, None)
    assert identity.primary == "16505551234"
    assert identity.addresses() == ["16505551234"]


def test_an_identity_with_no_name_is_false() -> None:
    assert not CustomerIdentity()
    assert not CustomerIdentity(phone="  ")
    assert CustomerIdentity(phone="1").primary == "1"


def test_a_username_is_one_address_with_or_without_metas_at_sign() -> None:
    contact = Contact.model_validate({"user_id": "US.1", "profile": {"username": "@RealSheena"}})
    message = InboundMessage.model_validate({"from": "", "from_user_id": "US.1", "id": "wamid.A"})
    identity = CustomerIdentity.from_message(message, contact)
    assert identity.username == "RealSheena"
    assert identity.addresses() == ["US.1", "@realsheena"]
    assert CustomerIdentity.of("@@realsheena").addresses() == ["@realsheena"]
