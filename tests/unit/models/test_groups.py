"""Meta's documented bodies of the four group fields become typed `GroupsUpdate`s with every value
in place (wacloud.models.groups); the bodies: tests/data/meta_webhooks.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data import meta_webhooks as meta
from wacloud.inbound.parse import parse_webhook
from wacloud.models.events import ChangeEvent
from wacloud.models.groups import GroupsUpdate, GroupUpdate


def the_group_update(body: dict[str, Any]) -> tuple[ChangeEvent, GroupUpdate]:
    (event,) = parse_webhook(body)
    assert isinstance(event, ChangeEvent)
    typed = event.typed()
    assert isinstance(typed, GroupsUpdate) and typed.groups is not None
    assert typed.metadata is not None and typed.metadata.phone_number_id == meta.PHONE_NUMBER_ID
    (group,) = typed.groups
    assert group.group_id == meta.GROUP_ID
    return event, group


@pytest.mark.parametrize("name", sorted(meta.GROUP_BODIES))
def test_every_documented_group_body_is_a_typed_group_update(name):
    event, group = the_group_update(meta.GROUP_BODIES[name])
    assert event.field.startswith("group_") and group.type and group.timestamp is not None


def test_group_created_and_its_failure():
    _, created = the_group_update(meta.GROUP_CREATED)
    assert (created.type, created.subject, created.invite_link, created.join_approval_mode) == (
        "group_create",
        "test invite link",
        "https://chat.whatsapp.com/LINK_ID",
        "approval_required",
    )
    assert created.succeeded and created.timestamp == meta.AT and created.request_id == "REQ_1"
    _, failed = the_group_update(meta.GROUP_CREATE_FAILED)
    assert not failed.succeeded and failed.errors and failed.errors[0].code == 131000
    assert failed.description == "Delivery questions"


def test_participants_added_removed_and_failed():
    _, approved = the_group_update(meta.JOIN_REQUEST_APPROVED)
    assert approved.timestamp == meta.AT + 7  # a number, where other bodies have a string
    assert [p.address for p in approved.added_participants or []] == [meta.PHONE, "16505550000"]
    assert (approved.added_participants or [])[0].input == "+16505551234"
    _, partly = the_group_update(meta.PARTICIPANT_REMOVE_PARTLY_FAILED)
    assert partly.initiated_by == "business" and [p.address for p in partly.removed_participants or []] == [meta.PHONE]
    (failed,) = partly.failed_participants or []
    assert failed.input == "16505550000" and failed.errors and failed.errors[0].code == 131000
    _, left = the_group_update(meta.PARTICIPANT_LEFT_BSUID)
    (who,) = left.removed_participants or []
    assert (who.address, who.parent_user_id, who.username, left.initiated_by) == (
        meta.BSUID,
        meta.PARENT_BSUID,
        "@sheena",
        "participant",
    )


def test_join_requests_name_the_requester():
    _, created = the_group_update(meta.JOIN_REQUEST_CREATED)
    assert (created.type, created.join_request_id, created.requester, created.reason) == (
        "group_join_request_created",
        "JOIN_1",
        meta.PHONE,
        "admin_approval",
    )
    _, by_bsuid = the_group_update(meta.JOIN_REQUEST_CREATED_BSUID)
    assert by_bsuid.requester == meta.BSUID and by_bsuid.username == "@sheena"


def test_settings_updates_say_which_setting_took():
    _, done = the_group_update(meta.SETTINGS_UPDATED)
    assert done.group_subject and done.group_subject.text == "Test Subject" and done.group_subject.update_successful
    assert done.profile_picture and done.profile_picture.sha256 == "PHOTO_HASH"
    _, partly = the_group_update(meta.SETTINGS_PARTLY_FAILED)
    assert partly.profile_picture and partly.profile_picture.update_successful is True
    assert partly.group_subject and partly.group_subject.update_successful is False and partly.group_subject.errors


def test_suspension_and_its_clearing():
    assert the_group_update(meta.GROUP_SUSPENDED)[1].type == "group_suspend"
    assert the_group_update(meta.GROUP_SUSPENSION_CLEARED)[1].type == "group_suspend_cleared"


def test_a_placeholder_time_is_no_time_not_an_unparsed_change():
    body = meta.groups("group_status_update", {"timestamp": "TIMESTAMP", "type": "group_suspend", "group_id": "G"})
    (event,) = parse_webhook(body)
    typed = event.typed() if isinstance(event, ChangeEvent) else None
    assert isinstance(typed, GroupsUpdate) and typed.groups and typed.groups[0].timestamp is None
