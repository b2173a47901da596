"""Meta's documented example bodies of the webhooks added in 2025-2026 (groups, calls, call
permissions, user preferences, user id changes), as valid JSON.

Each `value` keeps the shape and the keys of Meta's example; the placeholders (`GROUP_ID`,
`TIMESTAMP`, `ERROR_CODE`...) are filled with values of the kind Meta documents, and the slips of
Meta's pseudo-JSON (missing commas, a key outside its object, a list given as "one of") are put
right where JSON needs it. The source page of each is named above it.
"""

from __future__ import annotations

from typing import Any

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
METADATA = {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": PHONE_NUMBER_ID}
GROUP_ID = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD"
PHONE = "16505551234"
BSUID = "US.13491208655302741918"
PARENT_BSUID = "US.ENT.11815799212886844830"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
CALL_ID = "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh"
AT = 1739321024
ERROR = {"code": 131000, "message": "Something went wrong", "title": "Generic error", "error_data": {"details": "x"}}
CONTACT = {"profile": {"name": "Sheena Nelson", "username": "@realsheenanelson"}, "wa_id": PHONE, "user_id": BSUID}


def body(field: str, value: dict[str, Any]) -> dict[str, Any]:
    """Meta's envelope around one change."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": field}]}],
    }


def groups(field: str, *items: dict[str, Any]) -> dict[str, Any]:
    return body(field, {"messaging_product": "whatsapp", "metadata": METADATA, "groups": list(items)})


# --- developers.facebook.com/docs/whatsapp/cloud-api/groups/webhooks ("Webhooks for Groups API",
# updated Feb 11, 2026), and the BSUID fields the business-scoped-user-ids page adds (May 7, 2026) ---
GROUP_CREATED = groups(
    "group_lifecycle_update",
    {
        "timestamp": str(AT),
        "group_id": GROUP_ID,
        "type": "group_create",
        "request_id": "REQ_1",
        "subject": "test invite link",
        "invite_link": "https://chat.whatsapp.com/LINK_ID",
        "join_approval_mode": "approval_required",
    },
)
GROUP_CREATE_FAILED = groups(
    "group_lifecycle_update",
    {
        "timestamp": str(AT),
        "type": "group_create",
        "subject": "Order 1234",
        "description": "Delivery questions",
        "request_id": "REQ_2",
        "group_id": GROUP_ID,
        "errors": [ERROR],
    },
)
GROUP_DELETED = groups(
    "group_lifecycle_update",
    {"timestamp": str(AT + 100), "group_id": GROUP_ID, "type": "group_delete", "request_id": "REQ_3"},
)
GROUP_DELETE_FAILED = groups(
    "group_lifecycle_update",
    {
        "timestamp": str(AT + 100),
        "group_id": GROUP_ID,
        "type": "group_delete",
        "request_id": "REQ_3",
        "errors": [ERROR],
    },
)
JOINED_BY_INVITE_LINK = groups(
    "group_participants_update",
    {
        "timestamp": str(AT + 10),
        "group_id": GROUP_ID,
        "type": "group_participants_add",
        "reason": "invite_link",
        "added_participants": [{"wa_id": PHONE}],
    },
)
JOIN_REQUEST_CREATED = groups(
    "group_participants_update",
    {
        "timestamp": str(AT + 5),
        "group_id": GROUP_ID,
        "type": "group_join_request_created",
        "reason": "admin_approval",
        "join_request_id": "JOIN_1",
        "wa_id": PHONE,
    },
)
JOIN_REQUEST_REVOKED = groups(
    "group_participants_update",
    {
        "timestamp": str(AT + 6),
        "group_id": GROUP_ID,
        "type": "group_join_request_revoked",
        "join_request_id": "JOIN_1",
        "wa_id": PHONE,
    },
)
JOIN_REQUEST_APPROVED = groups(
    "group_participants_update",
    {
        "timestamp": AT + 7,  # a number here, a string elsewhere: as on Meta's page
        "group_id": GROUP_ID,
        "type": "group_participants_add",
        "reason": "invite_link",
        "added_participants": [
            {"input": "+16505551234", "wa_id": PHONE},
            {"input": "+16505550000", "wa_id": "16505550000"},
        ],
    },
)
PARTICIPANTS_REMOVED = groups(
    "group_participants_update",
    {
        "timestamp": str(AT + 20),
        "group_id": GROUP_ID,
        "type": "group_participants_remove",
        "request_id": "REQ_4",
        "removed_participants": [{"input": PHONE}, {"input": "16505550000"}],
        "initiated_by": "business",
    },
)
PARTICIPANT_REMOVE_PARTLY_FAILED = groups(
    "group_participants_update",
    {
        "timestamp": str(AT + 20),
        "group_id": GROUP_ID,
        "type": "group_participants_remove",
        "request_id": "REQ_5",
        "initiated_by": "business",
        "removed_participants": [{"input": PHONE}],
        "failed_participants": [{"input": "16505550000", "errors": [ERROR]}],
        "errors": [{**ERROR, "message": "Failed to remove some participants from the group"}],
    },
)
PARTICIPANT_REMOVE_FAILED = groups(
    "group_participants_update",
    {
        "timestamp": str(AT + 20),
        "group_id": GROUP_ID,
        "type": "group_participants_remove",
        "request_id": "REQ_6",
        "failed_participants": [{"input": PHONE}, {"input": "16505550000"}],
        "errors": [ERROR],
        "initiated_by": "business",
    },
)
PARTICIPANT_LEFT = groups(
    "group_participants_update",
    {
        "timestamp": str(AT + 30),
        "group_id": GROUP_ID,
        "type": "group_participants_remove",
        "removed_participants": [{"wa_id": PHONE}],
        "initiated_by": "participant",
    },
)
SETTINGS_UPDATED = groups(
    "group_settings_update",
    {
        "timestamp": str(AT + 40),
        "group_id": GROUP_ID,
        "type": "group_settings_update",
        "request_id": "REQ_7",
        "profile_picture": {"mime_type": "image/jpeg", "update_successful": True, "sha256": "PHOTO_HASH"},
        "group_subject": {"text": "Test Subject", "update_successful": True},
        "group_description": {"text": "Test Description", "update_successful": True},
    },
)
SETTINGS_PARTLY_FAILED = groups(
    "group_settings_update",
    {
        "timestamp": str(AT + 50),
        "group_id": GROUP_ID,
        "type": "group_settings_update",
        "request_id": "REQ_8",
        "profile_picture": {"mime_type": "image/jpeg", "update_successful": True, "sha256": "PHOTO_HASH_2"},
        "group_subject": {"text": "Refused Subject", "update_successful": False, "errors": [ERROR]},
        "group_description": {"text": "Refused Description", "update_successful": False, "errors": [ERROR]},
        "errors": [ERROR],
    },
)
SETTINGS_FAILED = groups(
    "group_settings_update",
    {
        "timestamp": str(AT + 60),
        "group_id": GROUP_ID,
        "request_id": "REQ_9",
        "type": "group_settings_update",
        "profile_picture": {
            "mime_type": "image/jpeg",
            "sha256": "PHOTO_HASH_3",
            "update_successful": False,
            "errors": [ERROR],
        },
        "group_subject": {"text": "Test Subject", "update_successful": False, "errors": [ERROR]},
        "group_description": {"text": "Test Description", "update_successful": False, "errors": [ERROR]},
        "errors": [ERROR],
    },
)
GROUP_SUSPENDED = groups(
    "group_status_update", {"timestamp": str(AT + 70), "type": "group_suspend", "group_id": GROUP_ID}
)
GROUP_SUSPENSION_CLEARED = groups(
    "group_status_update", {"timestamp": str(AT + 80), "type": "group_suspend_cleared", "group_id": GROUP_ID}
)
# business-scoped-user-ids page, "group_participants_update webhooks": the participant's BSUID,
# parent BSUID and username beside (or instead of) the phone number.
PARTICIPANT_LEFT_BSUID = groups(
    "group_participants_update",
    {
        "timestamp": AT + 90,
        "group_id": GROUP_ID,
        "type": "group_participants_remove",
        "request_id": "REQ_10",
        "removed_participants": [{"user_id": BSUID, "parent_user_id": PARENT_BSUID, "username": "@sheena"}],
        "initiated_by": "participant",
    },
)
JOIN_REQUEST_CREATED_BSUID = groups(
    "group_participants_update",
    {
        "timestamp": AT + 95,
        "group_id": GROUP_ID,
        "type": "group_join_request_created",
        "join_request_id": "JOIN_2",
        "user_id": BSUID,
        "parent_user_id": PARENT_BSUID,
        "username": "@sheena",
    },
)

# --- Group messages: developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/
# reference/messages/group ("Group messages webhook reference"), with the BSUID fields of the
# business-scoped-user-ids page ("including incoming messages sent by users in a Group chat") ---
GROUP_MESSAGE = body(
    "messages",
    {
        "messaging_product": "whatsapp",
        "metadata": METADATA,
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": PHONE, "user_id": BSUID}],
        "messages": [
            {
                "from": PHONE,
                "from_user_id": BSUID,
                "group_id": GROUP_ID,
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
                "timestamp": "1739321024",
                "text": {"body": "What do you all think about this?"},
                "type": "text",
            }
        ],
    },
)


def group_status(status: str, participant_key: str, participant: str, **more: Any) -> dict[str, Any]:
    """A group message's status (groups/webhooks, "Group Message Status Webhooks"): the recipient is
    the group, the participant is named under `participant_key` (Meta's pages use three spellings)."""
    item = {
        "id": WAMID,
        "status": status,
        "timestamp": str(AT),
        "recipient_id": GROUP_ID,
        "recipient_type": "group",
        participant_key: participant,
        **more,
    }
    return body("messages", {"messaging_product": "whatsapp", "metadata": METADATA, "statuses": [item]})


GROUP_MESSAGE_READ_WITH_PRICING = group_status(
    "read",
    "participant_recipient_id",
    PHONE,
    conversation={"id": "CONVERSATION_ID", "origin": {"type": "group_service"}},
    pricing={"billable": True, "pricing_model": "PMP", "category": "group_service"},
)
GROUP_MESSAGE_DELIVERED_AGGREGATED = body(
    "messages",
    {
        "messaging_product": "whatsapp",
        "metadata": METADATA,
        "statuses": [
            {
                "id": WAMID,
                "status": "delivered",
                "timestamp": str(AT),
                "recipient_id": GROUP_ID,
                "recipient_type": "group",
                "recipient_participant_id": participant,
                "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "group_utility"}},
            }
            for participant in (PHONE, "16505550000")
        ],
    },
)
# business-scoped-user-ids page, "Status messages webhooks for groups".
GROUP_MESSAGE_DELIVERED_BSUID = group_status(
    "delivered",
    "recipient_participant_user_id",
    BSUID,
    recipient_participant_id=PHONE,
    recipient_participant_parent_user_id=PARENT_BSUID,
    pricing={"billable": True, "pricing_model": "PMP", "type": "regular", "category": "group_marketing"},
)


def calls(*items: dict[str, Any], contacts: list[dict[str, Any]] | None = None, **more: Any) -> dict[str, Any]:
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": METADATA, **more}
    if items:
        value["calls"] = list(items)
    if contacts is not None:
        value["contacts"] = contacts
    return body("calls", value)


# --- Calls: developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids
# ("Calling API": user- and business-initiated connect, terminate and status webhooks, May 7, 2026) ---
CALL_FROM_CUSTOMER = calls(
    {
        "session": {"sdp_type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"},
        "from": PHONE,
        "from_user_id": BSUID,
        "from_parent_user_id": PARENT_BSUID,
        "id": CALL_ID,
        "to": DISPLAY_NUMBER,
        "event": "connect",
        "timestamp": "1749197000",
        "direction": "USER_INITIATED",
    },
    contacts=[{**CONTACT, "parent_user_id": PARENT_BSUID}],
)
CALL_FROM_CUSTOMER_ENDED = calls(
    {
        "duration": 480,
        "start_time": "1749197000",
        "biz_opaque_callback_data": "ticket-42",
        "end_time": "1749197480",
        "from": PHONE,
        "from_user_id": BSUID,
        "id": CALL_ID,
        "to": DISPLAY_NUMBER,
        "event": "terminate",
        "timestamp": "1749197480",
        "direction": "USER_INITIATED",
        "status": "COMPLETED",
    },
    contacts=[CONTACT],
)
BUSINESS_CALL_ANSWERED = calls(
    {
        "biz_opaque_callback_data": "campaign-7",
        "session": {"sdp_type": "answer", "sdp": "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n"},
        "from": DISPLAY_NUMBER,
        "id": "wacid.BUSINESS1",
        "to": PHONE,
        "to_user_id": BSUID,
        "event": "connect",
        "timestamp": "1752582933",
        "direction": "BUSINESS_INITIATED",
    },
    contacts=[{"profile": {"username": "@realsheenanelson"}, "wa_id": PHONE, "user_id": BSUID}],
)
BUSINESS_CALL_ENDED = calls(
    {
        "biz_opaque_callback_data": "campaign-7",
        "from": DISPLAY_NUMBER,
        "id": "wacid.BUSINESS1",
        "to": PHONE,
        "to_user_id": BSUID,
        "event": "terminate",
        "timestamp": "1752583000",
        "direction": "BUSINESS_INITIATED",
        "status": "COMPLETED",
    },
    contacts=[CONTACT],
)
BUSINESS_CALL_RINGING = calls(
    statuses=[
        {
            "biz_opaque_callback_data": "campaign-7",
            "id": "wacid.BUSINESS1",
            "type": "call",
            "status": "RINGING",
            "timestamp": "1752582930",
            "recipient_id": PHONE,
            "recipient_user_id": BSUID,
        }
    ],
    contacts=[CONTACT],
)
# developers.facebook.com/documentation/business-messaging/whatsapp/calling/user-initiated-calls
# (Nov 13, 2025): the connect webhook without `direction`, and a terminate whose `status` is listed
# as ["Failed", "Completed"] (one of them), kept as Meta printed it.
CALL_CONNECT_WITHOUT_DIRECTION = calls(
    {
        "id": CALL_ID,
        "to": "16315553601",
        "from": "13175551399",
        "event": "connect",
        "timestamp": "1671644824",
        "session": {"sdp_type": "offer", "sdp": "<<RFC 8866 SDP>>"},
    }
)
CALL_TERMINATE_STATUS_LIST = calls(
    {
        "id": CALL_ID,
        "to": "16315553601",
        "from": "13175551399",
        "event": "terminate",
        "direction": "USER_INITIATED",
        "timestamp": "1749197480",
        "status": ["Failed", "Completed"],
        "start_time": "1671644824",
        "end_time": "1671644944",
        "duration": 480,
    }
)


def customer_message(message: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": METADATA, "messages": [message]}
    if contacts is not None:
        value["contacts"] = contacts
    return body("messages", value)


# --- Call permission replies: business-scoped-user-ids page, "Call permission request webhooks"
# (the interactive message of type call_permission_reply; reject: pywa's fixture of the same page) ---
CALL_PERMISSION_ACCEPTED = customer_message(
    {
        "context": {"from": DISPLAY_NUMBER, "id": "wamid.REQUEST"},
        "from": PHONE,
        "from_user_id": BSUID,
        "id": "wamid.PERMISSION1",
        "timestamp": "1752582182",
        "type": "interactive",
        "interactive": {
            "type": "call_permission_reply",
            "call_permission_reply": {
                "response": "accept",
                "expiration_timestamp": "1753186982",
                "response_source": "user_action",
            },
        },
    },
    contacts=[CONTACT],
)
CALL_PERMISSION_REJECTED = customer_message(
    {
        "context": {"from": DISPLAY_NUMBER, "id": "wamid.REQUEST"},
        "from": PHONE,
        "id": "wamid.PERMISSION2",
        "timestamp": "1752582182",
        "type": "interactive",
        "interactive": {
            "type": "call_permission_reply",
            "call_permission_reply": {"response": "reject", "response_source": "user_action"},
        },
    },
    contacts=[CONTACT],
)

# --- System messages: .../webhooks/reference/messages/system (user_changed_number) and the
# business-scoped-user-ids page, "System messages webhooks" (user_changed_user_id) ---
USER_CHANGED_NUMBER = customer_message(
    {
        "from": PHONE,
        "id": "wamid.SYSTEM1",
        "timestamp": "1753851315",
        "system": {
            "body": "User A changed from 16505551234 to 16505559999",
            "wa_id": "16505559999",
            "type": "user_changed_number",
        },
        "type": "system",
    }
)
USER_CHANGED_USER_ID = customer_message(
    {
        "from": PHONE,
        "from_user_id": BSUID,
        "id": "wamid.SYSTEM2",
        "timestamp": "1753851400",
        "type": "system",
        "system": {
            "body": f"User Sheena Nelson changed from {BSUID} to US.99999999999999999999",
            "wa_id": "16505559999",
            "user_id": "US.99999999999999999999",
            "parent_user_id": "US.ENT.99999999999999999999",
            "type": "user_changed_user_id",
        },
    }
)

# --- user_preferences: .../webhooks/reference/user_preferences and the business-scoped-user-ids
# page, "user_preferences webhooks" (BSUID and parent BSUID beside the phone number) ---
MARKETING_STOPPED = body(
    "user_preferences",
    {
        "messaging_product": "whatsapp",
        "metadata": METADATA,
        "contacts": [{**CONTACT, "parent_user_id": PARENT_BSUID}],
        "user_preferences": [
            {
                "wa_id": PHONE,
                "user_id": BSUID,
                "parent_user_id": PARENT_BSUID,
                "detail": "User requested to stop marketing messages",
                "category": "marketing_messages",
                "value": "stop",
                "timestamp": 1731705721,
            }
        ],
    },
)
MARKETING_RESUMED = body(
    "user_preferences",
    {
        "messaging_product": "whatsapp",
        "metadata": METADATA,
        "contacts": [CONTACT],
        "user_preferences": [
            {
                "wa_id": PHONE,
                "detail": "User requested to resume marketing messages",
                "category": "marketing_messages",
                "value": "resume",
                "timestamp": 1731705800,
            }
        ],
    },
)
# business-scoped-user-ids page, "user_id_update webhooks".
USER_ID_UPDATED = body(
    "user_id_update",
    {
        "messaging_product": "whatsapp",
        "metadata": METADATA,
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": PHONE}],
        "user_id_update": [
            {
                "wa_id": PHONE,
                "detail": "User id for Sheena Nelson has been updated.",
                "user_id": {"previous": BSUID, "current": "US.99999999999999999999"},
                "parent_user_id": {"previous": PARENT_BSUID, "current": "US.ENT.99999999999999999999"},
                "timestamp": "1753851400",
            }
        ],
    },
)

GROUP_BODIES = {
    name: value
    for name, value in globals().items()
    if isinstance(value, dict) and value.get("entry") and value["entry"][0]["changes"][0]["field"].startswith("group_")
}
