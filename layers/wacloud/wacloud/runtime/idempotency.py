"""Powertools idempotency, set up once per function: at most one completed run per key, for days.

A run that raises is forgotten (its record deleted), so SQS's retry runs it again; a run that
completed answers every later duplicate with its stored result and does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from wacloud.adapters.aws_session import default_session
from wacloud.config import get_settings
from wacloud.runtime.metrics import count

F = TypeVar("F", bound=Callable[..., Any])


class _PersistenceLayer(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB persistence, configured under a lock: Powertools configures it on the
    first call and marks it configured before it sets the expiry, so two of the sender's recipient
    threads racing through the first call could store a record with the default expiry (1 hour)."""

    _lock = threading.Lock()

    def configure(
        self, config: IdempotencyConfig, function_name: str | None = None, key_prefix: str | None = None
    ) -> None:
        with self._lock:
            super().configure(config, function_name, key_prefix)

    def _validate_payload(self, data_payload: dict[str, Any] | DataRecord, stored_data_record: DataRecord) -> None:
        """A record stored before its payload was validated has no hash: it answers as it always did
        (refusing it would strand a send whose lock completed before the upgrade)."""
        if stored_data_record.payload_hash:
            super()._validate_payload(data_payload, stored_data_record)


class Idempotent(Generic[F]):
    """`function(*, key: str, ...)` made to complete at most once per `key`: call `.run`.

    Its result is stored as JSON (a pydantic `output` model is dumped and loaded again); each
    duplicate answered from a stored result is counted as `duplicate_metric`. With `validated`,
    `key` is `{"key": ..., "digest": ...}`: a call under a stored key with another digest raises
    Powertools' `IdempotencyValidationError` instead of answering with the other call's result.
    """

    def __init__(
        self,
        function: F,
        *,
        key_prefix: str,
        duplicate_metric: str,
        output: type[BaseModel] | None = None,
        validated: bool = False,
    ) -> None:
        def count_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
            count(duplicate_metric)
            return response

        self.config = IdempotencyConfig(
            expires_after_seconds=get_settings().idempotency_ttl_seconds,
            response_hook=count_duplicate,
            event_key_jmespath="key" if validated else "",
            payload_validation_jmespath="digest" if validated else "",
        )
        persistence = _PersistenceLayer(
            table_name=get_settings().idempotency_table_name, boto3_session=default_session()
        )
        self.run: F = idempotent_function(
            function,
            data_keyword_argument="key",
            persistence_store=persistence,
            config=self.config,
            key_prefix=key_prefix,
            output_serializer=PydanticSerializer(model=output) if output is not None else None,
        )

    def register_lambda_context(self, context: LambdaContext | None) -> None:
        """Tie in-progress records to this invocation's deadline (a timed-out run can be retried)."""
        if context is not None:
            self.config.register_lambda_context(context)
