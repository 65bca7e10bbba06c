/**
 * @module
 * `POST /revoke` (RFC 7009): an app's logout. A sealed refresh token that opens revokes its grant
 * at the relay, so no generation of it refreshes again. Unity (legacy Spring) has no revocation
 * endpoint, so the relay asks nothing of it; Unity's access token lives on until `expires_in`.
 */
import { RelayError } from '../errors.ts'
import { revokeForm } from '../inputs.ts'
import { openRefreshToken } from '../refresh-seal.ts'
import { corsForApps } from './app-cors.ts'
import type { Relay, RouteDeps } from '../relay.ts'

/** Mounts `POST /revoke` and its CORS preflight. */
export function mountRevoke(app: Relay, deps: RouteDeps): void {
  const { config } = deps
  app.use('/revoke', corsForApps(config))

  app.post('/revoke', revokeForm, async (c) => {
    const { token } = c.req.valid('form')
    // RFC 7009 §2.2.1: with passthrough the app holds Unity's own token, which only Unity could revoke.
    if (config.refreshTokens !== 'sealed') throw new RelayError('unsupported_token_type', 'This relay hands out Unity’s own refresh tokens (REFRESH_TOKENS=passthrough) and cannot revoke them.')
    // RFC 7009 §2.2: an invalid token is no error, so the answer says nothing about what was sent.
    // No client authentication and no DPoP proof: apps are public clients, and the sealed token is the proof (RFC 7009 §2.1).
    const presented = await openRefreshToken(await deps.refreshSealKeys(), token).catch(() => undefined)
    if (presented) await deps.refreshGrants.revoke(presented)
    // RFC 7009 §2.2: 200 whether or not the token opened; the body is empty (the relay's middleware adds the security headers).
    return c.body(null, 200)
  })
}
