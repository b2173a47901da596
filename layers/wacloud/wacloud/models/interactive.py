"""Interactive message bodies (`"type": "interactive"`), with WhatsApp's documented limits.

Reference: developers.facebook.com/documentation/business-messaging/whatsapp/messages/
interactive-reply-buttons-messages, interactive-list-messages, interactive-cta-url-messages,
location-request-messages; catalogs/multi-product-messages; flows.
"""

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

HTTPS_URL = r"^https://\S+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# An object key in the stack's media bucket; the sender uploads the object and sends it by id.
# Not under inbound/: that is customers' archived media, which no document may forward.
S3_KEY = r"^(?!inbound/)[^/\x00-\x1f\x7f][^\x00-\x1f\x7f]{0,1023}$"
MEDIA_SOURCES = ("id", "link", "s3_key")


class MediaLink(_Strict):
    """Media: exactly one of an uploaded media `id`, a public https `link`, or an `s3_key` in the
    stack's media bucket (uploaded by the sender, then sent by id)."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": [source]} for source in MEDIA_SOURCES]},
        regex_engine="python-re",  # S3_KEY's look-ahead (the default engine has none)
    )

    id: str | None = Field(None, min_length=1)
    link: str | None = Field(None, pattern=HTTPS_URL)
    s3_key: str | None = Field(
        None,
        pattern=S3_KEY,
        description="Key of an object in the stack's media bucket (MediaBucketName output), not under inbound/",
    )

    @model_validator(mode="after")
    def _one_source(self) -> "MediaLink":
        given = [source for source in MEDIA_SOURCES if getattr(self, source) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'id', 'link' or 's3_key'")
        return self


class TextHeader(_Strict):
    type: Literal["text"]
    text: str = Field(min_length=1, max_length=60)


class ImageHeader(_Strict):
    type: Literal["image"]
    image: MediaLink


class VideoHeader(_Strict):
    type: Literal["video"]
    video: MediaLink


class DocumentLink(MediaLink):
    filename: str | None = Field(None, max_length=240)


class DocumentHeader(_Strict):
    type: Literal["document"]
    document: DocumentLink


MediaOrTextHeader = Annotated[TextHeader | ImageHeader | VideoHeader | DocumentHeader, Field(discriminator="type")]


class Body(_Strict):
    text: str = Field(min_length=1, max_length=1024)


class LongBody(_Strict):
    text: str = Field(min_length=1, max_length=4096)


class Footer(_Strict):
    text: str = Field(min_length=1, max_length=60)


# -- reply buttons ---------------------------------------------------------------------------------


class Reply(_Strict):
    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=20)


class ReplyButton(_Strict):
    type: Literal["reply"] = "reply"
    reply: Reply


class ButtonsAction(_Strict):
    buttons: list[ReplyButton] = Field(min_length=1, max_length=3)

    @model_validator(mode="after")
    def _unique(self) -> "ButtonsAction":
        _no_repeats([b.reply.id for b in self.buttons], "button ids")
        _no_repeats([b.reply.title for b in self.buttons], "button titles")
        return self


class ButtonInteractive(_Strict):
    """Up to 3 reply buttons."""

    type: Literal["button"]
    header: MediaOrTextHeader | None = None
    body: Body
    footer: Footer | None = None
    action: ButtonsAction


# -- list ------------------------------------------------------------------------------------------


class Row(_Strict):
    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=24)
    description: str | None = Field(None, max_length=72)


class Section(_Strict):
    title: str | None = Field(None, min_length=1, max_length=24)
    rows: list[Row] = Field(min_length=1, max_length=10)


class ListAction(_Strict):
    button: str = Field(min_length=1, max_length=20)
    sections: list[Section] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _limits(self) -> "ListAction":
        rows = [row for section in self.sections for row in section.rows]
        if len(rows) > 10:
            raise ValueError(f"a list has at most 10 rows in all its sections, not {len(rows)}")
        if len(self.sections) > 1 and any(section.title is None for section in self.sections):
            raise ValueError("each section needs a title when there is more than one")
        _no_repeats([row.id for row in rows], "row ids")
        return self


class ListInteractive(_Strict):
    """A menu of up to 10 rows in up to 10 sections."""

    type: Literal["list"]
    header: TextHeader | None = None
    body: LongBody
    footer: Footer | None = None
    action: ListAction


# -- call to action URL ----------------------------------------------------------------------------


class CtaUrlParameters(_Strict):
    display_text: str = Field(min_length=1, max_length=20)
    url: str = Field(pattern=HTTPS_URL)


class CtaUrlAction(_Strict):
    name: Literal["cta_url"]
    parameters: CtaUrlParameters


class CtaUrlInteractive(_Strict):
    type: Literal["cta_url"]
    header: MediaOrTextHeader | None = None
    body: Body
    footer: Footer | None = None
    action: CtaUrlAction


# -- flow --------------------------------------------------------------------------------------------


class FlowActionPayload(_Strict):
    screen: str = Field(min_length=1)
    data: dict[str, object] | None = None


class FlowParameters(_Strict):
    flow_message_version: str = Field("3", pattern=r"^[0-9]+$")
    flow_token: str | None = Field(None, min_length=1)
    flow_id: str | None = Field(None, min_length=1)
    flow_name: str | None = Field(None, min_length=1)
    flow_cta: str = Field(min_length=1, max_length=20)
    flow_action: Literal["navigate", "data_exchange"] = "navigate"
    flow_action_payload: FlowActionPayload | None = None
    mode: Literal["draft", "published"] | None = None

    @model_validator(mode="after")
    def _one_flow(self) -> "FlowParameters":
        if (self.flow_id is None) == (self.flow_name is None):
            raise ValueError("give exactly one of 'flow_id' or 'flow_name'")
        return self


class FlowAction(_Strict):
    name: Literal["flow"]
    parameters: FlowParameters


class FlowInteractive(_Strict):
    type: Literal["flow"]
    header: MediaOrTextHeader | None = None
    body: Body
    footer: Footer | None = None
    action: FlowAction


# -- location request ------------------------------------------------------------------------------


class SendLocationAction(_Strict):
    name: Literal["send_location"]


class LocationRequestInteractive(_Strict):
    type: Literal["location_request_message"]
    body: Body
    action: SendLocationAction


# -- catalog -----------------------------------------------------------------------------------------


class ProductAction(_Strict):
    catalog_id: str = Field(min_length=1)
    product_retailer_id: str = Field(min_length=1)


class ProductInteractive(_Strict):
    """One product of the business's catalog."""

    type: Literal["product"]
    body: Body | None = None
    footer: Footer | None = None
    action: ProductAction


