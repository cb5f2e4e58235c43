"""Evidence for disputes: recorded in the decision's own write, shown to operators.

A decision leaves one ``decision_evidence`` row: the device-signed decision JWT, the device's
public key (to verify it later, even after the device is deleted), and what the phone showed —
binding message, scope, ``authorization_details`` and their text (app/rar/render.py). The row is
kept ``evidence_retention_days``, far longer than the request itself. Its timeline: created,
claimed (a QR scan), shown (first handed to a device), decided, redeemed (tokens issued, or a login
page's code) and delivered (the client told: the answer that redeemed it, or for ping and push
the notification endpoint's 2xx). Each entry is written once, in the write that makes it true,
so the timeline stays whole after the hot row is purged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from app.decoupled import repository as requests_repository
from app.decoupled.models import AuthRequest
from app.decoupled.service import After
from app.decoupled.states import Status
from app.devices.models import Device
from app.errors import NotFound
from app.evidence import repository
from app.outbox.models import OutboxMessage
from app.rar.render import in_words
from app.settings import Settings
from app.storage.sql import SqlDatabase, Tx
from app.storage.types import utcnow

# Modes whose client hears of the outcome by a POST of ours after the move (app/ciba/delivery.py
# notes "delivered" when the endpoint accepts it).
TOLD_LATER = frozenset({"ping", "push"})


def recorder(device: Device, settings: Settings, now: datetime) -> After:
    """The step that writes the evidence of ``device``'s decision into the decision's write."""
    retain_until = now + timedelta(days=settings.evidence_retention_days)

    async def record(tx: Tx, request: AuthRequest) -> None:
        await repository.insert(
            tx,
            {
                "request_id": request.id,
                "client_id": request.client_id,
                "user_id": request.user_id,
                "device_id": device.id,
                "mode": request.mode,
                "outcome": request.status,
                "device_public_jwk": device.public_jwk,
                "decision_jwt": request.decision_jwt,
                "shown": shown(request, settings),
                "created_at": request.created_at,
                "claimed_at": request.claimed_at,
                "shown_at": request.shown_at,
                "decided_at": request.decided_at or now,
                "redeemed_at": None,
                "delivered_at": None,
                "retain_until": retain_until,
            },
        )

    return record


def shown(request: AuthRequest, settings: Settings) -> dict[str, Any]:
    """What the phone showed for ``request`` (the same fields its request list carries)."""
    return {
        "binding_message": request.binding_message,
        "scope": request.scope,
        "acr_values": request.acr_values,
        "authorization_details": request.authorization_details,
        "authorization_details_text": in_words(request.authorization_details, settings),
    }


async def show(db: SqlDatabase, request_id: str) -> dict[str, Any]:
    """The evidence of one request, with its timeline, for GET /admin/requests/{id}."""
    evidence = await repository.get(db, request_id)
    if evidence is None:
        raise NotFound("no evidence for this request")
    hot = await requests_repository.get(db, request_id)
    timeline = {
        "created": evidence.created_at,
        "claimed": evidence.claimed_at,
        "shown": evidence.shown_at,
        "decided": evidence.decided_at,
        "redeemed": evidence.redeemed_at,
        "delivered": evidence.delivered_at,
    }
    return {
        "request_id": evidence.request_id,
        "client_id": evidence.client_id,
        "user_id": evidence.user_id,
        "mode": evidence.mode,
        "outcome": evidence.outcome,
        "status": hot.status if hot is not None else None,  # None: the hot row is purged
        "timeline": {k: v.isoformat() if v else None for k, v in timeline.items()},
        "shown": evidence.shown,
        "device": {"device_id": evidence.device_id, "public_jwk": evidence.device_public_jwk},
        "decision_jwt": evidence.decision_jwt,
        "retain_until": evidence.retain_until.isoformat(),
    }


async def on_redeemed(tx: Tx, request: AuthRequest, status: Status) -> Sequence[OutboxMessage]:
    """A move's effect (app/features.py): a request consumed notes "redeemed" in its evidence, in
    the consuming write; where the tokens leave in that same answer, "delivered" too."""
    if status == Status.CONSUMED:
        at = request.consumed_at or utcnow()
        await repository.redeemed(tx, request.id, at, delivered=request.mode not in TOLD_LATER)
    return ()


async def purge_expired(db: SqlDatabase, now: datetime) -> int:
    """The retention job: evidence past ``evidence_retention_days`` goes."""
    return await repository.purge(db, now)
