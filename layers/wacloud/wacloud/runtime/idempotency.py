"""Powertools idempotency, set up once per function: at most one completed run per key, for days.

A run that raises is forgotten (its record deleted), so SQS's retry runs it again; a run that
completed answers every later duplicate with its stored result and does nothing. (The processor's
media, change and unparsed events; a customer message's own record is its idempotency record, and
the sender's lock is each document's own outbound record.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.adapters.aws_session import default_session
from wacloud.config import get_settings
from wacloud.runtime.metrics import count

F = TypeVar("F", bound=Callable[..., Any])


class Idempotent(Generic[F]):
    """`function(*, key: str, ...)` made to complete at most once per `key`: call `.run`.

    Its result is stored as JSON; each duplicate answered from a stored result is counted as
    `duplicate_metric`.
    """

    def __init__(self, function: F, *, key_prefix: str, duplicate_metric: str) -> None:
        def count_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
            count(duplicate_metric)
            return response

        self.config = IdempotencyConfig(
            expires_after_seconds=get_settings().idempotency_ttl_seconds,
            response_hook=count_duplicate,
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=get_settings().idempotency_table_name, boto3_session=default_session()
        )
        self.run: F = idempotent_function(
            function,
            data_keyword_argument="key",
            persistence_store=persistence,
            config=self.config,
            key_prefix=key_prefix,
        )

    def register_lambda_context(self, context: LambdaContext | None) -> None:
        """Tie in-progress records to this invocation's deadline (a timed-out run can be retried)."""
        if context is not None:
            self.config.register_lambda_context(context)
