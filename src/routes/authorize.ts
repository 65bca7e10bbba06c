/**
 * @module
 * `/authorize`: signs the flow into `state` and binds it to this browser. With `CONFIRM_PAGE=always`
 * the GET shows a confirmation page with the flow's user code, and only the user's Continue
 * (a POST from that page) sends the browser to Unity; `never` redirects at once.
 */
import type { MiddlewareHandler } from 'hono'
import { clearBindingCookie, verifyBindingCookie } from '../binding.ts'
import { createConfirmation } from '../confirmation.ts'
import { RelayError } from '../errors.ts'
import { authorizeQuery, decisionForm } from '../inputs.ts'
import { flowId } from '../log.ts'
import { cancelledPage } from '../pages.ts'
import { cspNonce } from '../security-headers.ts'
import { verifyState } from '../state.ts'
import { guardStore } from '../store.ts'
import type { Relay, RelayEnv, RouteDeps } from './deps.ts'

/** Mounts `GET /authorize` and the confirmation page's `POST /authorize`. */
export function mountAuthorize(app: Relay, deps: RouteDeps): void {
  const { config, store, unity, log } = deps
  const confirmation = createConfirmation(deps)

  app.get('/authorize', authorizeQuery(config), async (c) => {
    const flow = c.req.valid('query')
    const state = await confirmation.begin(c, flow)
    if (config.confirmPage === 'never') {
      log.info('authorize.redirect', { flow: flowId(flow.challenge) })
      return c.redirect(unity.authorizeUrl({ redirectUri: deps.redirectUriFor(c), scope: flow.scope, state, challenge: flow.challenge }), 302)
    }
    return confirmation.page(c, flow, state)
  })

  app.post('/authorize', fromRelayPage(deps), decisionForm, async (c) => {
    const { state, decision } = c.req.valid('form')
    const now = deps.nowSeconds()
    const flow = await verifyState(await deps.stateKeys(), state, now)
    c.set('flow', flowId(flow.cc))
    await verifyBindingCookie(c, flow.bh)
    if (decision === 'continue') {
      // The cookie stays: the callback checks it again and clears it.
      log.info('authorize.redirect', { flow: flowId(flow.cc) })
      // RFC 9700 §4.12: 303, never 307, so the browser does not re-post the form to Unity.
      return c.redirect(unity.authorizeUrl({ redirectUri: deps.redirectUriFor(c), scope: flow.sc, state, challenge: flow.cc }), 303)
    }
    const saved = await guardStore('save the cancellation in', store.save(flow.cc, { error: 'access_denied', exp: now + config.codeTtlSeconds }, config.codeTtlSeconds))
    clearBindingCookie(c, flow.bh)
    // The first result of a flow is kept: a cancel cannot replace a sign-in that already finished.
    if (saved === 'exists') {
      throw new RelayError('flow_finished', 'This sign-in was already completed or cancelled, and its first result is kept. If the app is still waiting, start again from the app.')
    }
    log.info('authorize.cancelled', { flow: flowId(flow.cc) })
    if (flow.rt !== undefined) return c.redirect(flow.rt, 303)
    return c.html(cancelledPage({ device: flow.dv === true, nonce: cspNonce(c) }))
  })
}

/**
 * Refuses a decision posted from anywhere but the relay's own page (RFC 9700 §4.7, CSRF):
 * a browser marks another site's POST with `Sec-Fetch-Site` and its `Origin`. Checked before the
 * body is read.
 */
function fromRelayPage(deps: RouteDeps): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const site = c.req.header('Sec-Fetch-Site')
    const origin = c.req.header('Origin')
    const relayOrigin = deps.publicOrigin(c)
    if (site === 'cross-site' || site === 'same-site' || (origin !== undefined && origin !== relayOrigin)) {
      throw new RelayError('cross_site_request', 'Confirm the sign-in on the relay’s own page: open the link from your app again.')
    }
    await next()
  }
}
