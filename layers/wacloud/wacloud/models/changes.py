"""The value of a webhook change other than `messages`: template, quality, account and preference
updates, typed for the fields this package knows (`ChangeEvent.typed()`; the raw value is always
kept). Tolerant, like every model of Meta's payloads."""

from __future__ import annotations

from typing import Any

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


class UserPreference(MetaModel):
    wa_id: str | None = None
    user_id: str | None = None
    detail: str | None = None
    category: str | None = None
    value: str | None = None  # stop, resume, signup
    timestamp: int | None = None


class UserPreferencesUpdate(MetaModel):
    """`user_preferences`: a user stopped or resumed marketing messages."""

    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[Contact] | None = None
    user_preferences: list[UserPreference] | None = None


CHANGE_MODELS: dict[str, type[MetaModel]] = {
    "message_template_status_update": TemplateStatusUpdate,
    "message_template_quality_update": TemplateQualityUpdate,
    "template_category_update": TemplateCategoryUpdate,
    "account_update": AccountUpdate,
    "phone_number_quality_update": PhoneNumberQualityUpdate,
    "user_preferences": UserPreferencesUpdate,
}
