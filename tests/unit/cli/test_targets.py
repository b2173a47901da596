"""wacloud.cli.targets: where a command works (the local run or a deployed stack), and the token a
command's Graph calls carry."""

from __future__ import annotations

import pytest

from wacloud.cli.targets import Target


def test_the_token_is_read_once_and_again_only_when_graph_refused_it(monkeypatch: pytest.MonkeyPatch) -> None:
    target = Target(label="stack test", outputs={"SecretName": "s"}, parameters={})
    reads = iter(["first", "rotated"])
    monkeypatch.setattr(Target, "token", lambda self: next(reads))

    assert [target.token_source() for _ in range(3)] == ["first"] * 3  # one read for many pages
    assert target.token_source(fresh=True) == "rotated"
    assert target.token_source() == "rotated"
