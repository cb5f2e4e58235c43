"""The CIBA grant on /token (CIBA Core §10.1, §11): poll, or redeem after a ping.

Long poll: a client that sends ``Prefer: wait=N`` (RFC 7240) is answered the moment the request
is decided, or after N seconds (at most the request's ``interval``) with
``authorization_pending``. Its next poll may follow at once: the interval counts from when the
previous poll arrived.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from app.ciba.tokens import redeem
from app.clients.metadata import CIBA
from app.decoupled.models import AuthRequest
from app.decoupled.states import Status
from app.errors import (
    AuthorizationPending,
    ExpiredToken,
    InvalidDpopProof,
    InvalidGrant,
    InvalidRequest,
    SlowDown,
    TokenAccessDenied,
    UnauthorizedClient,
)
from app.events import request_topic
from app.storage.types import utcnow
from app.tokens.grant import TokenRequest

PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d{1,4})(?:$|[,;\s])", re.IGNORECASE)


class CibaGrant:
    grant_type = CIBA

    async def __call__(self, request: TokenRequest) -> dict[str, Any]:
        client = request.client
        auth_req_id = request.form.get("auth_req_id")
        if not auth_req_id:
            raise InvalidRequest("auth_req_id is required")
        requests = request.services.requests
        found = await requests.by_auth_req_id(auth_req_id)
        headless = found is not None and found.mode == "headless"  # its socket may have dropped
        if client.meta.backchannel_token_delivery_mode == "push" and not headless:
            raise UnauthorizedClient("push-mode clients receive their tokens; they do not poll")
        if found is None or found.client_id != client.client_id:
            raise InvalidGrant("unknown auth_req_id")
        now = utcnow()
        if found.status == Status.PENDING and found.expires_at > now:
            if not await requests.record_poll(found, now):
                raise SlowDown("polling too fast; wait at least interval + 5 seconds")
            found = await self._wait(request, found, now)
        return await self._answer(request, found, auth_req_id)

    async def _wait(
        self, request: TokenRequest, found: AuthRequest, polled_at: datetime
    ) -> AuthRequest:
        """Hold a long poll until the request moves or the wait is over."""
        wait = _prefer_wait(request.headers.get("prefer"))
        if not wait:
            return found
        services = request.services
        remaining = (found.expires_at - polled_at).total_seconds()
        deadline = polled_at.timestamp() + min(wait, found.interval, max(remaining, 0))
        async with services.bus.subscribe([request_topic(found.id)]) as events:
            current = await services.requests.get(found.id)  # it may have moved meanwhile
            while current is not None and current.status == Status.PENDING:
                left = deadline - utcnow().timestamp()
                if left <= 0:
                    break
                # Woken or timed out, read again: the decision may have been made by another
                # replica, whose event this one does not hear.
                await events.get(timeout=left)
                current = await services.requests.get(found.id)
        return current or found

    async def _answer(
        self, request: TokenRequest, found: AuthRequest, auth_req_id: str
    ) -> dict[str, Any]:
        status = Status(found.status)
        if status == Status.CONSUMED:
            raise InvalidGrant("the auth_req_id has been redeemed")
        if status == Status.DENIED:
            raise TokenAccessDenied("the user denied the request")
        if status == Status.CANCELLED:
            raise TokenAccessDenied("the request was cancelled")
        if status == Status.EXPIRED or found.expires_at <= utcnow():
            raise ExpiredToken("the auth_req_id has expired")
        if status == Status.PENDING:
            raise AuthorizationPending("the user has not answered yet")
        return await self._redeem(request, found, auth_req_id)

    async def _redeem(
        self, request: TokenRequest, found: AuthRequest, auth_req_id: str
    ) -> dict[str, Any]:
        if found.dpop_jkt and request.dpop_jkt != found.dpop_jkt:
            # A headless start bound the tokens to a key: only that key redeems them.
            raise InvalidDpopProof("redeem with a DPoP proof by the key the request was bound to")
        body = await redeem(
            request.services, found, request.client, auth_req_id, dpop_jkt=request.dpop_jkt
        )
        if body is None:  # another poll won the race, or it expired this instant
            raise InvalidGrant("the auth_req_id has been redeemed")
        return body


def _prefer_wait(prefer: str | None) -> int:
    match = PREFER_WAIT.search(prefer or "")
    return int(match.group(1)) if match else 0
