"""Meta's webhook body: `entry[] -> changes[] -> value.{messages,statuses,errors}`.

These models are tolerant on purpose (Meta adds fields and types without notice): unknown keys are
kept (`extra="allow"`) and dumped back unchanged, and every sub-object is optional. Our own
contracts, by contrast, are strict (see `wacloud.models.outbound`).
Reference: developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference
"""

import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from wacloud.models.times import Timestamp, UnixTime

if TYPE_CHECKING:
    from wacloud.models.system_messages import IdentityChange

# Identifiers become DynamoDB keys (at most 2,048 bytes, sort keys 1,024) and log fields. Meta's are
# short: wamids about 60-100 ASCII characters, phone digits, BSUIDs like `US.1349...`. One that could
# not be a key makes its message or status unparsed, recorded with the reason, not retried to the DLQ.
# Addresses keep any characters (odd ones get a hashed FIFO group), 256 at most: 1,024 UTF-8 bytes.
WamId = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\x21-\x7e]+$")]
Address = Annotated[str, StringConstraints(max_length=256)]
StatusName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]


class MetaModel(BaseModel):
    """Base of Meta payload models: keep what we don't know, accept Meta's key names."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class Metadata(MetaModel):
    display_phone_number: str = ""
    phone_number_id: str = ""


class Profile(MetaModel):
    name: str | None = None
    username: str | None = None


class Contact(MetaModel):
    """`value.contacts[]`: who sent the messages of this change."""

    wa_id: Address = ""  # may be "" for users known only by a business-scoped user id
    user_id: Address | None = None  # the business-scoped user id (BSUID)
    parent_user_id: Address | None = None  # the BSUID across linked business portfolios
    profile: Profile | None = None


class ErrorData(MetaModel):
    details: str | None = None


class WebhookError(MetaModel):
    """An error as webhooks carry it (`statuses[].errors[]`, `messages[].errors[]`, `value.errors[]`)."""

    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: ErrorData | None = None
    href: str | None = None


class MessageContext(MetaModel):
    from_: str | None = Field(None, alias="from")
    id: str | None = None
    forwarded: bool | None = None
    frequently_forwarded: bool | None = None


class Text(MetaModel):
    body: str = ""


class Media(MetaModel):
    """image, video, audio, document and sticker objects."""

    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    voice: bool | None = None
    animated: bool | None = None
    url: str | None = None


class Location(MetaModel):
    # int first: a whole number stays exact (a float of over 15 digits would not), as Meta wrote it
    latitude: int | float | None = None
    longitude: int | float | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


class SharedName(MetaModel):
    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    prefix: str | None = None


class SharedPhone(MetaModel):
    phone: str | None = None
    wa_id: str | None = None  # present when the number is on WhatsApp
    type: str | None = None


class SharedEmail(MetaModel):
    email: str | None = None
    type: str | None = None


class SharedAddress(MetaModel):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: str | None = None


class SharedOrg(MetaModel):
    company: str | None = None
    department: str | None = None
    title: str | None = None


class SharedUrl(MetaModel):
    url: str | None = None
    type: str | None = None


class SharedContact(MetaModel):
    """A contact card (vCard) a customer shared: `messages[].contacts[]`, not `value.contacts[]`."""

    name: SharedName | None = None
    phones: list[SharedPhone] | None = None
    emails: list[SharedEmail] | None = None
    addresses: list[SharedAddress] | None = None
    org: SharedOrg | None = None
    urls: list[SharedUrl] | None = None
    birthday: str | None = None


class Reaction(MetaModel):
    message_id: str | None = None
    emoji: str | None = None


class ReplyChoice(MetaModel):
    id: str | None = None
    title: str | None = None
    description: str | None = None


class FlowReply(MetaModel):
    name: str | None = None
    body: str | None = None
    response_json: str | None = None


class CallPermissionReply(MetaModel):
    """A customer's answer to the business's call permission request (Calling API)."""

    response: str | None = None  # accept | reject
    expiration_timestamp: UnixTime = None  # until when an accepted permission lasts
    response_source: str | None = None  # user_action | automatic

    @property
    def accepted(self) -> bool:
        return (self.response or "").lower() == "accept"


class Interactive(MetaModel):
    type: str | None = None
    button_reply: ReplyChoice | None = None
    list_reply: ReplyChoice | None = None
    nfm_reply: FlowReply | None = None
    call_permission_reply: CallPermissionReply | None = None


class Button(MetaModel):
    """A tap on a template's quick-reply button."""

    payload: str | None = None
    text: str | None = None


class ProductItem(MetaModel):
    product_retailer_id: str | None = None
    quantity: int | str | None = None
    item_price: int | float | str | None = None
    currency: str | None = None


class Order(MetaModel):
    """A cart sent from the business's catalog."""

    catalog_id: str | None = None
    text: str | None = None
    product_items: list[ProductItem] | None = None


