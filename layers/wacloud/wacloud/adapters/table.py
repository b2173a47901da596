"""One DynamoDB table, its items as plain Python values, over boto3's low-level client.

boto3's `Table` resource converts the same way (with the same `TypeSerializer`), but a resource is
not thread-safe (the sender's recipient threads share the store and the rate limiter), and creating
one costs a cold start about 20 ms (a model of its own, a walk of botocore's data folders). A
client is thread-safe.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from wacloud.adapters.aws_session import default_session

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
# Request parameters that map names to Python values (an item, a key, the expressions' values).
_VALUE_MAPS = ("Key", "Item", "ExclusiveStartKey", "ExpressionAttributeValues")
BATCH_WRITE_SIZE = 25  # DynamoDB's limit per BatchWriteItem
# What DynamoDB leaves unprocessed (throttling) is sent again, backing off up to about 4 s in all:
# giving up fails the whole event, which is then handled again from the start.
UNPROCESSED_ATTEMPTS = 8


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


class UnprocessedError(Exception):
    """DynamoDB left part of a batch unprocessed (throttling) after every retry."""


class Table:
    """`get_item`, `put_item`, `update_item`, `delete_item` and `query` take and return what the
    resource's methods do (keys, items and values as Python values); expressions are strings."""

    def __init__(self, name: str, client: Any = None) -> None:
        self.name = name
        self.client = client if client is not None else default_session().client("dynamodb")

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.get_item, params)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.put_item, params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.update_item, params)

    def delete_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.delete_item, params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.query, params)

    def batch_get(self, keys: list[dict[str, Any]], *, consistent: bool = True) -> list[dict[str, Any]]:
        """The items found under `keys` (at most 100), whatever DynamoDB left for a retry."""
        request = {self.name: {"Keys": [serialize(k) for k in keys], "ConsistentRead": consistent}}
        answers = _until_processed(self.client.batch_get_item, request, "UnprocessedKeys")
        return [deserialize(item) for answer in answers for item in answer.get("Responses", {}).get(self.name, [])]

    def batch_put(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Put items (distinct keys), 25 per request, retrying what DynamoDB left unprocessed."""
        puts = [{"PutRequest": {"Item": serialize(item)}} for item in items]
        for start in range(0, len(puts), BATCH_WRITE_SIZE):
            _until_processed(
                self.client.batch_write_item, {self.name: puts[start : start + BATCH_WRITE_SIZE]}, "UnprocessedItems"
            )

    def _call(self, operation: Any, params: dict[str, Any]) -> dict[str, Any]:
        request = {"TableName": self.name, **params}
        for name in _VALUE_MAPS:
            if name in request:
                request[name] = serialize(request[name])
        response = operation(**request)
        for name in ("Item", "Attributes", "LastEvaluatedKey"):
            if name in response:
                response[name] = deserialize(response[name])
        if "Items" in response:
            response["Items"] = [deserialize(item) for item in response["Items"]]
        return response


def _until_processed(operation: Any, request: dict[str, Any], leftover: str) -> list[dict[str, Any]]:
    """A batch call, sent again with what DynamoDB left in `leftover` until nothing is left."""
    answers = []
    for attempt in range(UNPROCESSED_ATTEMPTS):
        answers.append(operation(RequestItems=request))
        request = answers[-1].get(leftover) or {}
        if not request:
            return answers
        _back_off(attempt)
    raise UnprocessedError(f"{leftover}: still left after {UNPROCESSED_ATTEMPTS} attempts")


def _back_off(attempt: int) -> None:
    """Before attempt `attempt + 2`: 50 ms doubling up to 1 s; none after the last attempt."""
    if attempt + 1 < UNPROCESSED_ATTEMPTS:
        time.sleep(min(1.0, 0.05 * 2**attempt))
