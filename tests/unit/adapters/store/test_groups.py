"""wacloud.adapters.store.groups: Meta's group events kept once each and queryable by group id, and
the group's state (lifecycle, settings, suspension, members) moved only by newer events (moto)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data import meta_webhooks as meta
from wacloud.adapters.store import Store
from wacloud.inbound.parse import parse_webhook
from wacloud.models.events import ChangeEvent
from wacloud.models.groups import GroupsUpdate

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def groups():
    return Store().groups


def record(groups, body: dict[str, Any]) -> list[bool]:
    (event,) = parse_webhook(body)
    assert isinstance(event, ChangeEvent)
    typed = event.typed()
    assert isinstance(typed, GroupsUpdate)
    return [
        groups.record(update, field=event.field, waba_id=event.waba_id, phone_number_id="1")
        for update in typed.groups or []
    ]


def test_each_event_is_kept_once_and_listed_by_group_in_time_order(groups):
    assert record(groups, meta.GROUP_DELETED) == [True]
    assert record(groups, meta.GROUP_CREATED) == [True]
    assert record(groups, meta.GROUP_CREATED) == [False]  # Meta's retry: the same content, the same key
    events = groups.events(meta.GROUP_ID)
    assert [(e.type, e.at, e.field) for e in events] == [
        ("group_create", meta.AT, "group_lifecycle_update"),
        ("group_delete", meta.AT + 100, "group_lifecycle_update"),
    ]
    assert events[0].value["invite_link"] == "https://chat.whatsapp.com/LINK_ID" and events[0].request_id == "REQ_1"
    assert groups.events("another group") == []


def test_a_failed_event_is_kept_but_changes_nothing(groups):
    record(groups, meta.GROUP_CREATE_FAILED)
    (event,) = groups.events(meta.GROUP_ID)
    assert event.succeeded is False and event.value["errors"][0]["code"] == 131000
    assert groups.state(meta.GROUP_ID) is None


def test_the_state_follows_the_newest_events_whatever_their_order(groups):
    for body in (meta.GROUP_DELETED, meta.GROUP_CREATED, meta.SETTINGS_PARTLY_FAILED, meta.SETTINGS_UPDATED):
        record(groups, body)
    state = groups.state(meta.GROUP_ID)
    assert state is not None
    assert (state.lifecycle, state.invite_link, state.join_approval_mode) == (
        "deleted",  # the delete is newer than the create that arrived after it
        "https://chat.whatsapp.com/LINK_ID",
        "approval_required",
    )
    # the newer partial update took only its picture; the older full update came too late
    assert (state.subject, state.description, state.picture_sha256) == ("test invite link", None, "PHOTO_HASH_2")
    record(groups, meta.SETTINGS_FAILED)  # newest, but nothing in it took
    assert groups.state(meta.GROUP_ID) == state


def test_suspension_and_clearing(groups):
    record(groups, meta.GROUP_SUSPENSION_CLEARED)
    record(groups, meta.GROUP_SUSPENDED)  # older: changes nothing
    state = groups.state(meta.GROUP_ID)
    assert state is not None and state.suspended is False
    record(
        groups,
        meta.groups(
            "group_status_update", {"timestamp": meta.AT + 99, "type": "group_suspend", "group_id": meta.GROUP_ID}
        ),
    )
    state = groups.state(meta.GROUP_ID)
    assert state is not None and state.suspended is True


def test_members_join_request_and_leave(groups):
    record(groups, meta.JOIN_REQUEST_CREATED)
    assert groups.members(meta.GROUP_ID) == {meta.PHONE: "requested"}
    record(groups, meta.JOIN_REQUEST_APPROVED)
    assert groups.members(meta.GROUP_ID) == {meta.PHONE: "member", "16505550000": "member"}
    record(groups, meta.JOIN_REQUEST_REVOKED)  # older than the approval: too late
    record(groups, meta.PARTICIPANT_REMOVE_PARTLY_FAILED)
    assert groups.members(meta.GROUP_ID) == {meta.PHONE: "removed", "16505550000": "member"}
    record(groups, meta.PARTICIPANT_LEFT_BSUID)
    assert groups.members(meta.GROUP_ID)[meta.BSUID] == "removed"
