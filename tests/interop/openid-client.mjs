// panva's openid-client against a live Backchannel: discovery, CIBA poll, code + PKCE (query,
// form_post, PAR), refresh, userinfo, introspection, revocation, ID token signatures checked.
import * as client from 'openid-client'
import { ask, config, finish, header, privateKey } from './io.mjs'

const auth = config.private_jwk
  ? client.PrivateKeyJwt(await privateKey(config.private_jwk))
  : client.ClientSecretBasic(config.client_secret)
const metadata = {}
if (config.id_token_alg) metadata.id_token_signed_response_alg = config.id_token_alg
const oidc = await client.discovery(new URL(config.issuer), config.client_id, metadata, auth, {
  execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
})
const result = { issuer: oidc.serverMetadata().issuer }

let tokens
if (config.flow === 'ciba') {
  const started = await client.initiateBackchannelAuthentication(oidc, {
    scope: config.scope,
    login_hint: config.login_hint,
  })
  await ask({ step: 'approve', auth_req_id: started.auth_req_id })
  tokens = await client.pollBackchannelAuthenticationGrant(oidc, started)
} else {
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const params = {
    redirect_uri: config.redirect_uri,
    scope: config.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  }
  if (config.response_mode) params.response_mode = config.response_mode
  const url = config.par
    ? await client.buildAuthorizationUrlWithPAR(oidc, params)
    : client.buildAuthorizationUrl(oidc, params)
  const back = await ask({ step: 'login', url: url.href })
  const current = back.form
    ? new Request(config.redirect_uri, { method: 'POST', body: new URLSearchParams(back.form) })
    : new URL(back.url)
  tokens = await client.authorizationCodeGrant(oidc, current, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  })
}
const claims = tokens.claims()
Object.assign(result, { id_token_alg: header(tokens.id_token).alg, sub: claims.sub, scope: tokens.scope })

if (tokens.refresh_token) {
  const refreshed = await client.refreshTokenGrant(oidc, tokens.refresh_token)
  result.refreshed_sub = refreshed.claims()?.sub
  const userinfo = await client.fetchUserInfo(oidc, refreshed.access_token, claims.sub)
  result.userinfo_sub = userinfo.sub
  result.introspected = await client.tokenIntrospection(oidc, refreshed.access_token)
  await client.tokenRevocation(oidc, refreshed.refresh_token)
  result.after_revocation = await client.tokenIntrospection(oidc, refreshed.access_token)
}
finish(result)
