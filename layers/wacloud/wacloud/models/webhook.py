"""Meta's webhook body: `entry[] -> changes[] -> value.{messages,statuses,errors}`.

These models are tolerant on purpose (Meta adds fields and types without notice): unknown keys are
kept (`extra="allow"`) and dumped back unchanged, and every sub-object is optional. Our own
contracts, by contrast, are strict (see `wacloud.models.outbound`).
Reference: developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MetaModel(BaseModel):
    """Base of Meta payload models: keep what we don't know, accept Meta's key names."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Metadata(MetaModel):
    display_phone_number: str = ""
    phone_number_id: str = ""


class Profile(MetaModel):
    name: str | None = None
    username: str | None = None


class Contact(MetaModel):
    """`value.contacts[]`: who sent the messages of this change."""

    wa_id: str = ""  # may be "" for users known only by a business-scoped user id
    user_id: str | None = None
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
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


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


class Interactive(MetaModel):
    type: str | None = None
    button_reply: ReplyChoice | None = None
    list_reply: ReplyChoice | None = None
    nfm_reply: FlowReply | None = None


class Button(MetaModel):
    """A tap on a template's quick-reply button."""

    payload: str | None = None
    text: str | None = None


class InboundMessage(MetaModel):
    """`value.messages[]`. `type` is kept as a string so a type Meta adds tomorrow still parses."""

    from_: str = Field("", alias="from")
    from_user_id: str | None = None
    id: str = Field(min_length=1)
    timestamp: int = 0
    type: str = "unknown"
    context: MessageContext | None = None
    text: Text | None = None
    image: Media | None = None
    video: Media | None = None
    audio: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    location: Location | None = None
    contacts: list[dict[str, Any]] | None = None
    interactive: Interactive | None = None
    button: Button | None = None
    reaction: Reaction | None = None
    order: dict[str, Any] | None = None
    system: dict[str, Any] | None = None
    referral: dict[str, Any] | None = None
    errors: list[WebhookError] | None = None

    @property
    def sender(self) -> str:
        """The customer's address: phone number, or business-scoped user id when there is none."""
        return self.from_ or self.from_user_id or ""


class Pricing(MetaModel):
    billable: bool | None = None
    pricing_model: str | None = None
    type: str | None = None
    category: str | None = None


class Conversation(MetaModel):
    id: str | None = None
    expiration_timestamp: int | None = None
    origin: dict[str, Any] | None = None


class Status(MetaModel):
    """`value.statuses[]`: what happened to a message the business sent."""

    id: str = Field(min_length=1)
    status: str = Field(min_length=1)
    timestamp: int = 0
    recipient_id: str = ""
    recipient_user_id: str | None = None
    biz_opaque_callback_data: str | None = None
    conversation: Conversation | None = None
    pricing: Pricing | None = None
    errors: list[WebhookError] | None = None

    @property
    def recipient(self) -> str:
        return self.recipient_id or self.recipient_user_id or ""
