/**
 * @module
 * The device authorization grant (RFC 8628) on Unity's behalf: `POST /device_authorization` gives a
 * device a device code and a user code, and `GET /device` is where the user types the code. The
 * confirmation page, its POST and the pickup at `/token` are the same as for `/authorize`.
 */
import { sha256Base64Url, toBase64Url } from '../base64url.ts'
import { createConfirmation } from '../confirmation.ts'
import { RelayError } from '../errors.ts'
import { deviceAuthorizationForm, deviceEntryQuery } from '../inputs.ts'
import { flowId } from '../log.ts'
import { deviceEntryPage } from '../pages.ts'
import { cspNonce } from '../security-headers.ts'
import { guardStore } from '../store.ts'
import { userCodeFor } from '../user-code.ts'
import type { Relay, RouteDeps } from './deps.ts'

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

  app.post('/device_authorization', deviceAuthorizationForm(config), async (c) => {
    const { scope, clientId } = c.req.valid('form')
    const origin = deps.publicOrigin(c)
    for (let draw = 0; draw < MAX_USER_CODE_DRAWS; draw++) {
      // RFC 8628 §3.2 and RFC 7636 §4.1: the device code is 32 fresh random bytes, and doubles as the flow's PKCE verifier.
      const deviceCode = toBase64Url(crypto.getRandomValues(new Uint8Array(32)))
      const challenge = await sha256Base64Url(deviceCode)
      const userCode = await userCodeFor(challenge)
      const stored = userCode.replace('-', '')
      const record = { cc: challenge, sc: scope, exp: deps.nowSeconds() + config.stateTtlSeconds }
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
    const record = input.kind === 'code' ? await guardStore('read', store.findDevice(input.userCode, deps.nowSeconds())) : null
    if (!record) {
      c.set('formAction', "'self'")
      const nonce = cspNonce(c)
      if (input.kind === 'form') return c.html(deviceEntryPage({ nonce }))
      log.info('device.unknown_code')
      return c.html(deviceEntryPage({ problem: UNKNOWN_CODE, nonce }), 400)
    }
    const flow = { challenge: record.cc, scope: record.sc, device: { expiresAt: record.exp } }
    const { state } = await confirmation.begin(c, flow)
    return confirmation.page(c, flow, state)
  })
}
