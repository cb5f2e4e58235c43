"""Starting a decoupled login for a client: limits, then a pending request in the core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.ciba.limits import count_start
from app.ciba.params import Ask
from app.clients.models import Client
from app.decoupled.handles import new_auth_req_id
from app.decoupled.models import AuthRequest
from app.decoupled.service import Guard, NewRequest
from app.services import Services
from app.storage.sql import Tx
from app.storage.types import utcnow


async def start(
    services: Services,
    client: Client,
    ask: Ask,
    mode: str,
    *,
    count_client: bool = True,
    extra: dict[str, Any] | None = None,
    dpop_jkt: str | None = None,
) -> tuple[AuthRequest, str]:
    """Store the request (its devices are told by the core's effects); returns it with its
    ``auth_req_id`` (app/decoupled/handles.py). ``count_client`` False leaves the per-client limit
    out (for tries started by anonymous browsers, not by the authenticated client)."""
    user_id = ask.user.id if ask.user else None
    client_id = client.client_id if count_client else None
    settings, db = services.settings, services.db.sql

    async def limit(tx: Tx, now: datetime) -> None:
        await count_start(tx, settings, client_id, user_id, now)

    # On PostgreSQL the counters are bumped ahead of the request's transaction, not in it
    # (app/ciba/limits.py says why).
    guard: Guard | None = limit
    if db.dialect == "postgresql":
        await count_start(db, settings, client_id, user_id, utcnow())
        guard = None

    auth_req_id = new_auth_req_id()
    extra = dict(extra or {})
    if mode in ("ping", "push"):
        # The notification names the request by its auth_req_id, which the table otherwise keeps
        # only as a hash. It alone redeems nothing: /token also wants the client's credentials.
        extra["auth_req_id"] = auth_req_id
    new = NewRequest(
        client_id=client.client_id,
        mode=mode,
        scope=ask.scope,
        expires_in=ask.expires_in,
        user_id=user_id,
        acr_values=ask.acr_values,
        binding_message=ask.binding_message,
        # A code the client sent was checked already; without one, the phone must ask for it.
        user_code_required=client.meta.backchannel_user_code_parameter
        and not ask.user_code_checked,
        client_notification_token=ask.client_notification_token,
        interval=services.settings.ciba_poll_interval,
        extra=extra,
        auth_req_id=auth_req_id,
        authorization_details=ask.authorization_details,
        dpop_jkt=dpop_jkt,
    )
    return await services.requests.create(new, guard=guard)
