"""A request's two names: the id that devices and operators see, and the ``auth_req_id`` that
its client holds.

The id is time-ordered: 14 hex digits of microseconds since the epoch, then 96 random bits. New
rows land at the end of the primary-key index instead of on a random page of it; on SQLite,
writing the pages a commit touched is a large part of a new request's cost
(docs/performance.md). The ``auth_req_id`` is ``<id>.<secret>`` with a 256-bit secret, and the
table keeps only its hash: /token finds the row by the id the ``auth_req_id`` starts with and
then compares hashes in constant time, so the hash needs no index of its own and a made-up
``auth_req_id`` costs one primary-key lookup.
"""

from __future__ import annotations

import time

from app.hashing import new_secret

SEPARATOR = "."  # never in an id or a secret: both are hex or URL-safe base64


def new_request_id() -> str:
    return format(time.time_ns() // 1000, "014x") + new_secret(12)


def new_auth_req_id() -> str:
    return new_request_id() + SEPARATOR + new_secret(32)


def request_id_of(auth_req_id: str) -> str | None:
    """The id an ``auth_req_id`` names, or None when it is not one of ours."""
    request_id, separator, secret = auth_req_id.partition(SEPARATOR)
    return request_id if separator and request_id and secret else None
