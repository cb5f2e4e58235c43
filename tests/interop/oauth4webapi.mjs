// panva's oauth4webapi against a live Backchannel: RFC 8414 ("oauth2") discovery, CIBA poll
// (client_secret_basic or private_key_jwt), refresh, introspection, revocation, with the ID
// token's signature checked against /jwks (validateApplicationLevelSignature).
import * as oauth from 'oauth4webapi'
import { ask, config, finish, header, privateKey } from './io.mjs'

const insecure = { [oauth.allowInsecureRequests]: true }
const issuer = new URL(config.issuer)
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
)
const client = { client_id: config.client_id }
if (config.id_token_alg) client.id_token_signed_response_alg = config.id_token_alg
const auth = config.private_jwk
  ? oauth.PrivateKeyJwt(await privateKey(config.private_jwk))
  : oauth.ClientSecretBasic(config.client_secret)

const started = await oauth.processBackchannelAuthenticationResponse(as, client,
  await oauth.backchannelAuthenticationRequest(as, client, auth,
    { scope: config.scope, login_hint: config.login_hint }, insecure))
await ask({ step: 'approve', auth_req_id: started.auth_req_id })
const granted = await oauth.backchannelAuthenticationGrantRequest(as, client, auth, started.auth_req_id, insecure)
const tokens = await oauth.processBackchannelAuthenticationGrantResponse(as, client, granted)
await oauth.validateApplicationLevelSignature(as, granted, insecure) // the ID token, by /jwks
const claims = oauth.getValidatedIdTokenClaims(tokens)
const result = { issuer: as.issuer, id_token_alg: header(tokens.id_token).alg, sub: claims.sub, scope: tokens.scope }

const refreshed = await oauth.processRefreshTokenResponse(as, client,
  await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, insecure))
result.refreshed_sub = oauth.getValidatedIdTokenClaims(refreshed)?.sub
const introspect = async (token) => oauth.processIntrospectionResponse(as, client,
  await oauth.introspectionRequest(as, client, auth, token, insecure))
result.introspected = await introspect(refreshed.access_token)
await oauth.processRevocationResponse(
  await oauth.revocationRequest(as, client, auth, refreshed.refresh_token, insecure))
result.after_revocation = await introspect(refreshed.access_token)
finish(result)
