/**
 * @module
 * `POST /token`: the app's pickup (PKCE verifier → the stored code → Unity's tokens) and the
 * refresh, which adds the client credentials the app never holds. With `REFRESH_TOKENS=sealed`
 * both hand out sealed refresh tokens (see `refresh.ts`), bound to the app's DPoP key when the
 * request carries a proof (see `dpop-request.ts`).
 */
import { sha256Base64Url } from '../base64url.ts'
import { presentedProof } from '../dpop-request.ts'
import { RelayError } from '../errors.ts'
import { DEVICE_CODE_GRANT, tokenForm } from '../inputs.ts'
import { isAllowed, limitedClientKey, tooManyRequests } from '../limits/by-client-ip.ts'
import { faultName, flowId } from '../log.ts'
import { refreshSealed, sealPickup } from '../refresh.ts'
import type { SealingDeps } from '../refresh.ts'
import { apiResponse } from '../security-headers.ts'
import { guardStore } from '../store.ts'
import type { TokenOutcome } from '../unity.ts'
import { storedUserCodeFor } from '../user-code.ts'
import { corsForApps } from './app-cors.ts'
import type { Relay, RouteDeps } from '../relay.ts'

const PENDING = new RelayError('authorization_pending', 'The user has not finished signing in yet.')

/** Mounts `POST /token` and its CORS preflight. */
export function mountToken(app: Relay, deps: RouteDeps): void {
  const { config, store, unity, log, limiters } = deps
  const sealing: SealingDeps | undefined =
    config.refreshTokens === 'sealed' ? { keys: deps.refreshSealKeys, grants: deps.refreshGrants, unity, log, nowSeconds: deps.nowSeconds } : undefined
  // A browser app sends its proof in the DPoP header (RFC 9449 §4.1), which is not CORS-safelisted; nothing new is exposed.
  app.use('/token', corsForApps(config, ['Content-Type', 'DPoP']))

  app.post('/token', tokenForm, async (c) => {
    const input = c.req.valid('form')
    // RFC 9449 §4.3: a bad proof is refused before any limiter, store or Unity call; it is spent only just before Unity is called.
    const proof = await presentedProof(c.req.header('DPoP'), {
      htu: `${deps.publicOrigin(c)}/token`,
      nowSeconds: deps.nowSeconds(),
      store,
      required: config.requireDpop,
    })
    if (input.grantType === 'refresh_token') {
      // Anyone holding a refresh token can refresh through the relay, which adds the secret: damp it per address.
      if (limiters.refresh && !(await isAllowed(limiters.refresh, limitedClientKey(c), log))) {
        throw tooManyRequests(config.rateLimits.refresh.periodSeconds)
      }
      const request = { refreshToken: input.refreshToken, scope: input.scope, proof }
      if (sealing) return tokenResponse(await refreshSealed(sealing, request))
      await proof?.spend()
      return tokenResponse(await unity.refresh(request))
    }
    const challenge = await sha256Base64Url(input.verifier)
    const flow = flowId(challenge)
    c.set('flow', flow)
    // RFC 8628 §3.5: a flow polled faster than its interval is told to slow down.
    if (limiters.pickup && !(await isAllowed(limiters.pickup, challenge, log))) {
      throw new RelayError('slow_down', 'Poll less often: wait at least 5 seconds more between requests.')
    }
    const now = deps.nowSeconds()
    const pickup = await guardStore('read', store.claim(challenge, now))
    if (pickup.kind === 'pending') {
      // RFC 8628 §3.5: a device learns that its code ran out rather than polling forever.
      if (input.grantType === DEVICE_CODE_GRANT && !(await guardStore('read', store.findDevice(await storedUserCodeFor(challenge), now)))) {
        throw new RelayError('expired_token', 'The device code has expired. Start a new device authorization.')
      }
      // The most common answer: rendered by the one error made per isolate, with no throw and no stack capture.
      return PENDING.toResponse('json')
    }
    // RFC 8628 §3.5: another pickup is exchanging the code; this poll learns its outcome next time.
    if (pickup.kind === 'busy') throw new RelayError('authorization_pending', 'Another pickup of this sign-in is in progress. Poll again.')
    // RFC 6749 §4.1.2: a code is used once; the tombstone says so instead of "pending" forever.
    if (pickup.kind === 'spent') throw new RelayError('invalid_grant', 'This sign-in was already picked up. Start a new sign-in.')
    if (pickup.kind === 'refused') throw new RelayError(pickup.error, 'Unity did not authorize the app. Start a new sign-in.', { status: 400 })
    const { claim } = pickup
    const { record } = claim
    await proof?.spend().catch(async (refusal: unknown) => {
      // The code stays for the app's next pickup with a fresh proof.
      await claim.release().catch(() => {})
      throw refusal
    })
    const exchanged = unity.exchangeCode({ code: record.code, redirectUri: record.redirect_uri, verifier: input.verifier })
    const outcome = await (sealing ? exchanged.then((answer) => sealPickup(sealing, answer, proof?.jkt)) : exchanged).catch(async (fault: unknown) => {
      // An unexpected fault must not leave the code held: the app's retry should find it.
      await claim.release().catch(() => {})
      throw fault
    })
    if (outcome.kind === 'unavailable') {
      await guardStore('keep the sign-in in', claim.release())
    } else {
      // The code is spent either way; a leftover record only earns a retry `invalid_grant` from Unity.
      await claim.consume().catch((cause: unknown) => log.warn('token.consume_failed', { flow, fault: faultName(cause) }))
    }
    log.info('token.exchanged', { flow, outcome: outcome.kind, ...(outcome.kind === 'tokens' ? {} : { error: outcome.error.code }) })
    return tokenResponse(outcome)
  })
}

function tokenResponse(outcome: TokenOutcome): Response {
  if (outcome.kind !== 'tokens') throw outcome.error
  return apiResponse(outcome.body, 200, 'application/json; charset=UTF-8')
}
