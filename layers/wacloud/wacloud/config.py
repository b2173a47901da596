"""Settings every function reads from its environment, validated once per cold start."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wacloud.runtime.singletons import singleton

DEFAULT_GRAPH_BASE_URL = "https://graph.facebook.com"
# The newest stable Graph API version (docs/OPERATIONS.md says how to move to the next one).
DEFAULT_GRAPH_API_VERSION = "v26.0"


class Settings(BaseModel):
    """The `WACLOUD_*` environment variables that template.yaml sets on the functions.

    Secrets are not here: only the secret's *name* is, the values come from Secrets Manager.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    secret_name: str = Field("whatsapp/cloud-api", alias="WACLOUD_SECRET_NAME")
    table_name: str = Field("", alias="WACLOUD_TABLE_NAME")
    idempotency_table_name: str = Field("", alias="WACLOUD_IDEMPOTENCY_TABLE_NAME")
    inbound_queue_url: str = Field("", alias="WACLOUD_INBOUND_QUEUE_URL")
    outbound_queue_url: str = Field("", alias="WACLOUD_OUTBOUND_QUEUE_URL")
    # Where the sender schedules a delayed check of each `unconfirmed` send (template:
    # UnconfirmedCheckQueue, read UnconfirmedAlarmSeconds later); empty: no checks are scheduled.
    unconfirmed_check_queue_url: str = Field("", alias="WACLOUD_UNCONFIRMED_CHECK_QUEUE_URL")
    unconfirmed_check_seconds: int = Field(900, alias="WACLOUD_UNCONFIRMED_CHECK_SECONDS", ge=0, le=900)
    graph_api_version: str = Field(DEFAULT_GRAPH_API_VERSION, alias="WACLOUD_GRAPH_API_VERSION", pattern=r"^v\d+\.\d+$")
    # Overridden only by the local run and tests, which point the sender at a fake Graph API.
    graph_base_url: str = Field(DEFAULT_GRAPH_BASE_URL, alias="WACLOUD_GRAPH_BASE_URL")
    phone_number_id: str = Field("", alias="WACLOUD_PHONE_NUMBER_ID")
    # The WhatsApp Business Account: lets the sender fetch template definitions to check documents against.
    waba_id: str = Field("", alias="WACLOUD_WABA_ID", pattern=r"^[0-9]*$")
    # Where inbound media is archived and outbound media (`s3_key`) is read from.
    media_bucket: str = Field("", alias="WACLOUD_MEDIA_BUCKET")
    archive_media: bool = Field(True, alias="WACLOUD_ARCHIVE_MEDIA")
    # Template definitions are cached this long (a template webhook from Meta drops them sooner).
    template_cache_seconds: int = Field(3600, alias="WACLOUD_TEMPLATE_CACHE_SECONDS", ge=0)
    auto_reply_text: str = Field("", alias="WACLOUD_AUTO_REPLY_TEXT", max_length=4096)
    # The conversation (wacloud.conversation): a rules file in the processor's package or at
    # s3://bucket/key (AutoReplyText answers everything when there is none), and a bot
    # (`module:attribute`) whose handlers go first.
    rules: str = Field("", alias="WACLOUD_RULES")
    bot: str = Field("", alias="WACLOUD_BOT")
    history_size: int = Field(20, alias="WACLOUD_HISTORY_SIZE", ge=0, le=100)
    history_days: int = Field(7, alias="WACLOUD_HISTORY_DAYS", ge=1)
    handover_hours: int = Field(24, alias="WACLOUD_HANDOVER_HOURS", ge=1)
    typing_indicator: bool = Field(True, alias="WACLOUD_TYPING_INDICATOR")
    mark_read: bool = Field(True, alias="WACLOUD_MARK_READ")
    # Refuse free-form messages outside the 24-hour customer service window (Meta would answer 131047).
    enforce_service_window: bool = Field(True, alias="WACLOUD_ENFORCE_SERVICE_WINDOW")
    # A customer's whole message equal to one of these (case and trailing punctuation ignored).
    opt_out_keywords: str = Field("STOP,UNSUBSCRIBE,STOP ALL", alias="WACLOUD_OPT_OUT_KEYWORDS")
    opt_in_keywords: str = Field("START,SUBSCRIBE,UNSTOP", alias="WACLOUD_OPT_IN_KEYWORDS")
    record_ttl_days: int = Field(90, alias="WACLOUD_RECORD_TTL_DAYS", ge=1)
    # Meta sends at most 3 MB; anything larger is not Meta.
    max_webhook_bytes: int = Field(3 * 1024 * 1024, alias="WACLOUD_MAX_WEBHOOK_BYTES", gt=0)
    # Recipients (FIFO groups) of one sender batch sent to side by side (template: SendConcurrency);
    # 1 sends one after the other.
    send_concurrency: int = Field(1, alias="WACLOUD_SEND_CONCURRENCY", ge=1, le=10)
    # The phone number's throughput tier (Meta: 80 messages/s by default, up to 1,000), shared by
    # every sender through a counter in DynamoDB (`rate_limit`); 0 turns the shared limit off.
    send_rate_per_second: float = Field(80, alias="WACLOUD_SEND_RATE_PER_SECOND", ge=0, le=1000)
    # Transient send failures are retried after base x 2^(attempt-1) seconds (jittered), capped.
    retry_base_seconds: int = Field(30, alias="WACLOUD_RETRY_BASE_SECONDS", ge=0)
    retry_max_seconds: int = Field(900, alias="WACLOUD_RETRY_MAX_SECONDS", ge=0, le=43_200)
    # The queues' maxReceiveCount: the attempt after which SQS moves a document to the DLQ.
    max_receive_count: int = Field(5, alias="WACLOUD_MAX_RECEIVE_COUNT", ge=1)
    # Meta retries a webhook for up to 7 days, so remember processed events a little longer.
    idempotency_ttl_seconds: int = Field(8 * 24 * 3600, alias="WACLOUD_IDEMPOTENCY_TTL_SECONDS", gt=0)
    # X-Ray for the functions (template parameter Tracing). wacloud.runtime.tracing reads the variable
    # itself, at import, before any settings exist; this field validates it at the first settings read.
    tracing: Literal["Active", "PassThrough"] = Field("PassThrough", alias="WACLOUD_TRACING")
    # The replay window: a message older than this (by Meta's timestamp) is recorded but not acted
    # on (no reply, no read receipt, no opt-out change, no media download). Meta stops redelivering
    # after 7 days, so an older body is a replay.
    max_event_age_seconds: int = Field(7 * 24 * 3600, alias="WACLOUD_MAX_EVENT_AGE_SECONDS", gt=0)

    @model_validator(mode="after")
    def _replays_cannot_slip_between_windows(self) -> Settings:
        # An event is either still remembered by idempotency or too old to act on: never acted on twice.
        if self.max_event_age_seconds > self.idempotency_ttl_seconds:
            raise ValueError("WACLOUD_MAX_EVENT_AGE_SECONDS must not exceed WACLOUD_IDEMPOTENCY_TTL_SECONDS")
        return self


def keywords(value: str) -> frozenset[str]:
    """A comma-separated keyword list, normalised like `normalise_keyword`."""
    return frozenset(normalise_keyword(word) for word in value.split(",") if word.strip())


def normalise_keyword(text: str) -> str:
    """'  Stop ! ' -> 'STOP': case, spacing and trailing `.` or `!` (with spaces before them) ignored."""
    return " ".join(text.upper().split()).rstrip(".! ")


@singleton
def get_settings() -> Settings:
    """The settings of this process (a singleton: `wacloud.runtime.singletons.reset()` forgets it)."""
    return Settings.model_validate({k: v for k, v in os.environ.items() if k.startswith("WACLOUD_")})
