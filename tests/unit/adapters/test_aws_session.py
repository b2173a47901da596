"""wacloud.adapters.aws_session: one default boto3 session per process, created once and reused."""

from __future__ import annotations

import boto3
import pytest

from wacloud.adapters.aws_session import default_session


@pytest.fixture
def no_default_session(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A process that has not made a session yet; counts the sessions boto3 sets up."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    made: list[int] = []
    setup = boto3.setup_default_session

    def counting_setup(**kwargs: object) -> None:
        made.append(1)
        setup(**kwargs)

    monkeypatch.setattr(boto3, "setup_default_session", counting_setup)
    return made


def test_the_first_call_creates_boto3s_default_session(no_default_session: list[int]) -> None:
    session = default_session()

    assert isinstance(session, boto3.session.Session)
    assert boto3.DEFAULT_SESSION is session
    assert no_default_session == [1]


def test_later_calls_reuse_the_same_session(no_default_session: list[int]) -> None:
    first = default_session()

    assert default_session() is first and default_session() is first
    assert no_default_session == [1]


def test_a_session_boto3_already_made_is_the_one_returned(no_default_session: list[int]) -> None:
    # GIVEN boto3.client() already set up the default session (as any module-level client does)
    boto3.client("sqs")
    existing = boto3.DEFAULT_SESSION

    # THEN the package shares it instead of making another
    assert default_session() is existing
    assert no_default_session == [1]


def test_clients_made_by_boto3_and_by_the_package_share_one_session(no_default_session: list[int]) -> None:
    session = default_session()
    boto3.client("s3")

    assert boto3.DEFAULT_SESSION is session
    assert no_default_session == [1]
