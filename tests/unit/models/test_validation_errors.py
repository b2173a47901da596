"""wacloud.models.validation_errors: rejection reasons a producer can act on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.unit.models.test_outbound import document, text
from wacloud.models.validation_errors import describe
from wacloud.outbound.contract import (
    OutboundMessage,
)


def test_describe_folds_union_tags() -> None:
    with pytest.raises(ValidationError) as caught:
        OutboundMessage.model_validate(document(text("x" * 5000)))

    # Pydantic reports message.message.text.text.body; the repeated tags are folded.
    assert describe(caught.value) == "message.text.body: String should have at most 4096 characters"


def test_describe_lists_at_most_five_errors_and_counts_the_rest() -> None:
    bad = {f"extra_{i}": i for i in range(7)}
    with pytest.raises(ValidationError) as caught:
        OutboundMessage.model_validate(document(text(), **bad))

    reason = describe(caught.value)
    assert reason.count("Extra inputs are not permitted") == 5
    assert reason.endswith("; and 2 more")


def test_describe_names_the_document_for_root_errors() -> None:
    with pytest.raises(ValidationError) as caught:
        OutboundMessage.model_validate_json("[]")

    assert describe(caught.value).startswith("(document): ")
