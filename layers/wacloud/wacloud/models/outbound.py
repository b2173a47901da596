"""The outbound contract: one JSON document per message on the outbound queue.

A document is an envelope (idempotency key, optional client reference, optional sending number)
around a `message`: either a Graph API message body exactly as `POST /{phone-number-id}/messages`
takes it, or a read receipt for an inbound message. It is validated against WhatsApp's limits
before any Graph call; `schemas/outbound-message.schema.json` is generated from these models.
"""

import re
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from wacloud.models.interactive import Interactive, MediaLink
from wacloud.models.keys import USER_ID_PATTERN  # `recipient`: "US.1349…" (or a parent one, "US.ENT.…")
from wacloud.models.templates import TemplateBody

SCHEMA_VERSION: Final = 1
# Printable ASCII without spaces, 1-128 characters: also a valid SQS MessageDeduplicationId.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"

# `to` of a message to a person: a phone number in any format Graph accepts (+, digits, spaces,
# dashes, parentheses). A business-scoped user id goes in `recipient` (Graph refuses it in `to`).
RECIPIENT_PATTERN = r"^\+?[0-9][0-9 ()\-]{3,30}$"
# `to` of a message to a group (`recipient_type: group`): the id the Groups API gave.
GROUP_ID_PATTERN = r"^[A-Za-z0-9_=@.\-]{1,128}$"
TO_PATTERN = f"{RECIPIENT_PATTERN}|{GROUP_ID_PATTERN}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ReplyContext(_Strict):
    message_id: str = Field(min_length=1, description="wamid of the message this one quotes")


def _one_address(schema: dict[str, Any]) -> None:
    # What `_GraphMessage.one_address` checks, said in the published schema: `to` or `recipient`, not
    # both; a person's `to` is a phone number (or user id), a group's is its id.
    schema["oneOf"] = [
        {"required": [field], "properties": {field: {"type": "string"}}} for field in ("to", "recipient")
    ]
    schema["if"] = {"properties": {"recipient_type": {"const": "group"}}, "required": ["recipient_type"]}
    schema["then"] = {"required": ["to"]}
    schema["else"] = {"properties": {"to": {"pattern": RECIPIENT_PATTERN}}}