class ProductItem(_Strict):
    product_retailer_id: str = Field(min_length=1)


class ProductSection(_Strict):
    title: str = Field(min_length=1, max_length=24)
    product_items: list[ProductItem] = Field(min_length=1, max_length=30)


class ProductListAction(_Strict):
    catalog_id: str = Field(min_length=1)
    sections: list[ProductSection] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _limits(self) -> "ProductListAction":
        count = sum(len(section.product_items) for section in self.sections)
        if count > 30:
            raise ValueError(f"a product list has at most 30 products, not {count}")
        return self


class ProductListInteractive(_Strict):
    """Up to 30 products in up to 10 sections; the text header is required."""

    type: Literal["product_list"]
    header: TextHeader
    body: Body
    footer: Footer | None = None
    action: ProductListAction


class CatalogParameters(_Strict):
    thumbnail_product_retailer_id: str | None = Field(None, min_length=1)


class CatalogAction(_Strict):
    name: Literal["catalog_message"]
    parameters: CatalogParameters | None = None


class CatalogInteractive(_Strict):
    type: Literal["catalog_message"]
    body: Body
    footer: Footer | None = None
    action: CatalogAction


_MODELLED = (
    "button",
    "list",
    "cta_url",
    "flow",
    "location_request_message",
    "product",
    "product_list",
    "catalog_message",
)


class OtherInteractive(BaseModel):
    """Kinds this contract does not model in detail yet (carousel, address_message, voice_call,
    call_permission_request, ...): passed to Graph as given, which validates them."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    # In the JSON Schema, not one of the modelled kinds: those must match their own model.
    type: str = Field(min_length=1, json_schema_extra={"not": {"enum": list(_MODELLED)}})


def kind_or_other(modelled: tuple[str, ...]) -> Callable[[Any], str]:
    """A discriminator: the value's `type` when it is one of `modelled`, else "other" (passed on)."""

    def kind(value: Any) -> str:
        found = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        return found if found in modelled else "other"

    return kind


Interactive = Annotated[
    Annotated[ButtonInteractive, Tag("button")]
    | Annotated[ListInteractive, Tag("list")]
    | Annotated[CtaUrlInteractive, Tag("cta_url")]
    | Annotated[FlowInteractive, Tag("flow")]
    | Annotated[LocationRequestInteractive, Tag("location_request_message")]
    | Annotated[ProductInteractive, Tag("product")]
    | Annotated[ProductListInteractive, Tag("product_list")]
    | Annotated[CatalogInteractive, Tag("catalog_message")]
    | Annotated[OtherInteractive, Tag("other")],
    Discriminator(kind_or_other(_MODELLED)),
]


def _no_repeats(values: list[str], what: str) -> None:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(repeated)}")
