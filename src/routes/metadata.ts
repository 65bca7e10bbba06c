/**
 * @module
 * `GET /.well-known/oauth-authorization-server` (RFC 8414): what a standard OAuth client needs to
 * sign in through the relay, unchanged: the authorization code grant with PKCE (RFC 6749 §4.1,
 * RFC 8252) and the device authorization grant (RFC 8628). There is no OpenID Connect discovery
 * document: Unity issues no ID tokens.
 */
import { DPOP_SIGNING_ALGS } from '../dpop.ts'
import { DEVICE_CODE_GRANT } from '../inputs.ts'
import type { Relay, RouteDeps } from '../relay.ts'

/** RFC 8414 §3: where a client finds the metadata of an issuer without a path. */
export const METADATA_PATH = '/.well-known/oauth-authorization-server'

/** Mounts the RFC 8414 metadata document. */
export function mountMetadata(app: Relay, deps: RouteDeps): void {
  const scopes = [...new Set(deps.config.defaultScope.split(' '))]
  // With no redirect URI an app could name, the code grant cannot be used, so it is not offered.
  const codeFlow = deps.config.loopbackRedirects || deps.config.appRedirectUris.length > 0
  app.get(METADATA_PATH, (c) => {
    // RFC 8414 §3.3: the issuer is the relay's public origin, where this document was found.
    const issuer = deps.publicOrigin(c)
    return c.json({
      issuer,
      ...(codeFlow ? { authorization_endpoint: `${issuer}/authorize` } : {}),
      token_endpoint: `${issuer}/token`,
      // RFC 8414 §2 and RFC 7009: apps revoke their sealed refresh tokens here, as public clients.
      ...(deps.config.refreshTokens === 'sealed' ? { revocation_endpoint: `${issuer}/revoke`, revocation_endpoint_auth_methods_supported: ['none'] } : {}),
      device_authorization_endpoint: `${issuer}/device_authorization`,
      // The relay's own pickup dialect is not listed: a standard client cannot use it.
      grant_types_supported: codeFlow ? ['authorization_code', DEVICE_CODE_GRANT, 'refresh_token'] : [DEVICE_CODE_GRANT, 'refresh_token'],
      response_types_supported: codeFlow ? ['code'] : [],
      // RFC 9207 §3: every authorization response carries `iss`, so apps can defend against mix-ups.
      ...(codeFlow ? { authorization_response_iss_parameter_supported: true } : {}),
      // Apps are public clients: the relay holds Unity's client secret (RFC 8628 §5.6).
      token_endpoint_auth_methods_supported: ['none'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: scopes,
      // RFC 9449 §5.1: the algorithms /token verifies DPoP proofs with.
      dpop_signing_alg_values_supported: DPOP_SIGNING_ALGS,
      // An extension (RFC 8414 §2 allows them): how long a sign-in lasts once its link is opened, so a polling app knows when a result can no longer come.
      relay_state_ttl_seconds: deps.config.stateTtlSeconds,
    })
  })
}
