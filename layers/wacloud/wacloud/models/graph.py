"""Graph API responses: a send's success body and Meta's error body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _GraphModel(BaseModel):
    model_config = ConfigDict(extra="allow")


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
