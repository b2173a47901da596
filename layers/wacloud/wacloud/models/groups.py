"""The Groups API's webhook fields: `group_lifecycle_update`, `group_participants_update`,
`group_settings_update` and `group_status_update`. All four carry the same shape, `value.groups[]`,
one item per group event (`type`: group_create, group_delete, group_participants_add,
group_participants_remove, group_join_request_created, group_join_request_revoked,
group_settings_update, group_suspend, group_suspend_cleared). Tolerant, like every model of Meta's
payloads. Reference: developers.facebook.com/docs/whatsapp/cloud-api/groups/webhooks and the
business-scoped user ids page (BSUIDs in participants)."""

from wacloud.models.times import UnixTime
from wacloud.models.webhook import Contact, Metadata, MetaModel, WebhookError

GROUP_FIELDS = ("group_lifecycle_update", "group_participants_update", "group_settings_update", "group_status_update")


class GroupParticipant(MetaModel):
    """A participant added, removed or failed: `input` is what the business sent (phone or BSUID)."""

    input: str | None = None
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    errors: list[WebhookError] | None = None

    @property
    def address(self) -> str:
        """The participant's address: BSUID, else phone number, else the business's own input."""
        return self.user_id or self.wa_id or self.input or ""


class GroupSettingText(MetaModel):
    """`group_subject` / `group_description` of a settings update: applied only when successful."""

    text: str | None = None
    update_successful: bool | None = None
    errors: list[WebhookError] | None = None


class GroupProfilePicture(MetaModel):
    mime_type: str | None = None
    sha256: str | None = None
    update_successful: bool | None = None
    errors: list[WebhookError] | None = None


class GroupUpdate(MetaModel):
    """One item of `value.groups[]`."""

    timestamp: UnixTime = None
    group_id: str | None = None
    type: str | None = None
    request_id: str | None = None
    # group_create
    subject: str | None = None
    description: str | None = None
    invite_link: str | None = None
    join_approval_mode: str | None = None
    # participants: who joined or left, by whom, and who could not be removed
    reason: str | None = None
    initiated_by: str | None = None  # business | participant
    added_participants: list[GroupParticipant] | None = None
    removed_participants: list[GroupParticipant] | None = None
    failed_participants: list[GroupParticipant] | None = None
    # join requests (the requester is named at the item's top level)
    join_request_id: str | None = None
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    # group_settings_update
    group_subject: GroupSettingText | None = None
    group_description: GroupSettingText | None = None
    profile_picture: GroupProfilePicture | None = None
    errors: list[WebhookError] | None = None

    @property
    def succeeded(self) -> bool:
        """No error on the event as a whole (a partial settings or removal failure carries one)."""
        return not self.errors

    @property
    def requester(self) -> str:
        """The user of a join request: BSUID, else phone number."""
        return self.user_id or self.wa_id or ""


class GroupsUpdate(MetaModel):
    """The value of any of the four group fields."""

    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[Contact] | None = None
    groups: list[GroupUpdate] | None = None