class _GraphMessage(_Strict):
    """Fields every Graph message body shares. Exactly one of `to` (a phone number or a group id) and
    `recipient` (a business-scoped user id): some vendors let `to` win silently when both are given;
    here a document with both is a producer's bug, refused."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_address)

    messaging_product: Literal["whatsapp"] = "whatsapp"
    recipient_type: Literal["individual", "group"] = "individual"
    to: str | None = Field(
        None,
        pattern=TO_PATTERN,
        description="Phone number (E.164) or, with recipient_type group, the group id",
        json_schema_extra={"not": {"type": "string", "pattern": USER_ID_PATTERN}},
    )
    recipient: str | None = Field(
        None, pattern=USER_ID_PATTERN, description="Business-scoped user id, for a customer known only by it"
    )
    context: ReplyContext | None = None
    biz_opaque_callback_data: str | None = Field(
        None,
        max_length=512,
        description="Echoed back in this message's status webhooks; the sender adds its confirmation marker after it "
        "(with it, 512 characters at most)",
    )

    @model_validator(mode="after")
    def one_address(self) -> "_GraphMessage":
        if (self.to is None) == (self.recipient is None):
            raise ValueError("give exactly one of `to` (phone number or group id) and `recipient` (user id)")
        if self.recipient_type == "group" and self.to is None:
            raise ValueError("a group message goes `to` the group id")
        return self

    @field_validator("to")
    @classmethod
    def person_or_group(cls, to: str | None, info: ValidationInfo) -> str | None:
        if to is not None and re.match(USER_ID_PATTERN, to):
            raise PydanticCustomError("user_id_in_to", "a business-scoped user id goes in `recipient`, not `to`")
        # A group id only with recipient_type group (declared before `to`, so already validated).
        if to is not None and info.data.get("recipient_type") != "group" and not re.match(RECIPIENT_PATTERN, to):
            raise PydanticCustomError(
                "string_pattern_mismatch", "String should match pattern '{pattern}'", {"pattern": RECIPIENT_PATTERN}
            )
        return to

    @property
    def address(self) -> str:
        """Whom the message goes to, whichever field names them."""
        return self.to or self.recipient or ""


class TextBody(_Strict):
    body: str = Field(min_length=1, max_length=4096)
    preview_url: bool = False


class TextMessage(_GraphMessage):
    type: Literal["text"]
    text: TextBody


class MediaObject(MediaLink):
    """Exactly one of `id` (uploaded media), `link` (public HTTPS URL) or `s3_key` (an object in the
    stack's media bucket), with the caption, file name or voice flag of the kind."""

    caption: str | None = Field(None, max_length=1024)
    filename: str | None = Field(None, max_length=240)
    voice: bool | None = None


class ImageMessage(_GraphMessage):
    type: Literal["image"]
    image: MediaObject


class VideoMessage(_GraphMessage):
    type: Literal["video"]
    video: MediaObject


class AudioMessage(_GraphMessage):
    type: Literal["audio"]
    audio: MediaObject


class DocumentMessage(_GraphMessage):
    type: Literal["document"]
    document: MediaObject


class StickerMessage(_GraphMessage):
    type: Literal["sticker"]
    sticker: MediaObject


class LocationBody(_Strict):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = Field(None, max_length=1000)
    address: str | None = Field(None, max_length=1000)


class LocationMessage(_GraphMessage):
    type: Literal["location"]
    location: LocationBody


class ContactName(_Strict):
    formatted_name: str = Field(min_length=1)
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    prefix: str | None = None


class ContactPhone(_Strict):
    phone: str | None = None
    type: str | None = None
    wa_id: str | None = Field(None, description="Adds Message/Save buttons when the number is on WhatsApp")


class ContactEmail(_Strict):
    email: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    type: str | None = None


class ContactAddress(_Strict):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: str | None = None


class ContactOrg(_Strict):
    company: str | None = None
    department: str | None = None
    title: str | None = None


class ContactUrl(_Strict):
    url: str = Field(min_length=1)
    type: str | None = None


class ContactCard(_Strict):
    """One vCard; only `name.formatted_name` is required."""

    name: ContactName
    phones: list[ContactPhone] | None = None
    emails: list[ContactEmail] | None = None
    addresses: list[ContactAddress] | None = None
    org: ContactOrg | None = None
    urls: list[ContactUrl] | None = None
    birthday: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class ContactsMessage(_GraphMessage):
    type: Literal["contacts"]
    contacts: list[ContactCard] = Field(min_length=1, max_length=257)


class InteractiveMessage(_GraphMessage):
    """Buttons, lists, call-to-action URLs, flows, location requests and catalog messages."""

    type: Literal["interactive"]
    interactive: Interactive


class TemplateMessage(_GraphMessage):
    type: Literal["template"]
    template: TemplateBody


class ReactionBody(_Strict):
    message_id: str = Field(min_length=1)
    emoji: str = Field(max_length=16, description="An emoji; the empty string removes the reaction")


class ReactionMessage(_GraphMessage):
    type: Literal["reaction"]
    reaction: ReactionBody


GraphMessage = Annotated[
    TextMessage
    | ImageMessage
    | VideoMessage
    | AudioMessage
    | DocumentMessage
    | StickerMessage
    | LocationMessage
    | ContactsMessage
    | InteractiveMessage
    | TemplateMessage
    | ReactionMessage,
    Field(discriminator="type"),
]


class TypingIndicator(_Strict):
    type: Literal["text"] = "text"


class ReadReceipt(_Strict):
    """Mark an inbound message (and the ones before it) as read; optionally show 'typing...'."""

    messaging_product: Literal["whatsapp"] = "whatsapp"
    status: Literal["read"]
    message_id: str = Field(min_length=1)
    typing_indicator: TypingIndicator | None = None


def _message_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "read_receipt" if "status" in value else "message"
    return "read_receipt" if isinstance(value, ReadReceipt) else "message"


# What `POST /{phone-number-id}/messages` takes: a message, or a read receipt.
MessageBody = Annotated[
    Annotated[GraphMessage, Tag("message")] | Annotated[ReadReceipt, Tag("read_receipt")],
    Discriminator(_message_kind),
]


def _with_examples(schema: dict[str, Any]) -> None:
    """The published schema's examples (`wacloud.models.outbound_examples`), read only when a schema
    is generated."""
    from wacloud.models.outbound_examples import EXAMPLES

    schema["examples"] = EXAMPLES
    # What `marketing_messages_take_templates` checks.
    schema["if"] = {"properties": {"marketing_messages": {"const": True}}, "required": ["marketing_messages"]}
    schema["then"] = {"properties": {"message": {"properties": {"type": {"const": "template"}}, "required": ["type"]}}}


class OutboundMessage(_Strict):
    """One outbound queue document (schema version 1).

    Example:
        {"idempotency_key": "order-1234-shipped", "client_reference": "order-1234",
         "message": {"to": "+16505551234", "type": "text", "text": {"body": "Your order 1234 has shipped."}}}
    """

    model_config = ConfigDict(
        extra="forbid",
        title="OutboundMessage",
        json_schema_extra=_with_examples,
    )

    schema_version: Literal[1] = SCHEMA_VERSION
    idempotency_key: str = Field(
        min_length=1,
        max_length=128,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="The producer's key: at most one Graph call is made per key",
    )
    client_reference: str | None = Field(
        None, min_length=1, max_length=256, description="Free text to find this message by later"
    )
    phone_number_id: str | None = Field(
        None,
        pattern=r"^[0-9]{1,32}$",
        description="The sending number (Meta's phone number id): one this stack serves (`wacloud numbers list`), "
        "else the document is rejected; defaults to the registry's default number",
    )
    marketing_messages: bool | None = Field(
        None,
        description="Send through Meta's Marketing Messages API (POST /{phone-number-id}/marketing_messages): "
        "marketing templates only",
    )
    message: MessageBody

    @model_validator(mode="after")
    def marketing_messages_take_templates(self) -> "OutboundMessage":
        if self.marketing_messages and not isinstance(self.message, TemplateMessage):
            raise ValueError("marketing_messages sends a marketing template: the message must be a template")
        return self

    @property
    def endpoint(self) -> str:
        """The Graph edge of the sending number this document is posted to."""
        return "marketing_messages" if self.marketing_messages else "messages"

    @property
    def kind(self) -> str:
        """The message type (`text`, `template`, ...) or `read_receipt`."""
        return "read_receipt" if isinstance(self.message, ReadReceipt) else self.message.type

    @property
    def person(self) -> str | None:
        """The customer whose choices the document is checked against: none for a group (its
        members' are their own) or a read receipt."""
        message = self.message
        return None if isinstance(message, ReadReceipt) or message.recipient_type == "group" else message.address

    @property
    def recipient(self) -> str | None:
        """Who this goes to (None for a read receipt, which names a message instead)."""
        return None if isinstance(self.message, ReadReceipt) else self.message.address

    def graph_body(self) -> dict[str, Any]:
        """The JSON body for `POST /{phone-number-id}/messages`."""
        # Dumped by this document's serializer: the message's own model is not built for it.
        body: dict[str, Any] = self.model_dump(mode="json", exclude_none=True, include={"message"})["message"]
        return body


def unserved_number(phone_number_id: str) -> str:
    """Why a document naming a number the stack does not serve is refused (sender and API alike)."""
    return f"phone_number_id {phone_number_id} is not a number this stack serves (wacloud numbers list)"
