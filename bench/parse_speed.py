"""The processor's typed parse beside pywa's, per update, on the same Meta bodies (issue 19, point 4).

Both sides start from what they receive and end with their typed objects; neither does I/O.

- ours: `wacloud.inbound.parse.event_from(document)`, exactly what the processor does to each SQS
  record (`InboundProcessor.process(record.body)`): the record's body is the str the webhook queued,
  its split of Meta's body (`split_webhook(raw)[0].body()`), built here once per body, outside the
  timing (the split is the webhook's work, measured by `make bench`'s ingest figure). Included: the
  JSON decoding of that str and the whole validation into `MessageEvent` (message, contact) or
  `StatusEvent`.
- pywa 4.5.0: `RawUpdate(raw, ...)` (its own `json.loads` of the raw bytes, as its webhook handler
  does) then the update class's `from_update(client, update)` (`Message`, `CallbackButton`,
  `MessageStatus`: what pywa's dispatch picks for that body). Left out, in pywa's favour: the update
  hash, the duplicate cache, the handler lookup and its logging. The client is built once, without a
  token (no HTTP client), a server or update validation (`validate_updates=False`).

Bodies are shaped like Meta's 2026 webhooks (a BSUID in every contact; pywa requires one) and are the
same bytes for both sides. Timing: `timeit`-style loops, ours and pywa's interleaved repeat by repeat,
the median of the repeats' per-update times. `parse_ratio` is the worst kind's ours/pywa (target <= 1).
"""

from __future__ import annotations

import json
import statistics
import timeit
from collections.abc import Callable
from functools import partial
from typing import Any

from wacloud.inbound.parse import event_from
from wacloud.inbound.split import split_webhook
from wacloud.local.meta.webhooks import customer_message, interactive_reply, media_message, status_update

PHONE_NUMBER_ID = "106540352242922"
CUSTOMER = "16505551234"
BSUID = "US.13491208655302741918"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
AT = 1739321024
SENDER: dict[str, Any] = {"sender": CUSTOMER, "user_id": BSUID, "wamid": WAMID, "timestamp": AT}


def bodies() -> dict[str, bytes]:
    """Meta's body of each kind, as the raw bytes of the POST."""
    text = customer_message(
        {"type": "text", "text": {"body": "Where is my order?"}}, phone_number_id=PHONE_NUMBER_ID, **SENDER
    )
    button = interactive_reply(
        "button_reply", "track-order", "Track my order", phone_number_id=PHONE_NUMBER_ID, **SENDER
    )
    image = media_message(
        "image",
        "1234567890123456",
        phone_number_id=PHONE_NUMBER_ID,
        mime_type="image/jpeg",
        sha256="VjZzM2ZkZ3hZbWRmZ2hqa2xtbm9wcXJzdHV2d3h5ejEyMzQ1Njc4OTA=",  # checkov:skip=CKV_SECRET_6: a digest
        caption="the parcel",
        **SENDER,
    )
    status = status_update(
        WAMID, "delivered", phone_number_id=PHONE_NUMBER_ID, recipient=CUSTOMER, timestamp=AT, recipient_user_id=BSUID
    )
    value = status["entry"][0]["changes"][0]["value"]
    value["statuses"][0]["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
    # Since 2026 a status names its recipient in `contacts` too (pywa requires it; our split ignores it).
    value["contacts"] = [{"wa_id": CUSTOMER, "user_id": BSUID}]
    found = {"text": text, "button_reply": button, "image": image, "status": status}
    return {kind: json.dumps(body, separators=(",", ":")).encode() for kind, body in found.items()}


def _pywa_parsers() -> dict[str, Callable[[bytes], Any]]:
    from pywa import WhatsApp
    from pywa.types import CallbackButton, Message, MessageStatus
    from pywa.types.base_update import RawUpdate

    client = WhatsApp(phone_id=PHONE_NUMBER_ID, server=None, validate_updates=False)

    def parser(update_class: Any) -> Callable[[bytes], Any]:
        def parse(raw: bytes) -> Any:
            return update_class.from_update(client=client, update=RawUpdate(raw, hmac_header=None, update_hash=""))

        return parse

    return {
        "text": parser(Message),
        "button_reply": parser(CallbackButton),
        "image": parser(Message),
        "status": parser(MessageStatus),
    }


def _per_update_us(call: Callable[[], Any], number: int) -> float:
    return timeit.timeit(call, number=number) / number * 1e6


def measure(*, number: int = 2000, repeat: int = 15) -> dict[str, Any]:
    """Per kind: ours_us, pywa_us and their ratio; `parse_ratio`, the worst ratio."""
    pywa = _pywa_parsers()
    kinds: dict[str, Any] = {}
    for kind, raw in bodies().items():
        (split,) = split_webhook(raw)
        document = split.body()  # what the processor's SQS record carries
        parse_pywa = pywa[kind]
        ours_call, pywa_call = partial(event_from, document), partial(parse_pywa, raw)
        # Both parse this body at all, and to what it is.
        assert type(ours_call()).__name__ == ("StatusEvent" if kind == "status" else "MessageEvent")
        assert pywa_call().id == WAMID
        ours, theirs = [], []
        for _ in range(repeat):
            ours.append(_per_update_us(ours_call, number))
            theirs.append(_per_update_us(pywa_call, number))
        ours_us, pywa_us = statistics.median(ours), statistics.median(theirs)
        kinds[kind] = {"ours_us": round(ours_us, 2), "pywa_us": round(pywa_us, 2), "ratio": round(ours_us / pywa_us, 2)}
    return {"kinds": kinds, "parse_ratio": max(figures["ratio"] for figures in kinds.values())}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
