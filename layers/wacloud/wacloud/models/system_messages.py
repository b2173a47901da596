"""What a customer's `system` message changes about who they are: a new phone number
(`user_changed_number`) or a new business-scoped user id (`user_changed_user_id`, sent when a
number change regenerates the BSUID). The message's `from`/`from_user_id` are the old addresses, its
`system` object the new ones; the body names the old one too ("User A changed from X to Y")."""

from __future__ import annotations

from dataclasses import dataclass

from wacloud.models.webhook import USER_CHANGED_NUMBER, USER_CHANGED_USER_ID, InboundMessage


@dataclass(frozen=True)
class IdentityChange:
    """A customer's old and new addresses, as a system message tells them (None: not told)."""

    kind: str  # user_changed_number | user_changed_user_id
    old_phone: str | None
    new_phone: str | None
    old_user_id: str | None
    new_user_id: str | None
    new_parent_user_id: str | None


def identity_change(message: InboundMessage) -> IdentityChange | None:
    """The change a system message reports; None for any other message."""
    system = message.system
    if system is None or system.type not in (USER_CHANGED_NUMBER, USER_CHANGED_USER_ID):
        return None
    old_phone, old_user_id = message.from_ or None, message.from_user_id
    named = system.changed_from_to
    # The body's old address fills in what the message itself leaves out.
    if named is not None and system.type == USER_CHANGED_NUMBER:
        old_phone = old_phone or named[0]
    elif named is not None:
        old_user_id = old_user_id or named[0]
    return IdentityChange(
        kind=system.type,
        old_phone=old_phone,
        new_phone=system.wa_id,
        old_user_id=old_user_id,
        new_user_id=system.user_id,
        new_parent_user_id=system.parent_user_id,
    )
