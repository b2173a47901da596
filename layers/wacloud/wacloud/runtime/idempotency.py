"""Powertools idempotency, set up once: at most one completed run per key, for days.

A run that raises is forgotten (its record deleted), so SQS's retry runs it again; a run that
completed answers every later duplicate with its stored result and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Metrics
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
metrics = Metrics()


def make_idempotent(function: F, *, key_prefix: str, config: IdempotencyConfig) -> F:
    """Wrap `function(*, key: str, ...)` so it completes at most once per `key`.

    The persistence layer (and its boto3 client) is created here, on first use, not at import.
    """
    persistence = DynamoDBPersistenceLayer(
        table_name=get_settings().idempotency_table_name, boto3_session=default_session()
    )
    # Configured here, once: Powertools configures on first use and marks itself configured before
    # it sets the expiry, so two sender threads racing through the first call could store a record
    # with the default expiry instead of this one.
    persistence.configure(config, f"{function.__module__}.{function.__qualname__}", key_prefix)
    return idempotent_function(
        function,
        data_keyword_argument="key",
        persistence_store=persistence,
        config=config,
        key_prefix=key_prefix,
    )


def new_config(duplicate_metric: str) -> IdempotencyConfig:
    """The config; each duplicate answered from a stored result is counted as `duplicate_metric`."""

    def count_duplicate(response: Any, record: DataRecord) -> Any:
        count(duplicate_metric)
        return response

    return IdempotencyConfig(
        expires_after_seconds=get_settings().idempotency_ttl_seconds, response_hook=count_duplicate
    )


def register_context(config: IdempotencyConfig, context: LambdaContext | None) -> None:
    """Tie in-progress records to this invocation's deadline (so a timed-out run can be retried)."""
    if context is not None:
        config.register_lambda_context(context)
