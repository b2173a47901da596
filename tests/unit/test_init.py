"""wacloud: the public API, importable from the package's root, and lazily."""

from __future__ import annotations

import pytest

from tests.conftest import fresh_python, outbound_document


def test_the_root_imports_nothing_until_a_name_is_used() -> None:
    code = (
        "import sys, wacloud; before = set(sys.modules); "
        "from wacloud import parse_webhook; "
        "print(','.join(sorted(m for m in before if m.startswith('wacloud'))), "
        "'pydantic' in before, 'wacloud.inbound.parse' in sys.modules)"
    )
    result = fresh_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wacloud", "False", "True"]


def test_every_name_of_the_public_api_is_the_modules_own() -> None:
    import wacloud
    from wacloud.adapters import store
    from wacloud.inbound.parse import parse_webhook
    from wacloud.models.outbound import OutboundMessage

    assert wacloud.parse_webhook is parse_webhook
    assert wacloud.OutboundMessage is OutboundMessage
    assert (wacloud.get_outbound, wacloud.find_outbound, wacloud.get_message) == (
        store.get_outbound,
        store.find_outbound,
        store.get_message,
    )
    assert set(wacloud.__all__) <= set(dir(wacloud))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = wacloud.nothing


@pytest.mark.usefixtures("aws")
def test_the_lookups_answer_from_the_stacks_table() -> None:
    from wacloud import get_outbound, parse_webhook
    from wacloud.adapters.store import Store
    from wacloud.local.meta.webhooks import text_message
    from wacloud.models.outbound_state import SendOutcome
    from wacloud.outbound.outcomes import record_outcome

    record_outcome(Store(), outbound_document("root"), SendOutcome.accepted("wamid.ROOT"), "1")
    (event,) = parse_webhook(text_message("hi", phone_number_id="1"))

    assert event.kind == "message"
    found = get_outbound("root")
    assert found is not None and found.wamid == "wamid.ROOT"
