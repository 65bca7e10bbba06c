/**
 * @module
 * `/authorize`: signs the flow into `state` and binds it to this browser. With `CONFIRM_PAGE=always`
 * the GET shows a confirmation page with the flow's user code, and only the user's Continue
 * (a POST from that page; on a page another site sent the browser to, the flow's own code picked
 * among decoys) records the confirmation that the callback needs and sends the browser to Unity;
 * `never` records it and redirects at once. With a `redirect_uri` the request is a standard one
 * (RFC 6749 §4.1): the same steps, a page without a user code, and the app's redirect URI as the end.
 */
import type { MiddlewareHandler } from 'hono'
import { redirectToApp } from '../app-redirect.ts'
import type { StandardAuthorize } from '../authorize-request.ts'
import { clearBindingCookie, verifyBindingCookie } from '../binding.ts'
import { createConfirmation } from './confirmation.ts'
import type { Begun, PendingFlow } from './confirmation.ts'
import { RelayError } from '../errors.ts'
import { authorizeQuery, decisionForm } from '../inputs.ts'
import { flowId } from '../log.ts'
import { cancelledPage } from '../pages.ts'
import { cspNonce } from '../security-headers.ts'
import { verifyState } from '../state.ts'
import { guardStore, ttlUntil } from '../store.ts'
import type { FlowWriteResult } from '../store.ts'
import { storedUserCodeFor } from '../user-code.ts'
import type { Relay, RelayContext, RelayEnv, RouteDeps } from '../relay.ts'

/** Where apps send browsers to sign in: the relay's own path, and Unity's, for apps configured with a `UNITY_URL`. */
export const AUTHORIZE_PATHS: readonly string[] = ['/authorize', '/api/oauth/authorize']

/** Mounts `GET /authorize` on each of {@link AUTHORIZE_PATHS}, and the confirmation page's `POST /authorize`. */
export function mountAuthorize(app: Relay, deps: RouteDeps): void {
  const { config, store, unity, log } = deps
  const confirmation = createConfirmation(deps)

  /**
   * A reopened link whose sign-in is over says so before the user reads the page and presses a button for nothing.
   * One read per page (rate-limited per address, never on the pickup path); a store still catching up shows the page, whose press is refused as before.
   */
  const refuseFinished = async (challenge: string): Promise<void> => {
    if (config.confirmPage === 'always' && (await guardStore('read', store.finished(challenge, deps.nowSeconds())))) throw refused('exists')
  }

  /** A standard request: refused to the app's redirect URI, or begun like a pickup with the app in its state. */
  const beginStandard = async (c: RelayContext, request: StandardAuthorize): Promise<{ flow: PendingFlow; begun: Begun } | Response> => {
    const issuer = deps.publicOrigin(c)
    if (request.kind === 'refused') {
      log.info('authorize.refused', { error: request.error, outcome: 'redirected' })
      return redirectToApp(c, request.redirect.uri, issuer, request)
    }
    const flow: PendingFlow = { challenge: request.challenge, scope: request.scope, app: { redirect: request.redirect, clientId: request.clientId, state: request.state } }
    c.set('flow', flowId(flow.challenge))
    await refuseFinished(flow.challenge)
    try {
      return { flow, begun: await confirmation.begin(c, flow) }
    } catch (error) {
      // A state too long to sign: the app learns it at its redirect URI, like any other bad request.
      if (!(error instanceof RelayError) || error.code !== 'invalid_request') throw error
      log.info('authorize.refused', { error: error.code, outcome: 'redirected' })
      return redirectToApp(c, request.redirect.uri, issuer, { error: 'invalid_request', description: error.description, state: request.state })
    }
  }

  app.on('GET', [...AUTHORIZE_PATHS], authorizeQuery(config), async (c) => {
    const input = c.req.valid('query')
    let flow: PendingFlow
    let begun: Begun
    if ('standard' in input) {
      const started = await beginStandard(c, input.standard)
      if (started instanceof Response) return started
      ;({ flow, begun } = started)
    } else {
      flow = input
      await refuseFinished(flow.challenge)
      begun = await confirmation.begin(c, flow)
    }
    const { state, binding, exp } = begun
    if (config.confirmPage === 'never') {
      // There is no Continue to press: going to Unity is the confirmation that the callback needs.
      const confirmed = await guardStore('record the sign-in in', store.confirm(flow.challenge, binding, exp, ttlUntil(exp, deps.nowSeconds())))
      if (confirmed !== 'created') throw refused(confirmed)
      log.info('authorize.redirect', flow.app === undefined ? { flow: flowId(flow.challenge) } : { flow: flowId(flow.challenge), client: flow.app.clientId })
      return c.redirect(unity.authorizeUrl({ redirectUri: deps.redirectUriFor(c), scope: flow.scope, state, challenge: flow.challenge }), 302)
    }
    return confirmation.page(c, flow, begun)
  })

  // The page's form posts to /authorize itself, on whichever path the app opened.
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
      log.info('authorize.redirect', flow.app === undefined ? { flow: flowId(flow.cc) } : { flow: flowId(flow.cc), client: flow.app.clientId })
      // RFC 9700 §4.12: 303, never 307, so the browser does not re-post the form to Unity.
      return c.redirect(unity.authorizeUrl({ redirectUri: deps.redirectUriFor(c), scope: flow.sc, state, challenge: flow.cc }), 303)
    }
    const cancellation = { error: 'access_denied', cancelled: true, exp: now + config.codeTtlSeconds } as const
    // A Cancel may end a flow nobody confirmed, or its own browser's, but never another browser's Continue or a result.
    const saved = await guardStore('save the cancellation in', store.save(flow.cc, cancellation, config.codeTtlSeconds, { binding: flow.bh, unconfirmed: 'allow' }))
    clearBindingCookie(c, flow.bh)
    if (saved !== 'created') throw refused(saved)
    log.info('authorize.cancelled', { flow: flowId(flow.cc) })
    // RFC 6749 §4.1.2.1: the user's refusal goes to the app as access_denied.
    if (flow.app !== undefined) {
      return redirectToApp(c, flow.app.redirectUri, deps.publicOrigin(c), { error: 'access_denied', description: 'The user cancelled the sign-in.', state: flow.app.state })
    }
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
