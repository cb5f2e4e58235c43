"""A device's answer to a request: a JWT signed by the device key, kept as evidence.

Decision JWT claims: ``iss`` = device_id, ``aud`` = issuer, ``iat``, ``exp``, ``jti``,
``request_id``, ``decision`` (``approve`` | ``deny``), ``user_code`` where the client asked
for one, ``number_match`` where the request asks the user to type the number their sign-in
page shows, and ``authorization_details_hash`` where the request carries ``authorization_details``
(dynamic linking, app/rar/linking.py: a missing or stale hash denies the request). The first
valid decision wins (one conditional write); later ones see the request
closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import replay
from app.decoupled.models import AuthRequest
from app.decoupled.service import RequestService
from app.decoupled.states import Status
from app.devices.assertions import spent, verify_device_jwt
from app.devices.models import Device
from app.devices.service import spending
from app.errors import AccessDenied, Conflict, InvalidRequest, NotFound
from app.evidence import service as evidence
from app.jwt_kinds import DECISION
from app.rar.linking import HASH_CLAIM, details_hash
from app.replay import use_once
from app.settings import Settings
from app.storage.db import Database
from app.storage.sql import Tx
from app.storage.types import utcnow
from app.users.service import UserService
from app.users.user_code import check_user_code

NUMBER_MATCH = "number_match"
USED = "this device JWT has been used before"


@dataclass(frozen=True)
class Deciding:
    """A device making a decision, and its device assertion's jti record, not yet spent."""

    device: Device
    assertion: tuple[str, str, datetime]


AMR = ["swk", "user"]  # RFC 8176: a software-held key, and the user tapped to answer
# The one authentication context this server performs: approval on an enrolled device, signed
# with the device's own key. Advertised in discovery as acr_values_supported.
ACR = "urn:backchannel:acr:device"


async def decide(
    db: Database,
    settings: Settings,
    requests: RequestService,
    users: UserService,
    deciding: Deciding,
    request_id: str,
    body: Any,
) -> AuthRequest:
    """Record a device's signed answer. Its device assertion's jti, and the decision's, are
    spent in the one write that moves the request."""
    device = deciding.device
    if not isinstance(body, dict) or not isinstance(body.get("decision_jwt"), str):
        raise InvalidRequest('the body must be {"decision_jwt": "…"}')
    decision_jwt = body["decision_jwt"]
    request = await requests.get(request_id)
    if request is None or request.user_id != device.user_id:
        raise NotFound("no such request for this device")  # never say whose it is
    claims = await verify_device_jwt(
        db,
        settings,
        device,
        decision_jwt,
        required=("request_id", "decision"),
        error=InvalidRequest,
        kind=DECISION,
        consume=False,  # spent in the very write that records the decision, below
    )
    once: tuple[str, str, datetime] | None = spent(device, claims)
    if claims["request_id"] != request_id:
        raise InvalidRequest("the decision is for another request")
    decision = claims["decision"]
    if decision not in ("approve", "deny"):
        raise InvalidRequest("decision must be approve or deny")
    user = await users.get(device.user_id)
    if user is None or not user.active:
        raise AccessDenied("this user cannot approve requests")
    if decision == "approve" and request.user_code_required:
        # A code is checked once per signed decision: spend it before the check.
        if not await use_once(db, *spent(device, claims)):
            raise InvalidRequest(USED)
        once = None
        code = claims.get("user_code")
        if not isinstance(code, str) or not await check_user_code(
            db, requests.bus, user, code, client_id=request.client_id
        ):
            raise InvalidRequest("the user_code is missing or wrong")
    now = utcnow()
    target = Status.APPROVED if decision == "approve" else Status.DENIED
    values: dict[str, Any] = {
        "decided_at": now,
        "device_id": device.id,
        "decision_jwt": decision_jwt,
    }
    refusal = None
    if decision == "approve" and not _number_matches(request, claims):
        # A wrong number is a guess (or a push the user did not start): one try, then denied.
        refusal = "the number does not match the sign-in page; the request is denied"
        values["extra"] = {**request.extra, "denied_because": "wrong number_match"}
    elif decision == "approve" and not _details_match(request, claims):
        # Dynamic linking: the phone signed other details (or none) than the request holds —
        # a stale screen or a changed amount. Denied: the user approved something else.
        refusal = f"the {HASH_CLAIM} does not match the request's authorization_details"
        values["extra"] = {**request.extra, "denied_because": f"wrong {HASH_CLAIM}"}
    if refusal is not None:
        target = Status.DENIED
    if target == Status.APPROVED:
        values.update(amr=AMR, acr=ACR)

    async def spend_once(tx: Tx, _now: datetime) -> None:
        await spending(deciding.assertion)(tx, _now)
        if once is not None and not await replay.record(tx, *once):
            raise InvalidRequest(USED)

    moved = await requests.transition(
        request_id,
        target,
        values,
        from_=Status.PENDING,  # the first answer wins; a denial never overturns an approval
        user_id=device.user_id,
        guard=spend_once,
        after=evidence.recorder(device, settings, now),  # one INSERT in this same write
        now=now,
    )
    if moved is None:
        current = await requests.get(request_id)
        state = current.status if current else "gone"
        raise Conflict(f"the request is no longer pending ({state})")
    if refusal is not None:
        raise InvalidRequest(refusal)
    return moved


def _details_match(request: AuthRequest, claims: dict[str, Any]) -> bool:
    """An approval of a request with ``authorization_details`` carries their hash, as the phone
    computed it over what it showed (app/rar/linking.py)."""
    if not request.authorization_details:
        return True
    return claims.get(HASH_CLAIM) == details_hash(request.authorization_details)


def _number_matches(request: AuthRequest, claims: dict[str, Any]) -> bool:
    """Number matching: the sign-in page shows a number, the user types it on the phone, so
    only someone looking at that page can approve (push fatigue gains an attacker nothing)."""
    expected = request.extra.get(NUMBER_MATCH)
    return expected is None or claims.get(NUMBER_MATCH) == expected
