"""wacloud.models.graph: Graph API answers read as Meta sends them, tolerant of fields Meta adds."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from wacloud.models.graph import (
    GraphErrorBody,
    MediaInfo,
    MediaUploaded,
    SendResponse,
    TemplateDefinition,
    TemplatesPage,
)

TEMPLATE = {"name": "order_update", "language": "en_US", "status": "APPROVED", "components": [{"type": "BODY"}]}


def test_a_send_answer_names_its_wamid():
    answer = SendResponse.model_validate(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": "wamid.A", "message_status": "accepted"}],
        }
    )
    assert answer.wamid == "wamid.A"
    assert answer.contacts[0].wa_id == "16505551234"
    assert answer.messages[0].message_status == "accepted"


def test_a_read_receipts_answer_is_a_success_without_a_wamid():
    answer = SendResponse.model_validate({"success": True})
    assert (answer.success, answer.wamid, answer.messages) == (True, None, [])


def test_an_empty_send_answer_has_no_wamid():
    assert SendResponse().wamid is None


def test_a_sent_message_without_an_id_is_not_an_answer():
    with pytest.raises(ValidationError):
        SendResponse.model_validate({"messages": [{"id": ""}]})


def test_fields_meta_adds_later_are_kept_not_refused():
    answer = SendResponse.model_validate(
        {"messages": [{"id": "wamid.A", "group_id": "g"}], "contacts": [{"wa_id": "1", "bsuid": "US.1"}], "new": 1}
    )
    assert answer.wamid == "wamid.A"
    assert answer.model_extra == {"new": 1}
    assert answer.messages[0].model_extra == {"group_id": "g"}
    error = GraphErrorBody.model_validate({"code": 131026, "error_data": {"details": "d", "blame": "x"}, "extra": 1})
    assert error.code == 131026 and error.error_data is not None and error.error_data.details == "d"


def page(**paging: Any) -> TemplatesPage:
    return TemplatesPage.model_validate({"data": [TEMPLATE], "paging": paging} if paging else {"data": [TEMPLATE]})


@pytest.mark.parametrize(
    ("answer", "after"),
    [
        pytest.param(page(cursors={"before": "B", "after": "A"}, next="https://graph/next"), "A", id="more-pages"),
        pytest.param(page(cursors={"before": "B", "after": "A"}), None, id="last-page-keeps-its-cursors"),
        pytest.param(page(cursors={"after": "A"}, next=""), None, id="empty-next"),
        pytest.param(page(next="https://graph/next"), None, id="next-without-cursors"),
        pytest.param(page(), None, id="no-paging"),
    ],
)
def test_the_next_pages_cursor_only_while_there_is_a_next_page(answer, after):
    # Graph keeps `cursors.after` on the last page too: only `next` says there is more.
    assert answer.after == after


def test_a_templates_page_reads_its_definitions():
    answer = page()
    assert [(d.name, d.language, d.status) for d in answer.data] == [("order_update", "en_US", "APPROVED")]
    assert answer.data[0].components[0].type == "BODY"
    assert TemplatesPage.model_validate({}).data == []


@pytest.mark.parametrize(
    "definition",
    [
        pytest.param({"language": "en_US"}, id="no-name"),
        pytest.param({"name": "", "language": "en_US"}, id="empty-name"),
        pytest.param({"name": "order_update"}, id="no-language"),
        pytest.param({"name": "order_update", "language": ""}, id="empty-language"),
    ],
)
def test_a_template_definition_requires_a_name_and_a_language(definition):
    with pytest.raises(ValidationError):
        TemplateDefinition.model_validate(definition)


def test_a_template_definition_keeps_unknown_fields_and_buttons():
    definition = TemplateDefinition.model_validate(
        {
            **TEMPLATE,
            "parameter_format": "NAMED",
            "sub_category": "ORDER_DETAILS",
            "components": [{"type": "BUTTONS", "buttons": [{"type": "URL", "url": "https://x/{{1}}", "new": 1}]}],
        }
    )
    assert definition.parameter_format == "NAMED"
    assert definition.model_extra == {"sub_category": "ORDER_DETAILS"}
    buttons = definition.components[0].buttons
    assert buttons is not None and (buttons[0].type, buttons[0].url) == ("URL", "https://x/{{1}}")


def test_media_answers_require_what_the_caller_needs():
    assert MediaUploaded.model_validate({"id": "123"}).id == "123"
    info = MediaInfo.model_validate({"url": "https://lookaside/x", "mime_type": "image/jpeg", "file_size": 10})
    assert (info.url, info.mime_type, info.file_size) == ("https://lookaside/x", "image/jpeg", 10)
    with pytest.raises(ValidationError):
        MediaUploaded.model_validate({})
    with pytest.raises(ValidationError):
        MediaInfo.model_validate({"mime_type": "image/jpeg"})
