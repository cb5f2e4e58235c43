"""The states of an authentication request and the moves between them (DESIGN.md).

    pending ──(device approves)──▶ approved ──(tokens issued once)──▶ consumed
       │ ├──(device denies)──▶ denied ◀──────────┤ (user, device or client no longer allowed)
       │ ├──(expires_at passes)──▶ expired ◀──────┘ (tokens never collected)
       │ └──(client cancels)──▶ cancelled

Every move is one conditional write (``UPDATE … WHERE id = :id AND status IN (:from)``), so of
two phones answering at once, or two polls racing after approval, exactly one wins.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    CONSUMED = "consumed"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.APPROVED, Status.DENIED, Status.EXPIRED, Status.CANCELLED}),
    Status.APPROVED: frozenset({Status.CONSUMED, Status.DENIED, Status.EXPIRED}),
}

FINAL = frozenset({Status.DENIED, Status.EXPIRED, Status.CANCELLED, Status.CONSUMED})


def sources(target: Status) -> tuple[Status, ...]:
    """The states a request may move to ``target`` from."""
    return tuple(s for s, targets in TRANSITIONS.items() if target in targets)
