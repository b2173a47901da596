"""wacloud.models.confirmation_marker: a marker only the sender can make, beside the producer's data."""

from __future__ import annotations

import pytest

from wacloud.models.confirmation_marker import (
    MAX_CALLBACK_CHARS,
    confirmed_key,
    marker,
    named_key,
    room_for_producer,
    split,
    stamp,
)

SECRET = "app-secret"


@pytest.mark.parametrize("key", ["k1", "reply:wamid.HBgL=:1", "x" * 128])
@pytest.mark.parametrize("producer", [None, "campaign-7", "two words | and more"])
def test_a_stamped_send_names_its_key_and_keeps_the_producers_data(key, producer):
    data = stamp(producer, key, SECRET)
    assert confirmed_key(data, SECRET) == key
    assert named_key(data) == key
    assert split(data)[0] == producer


def test_the_producers_data_and_the_marker_fit_metas_limit_at_the_edge():
    key = "k" * 128
    data = stamp("p" * room_for_producer(key), key, SECRET)
    assert len(data) == MAX_CALLBACK_CHARS


@pytest.mark.parametrize(
    "spoof",
    [
        "wacloud-key:other",  # the old, unsigned marker
        "wck1.AAAAAAAAAAAAAAAAAAAAAA.other",  # a made-up MAC
        "campaign wck1.AAAAAAAAAAAAAAAAAAAAAA.other",
        marker("other", "another-stacks-secret"),  # another secret's marker
        marker("other", SECRET)[:-1] + "x",  # a key changed after signing
        "wck1.",
        "wck1.nodot",
        "",
        None,
    ],
)
def test_a_marker_the_sender_did_not_make_names_no_key(spoof):
    assert confirmed_key(spoof, SECRET) is None


def test_data_without_a_marker_is_all_the_producers():
    assert split("wck1 is not a marker") == ("wck1 is not a marker", None)
    assert split("campaign-7") == ("campaign-7", None)
    assert split(None) == (None, None)
