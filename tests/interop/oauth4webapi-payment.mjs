// panva's oauth4webapi doing RAR (RFC 9396) and DPoP (RFC 9449) against a live Backchannel: a CIBA
// payment request with authorization_details, polled with DPoP proofs from a key the library
// generates, then /userinfo with the DPoP-bound access token (the library adds ath).
import * as oauth from 'oauth4webapi'
import { ask, config, finish } from './io.mjs'

const insecure = { [oauth.allowInsecureRequests]: true }
const issuer = new URL(config.issuer)
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
)
const client = { client_id: config.client_id }
const auth = oauth.ClientSecretBasic(config.client_secret)
const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))

const started = await oauth.processBackchannelAuthenticationResponse(as, client,
  await oauth.backchannelAuthenticationRequest(as, client, auth, {
    scope: config.scope,
    login_hint: config.login_hint,
    authorization_details: JSON.stringify(config.authorization_details),
  }, insecure))
await ask({ step: 'approve_payment' })
const granted = await oauth.backchannelAuthenticationGrantRequest(
  as, client, auth, started.auth_req_id, { DPoP, ...insecure })
const tokens = await oauth.processBackchannelAuthenticationGrantResponse(as, client, granted)
const claims = oauth.getValidatedIdTokenClaims(tokens)
const userinfo = await oauth.processUserInfoResponse(as, client, claims.sub,
  await oauth.userInfoRequest(as, client, tokens.access_token, { DPoP, ...insecure }))
finish({
  metadata_types: as.authorization_details_types_supported,
  metadata_dpop_algs: as.dpop_signing_alg_values_supported,
  token_type: tokens.token_type,
  authorization_details: tokens.authorization_details,
  access_token: tokens.access_token,
  userinfo_sub: userinfo.sub,
  sub: claims.sub,
})
