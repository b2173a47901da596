"""wacloud.outbound.transports: a Graph client per app (its own token, one shared HTTP session), and
End User Messaging Social's send and upload behind the same interface."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.unit.outbound.test_sender_transports import StubEum
from wacloud.adapters.credentials import access_token
from wacloud.adapters.graph import GraphClient
from wacloud.adapters.s3 import Bucket, ObjectHead
from wacloud.config import get_settings
from wacloud.models.number_entry import NumberEntry
from wacloud.outbound.transports import EumTransport, GraphClients, Sent
from wacloud.runtime.deadline import NO_DEADLINE

pytestmark = pytest.mark.usefixtures("aws")
EUM_NUMBER = NumberEntry("100000000000002", transport="eum", eum_phone_number_id="phone-number-id-" + "c" * 32)


def test_each_app_and_api_version_has_its_own_graph_client_on_one_session() -> None:
    settings = get_settings()
    default = GraphClient(base_url="https://graph.test", api_version="v23.0", token=access_token)
    clients = GraphClients(default, settings)
    sales = f"{settings.secret_name}/sales"
    boto3.client("secretsmanager").create_secret(Name=sales, SecretString=json.dumps({"access_token": "sales-token"}))

    assert clients.for_number(NumberEntry("1")) is default
    assert clients.for_number(NumberEntry("1", secret_name=settings.secret_name)) is default
    other = clients.for_number(NumberEntry("2", secret_name=sales))
    assert other is not default and other is clients.for_number(NumberEntry("3", secret_name=sales))
    assert other.session is default.session and other.api_version == "v23.0"
    assert other.token() == "sales-token"  # the number's own app's token
    assert clients.for_number(NumberEntry("4", meta_api_version="v20.0")).api_version == "v20.0"


def test_an_eum_send_answers_with_awss_id_and_no_wamid_whatever_the_endpoint() -> None:
    client = StubEum("aws-1", "aws-1")
    transport = EumTransport(client)  # type: ignore[arg-type]
    for endpoint in ("messages", "marketing_messages"):
        sent = transport.send(EUM_NUMBER, {"to": "1"}, deadline=NO_DEADLINE, before_retry=None, endpoint=endpoint)
        assert sent == Sent(None, "aws-1")
    assert client.sent == [(EUM_NUMBER.phone_number_id, {"to": "1"})] * 2


def test_an_eum_upload_names_the_bucket_object_for_the_service_to_read() -> None:
    client = StubEum()
    head = ObjectHead("image/jpeg", 10, '"etag"')
    media_id = EumTransport(client).upload(  # type: ignore[arg-type]
        EUM_NUMBER,
        Bucket("media"),
        "promo/a.jpg",
        head,
        mime_type="image/jpeg",
        deadline=NO_DEADLINE,
        before_retry=None,
    )
    assert media_id == "media.EUM"
    assert client.uploads == [(EUM_NUMBER.phone_number_id, "media", "promo/a.jpg")]


@pytest.mark.parametrize(("media", "made"), [(False, ["send"]), (True, ["send", "media"])])
def test_warming_makes_the_media_client_only_for_a_batch_that_may_need_it(media: bool, made: list[str]) -> None:
    client = StubEum()
    EumTransport(client).warm([EUM_NUMBER], media=media)  # type: ignore[arg-type]
    assert client.made == made
