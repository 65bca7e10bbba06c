/**
 * @module
 * `/authorize`: signs the flow into `state` and binds it to this browser. With `CONFIRM_PAGE=always`
 * the GET shows a confirmation page with the flow's user code, and only the user's Continue
 * (a POST from that page; on a page another site sent the browser to, the flow's own code picked
 * among decoys) records the confirmation that the callback needs and sends the browser to Unity;
 * `never` records it and redirects at once.
 */
import type { MiddlewareHandler } from 'hono'
import { clearBindingCookie, verifyBindingCookie } from '../binding.ts'
import { createConfirmation } from './confirmation.ts'
import { RelayError } from '../errors.ts'
import { authorizeQuery, decisionForm } from '../inputs.ts'
import { flowId } from '../log.ts'
import { cancelledPage } from '../pages.ts'
import { cspNonce } from '../security-headers.ts'
import { verifyState } from '../state.ts'
import { guardStore, ttlUntil } from '../store.ts'
import type { FlowWriteResult } from '../store.ts'
import { storedUserCodeFor } from '../user-code.ts'
import type { Relay, RelayEnv, RouteDeps } from '../relay.ts'

/** Mounts `GET /authorize` and the confirmation page's `POST /authorize`. */
export function mountAuthorize(app: Relay, deps: RouteDeps): void {
  const { config, store, unity, log } = deps
  const confirmation = createConfirmation(deps)

  app.get('/authorize', authorizeQuery(config), async (c) => {
    const flow = c.req.valid('query')
    const begun = await confirmation.begin(c, flow)
    const { state, binding, exp } = begun
    if (config.confirmPage === 'never') {
      // There is no Continue to press: going to Unity is the confirmation that the callback needs.
      const confirmed = await guardStore('record the sign-in in', store.confirm(flow.challenge, binding, exp, ttlUntil(exp, deps.nowSeconds())))
      if (confirmed !== 'created') throw refused(confirmed)
      log.info('authorize.redirect', { flow: flowId(flow.challenge) })
      return c.redirect(unity.authorizeUrl({ redirectUri: deps.redirectUriFor(c), scope: flow.scope, state, challenge: flow.challenge }), 302)
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
      // The callback takes a result only for a state whose Continue was pressed (see `decideWrite`), so it is recorded before Unity is reached.
      const confirmed = await guardStore('record the confirmation in', store.confirm(flow.cc, flow.bh, flow.exp, ttlUntil(flow.exp, now)))
      if (confirmed !== 'created') throw refused(confirmed)
      // The cookie stays: the callback checks it again and clears it.
      log.info('authorize.redirect', { flow: flowId(flow.cc) })
      // RFC 9700 §4.12: 303, never 307, so the browser does not re-post the form to Unity.
      return c.redirect(unity.authorizeUrl({ redirectUri: deps.redirectUriFor(c), scope: flow.sc, state, challenge: flow.cc }), 303)
    }
    const cancellation = { error: 'access_denied', exp: now + config.codeTtlSeconds } as const
    // A Cancel may end a flow nobody confirmed, or its own browser's, but never another browser's Continue or a result.
    const saved = await guardStore('save the cancellation in', store.save(flow.cc, cancellation, config.codeTtlSeconds, { binding: flow.bh, unconfirmed: 'allow' }))
    clearBindingCookie(c, flow.bh)
    if (saved !== 'created') throw refused(saved)
    log.info('authorize.cancelled', { flow: flowId(flow.cc) })
    if (flow.rt !== undefined) return c.redirect(flow.rt, 303)
    return c.html(cancelledPage({ device: flow.dv === true, nonce: cspNonce(c) }))
  })
}

/** A Continue or a Cancel that found the flow taken: finished already, or continued in another browser (logged by `app.onError`). */
function refused(result: Exclude<FlowWriteResult, 'created'>): RelayError {
  return result === 'elsewhere'
    ? new RelayError('flow_in_progress', 'It was continued in another tab or browser. Finish it there, or start again from the app.')
    : new RelayError('flow_finished', 'This sign-in was already completed or cancelled, and its first result is kept. If the app is still waiting, start again from the app.')
}

/**
 * Refuses a decision posted from anywhere but the relay's own page (RFC 9700 §4.7, CSRF):
 * a browser marks another site's POST with `Sec-Fetch-Site` and its `Origin`. Checked before the
 * body is read. Not hono/csrf, which passes a POST when either header names the relay and refuses
 * one with neither: this refuses when either names another site, lets an old browser's header-less
 * POST on to the cookie check, compares with the public origin and answers with the relay's page
 * (test/contract/hono-copies.cases.ts pins the differences).
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
