/**
 * @module
 * The confirmation step that `/authorize` and `/device` share: a state signed for this browser
 * (RFC 6749 §10.12) and the page that shows the flow's user code before anything goes to Unity.
 */
import type { Context } from 'hono'
import { createBinding, setBindingCookie } from '../binding.ts'
import type { Config } from '../config.ts'
import { confirmPage } from '../pages.ts'
import type { Place } from '../place.ts'
import type { RelayContext, RouteDeps } from '../relay.ts'
import { cspNonce } from '../security-headers.ts'
import { signState } from '../state.ts'
import { decoyUserCodes, userCodeFor } from '../user-code.ts'

/** A flow about to be confirmed. */
export interface PendingFlow {
  readonly challenge: string
  readonly scope: string
  readonly returnTo?: string | undefined
  /** Started by a device (RFC 8628): the pages say so, and the flow ends when the device's code does. */
  readonly device?: {
    readonly expiresAt: number
    /** When the device asked (Unix seconds), and from where, if the runtime knew. */
    readonly startedAt?: number | undefined
    readonly from?: Place | undefined
  }
}

/** A flow whose state is signed and whose binding cookie is set. */
export interface Begun {
  readonly state: string
  /** The state's binding hash (`bh`). */
  readonly binding: string
  /** The state's `exp`, Unix seconds. */
  readonly exp: number
  /** Whether its Continue needs the user to pick the code (the state's `pk`). */
  readonly pick: boolean
}

/** Starts flows and shows their confirmation page. */
export interface Confirmation {
  /** Signs the flow's state and sets its binding cookie. */
  begin(c: RelayContext, flow: PendingFlow): Promise<Begun>
  /** The confirmation page for a flow from {@link Confirmation.begin}. */
  page(c: RelayContext, flow: PendingFlow, begun: Begun): Promise<Response>
}

/** Codes the user picks from when the page was reached from another site: the real one and two decoys. */
export const CHOICES = 3

/** Builds the confirmation step for one relay. */
export function createConfirmation(deps: RouteDeps): Confirmation {
  const { config } = deps
  const unityUrl = new URL(config.authorizeEndpoint)
  // Chromium applies form-action to the redirect after a form POST, so Unity's origin must be allowed too.
  const formAction = `'self' ${unityUrl.origin}`
  return {
    async begin(c, { challenge, scope, returnTo, device }) {
      const now = deps.nowSeconds()
      const binding = await createBinding()
      const pick = config.confirmPage === 'always' && reachedFromAnotherSite(c, config)
      const exp = Math.min(now + config.stateTtlSeconds, device?.expiresAt ?? Number.POSITIVE_INFINITY)
      const state = await signState(await deps.stateKeys(), {
        iat: now,
        exp,
        cc: challenge,
        sc: scope,
        bh: binding.hash,
        ...(returnTo === undefined ? {} : { rt: returnTo }),
        ...(device === undefined ? {} : { dv: true }),
        ...(pick ? { pk: true } : {}),
      })
      setBindingCookie(c, binding, exp - now)
      return { state, binding: binding.hash, exp, pick }
    },
    async page(c, { challenge, scope, device }, { state, pick }) {
      c.set('formAction', formAction)
      c.set('pageScript', true)
      // The form's POST must carry this page's Origin, which `no-referrer` would send as `null`; the URL holds no code.
      c.header('Referrer-Policy', 'same-origin')
      const userCode = await userCodeFor(challenge)
      const now = deps.nowSeconds()
      return c.html(confirmPage({
        userCode,
        unityHost: unityUrl.host,
        scope,
        state,
        device: device !== undefined,
        choices: pick ? shuffled([userCode, ...decoyUserCodes(userCode, CHOICES - 1)]) : undefined,
        startedAt: device === undefined ? now : device.startedAt,
        now,
        deviceFrom: device?.from,
        browserAt: device === undefined ? undefined : deps.placeOf(c.req.raw),
        nonce: cspNonce(c),
      }))
    },
  }
}

/**
 * Whether another site sent the browser here (a link, a redirect, a script's navigation), rather
 * than the user or an app opening the address (`Sec-Fetch-Site: none`) or the relay's own code
 * entry form (`same-origin`). Fetch Metadata (W3C) is set by the browser and cannot be forged by a
 * page; a browser that sends none is treated as the riskier case. A web app on
 * `RETURN_TO_ALLOWLIST` that links here is trusted like an app: the browser names its origin in
 * `Referer`, which no other page can claim.
 */
export function reachedFromAnotherSite(c: Context, config: Config): boolean {
  const site = c.req.header('Sec-Fetch-Site')
  if (site === 'none' || site === 'same-origin') return false
  const referrer = URL.parse(c.req.header('Referer') ?? '')
  return !(referrer !== null && config.returnToOrigins.includes(referrer.origin))
}

/** Fisher-Yates with WebCrypto's randomness: the real code's place among the choices is unguessable. */
function shuffled<T>(items: readonly T[]): T[] {
  const result = [...items]
  const random = crypto.getRandomValues(new Uint32Array(result.length))
  for (let i = result.length - 1; i > 0; i--) {
    const j = random[i]! % (i + 1)
    ;[result[i], result[j]] = [result[j]!, result[i]!]
  }
  return result
}