USER_CHANGED_NUMBER = "user_changed_number"
USER_CHANGED_USER_ID = "user_changed_user_id"
# "User A changed from 972987654321 to 972912345678"; "User <name> changed from <OLD_BSUID> to <NEW_BSUID>".
_CHANGED_FROM_TO = re.compile(r"changed from (\S+) to (\S+?)\.?$")


class System(MetaModel):
    """`user_changed_number` and `user_changed_user_id` (the new `wa_id`, `user_id`, `parent_user_id`:
    the message's `from`/`from_user_id` are the old ones), `customer_identity_changed`."""

    body: str | None = None
    type: str | None = None
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None

    @property
    def changed_from_to(self) -> tuple[str, str] | None:
        """The old and new address the body names, when it names them."""
        found = _CHANGED_FROM_TO.search((self.body or "").strip())
        return (found.group(1), found.group(2)) if found else None


class Referral(MetaModel):
    """The ad or post a Click-to-WhatsApp conversation started from."""

    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    body: str | None = None
    headline: str | None = None
    media_type: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None


class Identity(MetaModel):
    acknowledged: bool | None = None
    created_timestamp: int | str | None = None
    hash: str | None = None


class Unsupported(MetaModel):
    type: str | None = None


class Revoke(MetaModel):
    original_message_id: str | None = None


class Edit(MetaModel):
    original_message_id: str | None = None
    message: dict[str, Any] | None = None


class InboundMessage(MetaModel):
    """`value.messages[]`. `type` is kept as a string so a type Meta adds tomorrow still parses."""

    from_: Address = Field("", alias="from")
    from_user_id: Address | None = None
    from_parent_user_id: Address | None = None
    group_id: Address | None = None  # a message written in a group: `from` is the participant
    id: WamId
    timestamp: Timestamp = 0
    type: str = "unknown"
    context: MessageContext | None = None
    text: Text | None = None
    image: Media | None = None
    video: Media | None = None
    audio: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    location: Location | None = None
    contacts: list[SharedContact] | None = None
    interactive: Interactive | None = None
    button: Button | None = None
    reaction: Reaction | None = None
    order: Order | None = None
    system: System | None = None
    referral: Referral | None = None
    identity: Identity | None = None
    unsupported: Unsupported | None = None
    revoke: Revoke | None = None
    edit: Edit | None = None
    errors: list[WebhookError] | None = None

    @property
    def sender(self) -> str:
        """The customer's address: phone number, or business-scoped user id when there is none."""
        return self.from_ or self.from_user_id or ""

    @property
    def is_group(self) -> bool:
        return bool(self.group_id)

    @property
    def participant(self) -> str | None:
        """Who wrote a group message (the same address as `sender`); None for a one-to-one message."""
        return (self.sender or None) if self.group_id else None

    @property
    def call_permission(self) -> CallPermissionReply | None:
        """The customer's answer to a call permission request, when this message is one."""
        return self.interactive.call_permission_reply if self.interactive else None

    @property
    def identity_change(self) -> "IdentityChange | None":
        """What a `user_changed_number` or `user_changed_user_id` system message changes; None otherwise."""
        from wacloud.models.system_messages import identity_change  # a rare message: built when asked

        return identity_change(self)

    @property
    def forwarded(self) -> bool:
        return bool(self.context and (self.context.forwarded or self.context.frequently_forwarded))

    @property
    def media(self) -> Media | None:
        """The media object of an image, video, audio, document or sticker message."""
        return self.image or self.video or self.audio or self.document or self.sticker


class Pricing(MetaModel):
    billable: bool | None = None
    pricing_model: str | None = None
    type: str | None = None
    category: str | None = None


class Conversation(MetaModel):
    id: str | None = None
    # Shown, never compared: kept exactly as Meta wrote it (an int stays an int, a float a float).
    expiration_timestamp: int | float | str | None = None
    origin: dict[str, Any] | None = None


class Status(MetaModel):
    """`value.statuses[]`: what happened to a message the business sent."""

    id: WamId
    status: StatusName
    timestamp: Timestamp = 0
    recipient_id: Address = ""
    recipient_user_id: Address | None = None
    recipient_parent_user_id: Address | None = None
    # A message sent to a group: `recipient_id` is the group, these name the participant (Meta's
    # pages spell the phone number's field both ways).
    recipient_type: str | None = None
    recipient_participant_id: Address | None = Field(
        None, validation_alias=AliasChoices("recipient_participant_id", "participant_recipient_id")
    )
    recipient_participant_user_id: Address | None = None
    recipient_participant_parent_user_id: Address | None = None
    biz_opaque_callback_data: str | None = None
    conversation: Conversation | None = None
    pricing: Pricing | None = None
    errors: list[WebhookError] | None = None

    @property
    def recipient(self) -> str:
        return self.recipient_id or self.recipient_user_id or ""

    @property
    def is_group(self) -> bool:
        return self.recipient_type == "group"

    @property
    def participant(self) -> str | None:
        """The group participant this status is about (BSUID, else phone); None for a one-to-one
        message or a status of the group message as a whole."""
        if not self.is_group:
            return None
        return self.recipient_participant_user_id or self.recipient_participant_id or None
