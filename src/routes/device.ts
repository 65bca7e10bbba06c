/**
 * @module
 * The device authorization grant (RFC 8628) on Unity's behalf: `POST /device_authorization` gives a
 * device a device code and a user code, and `GET /device` is where the user types the code. The
 * confirmation page, its POST and the pickup at `/token` are the same as for `/authorize`.
 */
import type { Next } from 'hono'
import { sha256Base64Url, toBase64Url } from '../base64url.ts'
import { createConfirmation } from './confirmation.ts'
import { RelayError } from '../errors.ts'
import { deviceAuthorizationForm, deviceEntryQuery } from '../inputs.ts'
import { createCodeEntryGate } from '../limits/code-entry-gate.ts'
import { flowId } from '../log.ts'
import { deviceEntryPage } from '../pages.ts'
import { cspNonce } from '../security-headers.ts'
import { guardStore } from '../store.ts'
import { userCodeFor } from '../user-code.ts'
import type { Relay, RelayContext, RouteDeps } from '../relay.ts'

/** RFC 8628 §3.2: the seconds a device waits between polls (and its default). */
export const DEVICE_POLL_INTERVAL_SECONDS = 5

/** Draws of a fresh device code before giving up on finding a free user code. */
const MAX_USER_CODE_DRAWS = 5

/** The same words for an unknown, an expired and a malformed code, so codes cannot be enumerated (RFC 8628 §5.1). */
const UNKNOWN_CODE = 'That code is not valid, or it has expired. Check the code on your device; if it has expired, start again there.'

/** Mounts `POST /device_authorization` and `GET /device`. */
export function mountDevice(app: Relay, deps: RouteDeps): void {
  const { config, store, log } = deps
  const confirmation = createConfirmation(deps)
  const codeEntry = createCodeEntryGate({ limiter: deps.limiters.deviceGuess, periodSeconds: config.rateLimits.deviceGuess.periodSeconds, nowSeconds: deps.nowSeconds, log })

  app.post('/device_authorization', notFromAWebPage, deviceAuthorizationForm(config), async (c) => {
    const { scope, clientId } = c.req.valid('form')
    const origin = deps.publicOrigin(c)
    for (let draw = 0; draw < MAX_USER_CODE_DRAWS; draw++) {
      // RFC 8628 §3.2 and RFC 7636 §4.1: the device code is 32 fresh random bytes, and doubles as the flow's PKCE verifier.
      const deviceCode = toBase64Url(crypto.getRandomValues(new Uint8Array(32)))
      const challenge = await sha256Base64Url(deviceCode)
      const userCode = await userCodeFor(challenge)
      const stored = userCode.replace('-', '')
      const now = deps.nowSeconds()
      const from = deps.placeOf(c.req.raw)
      const record = { cc: challenge, sc: scope, exp: now + config.stateTtlSeconds, iat: now, ...(from === undefined ? {} : { from }) }
      // Two live flows must never share a user code: a collision draws a new device code.
      const saved = await guardStore('save the device authorization in', store.saveDevice(stored, record, config.stateTtlSeconds))
      if (saved === 'exists') continue
      log.info('device.authorized', { flow: flowId(challenge), ...(clientId === undefined ? {} : { client: clientId }) })
      return c.json({
        device_code: deviceCode,
        user_code: userCode,
        verification_uri: `${origin}/device`,
        verification_uri_complete: `${origin}/device?user_code=${userCode}`,
        expires_in: config.stateTtlSeconds,
        interval: DEVICE_POLL_INTERVAL_SECONDS,
      })
    }
    throw new RelayError('store_unavailable', 'The relay could not find a free user code. Try again shortly.')
  })

  app.get('/device', deviceEntryQuery, async (c) => {
    const input = c.req.valid('query')
    if (input.kind === 'form') return entryPage(c)
    // RFC 8628 §5.1: while the global budget for wrong codes is spent, no code is looked up, found or not.
    codeEntry.assertOpen()
    const record = input.kind === 'code' ? await guardStore('read', store.findDevice(input.userCode, deps.nowSeconds())) : null
    if (!record) {
      await codeEntry.countWrong()
      deps.logRefusal(c, 'unknown_user_code', 400)
      return entryPage(c, UNKNOWN_CODE)
    }
    const flow = { challenge: record.cc, scope: record.sc, device: { expiresAt: record.exp, startedAt: record.iat, from: record.from } }
    return confirmation.page(c, flow, await confirmation.begin(c, flow))
  })
}

/** The code entry form, with `problem` (400) or without (200); it submits to the relay only. */
function entryPage(c: RelayContext, problem?: string): Response | Promise<Response> {
  c.set('formAction', "'self'")
  const nonce = cspNonce(c)
  return problem === undefined ? c.html(deviceEntryPage({ nonce })) : c.html(deviceEntryPage({ problem, nonce }), 400)
}

/**
 * Refuses a request that a browser marks as sent by another site's page (Fetch Metadata): the
 * device itself makes this request (RFC 8628 §3.1) and sends no `Sec-Fetch-Site`, while a popular
 * page could make each visitor's browser write a device record with a `no-cors` form POST (whose
 * answer it could not even read). Checked before the body is read and before any store write.
 */
async function notFromAWebPage(c: RelayContext, next: Next): Promise<void> {
  const site = c.req.header('Sec-Fetch-Site')
  if (site === 'cross-site' || site === 'same-site') {
    throw new RelayError('cross_site_request', 'A device asks for a code itself; a web page cannot start a device authorization.')
  }
  await next()
}
