"""The value of a webhook change other than `messages`: template, quality, account, preference and
user id updates, calls (`calls.py`) and groups (`groups.py`), typed for the fields this package
knows (`ChangeEvent.typed()`; the raw value is always kept). Tolerant, like every model of Meta's
payloads."""

from typing import Any

from wacloud.models.calls import CallsUpdate
from wacloud.models.groups import GROUP_FIELDS, GroupsUpdate
from wacloud.models.times import UnixTime
from wacloud.models.webhook import Contact, Metadata, MetaModel


class TemplateStatusUpdate(MetaModel):
    """`message_template_status_update`: APPROVED, REJECTED, PAUSED, DISABLED, ..."""

    event: str | None = None
    message_template_id: int | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None
    reason: str | None = None
    other_info: dict[str, Any] | None = None


class TemplateQualityUpdate(MetaModel):
    """`message_template_quality_update`: GREEN, YELLOW, RED."""

    previous_quality_score: str | None = None
    new_quality_score: str | None = None
    message_template_id: int | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None


class TemplateCategoryUpdate(MetaModel):
    message_template_id: int | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None
    previous_category: str | None = None
    new_category: str | None = None
    correct_category: str | None = None


class AccountUpdate(MetaModel):
    """`account_update`: violations, restrictions, bans, partner changes."""

    phone_number: str | None = None
    event: str | None = None
    restriction_info: list[dict[str, Any]] | None = None
    ban_info: dict[str, Any] | None = None
    violation_info: dict[str, Any] | None = None


class PhoneNumberQualityUpdate(MetaModel):
    display_phone_number: str | None = None
    event: str | None = None
    current_limit: str | None = None
    max_daily_conversations_per_business: Any = None


MARKETING_MESSAGES = "marketing_messages"


class UserPreference(MetaModel):
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    detail: str | None = None
    category: str | None = None
    value: str | None = None  # stop, resume, signup
    signup_id: str | None = None
    timestamp: UnixTime = None

    @property
    def is_marketing(self) -> bool:
        return self.category == MARKETING_MESSAGES

    @property
    def stopped(self) -> bool:
        """The customer stopped marketing messages (resume and signup start them again)."""
        return (self.value or "").lower() == "stop"


class UserPreferencesUpdate(MetaModel):
    """`user_preferences`: a user stopped or resumed marketing messages."""

    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[Contact] | None = None
    user_preferences: list[UserPreference] | None = None


class PreviousAndCurrent(MetaModel):
    previous: str | None = None
    current: str | None = None


class UserIdChange(MetaModel):
    wa_id: str | None = None
    detail: str | None = None
    user_id: PreviousAndCurrent | None = None
    parent_user_id: PreviousAndCurrent | None = None
    timestamp: UnixTime = None


class UserIdUpdate(MetaModel):
    """`user_id_update`: a customer's business-scoped user id changed (old and new)."""

    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[Contact] | None = None
    user_id_update: list[UserIdChange] | None = None


CHANGE_MODELS: dict[str, type[MetaModel]] = {
    "message_template_status_update": TemplateStatusUpdate,
    "message_template_quality_update": TemplateQualityUpdate,
    "template_category_update": TemplateCategoryUpdate,
    "account_update": AccountUpdate,
    "phone_number_quality_update": PhoneNumberQualityUpdate,
    "user_preferences": UserPreferencesUpdate,
    "user_id_update": UserIdUpdate,
    "calls": CallsUpdate,
    **dict.fromkeys(GROUP_FIELDS, GroupsUpdate),
}
