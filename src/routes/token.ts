/**
 * @module
 * `POST /token`: the app's pickup (PKCE verifier → the stored code → Unity's tokens) and the
 * refresh, which adds the client credentials the app never holds. With `REFRESH_TOKENS=sealed`
 * both hand out sealed refresh tokens (see `refresh.ts`), bound to the app's DPoP key when the
 * request carries a proof (see `dpop-request.ts`). A code grant that carries a `code` is the
 * standard one (see `code-grant.ts`). A pending pickup may be held until the flow's result is
 * stored (see `held-pickup.ts`).
 */
import { sha256Base64Url } from '../base64url.ts'
import { exchangeAppCode } from '../code-grant.ts'
import { presentedProof } from '../dpop-request.ts'
import { RelayError } from '../errors.ts'
import { pickupHolds } from '../held-pickup.ts'
import { DEVICE_CODE_GRANT, tokenForm } from '../inputs.ts'
import { isAllowed, limitedClientKey, tooManyRequests } from '../limits/by-client-ip.ts'
import { faultName, flowId } from '../log.ts'
import { refreshSealed, sealPickup } from '../refresh.ts'
import type { SealingDeps } from '../refresh.ts'
import { apiResponse } from '../security-headers.ts'
import { guardStore } from '../store.ts'
import type { Pickup } from '../store.ts'
import type { TokenOutcome } from '../unity.ts'
import { storedUserCodeFor } from '../user-code.ts'
import { corsForApps } from './app-cors.ts'
import type { Relay, RouteDeps } from '../relay.ts'

/** RFC 6749 §4.1.2.1 `access_denied`, when the user pressed Cancel on the relay's own page. */
const CANCELLED = 'The user cancelled the sign-in on the relay’s page. Start a new sign-in if they want to try again.'

const PENDING = new RelayError('authorization_pending', 'The user has not finished signing in yet.')

/** The token endpoint: the relay's own path, and Unity's, for apps configured with a `UNITY_URL`. */
export const TOKEN_PATHS: readonly string[] = ['/token', '/api/oauth/token']

/** Mounts `POST /token` and its CORS preflight on each of {@link TOKEN_PATHS}. */
export function mountToken(app: Relay, deps: RouteDeps): void {
  for (const path of TOKEN_PATHS) mountTokenAt(app, deps, path)
}

function mountTokenAt(app: Relay, deps: RouteDeps, path: string): void {
  const { config, store, unity, log, limiters } = deps
  const sealing: SealingDeps | undefined =
    config.refreshTokens === 'sealed' ? { keys: deps.refreshSealKeys, grants: deps.refreshGrants, unity, log, nowSeconds: deps.nowSeconds } : undefined
  const holds = pickupHolds({ config, store, clock: deps.clock, log })
  // A browser app sends its proof in the DPoP header (RFC 9449 §4.1) and may ask to wait (RFC 7240), neither CORS-safelisted; it may read what was applied.
  app.use(path, corsForApps(config, ['Content-Type', 'DPoP', 'Prefer'], ['Preference-Applied']))

  app.post(path, tokenForm, async (c) => {
    const input = c.req.valid('form')
    // RFC 9449 §4.3: a bad proof is refused before any limiter, store or Unity call; it is spent only just before Unity is called.
    const proof = await presentedProof(c.req.header('DPoP'), {
      htu: `${deps.publicOrigin(c)}${path}`,
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
    if (input.grantType === 'authorization_code' && input.standard !== undefined) {
      const outcome = await exchangeAppCode(
        { store, unity, log, sealing, nowSeconds: deps.nowSeconds },
        { verifier: input.verifier, challenge, standard: input.standard, authorization: c.req.header('Authorization'), proof, flow },
      )
      log.info('token.exchanged', { flow, outcome: outcome.kind, ...(outcome.kind === 'tokens' ? {} : { error: outcome.error.code }) })
      return tokenResponse(outcome)
    }
    const device = input.grantType === DEVICE_CODE_GRANT
    let until: number | undefined
    const lookUp = async (): Promise<Pickup> => {
      const now = deps.nowSeconds()
      const found = await guardStore('read', store.claim(challenge, now))
      if (found.kind !== 'pending' || !device) return found
      const record = await guardStore('read', store.findDevice(await storedUserCodeFor(challenge), now))
      // RFC 8628 §3.5: a device learns that its code ran out rather than polling forever.
      if (!record) throw new RelayError('expired_token', 'The device code has expired. Start a new device authorization.')
      until = record.exp
      return found
    }
    let pickup = await lookUp()
    if (pickup.kind === 'pending') pickup = await holds.hold(c, { challenge, device, ...(until === undefined ? {} : { until }) }, lookUp)
    // The most common answer: rendered by the one error made per isolate, with no throw and no stack capture.
    if (pickup.kind === 'pending') return holds.answered(c, PENDING.toResponse('json'))
    // RFC 8628 §3.5: another pickup is exchanging the code; this poll learns its outcome next time.
    if (pickup.kind === 'busy') throw new RelayError('authorization_pending', 'Another pickup of this sign-in is in progress. Poll again.')
    // RFC 6749 §4.1.2: a code is used once; the tombstone says so instead of "pending" forever.
    if (pickup.kind === 'spent') throw new RelayError('invalid_grant', 'This sign-in was already picked up. Start a new sign-in.')
    if (pickup.kind === 'refused') throw new RelayError(pickup.error, pickup.cancelled ? CANCELLED : `The sign-in was refused at Unity (${pickup.error}): the user denied access there, or Unity did not allow it. Start a new sign-in.`, { status: 400 })
    const { claim } = pickup
    const { record } = claim
    // A standard flow's code goes to its redirect URI only, never to whoever holds the verifier (phishing resistance); nothing is spent.
    if (record.app !== undefined) {
      await guardStore('keep the sign-in in', claim.release())
      throw new RelayError('invalid_grant', 'This sign-in returns its code to the app’s redirect_uri: exchange that code, with grant_type=authorization_code and code.')
    }
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
    return holds.answered(c, tokenResponse(outcome))
  })
}

function tokenResponse(outcome: TokenOutcome): Response {
  if (outcome.kind !== 'tokens') throw outcome.error
  return apiResponse(outcome.body, 200, 'application/json; charset=UTF-8')
}
