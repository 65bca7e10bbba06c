/**
 * @module
 * `GET /.well-known/oauth-authorization-server` (RFC 8414): what a standard OAuth client needs to
 * sign in through the relay with the device authorization grant, unchanged.
 */
import { DPOP_SIGNING_ALGS } from '../dpop.ts'
import { DEVICE_CODE_GRANT } from '../inputs.ts'
import type { Relay, RouteDeps } from '../relay.ts'

/** RFC 8414 §3: where a client finds the metadata of an issuer without a path. */
export const METADATA_PATH = '/.well-known/oauth-authorization-server'

/** Mounts the RFC 8414 metadata document. */
export function mountMetadata(app: Relay, deps: RouteDeps): void {
  const scopes = [...new Set(deps.config.defaultScope.split(' '))]
  app.get(METADATA_PATH, (c) => {
    // RFC 8414 §3.3: the issuer is the relay's public origin, where this document was found.
    const issuer = deps.publicOrigin(c)
    return c.json({
      issuer,
      token_endpoint: `${issuer}/token`,
      // RFC 8414 §2 and RFC 7009: apps revoke their sealed refresh tokens here, as public clients.
      ...(deps.config.refreshTokens === 'sealed' ? { revocation_endpoint: `${issuer}/revoke`, revocation_endpoint_auth_methods_supported: ['none'] } : {}),
      device_authorization_endpoint: `${issuer}/device_authorization`,
      // The relay's own code pickup is not the standard code grant (no code reaches the app), so
      // only the grants a standard client can use are listed, and no authorization endpoint.
      grant_types_supported: [DEVICE_CODE_GRANT, 'refresh_token'],
      response_types_supported: [],
      // Apps are public clients: the relay holds Unity's client secret (RFC 8628 §5.6).
      token_endpoint_auth_methods_supported: ['none'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: scopes,
      // RFC 9449 §5.1: the algorithms /token verifies DPoP proofs with.
      dpop_signing_alg_values_supported: DPOP_SIGNING_ALGS,
    })
  })
}
