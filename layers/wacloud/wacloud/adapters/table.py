"""One DynamoDB table, its items as plain Python values, over boto3's low-level client: every call
the store makes, and the one place DynamoDB's errors become the package's own (`StoreError`).

boto3's `Table` resource converts the same way (with the same `TypeSerializer`), but a resource is
not thread-safe (the sender's recipient threads share the store and the rate limiter), and creating
one costs a cold start about 20 ms (a model of its own, a walk of botocore's data folders). A
client is thread-safe.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, DecimalException
from typing import Any, Literal

from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from wacloud.adapters.aws_session import default_session
from wacloud.errors import TransientError
from wacloud.runtime.singletons import singleton

Item = dict[str, Any]
Key = dict[str, str]


def _attribute(value: Any) -> dict[str, Any]:
    """boto3's `TypeSerializer`, except for numbers: a float is taken as written (its shortest text),
    and a number DynamoDB cannot hold exactly (over 38 digits, beyond 1E+126 or below 1E-130, NaN,
    infinite) is stored as its JSON text, a string, instead of raising `decimal.Inexact` on every
    retry. Only numbers nothing compares reach that: the models bound every number a key or a
    condition uses (`wacloud.models.times`)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = dynamo_number(value)
        return {"N": number} if number is not None else {"S": number_text(value)}
    if isinstance(value, Mapping):
        return {"M": {name: _attribute(inner) for name, inner in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_attribute(inner) for inner in value]}
    return dict(_serializer.serialize(value))


def dynamo_number(value: int | float | Decimal) -> str | None:
    """The text DynamoDB stores for the number `value`; None when it cannot hold it exactly."""
    try:
        # repr: the float as JSON wrote it (0.1), not its binary expansion (0.1000000000000000055...)
        number = DYNAMODB_CONTEXT.create_decimal(repr(value) if isinstance(value, float) else value)
    except DecimalException:
        return None
    return str(number) if number.is_finite() else None


def number_text(value: int | float | Decimal) -> str:
    """A number as JSON writes it (Python's own spelling for NaN and the infinities)."""
    return str(value) if isinstance(value, Decimal) else json.dumps(value)


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
BATCH_WRITE_SIZE = 25  # DynamoDB's limit per BatchWriteItem
# What DynamoDB leaves unprocessed (throttling) is sent again, backing off up to about 4 s in all:
# giving up fails the whole event, which is then handled again from the start.
UNPROCESSED_ATTEMPTS = 8


class StoreError(TransientError):
    """DynamoDB failed (throttled, unavailable, misconfigured); the work must be retried."""


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _attribute(value) for name, value in item.items()}


