"""The Calling API's `calls` webhook field: `value.calls[]` (a call connecting, with the SDP offer or
answer, or terminating) and `value.statuses[]` (a business-initiated call ringing, accepted or
rejected). Tolerant, like every model of Meta's payloads. Reference:
developers.facebook.com/documentation/business-messaging/whatsapp/calling/reference and
/calling/user-initiated-calls; BSUIDs in calls: /business-scoped-user-ids."""

from pydantic import Field

from wacloud.models.times import UnixTime
from wacloud.models.webhook import Contact, Metadata, MetaModel, WebhookError

USER_INITIATED = "USER_INITIATED"
BUSINESS_INITIATED = "BUSINESS_INITIATED"


class CallSession(MetaModel):
    sdp_type: str | None = None  # offer (a customer calls) | answer (the customer took the business's call)
    sdp: str | None = None


class Call(MetaModel):
    """One item of `value.calls[]`: `event` connect or terminate."""

    id: str = ""  # wacid.…
    from_: str | None = Field(None, alias="from")
    from_user_id: str | None = None
    from_parent_user_id: str | None = None
    to: str | None = None
    to_user_id: str | None = None
    to_parent_user_id: str | None = None
    event: str | None = None
    timestamp: UnixTime = None
    direction: str | None = None
    session: CallSession | None = None
    # terminate: COMPLETED or FAILED (one of Meta's pages lists both, as a list)
    status: str | list[str] | None = None
    start_time: UnixTime = None
    end_time: UnixTime = None
    duration: int | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[WebhookError] | None = None

    @property
    def user_initiated(self) -> bool:
        """A customer called the business (it opens their service window, as a message does)."""
        return (self.direction or "").upper() == USER_INITIATED

    @property
    def outcome(self) -> str | None:
        """A terminated call's status, as one string."""
        if isinstance(self.status, list):
            return "/".join(self.status) or None
        return self.status


class CallStatus(MetaModel):
    """One item of `value.statuses[]` of a `calls` change: RINGING, ACCEPTED, REJECTED."""

    id: str = ""
    type: str | None = None  # call
    status: str | None = None
    timestamp: UnixTime = None
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    recipient_parent_user_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[WebhookError] | None = None


class CallsUpdate(MetaModel):
    """The value of a `calls` change."""

    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[Contact] | None = None
    calls: list[Call] | None = None
    statuses: list[CallStatus] | None = None
    errors: list[WebhookError] | None = None

    def contact_for(self, call: Call) -> Contact | None:
        """The customer's profile: the contact whose phone or BSUID is the call's other party, or the only one."""
        contacts = self.contacts or []
        ids = {call.from_, call.from_user_id} if call.user_initiated else {call.to, call.to_user_id}
        for contact in contacts:
            if {contact.wa_id or None, contact.user_id} & (ids - {None}):
                return contact
        return contacts[0] if len(contacts) == 1 else None
