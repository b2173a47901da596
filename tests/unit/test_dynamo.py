"""wacloud.adapters.table: a table's items as Python values over the low-level client (moto), and the
batches' retries of what DynamoDB leaves unprocessed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
import pytest

from wacloud.adapters.table import Table, UnprocessedError, serialize
from wacloud.local.cloudformation import Stack

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def table(aws: Stack) -> Table:
    return Table(aws.table_names["MessagesTable"])


def test_items_keep_their_python_types_both_ways(table: Table) -> None:
    item = {
        "pk": "T#1",
        "sk": "S",
        "count": 3,
        "price": Decimal("0.5"),
        "flag": True,
        "nothing": None,
        "tags": ["a", 1],
        "nested": {"k": {"deeper": "v"}},
        "names": {"x", "y"},
    }
    table.put_item(Item=item)

    assert table.get_item(Key={"pk": "T#1", "sk": "S"})["Item"] == item
    # what the resource would have stored: the same DynamoDB types
    raw = boto3.client("dynamodb").get_item(TableName=table.name, Key=serialize({"pk": "T#1", "sk": "S"}))["Item"]
    assert raw["count"] == {"N": "3"}
    assert sorted(raw["names"]["SS"]) == ["x", "y"]


def test_update_returns_the_old_item_and_a_failed_condition_raises(table: Table) -> None:
    key = {"pk": "T#2", "sk": "S"}
    first = table.update_item(
        Key=key, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": 1}, ReturnValues="ALL_OLD"
    )
    second = table.update_item(
        Key=key, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": 2}, ReturnValues="ALL_OLD"
    )
    assert "Attributes" not in first
    assert second["Attributes"] == {**key, "n": 1}
    with pytest.raises(table.client.exceptions.ConditionalCheckFailedException):
        table.put_item(Item=key, ConditionExpression="attribute_not_exists(pk)")


def test_query_pages_with_python_keys(table: Table) -> None:
    for i in range(5):
        table.put_item(Item={"pk": "T#Q", "sk": f"S{i}", "i": i})
    first = table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "T#Q"}, Limit=3)
    rest = table.query(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": "T#Q"},
        ExclusiveStartKey=first["LastEvaluatedKey"],
    )
    assert first["LastEvaluatedKey"] == {"pk": "T#Q", "sk": "S2"}
    assert [item["i"] for item in first["Items"] + rest["Items"]] == [0, 1, 2, 3, 4]


def test_batch_put_writes_any_number_in_requests_of_25_and_batch_get_reads_them(table: Table) -> None:
    items = [{"pk": "T#B", "sk": f"S{i:02d}", "i": i} for i in range(60)]
    calls: list[int] = []
    real = table.client.batch_write_item

    def counted(**kwargs: Any) -> Any:
        calls.append(len(kwargs["RequestItems"][table.name]))
        return real(**kwargs)

    table.client.batch_write_item = counted  # type: ignore[method-assign]
    table.batch_put(items)

    assert calls == [25, 25, 10]
    found = table.batch_get([{"pk": "T#B", "sk": f"S{i:02d}"} for i in range(0, 60, 7)] + [{"pk": "T#B", "sk": "no"}])
    assert sorted(item["i"] for item in found) == list(range(0, 60, 7))


class Throttling:
    """A client whose batch calls leave part of the request unprocessed the first `times` times."""

    def __init__(self, client: Any, times: int) -> None:
        self.client, self.times, self.calls = client, times, 0

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        ((name, requests),) = RequestItems.items()
        if self.calls <= self.times:  # DynamoDB took the first one only
            self.client.batch_write_item(RequestItems={name: requests[:1]})
            return {"UnprocessedItems": {name: requests[1:]}} if requests[1:] else {}
        return self.client.batch_write_item(RequestItems=RequestItems)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        ((name, request),) = RequestItems.items()
        if self.calls <= self.times:
            answer = self.client.batch_get_item(RequestItems={name: {**request, "Keys": request["Keys"][:1]}})
            answer["UnprocessedKeys"] = {name: {**request, "Keys": request["Keys"][1:]}}
            return answer
        return self.client.batch_get_item(RequestItems=RequestItems)


def test_batches_retry_what_dynamodb_left_unprocessed(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wacloud.adapters.table._back_off", lambda attempt: None)
    items = [{"pk": "T#U", "sk": f"S{i}"} for i in range(4)]
    writes = Throttling(table.client, times=2)
    Table(table.name, writes).batch_put(items)
    assert writes.calls == 3
    reads = Throttling(table.client, times=2)
    assert sorted(item["sk"] for item in Table(table.name, reads).batch_get(items)) == ["S0", "S1", "S2", "S3"]
    assert reads.calls == 3


def test_batches_give_up_when_dynamodb_keeps_leaving_items(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wacloud.adapters.table._back_off", lambda attempt: None)
    items = [{"pk": "T#G", "sk": f"S{i}"} for i in range(10)]
    with pytest.raises(UnprocessedError):
        Table(table.name, Throttling(table.client, times=100)).batch_put(items)
    with pytest.raises(UnprocessedError):
        Table(table.name, Throttling(table.client, times=100)).batch_get(items)
