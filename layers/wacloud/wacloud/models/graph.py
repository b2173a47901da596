"""Graph API responses: a send's success body, media and template answers, Meta's error body."""

from pydantic import BaseModel, ConfigDict, Field


class _GraphModel(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


class SentContact(_GraphModel):
    input: str | None = None
    wa_id: str | None = None
    user_id: str | None = None


class SentMessage(_GraphModel):
    id: str = Field(min_length=1)
    message_status: str | None = None  # only for paced templates ("accepted", ...)


class SendResponse(_GraphModel):
    """`POST /{phone-number-id}/messages` answered 200: accepted, not yet delivered."""

    messaging_product: str | None = None
    contacts: list[SentContact] = Field(default_factory=list)
    messages: list[SentMessage] = Field(default_factory=list)
    success: bool | None = None  # read receipts and typing indicators answer {"success": true}

    @property
    def wamid(self) -> str | None:
        return self.messages[0].id if self.messages else None


class GraphErrorData(_GraphModel):
    messaging_product: str | None = None
    details: str | None = None


class GraphErrorBody(_GraphModel):
    """The `error` object of a Graph error response."""

    message: str | None = None
    type: str | None = None
    code: int | None = None
    error_subcode: int | None = None
    error_data: GraphErrorData | None = None
    error_user_title: str | None = None
    error_user_msg: str | None = None
    is_transient: bool | None = None
    fbtrace_id: str | None = None


class MediaUploaded(_GraphModel):
    """`POST /{phone-number-id}/media` answered: the id to send the media by (valid 30 days)."""

    id: str = Field(min_length=1)


class MediaInfo(_GraphModel):
    """`GET /{media-id}`: where to download the media (the URL is valid for 5 minutes)."""

    url: str = Field(min_length=1)
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | None = None
    id: str | None = None


class TemplateButton(_GraphModel):
    type: str = ""  # QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, FLOW, OTP, CATALOG, MPM, ...
    text: str | None = None
    url: str | None = None
    example: list[str] | str | None = None


class TemplateComponentDefinition(_GraphModel):
    type: str = ""  # HEADER, BODY, FOOTER, BUTTONS, CAROUSEL, ...
    format: str | None = None  # a header's TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION
    text: str | None = None
    buttons: list[TemplateButton] | None = None


class TemplateDefinition(_GraphModel):
    """A message template as `GET /{waba-id}/message_templates` describes it."""

    id: str | None = None
    name: str = Field(min_length=1)
    language: str = Field(min_length=1)
    status: str | None = None  # APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ...
    category: str | None = None
    parameter_format: str | None = None  # POSITIONAL (the default) or NAMED
    components: list[TemplateComponentDefinition] = Field(default_factory=list)


class Cursors(_GraphModel):
    before: str | None = None
    after: str | None = None


class Paging(_GraphModel):
    cursors: Cursors | None = None
    next: str | None = None


class TemplatesPage(_GraphModel):
    data: list[TemplateDefinition] = Field(default_factory=list)
    paging: Paging | None = None

    @property
    def after(self) -> str | None:
        """The cursor of the next page, or None on the last one."""
        if self.paging is None or not self.paging.next or self.paging.cursors is None:
            return None
        return self.paging.cursors.after
