"""Template messages (`"type": "template"`): the template's name and language, and the values for
its header, body and button parameters, positional or named.

Reference: developers.facebook.com/documentation/business-messaging/whatsapp/templates/
(sending templates: components and parameters).
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from wacloud.models.interactive import DocumentLink, MediaLink, kind_or_other


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class _Named(_Strict):
    # Set for templates whose parameter_format is "named" ({{first_name}}); absent for {{1}}.
    parameter_name: str | None = Field(None, pattern=r"^[a-z0-9_]{1,64}$")


class TextParameter(_Named):
    type: Literal["text"]
    text: str = Field(min_length=1, max_length=32768)


class Currency(_Strict):
    fallback_value: str = Field(min_length=1)
    code: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code")
    amount_1000: int = Field(ge=0, description="The amount times 1000")


class CurrencyParameter(_Named):
    type: Literal["currency"]
    currency: Currency


class DateTime(_Strict):
    fallback_value: str = Field(min_length=1)


class DateTimeParameter(_Named):
    type: Literal["date_time"]
    date_time: DateTime


class ImageParameter(_Strict):
    type: Literal["image"]
    image: MediaLink


class VideoParameter(_Strict):
    type: Literal["video"]
    video: MediaLink


class DocumentParameter(_Strict):
    type: Literal["document"]
    document: DocumentLink


class TemplateLocation(_Strict):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = None
    address: str | None = None


class LocationParameter(_Strict):
    type: Literal["location"]
    location: TemplateLocation


HeaderParameter = Annotated[
    TextParameter | ImageParameter | VideoParameter | DocumentParameter | LocationParameter,
    Field(discriminator="type"),
]
BodyParameter = Annotated[TextParameter | CurrencyParameter | DateTimeParameter, Field(discriminator="type")]


class HeaderComponent(_Strict):
    type: Literal["header"]
    parameters: list[HeaderParameter] = Field(min_length=1, max_length=1)

    @model_validator(mode="after")
    def _short_text(self) -> "HeaderComponent":
        parameter = self.parameters[0]
        if isinstance(parameter, TextParameter) and len(parameter.text) > 60:
            raise ValueError("a header text parameter has at most 60 characters")
        return self


class BodyComponent(_Strict):
    type: Literal["body"]
    parameters: list[BodyParameter] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_style(self) -> "BodyComponent":
        named = {p.parameter_name is not None for p in self.parameters}
        if len(named) > 1:
            raise ValueError("give every body parameter a parameter_name (named template) or none (positional)")
        names = [p.parameter_name for p in self.parameters if p.parameter_name]
        if len(names) != len(set(names)):
            raise ValueError("parameter_name values must be unique")
        return self


class PayloadParameter(_Strict):
    type: Literal["payload"]
    payload: str = Field(min_length=1, max_length=1000)


class UrlSuffixParameter(_Strict):
    type: Literal["text"]
    text: str = Field(min_length=1, max_length=2000)


class CouponCodeParameter(_Strict):
    type: Literal["coupon_code"]
    coupon_code: str = Field(min_length=1, max_length=15)


class ActionParameter(_Strict):
    type: Literal["action"]
    action: dict[str, Any]


ButtonParameter = Annotated[
    PayloadParameter | UrlSuffixParameter | CouponCodeParameter | ActionParameter, Field(discriminator="type")
]
# The parameter type each button sub_type takes.
_BUTTON_PARAMETER = {
    "quick_reply": "payload",
    "url": "text",
    "copy_code": "coupon_code",
    "flow": "action",
    "catalog": "action",
    "mpm": "action",
}


class ButtonComponent(_Strict):
    type: Literal["button"]
    sub_type: Literal["quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "voice_call"]
    index: Annotated[int, Field(ge=0, le=9)] | Annotated[str, Field(pattern=r"^[0-9]$")] = Field(
        description="The button's position in the template, 0 to 9"
    )
    parameters: list[ButtonParameter] = Field(default_factory=list, max_length=1)

    @model_validator(mode="after")
    def _matching_parameter(self) -> "ButtonComponent":
        expected = _BUTTON_PARAMETER.get(self.sub_type)
        if expected is not None and self.parameters and self.parameters[0].type != expected:
            raise ValueError(f"a {self.sub_type} button takes a '{expected}' parameter")
        return self


_MODELLED = ("header", "body", "button")


class OtherComponent(BaseModel):
    """Components this contract does not model in detail (carousel, limited_time_offer, ...): passed on."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    # In the JSON Schema, not one of the modelled kinds: those must match their own model.
    type: str = Field(min_length=1, json_schema_extra={"not": {"enum": list(_MODELLED)}})


Component = Annotated[
    Annotated[HeaderComponent, Tag("header")]
    | Annotated[BodyComponent, Tag("body")]
    | Annotated[ButtonComponent, Tag("button")]
    | Annotated[OtherComponent, Tag("other")],
    Discriminator(kind_or_other(_MODELLED)),
]


class TemplateLanguage(_Strict):
    code: str = Field(pattern=r"^[a-z]{2,3}(_[A-Za-z0-9]{2,4})?$", description="e.g. en_US, pt_BR, fr, es_419")
    policy: Literal["deterministic"] | None = None


class TemplateBody(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: TemplateLanguage
    components: list[Component] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_of_each(self) -> "TemplateBody":
        kinds = [c.type for c in self.components if c.type in ("header", "body")]
        if len(kinds) != len(set(kinds)):
            raise ValueError("a template takes at most one header and one body component")
        indexes = [str(c.index) for c in self.components if isinstance(c, ButtonComponent)]
        if len(indexes) != len(set(indexes)):
            raise ValueError("each button index appears once")
        return self
