"""wacloud.adapters.table: a table's items as Python values over the low-level client (moto), and the
batches' retries of what DynamoDB leaves unprocessed."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from wacloud.adapters.table import StoreError, Table, Update, serialize, shared_table
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
    assert table.put_new(item) is True

    assert table.get({"pk": "T#1", "sk": "S"}) == item
    # what the resource would have stored: the same DynamoDB types
    raw = boto3.client("dynamodb").get_item(TableName=table.name, Key=serialize({"pk": "T#1", "sk": "S"}))["Item"]
    assert raw["count"] == {"N": "3"}
    assert sorted(raw["names"]["SS"]) == ["x", "y"]


# Numbers DynamoDB cannot hold exactly (38 digits, exponents -130 to 125), as Meta may send them.
UNHOLDABLE = [10**44, -(10**60), 1e300, -1e308, 1e-320, 5e-324, float("nan"), float("inf"), Decimal("1E+300")]


@pytest.mark.parametrize("number", UNHOLDABLE, ids=repr)
def test_a_number_dynamodb_cannot_hold_is_stored_as_its_json_text(table: Table, number: Any) -> None:
    key = {"pk": "T#NUM", "sk": "S"}
    # in any position: an attribute, a map, a list, an update's value
    assert table.put_new({**key, "n": number, "map": {"x": [number]}}) is True
    table.update(key, Update("SET u = :u", {":u": {"deep": number}}))

    item = table.get(key)
    assert item is not None
    text = item["n"]
    assert isinstance(text, str)
    assert item["map"] == {"x": [text]} and item["u"] == {"deep": text}
    assert text == (str(number) if isinstance(number, Decimal) else json.dumps(number))
    if not isinstance(number, Decimal) and not math.isnan(number):
        assert json.loads(text) == number  # the same number, read back as JSON


@pytest.mark.parametrize(
    ("number", "stored"),
    [
        (12345678901234567890123456789012345678, Decimal("12345678901234567890123456789012345678")),
        (0.1, Decimal("0.1")),
        (1e100, Decimal("1E+100")),
        (-0.0, Decimal("0")),
        (1.5e-100, Decimal("1.5E-100")),
    ],
    ids=repr,
)
def test_a_number_dynamodb_holds_stays_a_number_floats_as_written(table: Table, number: Any, stored: Decimal) -> None:
    key = {"pk": "T#HELD", "sk": "S"}
    table.put_new({**key, "n": number})
    item = table.get(key)
    assert item is not None and item["n"] == stored and isinstance(item["n"], Decimal)


def test_put_new_writes_once(table: Table) -> None:
    key = {"pk": "T#N", "sk": "S"}
    assert table.put_new({**key, "n": 1}) is True
    assert table.put_new({**key, "n": 2}) is False
    assert table.get(key) == {**key, "n": 1}
    assert table.get({"pk": "T#N", "sk": "other"}) is None


def test_update_returns_what_was_asked_and_none_when_its_condition_fails(table: Table) -> None:
    key = {"pk": "T#2", "sk": "S"}
    set_n = "SET n = :n"
    assert table.update(key, Update(set_n, {":n": 1}), returns="ALL_OLD") == {}
    assert table.update(key, Update(set_n, {":n": 2}), returns="ALL_OLD") == {**key, "n": 1}
    assert table.update(key, Update(set_n, {":n": 3}), returns="ALL_NEW") == {**key, "n": 3}
    assert table.update(key, Update("ADD n :one", {":one": 1}), returns="UPDATED_NEW") == {"n": 4}

    # a condition that does not hold is an answer (None), and nothing is written
    assert table.update(key, Update(set_n, {":n": 9, ":max": 1}, condition="n < :max")) is None
    assert table.get(key) == {**key, "n": 4}
    # names stand in for reserved words
    assert table.update(key, Update("SET #s = :s", {":s": "x"}, {"#s": "status"}), returns="ALL_NEW") == {
        **key,
        "n": 4,
        "status": "x",
    }


def test_delete_and_query_every_page_newest_first_or_limited(table: Table) -> None:
    for i in range(5):
        table.put_new({"pk": "T#Q", "sk": f"S{i}", "i": i})
    everything = table.query("pk = :pk", {":pk": "T#Q"})
    newest = table.query("pk = :pk AND begins_with(sk, :s)", {":pk": "T#Q", ":s": "S"}, newest_first=True, limit=2)
    table.delete({"pk": "T#Q", "sk": "S0"})

    assert [item["i"] for item in everything] == [0, 1, 2, 3, 4]
    assert [item["i"] for item in newest] == [4, 3]
    assert [item["i"] for item in table.query("pk = :pk", {":pk": "T#Q"})] == [1, 2, 3, 4]


def test_query_follows_the_pages_dynamodb_cuts(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        table.put_new({"pk": "T#P", "sk": f"S{i}", "i": i})
    real = table.client.query

    def pages_of_two(**params: Any) -> Any:
        return real(**params, Limit=2) if "Limit" not in params else real(**params)

    monkeypatch.setattr(table.client, "query", pages_of_two)
    assert [item["i"] for item in table.query("pk = :pk", {":pk": "T#P"})] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(
            ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem"), id="client"
        ),
        pytest.param(EndpointConnectionError(endpoint_url="https://dynamodb"), id="connection"),
    ],
)
def test_every_failure_but_a_condition_is_a_store_error(
    table: Table, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    def fail(**params: Any) -> Any:
        raise failure

    for method in ("get_item", "put_item", "update_item", "delete_item", "query", "batch_get_item", "batch_write_item"):
        monkeypatch.setattr(table.client, method, fail)
    key = {"pk": "T#F", "sk": "S"}
    calls = [
        lambda: table.get(key),
        lambda: table.put_new(key),
        lambda: table.update(key, Update("SET n = :n", {":n": 1}, condition="attribute_not_exists(n)")),
        lambda: table.delete(key),
        lambda: table.query("pk = :pk", {":pk": "T#F"}),
        lambda: table.batch_get([key]),
        lambda: table.batch_put([key]),
    ]
    for call in calls:
        with pytest.raises(StoreError):
            call()


def test_a_failed_condition_without_one_asked_is_a_store_error(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only a write that set a condition may read ConditionalCheckFailed as "not written".
    def conditional(**params: Any) -> Any:
        raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem")

    monkeypatch.setattr(table.client, "update_item", conditional)
    with pytest.raises(StoreError):
        table.update({"pk": "T#C", "sk": "S"}, Update("SET n = :n", {":n": 1}))


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
    with pytest.raises(StoreError, match="still left"):
        Table(table.name, Throttling(table.client, times=100)).batch_put(items)
    with pytest.raises(StoreError, match="still left"):
        Table(table.name, Throttling(table.client, times=100)).batch_get(items)


def test_the_shared_table_is_one_adapter_per_name_made_without_a_client(aws: Stack) -> None:
    name = aws.table_names["MessagesTable"]
    assert shared_table(name) is shared_table(name)
    assert shared_table(name)._client is None  # the client is made on first use (moto must be active)
