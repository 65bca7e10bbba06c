/**
 * @module
 * `/authorize`: signs the flow into `state` and binds it to this browser. With `CONFIRM_PAGE=always`
 * the GET shows a confirmation page with the flow's user code, and only the user's Continue
 * (a POST from that page; on a page another site sent the browser to, the flow's own code picked
 * among decoys) sends the browser to Unity; `never` redirects at once.
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
import { storedUserCodeFor } from '../user-code.ts'
import type { Relay, RelayEnv, RouteDeps } from './deps.ts'

/** Mounts `GET /authorize` and the confirmation page's `POST /authorize`. */
export function mountAuthorize(app: Relay, deps: RouteDeps): void {
  const { config, store, unity, log } = deps
  const confirmation = createConfirmation(deps)

  app.get('/authorize', authorizeQuery(config), async (c) => {
    const flow = c.req.valid('query')
    const begun = await confirmation.begin(c, flow)
    if (config.confirmPage === 'never') {
      log.info('authorize.redirect', { flow: flowId(flow.challenge) })
      return c.redirect(unity.authorizeUrl({ redirectUri: deps.redirectUriFor(c), scope: flow.scope, state: begun.state, challenge: flow.challenge }), 302)
    }
    return confirmation.page(c, flow, begun)
  })

  app.post('/authorize', fromRelayPage(deps), decisionForm, async (c) => {
    const { state, decision, pick } = c.req.valid('form')
    const now = deps.nowSeconds()
    const flow = await verifyState(await deps.stateKeys(), state, now)
    c.set('flow', flowId(flow.cc))
    await verifyBindingCookie(c, flow.bh)
    if (flow.pk !== true && pick !== undefined) throw new RelayError('invalid_request', 'Choose Continue or Cancel on the relay’s page.')
    if (flow.pk === true) {
      // Reached from another site: a press that site steered cannot know which code is the flow's (double-click-jacking).
      if (decision === 'continue' && pick !== (await storedUserCodeFor(flow.cc))) {
        clearBindingCookie(c, flow.bh)
        throw new RelayError('wrong_code', 'That is not the code of this sign-in, so nothing was sent to Unity. If an app of yours is waiting, start again there; otherwise close this tab.')
      }
      // "None of these" means the flow is not this user's: it ends in this browser only, so no page can cancel another's sign-in through it.
      if (decision === 'cancel') {
        clearBindingCookie(c, flow.bh)
        log.info('authorize.abandoned', { flow: flowId(flow.cc) })
        return c.html(cancelledPage({ device: flow.dv === true, nonce: cspNonce(c) }))
      }
    }
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
