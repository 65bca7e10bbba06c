/**
 * @module
 * The confirmation step that `/authorize` and `/device` share: a state signed for this browser
 * (RFC 6749 §10.12) and the page that shows the flow's user code before anything goes to Unity.
 */
import { createBinding, setBindingCookie } from './binding.ts'
import { confirmPage } from './pages.ts'
import type { RelayContext, RouteDeps } from './routes/deps.ts'
import { cspNonce } from './security-headers.ts'
import { signState } from './state.ts'
import { userCodeFor } from './user-code.ts'

/** A flow about to be confirmed. */
export interface PendingFlow {
  readonly challenge: string
  readonly scope: string
  readonly returnTo?: string | undefined
  /** Started by a device (RFC 8628): the pages say so, and the flow ends when the device's code does. */
  readonly device?: { readonly expiresAt: number }
}

/** A flow whose state is signed and whose binding cookie is set. */
export interface BegunFlow {
  readonly state: string
  /** The state's binding hash (`bh`). */
  readonly binding: string
  /** The state's `exp`, Unix seconds. */
  readonly exp: number
}

/** Starts flows and shows their confirmation page. */
export interface Confirmation {
  /** Signs the flow's state and sets its binding cookie. */
  begin(c: RelayContext, flow: PendingFlow): Promise<BegunFlow>
  /** The confirmation page for a state from {@link Confirmation.begin}. */
  page(c: RelayContext, flow: PendingFlow, state: string): Promise<Response>
}

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
      const exp = Math.min(now + config.stateTtlSeconds, device?.expiresAt ?? Number.POSITIVE_INFINITY)
      const state = await signState(await deps.stateKeys(), {
        iat: now,
        exp,
        cc: challenge,
        sc: scope,
        bh: binding.hash,
        ...(returnTo === undefined ? {} : { rt: returnTo }),
        ...(device === undefined ? {} : { dv: true }),
      })
      setBindingCookie(c, binding, exp - now)
      return { state, binding: binding.hash, exp }
    },
    async page(c, { challenge, scope, device }, state) {
      c.set('formAction', formAction)
      // The form's POST must carry this page's Origin, which `no-referrer` would send as `null`; the URL holds no code.
      c.header('Referrer-Policy', 'same-origin')
      const userCode = await userCodeFor(challenge)
      return c.html(confirmPage({ userCode, unityHost: unityUrl.host, scope, state, device: device !== undefined, nonce: cspNonce(c) }))
    },
  }
}
