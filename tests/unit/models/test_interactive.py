"""Interactive and template documents: each kind validates in Meta's documented shape, and each
documented limit holds at its edge (the last allowed value passes, one more fails, naming the field)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from wacloud.models.validation_errors import describe
from wacloud.outbound.contract import OutboundMessage

TO = "+16505551234"


def document(message: dict[str, Any]) -> dict[str, Any]:
    return {"idempotency_key": "k", "message": {"to": TO, **message}}


def interactive(body: dict[str, Any]) -> dict[str, Any]:
    return document({"type": "interactive", "interactive": body})


def buttons(n: int, title: str = "Option") -> dict[str, Any]:
    return interactive(
        {
            "type": "button",
            "header": {"type": "text", "text": "Delivery"},
            "body": {"text": "When should we deliver?"},
            "footer": {"text": "Reply to choose"},
            "action": {
                "buttons": [{"type": "reply", "reply": {"id": f"b{i}", "title": f"{title}{i}"}} for i in range(n)]
            },
        }
    )


def list_menu(rows_per_section: list[int], *, titles: bool = True) -> dict[str, Any]:
    sections = [
        {
            **({"title": f"Section {s}"} if titles else {}),
            "rows": [{"id": f"r{s}-{r}", "title": f"Row {r}", "description": "d"} for r in range(n)],
        }
        for s, n in enumerate(rows_per_section)
    ]
    return interactive(
        {"type": "list", "body": {"text": "Pick one"}, "action": {"button": "Menu", "sections": sections}}
    )


def template(components: list[dict[str, Any]], name: str = "order_update") -> dict[str, Any]:
    return document(
        {"type": "template", "template": {"name": name, "language": {"code": "en_US"}, "components": components}}
    )


VALID = {
    "reply-buttons": buttons(3),
    "buttons-image-header": interactive(
        {
            "type": "button",
            "header": {"type": "image", "image": {"link": "https://example.com/a.png"}},
            "body": {"text": "x"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
        }
    ),
    "list-10-rows": list_menu([4, 6]),
    "list-one-untitled-section": list_menu([3], titles=False),
    "cta-url": interactive(
        {
            "type": "cta_url",
            "body": {"text": "See your order"},
            "action": {"name": "cta_url", "parameters": {"display_text": "Open", "url": "https://example.com/o/1"}},
        }
    ),
    "flow": interactive(
        {
            "type": "flow",
            "body": {"text": "Book"},
            "action": {
                "name": "flow",
                "parameters": {
                    "flow_message_version": "3",
                    "flow_token": "t",
                    "flow_id": "123",
                    "flow_cta": "Book now",
                    "flow_action": "navigate",
                    "flow_action_payload": {"screen": "START", "data": {"a": 1}},
                },
            },
        }
    ),
    "location-request": interactive(
        {"type": "location_request_message", "body": {"text": "Where are you?"}, "action": {"name": "send_location"}}
    ),
    "product": interactive(
        {"type": "product", "body": {"text": "Look"}, "action": {"catalog_id": "c1", "product_retailer_id": "sku-1"}}
    ),
    "product-list-30": interactive(
        {
            "type": "product_list",
            "header": {"type": "text", "text": "Picks"},
            "body": {"text": "For you"},
            "action": {
                "catalog_id": "c1",
                "sections": [{"title": "A", "product_items": [{"product_retailer_id": f"s{i}"} for i in range(30)]}],
            },
        }
    ),
    "catalog": interactive(
        {
            "type": "catalog_message",
            "body": {"text": "Our catalog"},
            "action": {"name": "catalog_message", "parameters": {"thumbnail_product_retailer_id": "sku-1"}},
        }
    ),
    "template-positional": template(
        [
            {"type": "header", "parameters": [{"type": "image", "image": {"id": "media-1"}}]},
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Ana"},
                    {"type": "date_time", "date_time": {"fallback_value": "May 1, 2026"}},
                ],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": 0,
                "parameters": [{"type": "payload", "payload": "STOP_PROMOS"}],
            },
        ]
    ),
    "template-named": template(
        [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "parameter_name": "first_name", "text": "Ana"},
                    {
                        "type": "currency",
                        "parameter_name": "total",
                        "currency": {"fallback_value": "$10", "code": "USD", "amount_1000": 10000},
                    },
                ],
            }
        ]
    ),
    "template-document-header": template(
        [
            {
                "type": "header",
                "parameters": [
                    {"type": "document", "document": {"link": "https://example.com/i.pdf", "filename": "i.pdf"}}
                ],
            }
        ]
    ),
    "template-copy-code": template(
        [
            {
                "type": "button",
                "sub_type": "copy_code",
                "index": "1",
                "parameters": [{"type": "coupon_code", "coupon_code": "SAVE15NOW"}],
            }
        ]
    ),
    "template-no-components": template([], name="hello_world"),
    "template-carousel-passed-on": template([{"type": "carousel", "cards": [{"card_index": 0}]}]),
    "interactive-kind-passed-on": interactive(
        {"type": "carousel", "body": {"text": "Pick"}, "action": {"cards": [{"card_index": 0}]}}
    ),
    "document-header-with-filename": interactive(
        {
            "type": "button",
            "header": {"type": "document", "document": {"link": "https://x.com/a.pdf", "filename": "a.pdf"}},
            "body": {"text": "x"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
        }
    ),
    "flow-image-header": interactive(
        {
            "type": "flow",
            "header": {"type": "image", "image": {"id": "m1"}},
            "body": {"text": "Book"},
            "action": {
                "name": "flow",
                "parameters": {
                    "flow_message_version": "3",
                    "flow_name": "booking",
                    "flow_cta": "Book",
                    "flow_action": "navigate",
                },
            },
        }
    ),
    "template-empty-body-parameters": template([{"type": "body", "parameters": []}]),
    "contacts-vcard": document(
        {
            "type": "contacts",
            "contacts": [
                {
                    "name": {"formatted_name": "Ana Bell", "first_name": "Ana", "last_name": "Bell"},
                    "phones": [{"phone": "+1 (650) 555-1234", "type": "WORK", "wa_id": "16505551234"}],
                    "emails": [{"email": "ana@example.com", "type": "WORK"}],
                    "addresses": [
                        {"street": "1 Hacker Way", "city": "Menlo Park", "country_code": "US", "type": "WORK"}
                    ],
                    "org": {"company": "Example", "title": "Buyer"},
                    "urls": [{"url": "https://example.com", "type": "WORK"}],
                    "birthday": "1990-05-01",
                }
            ],
        }
    ),
}


@pytest.mark.parametrize("name", list(VALID), ids=list(VALID))
def test_documented_shapes_validate_and_go_to_graph_unchanged(name):
    body = OutboundMessage.model_validate(VALID[name]).graph_body()
    sent = VALID[name]["message"]
    assert body[sent["type"]] == sent[sent["type"]]  # nothing lost, renamed or added on the way
    assert (body["to"], body["type"], body["messaging_product"]) == (TO, sent["type"], "whatsapp")


def broken(document: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    import copy

    result = copy.deepcopy(document)
    node = result["message"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return result


INVALID = {
    "4-buttons": (buttons(4), "message.interactive.button.action.buttons"),
    "button-title-21": (buttons(1, title="x" * 20), "title"),
    "same-button-titles": (
        broken(buttons(2), ["interactive", "action", "buttons", 1, "reply", "title"], "Option0"),
        "button titles must be unique",
    ),
    "body-1025": (broken(buttons(1), ["interactive", "body", "text"], "x" * 1025), "body.text"),
    "header-61": (broken(buttons(1), ["interactive", "header", "text"], "x" * 61), "header"),
    "footer-61": (broken(buttons(1), ["interactive", "footer", "text"], "x" * 61), "footer.text"),
    "list-11-rows": (list_menu([5, 6]), "at most 10 rows"),
    "list-untitled-sections": (list_menu([1, 1], titles=False), "needs a title"),
    "list-button-21": (broken(list_menu([1]), ["interactive", "action", "button"], "x" * 21), "action.button"),
    "row-title-25": (
        broken(list_menu([1]), ["interactive", "action", "sections", 0, "rows", 0, "title"], "x" * 25),
        "rows.0.title",
    ),
    "row-description-73": (
        broken(list_menu([1]), ["interactive", "action", "sections", 0, "rows", 0, "description"], "x" * 73),
        "description",
    ),
    "list-media-header": (
        broken(list_menu([1]), ["interactive", "header"], {"type": "image", "image": {"id": "1"}}),
        "header",
    ),
    "cta-http-url": (broken(VALID["cta-url"], ["interactive", "action", "parameters", "url"], "http://x.com"), "url"),
    "flow-both-ids": (
        broken(VALID["flow"], ["interactive", "action", "parameters", "flow_name"], "booking"),
        "exactly one of 'flow_id' or 'flow_name'",
    ),
    "product-list-31": (
        broken(
            VALID["product-list-30"],
            ["interactive", "action", "sections", 0, "product_items"],
            [{"product_retailer_id": f"s{i}"} for i in range(31)],
        ),
        "product_items",
    ),
    "mixed-named-positional": (
        template(
            [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "parameter_name": "a", "text": "x"}, {"type": "text", "text": "y"}],
                }
            ]
        ),
        "parameter_name",
    ),
    "url-button-with-payload": (
        template(
            [{"type": "button", "sub_type": "url", "index": 0, "parameters": [{"type": "payload", "payload": "x"}]}]
        ),
        "'text' parameter",
    ),
    "button-index-10": (template([{"type": "button", "sub_type": "url", "index": 10}]), "index"),
    "header-text-61": (
        template([{"type": "header", "parameters": [{"type": "text", "text": "x" * 61}]}]),
        "at most 60 characters",
    ),
    "currency-code": (
        template(
            [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "currency", "currency": {"fallback_value": "$1", "code": "usd", "amount_1000": 1000}}
                    ],
                }
            ]
        ),
        "currency.code",
    ),
    "two-bodies": (
        template([{"type": "body", "parameters": [{"type": "text", "text": "a"}]}] * 2),
        "one header and one body",
    ),
    "template-name-uppercase": (template([], name="Order Update"), "template.name"),
    "interactive-without-type": (interactive({"body": {"text": "x"}, "action": {}}), "interactive"),
    "contact-without-formatted-name": (
        document({"type": "contacts", "contacts": [{"name": {"first_name": "A"}}]}),
        "name.formatted_name",
    ),
    "contact-birthday-format": (
        document({"type": "contacts", "contacts": [{"name": {"formatted_name": "A"}, "birthday": "01/05/1990"}]}),
        "birthday",
    ),
    "258-contacts": (
        document({"type": "contacts", "contacts": [{"name": {"formatted_name": "A"}}] * 258}),
        "message.contacts",
    ),
}


@pytest.mark.parametrize("name", list(INVALID), ids=list(INVALID))
def test_limits_are_enforced_with_an_error_naming_the_field(name):
    document, expected = INVALID[name]
    with pytest.raises(ValidationError) as caught:
        OutboundMessage.model_validate(document)
    assert expected in describe(caught.value), describe(caught.value)


def test_limits_at_their_edges_pass():
    edge = broken(buttons(3, title="x" * 16), ["interactive", "body", "text"], "x" * 1024)
    edge = broken(edge, ["interactive", "header", "text"], "x" * 60)
    OutboundMessage.model_validate(edge)
    OutboundMessage.model_validate(
        broken(list_menu([1]), ["interactive", "action", "sections", 0, "rows", 0, "description"], "x" * 72)
    )
