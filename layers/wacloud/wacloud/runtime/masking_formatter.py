"""Powertools' JSON log formatter with every record through `mask_log` (runtime/masking.py): the
formatter of every function's Powertools Logger (the webhook's `LeanLogger` masks the same way)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from wacloud.runtime.masking import mask_log


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON log formatter, with `mask_log` applied to every record."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return super().serialize(mask_log(log))
