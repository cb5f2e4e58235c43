"""Ping and push delivery to the client's notification endpoint (CIBA Core §10.2, §10.3).

Every delivery is an outbox message written in the transaction of the move that causes it:

- ping, on approval or denial: ``{"auth_req_id"}``; the client then redeems at /token.
- push, on approval: a ``ciba-push-tokens`` message whose handler consumes the request and mints
  the tokens once (in the same transaction it stages the ``ciba-push`` message that carries them;
  a retried POST re-sends the same tokens). On denial or expiry: the error payload.

POSTs go to the address the endpoint's host was checked to resolve to (app/outbound.py), carry
``Authorization: Bearer <client_notification_token>`` and ``Backchannel-Delivery-Id`` (the same
on every repeat of one notification: delivery is at least once), wait ``TIMEOUT`` seconds for the
answer, go through the endpoint's gate (app/outbox/gate.py), follow no redirect, are retried with
backoff on network errors, 408, 429 and 5xx until the request expires (at least a minute), and
are given up at once on 401/403 or other 4xx. A push given up on records ``transaction_failed``
on the request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel.ext.asyncio.session import AsyncSession

from app import metrics
from app.ciba.tokens import redeem
from app.clients.models import Client
from app.decoupled.models import AuthRequest
from app.decoupled.states import Status
from app.errors import TokenAccessDenied
from app.evidence import repository as evidence
from app.outbound import post_for_status
from app.outbox.models import OutboxMessage
from app.outbox.service import SEALED, GiveUp, Outbox, Retry, delivery_id, new_message
from app.services import Services
from app.storage.sql import SessionTx, Tx
from app.storage.types import utcnow

log = logging.getLogger("backchannel.ciba")

PING = "ciba-ping"
PUSH_TOKENS = "ciba-push-tokens"
PUSH = "ciba-push"
MIN_DELIVERY_WINDOW = timedelta(minutes=1)
TIMEOUT = 10.0  # docs/flows/ciba.md promises the endpoint this long to answer
DELIVERY_ID_HEADER = "Backchannel-Delivery-Id"
RETRY_STATUSES = frozenset({408, 429})

ERRORS = {
    Status.DENIED: ("access_denied", "the user denied the request"),
    Status.EXPIRED: ("expired_token", "the request expired before the user answered"),
}


class ClientNotifications:
    def __init__(self, services: Services) -> None:
        self.services = services

    def install(self, outbox: Outbox) -> None:
        self.services.requests.effects.append(self.effects)
        outbox.register(PING, self.ping, on_dead=self.failed("ping_failed"))
        outbox.register(PUSH_TOKENS, self.mint_push)
        outbox.register(PUSH, self.push, on_dead=self.failed("transaction_failed"))

    async def effects(
        self, tx: Tx, request: AuthRequest, status: Status
    ) -> Sequence[OutboxMessage]:
        ids = {"request_id": request.id}
        if request.mode == "ping" and status in (Status.APPROVED, Status.DENIED):
            return [new_message(PING, ids, give_up_at=_give_up_at(request))]
        if request.mode != "push":
            return []
        give_up = _give_up_at(request)
        if status == Status.APPROVED:
            return [new_message(PUSH_TOKENS, ids, give_up_at=give_up)]
        if status in ERRORS:
            error, description = ERRORS[status]
            body = {
                "auth_req_id": request.extra["auth_req_id"],
                "error": error,
                "error_description": description,
            }
            return [new_message(PUSH, {**ids, SEALED: self._seal(body)}, give_up_at=give_up)]
        return []

    async def ping(self, payload: dict[str, Any]) -> None:
        request = await self.services.requests.get(payload["request_id"])
        if request is not None:
            await self._post(request, {"auth_req_id": request.extra["auth_req_id"]})

    async def mint_push(self, payload: dict[str, Any]) -> None:
        """Consume an approved push-mode request: mint its tokens once and stage their POST."""
        services = self.services
        request = await services.requests.get(payload["request_id"])
        client = await services.clients.get(request.client_id) if request else None
        if request is None or client is None or request.status != Status.APPROVED:
            return  # gone, or moved on (denied at a re-check, expired): nothing to mint

        async def stage(session: AsyncSession, consumed: AuthRequest, body: dict[str, Any]) -> None:
            tokens = {**body, "auth_req_id": consumed.extra["auth_req_id"]}
            # The tokens wait in the row until delivered: encrypted with the key-encryption key
            # when one is configured (BACKCHANNEL_KEY_ENCRYPTION_KEYS), scrubbed once delivered.
            payload = {"request_id": consumed.id, SEALED: self._seal(tokens)}
            message = new_message(PUSH, payload, _give_up_at(consumed))
            await Outbox.add(SessionTx(session), [message])

        try:
            body = await redeem(
                services, request, client, request.extra["auth_req_id"], push=True, then=stage
            )
        except TokenAccessDenied:
            return  # the request is denied now; that move's effect sends access_denied
        if body is not None:
            services.outbox.nudge()

    async def push(self, payload: dict[str, Any]) -> None:
        request = await self.services.requests.get(payload["request_id"])
        if request is not None and SEALED in payload:
            await self._post(request, json.loads(self.services.keys.box.open(payload[SEALED])))

    def _seal(self, body: dict[str, Any]) -> str:
        return self.services.keys.box.seal(json.dumps(body).encode())

    def failed(self, what: str) -> Any:
        async def record(payload: dict[str, Any], error: str) -> None:
            log.warning("client notification given up", extra={"what": what, "error": error})
            await self.services.requests.update_extra(payload["request_id"], delivery_error=what)

        return record

    async def _post(self, request: AuthRequest, body: dict[str, Any]) -> None:
        services = self.services
        client: Client | None = await services.clients.get(request.client_id)
        endpoint = client.meta.backchannel_client_notification_endpoint if client else None
        if client is None or not endpoint or not request.client_notification_token:
            raise GiveUp("the client has no notification endpoint any more")
        headers = {
            "Authorization": f"Bearer {request.client_notification_token}",
            "Content-Type": "application/json",
            DELIVERY_ID_HEADER: delivery_id(),
        }
        gate, target = services.outbox.gate, _target(endpoint)
        with gate.enter(target):
            try:
                content = json.dumps(body).encode()
                code = await post_for_status(
                    endpoint, services.settings, content, headers, deadline=TIMEOUT
                )
            except ValueError as exc:
                raise GiveUp(f"notification endpoint refused: {exc}") from None
            except (OSError, TimeoutError) as exc:
                gate.failed(target)
                raise Retry(f"{type(exc).__name__}: {exc}") from None
            if code >= 500 or code in RETRY_STATUSES:
                gate.failed(target)
            else:
                gate.succeeded(target)  # it answered: alive, even if it refused
        if 200 <= code < 300:
            metrics.client_knows(request.mode, request.decided_at)
            await evidence.delivered(services.db.sql, request.id, utcnow())
            return
        if code >= 500 or code in RETRY_STATUSES:
            raise Retry(f"the notification endpoint answered {code}")
        if 300 <= code < 400:
            raise GiveUp(
                f"the notification endpoint redirected ({code}); redirects are not followed"
            )
        raise GiveUp(f"the notification endpoint refused the notification ({code})")


def _target(endpoint: str) -> str:
    """What the gate counts per: one server (scheme, host, port), whatever the path."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def _give_up_at(request: AuthRequest) -> datetime:
    """Deliveries are retried until the request expires, and for at least a minute."""
    return max(request.expires_at, utcnow() + MIN_DELIVERY_WINDOW)
