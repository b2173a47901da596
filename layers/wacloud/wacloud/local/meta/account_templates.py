"""The simulated WhatsApp Business account's message templates, as `GET /{waba-id}/message_templates`
lists them: a sample of each kind of parameter, and of each state Meta refuses a send for."""

from __future__ import annotations

from typing import Any

# The templates a fresh fake account has: one per kind of parameter the sender's check knows.
DEFAULT_TEMPLATES: list[dict[str, Any]] = [
    {
        "id": "900000000000001",
        "name": "hello_world",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {"type": "BODY", "text": "Welcome and congratulations!! This message is a template."},
            {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
        ],
    },
    {
        "id": "900000000000002",
        "name": "order_update",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [
            {"type": "BODY", "text": "Your order {{order_id}} is on its way. Total: {{total}}."},
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track it", "url": "https://example.com/t/{{1}}"}]},
        ],
    },
    {
        "id": "900000000000003",
        "name": "appointment_reminder",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Hi {{1}}, see you on {{2}}."},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "QUICK_REPLY", "text": "Confirm"}, {"type": "QUICK_REPLY", "text": "Reschedule"}],
            },
        ],
    },
    {
        "id": "900000000000004",
        "name": "spring_sale",
        "language": "en_US",
        "status": "PAUSED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [{"type": "BODY", "text": "Spring sale: {{1}} off everything."}],
    },
]


def _template(number: int, name: str, status: str, category: str, *components: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"9000000000000{number:02d}",
        "name": name,
        "language": "en_US",
        "status": status,
        "category": category,
        "parameter_format": "POSITIONAL",
        "components": list(components),
    }


# The local run's account has these too: a disabled template (132016), an authentication template
# (131062 to a business-scoped user id), an approved marketing template (131063 through /messages when
# the account sends marketing through the Marketing Messages API), and currency and date parameters.
LOCAL_RUN_TEMPLATES: list[dict[str, Any]] = [
    _template(5, "winter_sale", "DISABLED", "MARKETING", {"type": "BODY", "text": "Winter sale: {{1}} off."}),
    _template(
        6,
        "login_code",
        "APPROVED",
        "AUTHENTICATION",
        {"type": "BODY", "text": "{{1}} is your verification code."},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
    ),
    _template(7, "weekly_deals", "APPROVED", "MARKETING", {"type": "BODY", "text": "This week only: {{1}}."}),
    _template(8, "payment_due", "APPROVED", "UTILITY", {"type": "BODY", "text": "{{1}} is due on {{2}}."}),
]
