/**
 * @module
 * `GET /callback`: Unity's redirect back. Verifies the state and the browser binding, then keeps
 * the code (or Unity's refusal) in the store for the app's pickup, in place of the confirmation
 * that this browser's Continue recorded.
 */
import { consumeBindingCookie } from '../binding.ts'
import { RelayError } from '../errors.ts'
import { callbackQuery } from '../inputs.ts'
import { flowId } from '../log.ts'
import { deniedPage, donePage } from '../pages.ts'
import { cspNonce } from '../security-headers.ts'
import { verifyState } from '../state.ts'
import { AUTHORIZATION_ERRORS } from '../store.ts'
import type { AuthorizationError, FlowRecord, FlowWriteResult } from '../store.ts'
import type { Relay, RouteDeps } from '../relay.ts'

/** Mounts `GET /callback`. */
export function mountCallback(app: Relay, deps: RouteDeps): void {
  const { config, store, log } = deps
  app.get('/callback', callbackQuery, async (c) => {
    const input = c.req.valid('query')
    const now = deps.nowSeconds()
    // The state is verified before anything in the response is acted on, `error` included.
    const flow = await verifyState(await deps.stateKeys(), input.state, now)
    c.set('flow', flowId(flow.cc))
    await consumeBindingCookie(c, flow.bh)
    // RFC 9207 §2.4: with a known issuer, a response without `iss` or with another one is refused (mix-up defence).
    if (config.issuer !== undefined && input.iss !== config.issuer) {
      throw new RelayError('issuer_mismatch', 'The sign-in response did not come from the expected Unity server. Start again from the app.')
    }
    const exp = now + config.codeTtlSeconds
    const record: FlowRecord =
      input.code !== undefined ? { code: input.code, redirect_uri: deps.redirectUriFor(c), exp } : { error: toAuthorizationError(input.error), exp }
    // RFC 9700 §4.5 (code injection): anyone can get a state and cookie of their own, so a result is kept only where that state's Continue was pressed.
    // And the first result of a flow is kept: a second callback (e.g. someone who knows the challenge signing in as themselves) must not replace it.
    let saved: FlowWriteResult
    try {
      saved = await store.save(flow.cc, record, config.codeTtlSeconds, { binding: flow.bh })
    } catch (cause) {
      // Unity's code is still unused: keep the binding cookie so that a reload of this page saves it.
      c.header('Set-Cookie', undefined)
      throw new RelayError('store_unavailable', 'The relay could not save the sign-in. Reload this page in a moment to try again; you will not need to sign in again.', {
        cause,
        headers: { 'Retry-After': '5' },
      })
    }
    if (saved === 'unconfirmed' || saved === 'elsewhere') {
      throw new RelayError('not_confirmed', 'This sign-in was not confirmed on the relay’s page. Go back to the app and start again.')
    }
    if (saved === 'exists') {
      throw new RelayError('flow_finished', 'This sign-in was already completed or cancelled, and its first result is kept. If the app is still waiting, start again from the app.')
    }
    log.info('callback.stored', { flow: flowId(flow.cc), outcome: 'code' in record ? 'code' : record.error })
    if (flow.rt !== undefined) return c.redirect(flow.rt, 303)
    const nonce = cspNonce(c)
    return c.html('code' in record ? donePage({ device: flow.dv === true, nonce }) : deniedPage({ error: record.error, nonce }))
  })
}

/** RFC 6749 §4.1.2.1 lists the only errors Unity may send; anything else becomes `server_error`. */
function toAuthorizationError(value: string | undefined): AuthorizationError {
  return AUTHORIZATION_ERRORS.find((known) => known === value) ?? 'server_error'
}
