"""What a webhook change does beyond being recorded (`CHANGE#`): group events kept per group, calls
kept per call (a customer's call opens their service window, as a message does), and a customer's
marketing preference applied to them. The processor runs each change once (idempotency); every
write here is safe to repeat anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from wacloud.adapters.registry import get_registry
from wacloud.models.identity import CustomerIdentity
from wacloud.runtime.logs import child_logger
from wacloud.runtime.metrics import count

if TYPE_CHECKING:
    from wacloud.adapters.store.calls import CallRecords
    from wacloud.adapters.store.groups import GroupRecords
    from wacloud.models.calls import Call, CallsUpdate
    from wacloud.models.changes import UserIdUpdate, UserPreferencesUpdate
    from wacloud.models.events import ChangeEvent
    from wacloud.models.groups import GroupsUpdate
    from wacloud.models.number_entry import NumberEntry
    from wacloud.models.webhook import Contact, Metadata

logger = child_logger(__name__)


class CustomerUpdates(Protocol):
    """What a change does to a customer (`CustomerRecords`)."""

    def touch(self, identity: CustomerIdentity, *, at: int, ref: str, entry: NumberEntry | None = None) -> object: ...

    def set_marketing(
        self, identity: CustomerIdentity, *, stopped: bool, at: int, entry: NumberEntry | None = None
    ) -> bool: ...

    def change_identity(
        self, old: CustomerIdentity, new: CustomerIdentity, *, at: int, entry: NumberEntry | None = None
    ) -> str: ...


class AccountChanges:
    def __init__(self, *, groups: GroupRecords, calls: CallRecords, customers: CustomerUpdates) -> None:
        self.groups = groups
        self.calls = calls
        self.customers = customers

    def apply(self, event: ChangeEvent) -> str | None:
        """Apply a change of a field this knows; its outcome, or None for any other field."""
        # The change models are imported by the first change (a cold start on a message needs none).
        from wacloud.models.calls import CallsUpdate
        from wacloud.models.changes import UserIdUpdate, UserPreferencesUpdate
        from wacloud.models.groups import GroupsUpdate

        typed = event.typed()
        if isinstance(typed, GroupsUpdate):
            return self._groups(event, typed)
        if isinstance(typed, CallsUpdate):
            return self._calls(event, typed)
        if isinstance(typed, UserPreferencesUpdate):
            return self._preferences(typed, _number(event, typed.metadata))
        if isinstance(typed, UserIdUpdate):
            return self._user_ids(typed, _number(event, typed.metadata))
        return None

    def _groups(self, event: ChangeEvent, value: GroupsUpdate) -> str:
        phone_number_id = value.metadata.phone_number_id if value.metadata else event.phone_number_id
        kept = 0
        for update in value.groups or []:
            if not update.group_id:
                logger.warning("Group event without a group id", extra={"field": event.field, "type": update.type})
                continue
            self.groups.record(update, field=event.field, waba_id=event.waba_id, phone_number_id=phone_number_id)
            kept += 1
            logger.info("Group event recorded", extra={"field": event.field, "type": update.type})
        count("GroupEventRecorded", kept)
        return "group events recorded"

    def _calls(self, event: ChangeEvent, value: CallsUpdate) -> str:
        phone_number_id = value.metadata.phone_number_id if value.metadata else event.phone_number_id
        for call in value.calls or []:
            if not call.id:
                continue
            identity = _caller(call, value.contact_for(call))
            self.calls.record_call(call, customer=identity.primary, phone_number_id=phone_number_id)
            logger.info("Call event recorded", extra={"event": call.event, "direction": call.direction})
            count("CallEventRecorded")
            if call.user_initiated and identity:
                # A customer's call opens (or renews) their customer service window with the number called.
                self.customers.touch(
                    identity, at=call.timestamp or 0, ref=call.id, entry=_number(event, value.metadata)
                )
                count("CustomerCallReceived")
        for status in value.statuses or []:
            if status.id:
                recipient = CustomerIdentity(phone=status.recipient_id, user_id=status.recipient_user_id)
                self.calls.record_status(status, customer=recipient.primary)
                count("CallEventRecorded")
        return "calls recorded"

    def _preferences(self, value: UserPreferencesUpdate, entry: NumberEntry | None) -> str:
        """Applied to the customer of the business of the number told (each business's are its own)."""
        for preference in value.user_preferences or []:
            identity = CustomerIdentity(
                phone=preference.wa_id or None,
                user_id=preference.user_id or None,
                parent_user_id=preference.parent_user_id or None,
            )
            if not preference.is_marketing or not identity:
                continue
            at = preference.timestamp or 0
            applied = self.customers.set_marketing(identity, stopped=preference.stopped, at=at, entry=entry)
            logger.info("Marketing preference", extra={"value": preference.value, "applied": applied})
            count("MarketingPreferenceChanged", 1 if applied else 0)
        return "preferences applied"

    def _user_ids(self, value: UserIdUpdate, entry: NumberEntry | None) -> str:
        """A customer's BSUID (or parent BSUID) changed: the new one names the same customer (of the
        business of the number told)."""
        for change in value.user_id_update or []:
            user_id, parent = change.user_id, change.parent_user_id
            old = CustomerIdentity(
                phone=change.wa_id or None,
                user_id=user_id.previous if user_id else None,
                parent_user_id=parent.previous if parent else None,
            )
            new = CustomerIdentity(
                user_id=user_id.current if user_id else None, parent_user_id=parent.current if parent else None
            )
            if not old or not new:
                logger.warning("User id change without an old or a new id", extra={"detail": change.detail})
                continue
            self.customers.change_identity(old, new, at=change.timestamp or 0, entry=entry)
            count("CustomerIdentityChanged")
        return "user ids changed"


def _number(event: ChangeEvent, metadata: Metadata | None) -> NumberEntry | None:
    """The registry's entry of the number a change names, else a number of its WABA (a field may name
    no number: `user_preferences`; its WABA's numbers are one business's): whose customers it is about.
    None: the default number's (a stack whose numbers name no WABA)."""
    registry = get_registry()
    phone_number_id = metadata.phone_number_id if metadata else event.phone_number_id
    if phone_number_id:
        return registry.get(phone_number_id)
    return next((entry for entry in registry.entries() if event.waba_id and entry.waba_id == event.waba_id), None)


def _caller(call: Call, contact: Contact | None) -> CustomerIdentity:
    """The customer of a call: its caller when they called, its callee when the business did."""
    profile = contact.profile if contact else None
    if call.user_initiated:
        phone, user_id, parent = call.from_, call.from_user_id, call.from_parent_user_id
    else:
        phone, user_id, parent = call.to, call.to_user_id, call.to_parent_user_id
    return CustomerIdentity(
        phone=phone or (contact.wa_id if contact else None) or None,
        user_id=user_id or (contact.user_id if contact else None),
        parent_user_id=parent or (contact.parent_user_id if contact else None),
        username=profile.username if profile else None,
    )
