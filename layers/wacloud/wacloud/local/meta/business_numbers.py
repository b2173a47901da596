"""The business's numbers in the simulated Meta, and how each one's webhooks reach the business: a
Cloud API number's as Meta's signed POST, an End User Messaging Social number's wrapped in AWS's
envelope and published on the WABA's SNS topic (one entry per SNS message).

The envelope as AWS documents it ("Message and event format"): `context.MetaWabaIds` and
`context.MetaPhoneNumberIds` (each with its ARN), `whatsAppWebhookEntry` (Meta's entry as a JSON
string), `aws_account_id`, `message_timestamp` (ISO 8601, nanoseconds) and `messageId`.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from wacloud.local.account import ACCOUNT_ID, REGION
from wacloud.local.meta.webhooks import DEFAULT_DISPLAY_NUMBER, DEFAULT_WABA_ID

Transport = Literal["cloud_api", "eum"]
CLOUD_API: Transport = "cloud_api"
EUM: Transport = "eum"
TRANSPORT_NAMES = {CLOUD_API: "Cloud API", EUM: "End User Messaging Social"}


@dataclass(frozen=True)
class BusinessNumber:
    phone_number_id: str  # Meta's
    waba_id: str = DEFAULT_WABA_ID
    display_phone_number: str = DEFAULT_DISPLAY_NUMBER
    transport: Transport = CLOUD_API
    eum_phone_number_id: str = ""  # AWS's, phone-number-id-<32 hex>, for an EUM number

    @property
    def label(self) -> str:
        return f"+{self.display_phone_number} ({TRANSPORT_NAMES[self.transport]})"

    @property
    def eum_hex(self) -> str:
        return self.eum_phone_number_id.removeprefix("phone-number-id-")

    def phone_arn(self) -> str:
        return f"arn:aws:social-messaging:{REGION}:{ACCOUNT_ID}:phone-number-id/{self.eum_hex}"

    def waba_arn(self) -> str:
        # AWS's own id of the linked account, derived from Meta's so it is the same every run.
        return f"arn:aws:social-messaging:{REGION}:{ACCOUNT_ID}:waba/{aws_hex('waba', self.waba_id)}"

    def view(self) -> dict[str, Any]:
        """What the chat view shows of it."""
        return {
            "phone_number_id": self.phone_number_id,
            "waba_id": self.waba_id,
            "display_phone_number": self.display_phone_number,
            "transport": self.transport,
            "transport_name": TRANSPORT_NAMES[self.transport],
            "label": self.label,
        }


def aws_hex(kind: str, seed: str) -> str:
    """32 hex digits standing in for one of AWS's ids, derived from `seed`."""
    return hashlib.sha256(f"wacloud-local-{kind}:{seed}".encode()).hexdigest()[:32]


def number_in(body: dict[str, Any]) -> str | None:
    """The business number a webhook body is for (its first change's metadata)."""
    for entry in body.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            metadata = ((change or {}).get("value") or {}).get("metadata") or {}
            if metadata.get("phone_number_id"):
                return str(metadata["phone_number_id"])
    return None


def addressed(body: dict[str, Any], number: BusinessNumber) -> dict[str, Any]:
    """The body as Meta sends it for `number`: its WABA's id on each entry, its display number."""
    for entry in body.get("entry") or []:
        entry["id"] = number.waba_id
        for change in entry.get("changes") or []:
            metadata = (change.get("value") or {}).get("metadata")
            if isinstance(metadata, dict):
                metadata["display_phone_number"] = number.display_phone_number
    return body


def sns_messages(body: dict[str, Any], number: BusinessNumber, *, account_id: str = ACCOUNT_ID) -> list[str]:
    """The SNS messages End User Messaging Social publishes for a webhook body: one per entry."""
    now = time.time_ns()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 10**9)) + f".{now % 10**9:09d}Z"
    return [
        json.dumps(
            {
                "context": {
                    "MetaWabaIds": [{"wabaId": number.waba_id, "arn": number.waba_arn()}],
                    "MetaPhoneNumberIds": [{"metaPhoneNumberId": number.phone_number_id, "arn": number.phone_arn()}],
                },
                "whatsAppWebhookEntry": json.dumps(entry),
                "aws_account_id": account_id,
                "message_timestamp": stamp,
                "messageId": str(uuid.uuid4()),
            }
        )
        for entry in body.get("entry") or []
    ]
