"""One boto3 session per process, shared by every client, Powertools' included.

Powertools' secrets provider and idempotency layer each create a new boto3 session unless given
one, and a new session reads the service models from disk again: about 150 ms of a cold start.
"""

from __future__ import annotations

import boto3


def default_session() -> boto3.session.Session:
    """boto3's default session (the one `boto3.client()` uses), created if needed."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session: boto3.session.Session = boto3.DEFAULT_SESSION  # set just above
    return session
