"""Where DPoP meets the token endpoint and resources (RFC 9449 §5, §7).

At ``/token`` a proof is optional unless the client registered ``dpop_bound_access_tokens``; a
request without one pays nothing. At a resource (``/userinfo``) a token whose ``cnf.jkt`` names a
key is accepted only as ``Authorization: DPoP`` with a proof by that key carrying ``ath``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.clients.models import Client
from app.dpop.proof import verify_proof
from app.errors import InvalidDpopProof, InvalidDpopToken, InvalidToken

if TYPE_CHECKING:
    from app.services import Services


async def token_request_jkt(
    services: Services, client: Client, headers: Mapping[str, str], url: str
) -> str | None:
    """The key a token request binds its tokens to, or None (plain Bearer)."""
    proof = headers.get("dpop")
    if proof is None:
        if client.meta.dpop_bound_access_tokens:
            raise InvalidDpopProof("this client's tokens must be DPoP-bound: send a DPoP proof")
        return None
    return await verify_proof(services, proof, "POST", url)


async def check_resource_request(
    services: Services,
    claims: dict[str, Any],
    scheme: str,
    token: str,
    headers: Mapping[str, str],
    method: str,
    url: str,
) -> None:
    """A bound token needs its proof; an unbound one must not pose as DPoP (RFC 9449 §7.1)."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if jkt is None:
        if scheme == "dpop":
            raise InvalidToken("the access token is not DPoP-bound; send it as Bearer")
        return
    if scheme != "dpop":
        raise InvalidDpopToken("the access token is DPoP-bound: send it as Authorization: DPoP")
    proof = headers.get("dpop")
    if proof is None:
        raise InvalidDpopToken("a DPoP-bound access token needs a DPoP proof")
    presented = await verify_proof(
        services, proof, method, url, access_token=token, error=InvalidDpopToken
    )
    if presented != jkt:
        raise InvalidDpopToken("the DPoP proof is signed by another key than the token is bound to")