def deserialize(item: Mapping[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


@dataclass(frozen=True)
class Update:
    """An `UpdateItem`'s expressions: `SET`/`REMOVE` text, its values and names, and a condition."""

    expression: str
    values: dict[str, Any] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    condition: str | None = None


Returns = Literal["ALL_OLD", "ALL_NEW", "UPDATED_NEW", "NONE"]


class Table:
    """Items in, items out; `StoreError` for anything DynamoDB refuses but a condition."""

    def __init__(self, name: str, client: Any = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> Any:
        """The low-level client, made on first use (on the process's session)."""
        if self._client is None:
            self._client = default_session().client("dynamodb")
        return self._client

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        """The item under `key`, or None."""
        response = self._call("GetItem", Key=serialize(key), ConsistentRead=consistent)
        return deserialize(response["Item"]) if "Item" in response else None

    def put_new(self, item: Item) -> bool:
        """Write `item` unless its key is taken; False when it was (nothing written)."""
        try:
            self._call("PutItem", Item=serialize(item), ConditionExpression="attribute_not_exists(pk)")
        except _ConditionFailedError:
            return False
        return True

    def update(self, key: Key, update: Update, *, returns: Returns = "NONE") -> Item | None:
        """Apply `update`; None when its condition did not hold (nothing written), else the
        attributes `returns` asks for (empty when there are none: a new item's old values)."""
        params: dict[str, Any] = {
            "Key": serialize(key),
            "UpdateExpression": update.expression,
            "ReturnValues": returns,
        }
        if update.values:
            params["ExpressionAttributeValues"] = serialize(update.values)
        if update.names:
            params["ExpressionAttributeNames"] = update.names
        if update.condition:
            params["ConditionExpression"] = update.condition
        try:
            response = self._call("UpdateItem", **params)
        except _ConditionFailedError:
            return None
        return deserialize(response.get("Attributes") or {})

    def delete(self, key: Key) -> None:
        self._call("DeleteItem", Key=serialize(key))

    def query(
        self,
        condition: str,
        values: dict[str, Any],
        *,
        index: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[Item]:
        """The items matching a key condition, every page (or the first `limit`)."""
        params: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": not newest_first,
        }
        if index:
            params["IndexName"] = index
        if limit is not None:
            params["Limit"] = limit
        items: list[Item] = []
        while True:
            response = self._call("Query", **params)
            items.extend(deserialize(item) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start or (limit is not None and len(items) >= limit):
                return items[:limit] if limit is not None else items
            params["ExclusiveStartKey"] = start

    def scan(self, condition: str, values: dict[str, Any]) -> Iterator[Item]:
        """Every item matching a filter, page by page (for one-off operations such as migrations:
        a scan reads the whole table)."""
        params: dict[str, Any] = {"FilterExpression": condition, "ExpressionAttributeValues": serialize(values)}
        while True:
            response = self._call("Scan", **params)
            yield from (deserialize(item) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return
            params["ExclusiveStartKey"] = start

    def batch_get(self, keys: list[Key], *, consistent: bool = True) -> list[Item]:
        """The items found under `keys` (at most 100), whatever DynamoDB left for a retry."""
        request = {self.name: {"Keys": [serialize(k) for k in keys], "ConsistentRead": consistent}}
        answers = self._until_processed("BatchGetItem", request, "UnprocessedKeys")
        return [deserialize(item) for answer in answers for item in answer.get("Responses", {}).get(self.name, [])]

    def batch_put(self, items: Iterable[Item]) -> None:
        """Put items (distinct keys), 25 per request, retrying what DynamoDB left unprocessed."""
        puts = [{"PutRequest": {"Item": serialize(item)}} for item in items]
        for start in range(0, len(puts), BATCH_WRITE_SIZE):
            self._until_processed(
                "BatchWriteItem", {self.name: puts[start : start + BATCH_WRITE_SIZE]}, "UnprocessedItems"
            )

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One call of the client; its failures as `StoreError` (a failed condition as its own)."""
        method: Callable[..., dict[str, Any]] = getattr(self.client, _METHODS[operation])
        if operation not in ("BatchGetItem", "BatchWriteItem"):
            params["TableName"] = self.name
        try:
            return method(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            if code == "ConditionalCheckFailedException" and "ConditionExpression" in params:
                raise _ConditionFailedError from exc
            raise StoreError(f"{operation} failed: {code}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"{operation} failed: {exc}") from exc

    def _until_processed(self, operation: str, request: dict[str, Any], leftover: str) -> list[dict[str, Any]]:
        """A batch call, sent again with what DynamoDB left in `leftover` until nothing is left."""
        answers = []
        for attempt in range(UNPROCESSED_ATTEMPTS):
            answers.append(self._call(operation, RequestItems=request))
            request = answers[-1].get(leftover) or {}
            if not request:
                return answers
            _back_off(attempt)
        raise StoreError(f"{operation}: {leftover} still left after {UNPROCESSED_ATTEMPTS} attempts")


_METHODS = {
    "GetItem": "get_item",
    "PutItem": "put_item",
    "UpdateItem": "update_item",
    "DeleteItem": "delete_item",
    "Query": "query",
    "Scan": "scan",
    "BatchGetItem": "batch_get_item",
    "BatchWriteItem": "batch_write_item",
}


class _ConditionFailedError(Exception):
    """A conditional write's condition did not hold: an answer, not a failure (never leaves here)."""


def _back_off(attempt: int) -> None:
    """Before attempt `attempt + 2`: 50 ms doubling up to 1 s; none after the last attempt."""
    if attempt + 1 < UNPROCESSED_ATTEMPTS:
        time.sleep(min(1.0, 0.05 * 2**attempt))


@singleton
def shared_table(name: str) -> Table:
    """The process's adapter for the table `name` (its client made once, on first use)."""
    return Table(name)
