"""Every grant type the token endpoint serves. A new grant is one line here."""

from __future__ import annotations

from app.authorize.grant import AuthorizationCodeGrant
from app.ciba.grant import CibaGrant
from app.tokens.client_credentials import ClientCredentialsGrant
from app.tokens.grant import Grant
from app.tokens.refresh_grant import RefreshTokenGrant

GRANTS: dict[str, Grant] = {
    g.grant_type: g
    for g in (
        AuthorizationCodeGrant(),
        ClientCredentialsGrant(),
        CibaGrant(),
        RefreshTokenGrant(),
    )
}
