"""`GROUP#<group id>`: a WhatsApp group the business manages, from the Groups API's webhooks.

  EVENT#<at>#<digest>   each group event as Meta sent it, once (the key derives from its content)
  STATE                 the group as the events leave it: created or deleted, subject, description,
                        picture, invite link, suspended
  MEMBER#<address>      a participant or a join request: member, removed, requested, request_revoked

Meta does not promise the events' order: each part of the state (lifecycle, settings, suspension,
each member) keeps the time of the event that set it and takes only a newer one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from wacloud.adapters.store.repository import Repository, truncate
from wacloud.adapters.table import Key, Update
from wacloud.models.keys import customer_key, digest

if TYPE_CHECKING:
    from wacloud.models.groups import GroupUpdate

EVENT_PREFIX = "EVENT#"
MEMBER_PREFIX = "MEMBER#"


def partition(group_id: str) -> str:
    return f"GROUP#{group_id}"


def state_key(group_id: str) -> Key:
    return {"pk": partition(group_id), "sk": "STATE"}


class GroupEventRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    group_id: str
    field: str
    type: str | None = None
    at: int
    request_id: str | None = None
    succeeded: bool = True
    value: dict[str, Any]


class GroupState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    group_id: str
    lifecycle: str | None = None  # created | deleted
    subject: str | None = None
    description: str | None = None
    invite_link: str | None = None
    join_approval_mode: str | None = None
    picture_sha256: str | None = None
    suspended: bool = False
    updated_at: int | None = None


class GroupRecords(Repository):
    def record(self, update: GroupUpdate, *, field: str, waba_id: str, phone_number_id: str) -> bool:
        """Keep a group event once and apply it to the group's state; False when it was kept already
        (the state is applied again all the same: a retry after a failed write completes it)."""
        group_id, now = update.group_id or "", self._now()
        at = update.timestamp or now
        raw = update.model_dump(mode="json", by_alias=True, exclude_none=True)
        new = self.table.put_new(
            {
                "pk": partition(group_id),
                "sk": f"{EVENT_PREFIX}{at:012d}#{digest([field, raw])[:20]}",
                "group_id": group_id,
                "field": field,
                "type": update.type or "",
                "at": at,
                "request_id": update.request_id or "",
                "succeeded": update.succeeded,
                "waba_id": waba_id,
                "phone_number_id": phone_number_id,
                "value": truncate(json.dumps(raw)),
                "created_at": now,
                "expires_at": now + self.ttl_seconds,
            }
        )
        self._apply(update, group_id, at)
        return new

    def events(self, group_id: str) -> list[GroupEventRecord]:
        """The group's events, oldest first."""
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :prefix)", {":pk": partition(group_id), ":prefix": EVENT_PREFIX}
        )
        return [GroupEventRecord.model_validate({**item, "value": json.loads(item["value"])}) for item in items]

    def state(self, group_id: str) -> GroupState | None:
        item = self.table.get(state_key(group_id))
        return GroupState.model_validate(item) if item else None

    def members(self, group_id: str) -> dict[str, str]:
        """Each participant's or requester's standing, by address."""
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :prefix)", {":pk": partition(group_id), ":prefix": MEMBER_PREFIX}
        )
        return {item["sk"].removeprefix(MEMBER_PREFIX): item["standing"] for item in items}

    def _apply(self, update: GroupUpdate, group_id: str, at: int) -> None:
        kind = update.type or ""
        if kind in ("group_create", "group_delete") and update.succeeded:
            self._set_state(
                group_id, "lifecycle_at", at, {"lifecycle": "created" if kind == "group_create" else "deleted"}
            )
            if kind == "group_create":
                # What the group was created with, unless a settings update said otherwise (or first).
                created = {
                    "subject": update.subject,
                    "description": update.description,
                    "invite_link": update.invite_link,
                    "join_approval_mode": update.join_approval_mode,
                }
                self._set_state(group_id, None, at, created)
        elif kind == "group_settings_update":
            # Only the settings that took: a partial failure carries the others with their errors.
            settings = {
                "subject": update.group_subject,
                "description": update.group_description,
                "picture_sha256": update.profile_picture,
            }
            taken = {
                name: getattr(setting, "text", None) or getattr(setting, "sha256", None)
                for name, setting in settings.items()
                if setting is not None and setting.update_successful
            }
            self._set_state(group_id, "settings_at", at, taken)
        elif kind in ("group_suspend", "group_suspend_cleared"):
            self._set_state(group_id, "suspension_at", at, {"suspended": kind == "group_suspend"})
        for address, standing in _standings(update):
            self._set_member(group_id, address, standing, at)

    def _set_state(self, group_id: str, guard: str | None, at: int, values: dict[str, Any]) -> None:
        """Set state attributes if the event is newer than the one that set `guard`'s part; with no
        guard, fill in only the attributes still missing."""
        values = {name: value for name, value in values.items() if value is not None}
        if not values:
            return
        now = self._now()
        if guard is None:
            sets = [f"#{name} = if_not_exists(#{name}, :{name})" for name in values]
        else:
            sets = [f"#{name} = :{name}" for name in values] + ["#guard = :at"]
        # expires_at is renewed by each event: the group is kept while it is in use.
        sets += ["group_id = :gid", "updated_at = :now", "expires_at = :exp"]
        bound = {f":{name}": value for name, value in values.items()}
        bound.update({":gid": group_id, ":now": now, ":exp": now + self.ttl_seconds})
        names = {f"#{name}": name for name in values}
        condition = None
        if guard is not None:
            bound[":at"], names["#guard"] = at, guard
            condition = "attribute_not_exists(#guard) OR #guard <= :at"
        self.table.update(state_key(group_id), Update("SET " + ", ".join(sets), bound, names, condition))

    def _set_member(self, group_id: str, address: str, standing: str, at: int) -> None:
        now = self._now()
        self.table.update(
            {"pk": partition(group_id), "sk": MEMBER_PREFIX + customer_key(address)},
            Update(
                "SET standing = :standing, changed_at = :at, group_id = :gid, updated_at = :now, expires_at = :exp",
                {":standing": standing, ":at": at, ":gid": group_id, ":now": now, ":exp": now + self.ttl_seconds},
                condition="attribute_not_exists(changed_at) OR changed_at <= :at",
            ),
        )


def _standings(update: GroupUpdate) -> list[tuple[str, str]]:
    """Who the event moves, and to what: added and removed participants, join requests."""
    moved = [(p.address, "member") for p in update.added_participants or []]
    moved += [(p.address, "removed") for p in update.removed_participants or []]
    requests = {"group_join_request_created": "requested", "group_join_request_revoked": "request_revoked"}
    if update.type in requests and update.requester:
        moved.append((update.requester, requests[update.type]))
    return [(address, standing) for address, standing in moved if address]
