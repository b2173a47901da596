"""WhatsApp Cloud API on AWS: the shared package of the functions, the local run and the CLI.

The public API, imported lazily (a function pays only for what it uses):

    from wacloud import parse_webhook, OutboundMessage, get_outbound, find_outbound, get_message

- `parse_webhook(body)`: a webhook body's typed events, one per message, status or change;
- `OutboundMessage`: the outbound queue contract (`OutboundMessage.model_validate(document)`);
- `get_outbound(idempotency_key)`, `find_outbound(client_reference)`: what happened to a document;
- `get_message(wamid)`: a message, either direction, with its status history.

Where things are: `inbound/` (the webhook and the processor), `outbound/` (the contract, the
messages API, the sender), `conversation/`, `models/`, `adapters/` (AWS and Meta, the store),
`runtime/` (logging, metrics, tracing, idempotency), `ops/`, `cli/` and `local/` (not in the layer).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wacloud.adapters.store import find_outbound, get_message, get_outbound
    from wacloud.inbound.parse import parse_webhook
    from wacloud.models.outbound import OutboundMessage

_EXPORTS = {
    "parse_webhook": "wacloud.inbound.parse",
    "OutboundMessage": "wacloud.models.outbound",
    "get_outbound": "wacloud.adapters.store",
    "find_outbound": "wacloud.adapters.store",
    "get_message": "wacloud.adapters.store",
}
__all__ = ["OutboundMessage", "find_outbound", "get_message", "get_outbound", "parse_webhook"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wacloud' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
