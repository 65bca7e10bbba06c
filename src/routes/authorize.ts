/**
 * @module
 * `GET /authorize`: signs the flow into `state`, binds it to this browser, and sends the browser to Unity.
 */
import { createBinding, setBindingCookie } from '../binding.ts'
import { authorizeQuery } from '../inputs.ts'
import { flowId } from '../log.ts'
import { signState } from '../state.ts'
import type { Relay, RouteDeps } from './deps.ts'

/** Mounts `GET /authorize`. */
export function mountAuthorize(app: Relay, deps: RouteDeps): void {
  const { config, unity, log } = deps
  app.get('/authorize', authorizeQuery(config), async (c) => {
    const { challenge, scope, returnTo } = c.req.valid('query')
    const now = deps.nowSeconds()
    const binding = await createBinding()
    const state = await signState(await deps.stateKeys(), {
      iat: now,
      exp: now + config.stateTtlSeconds,
      cc: challenge,
      sc: scope,
      bh: binding.hash,
      ...(returnTo === undefined ? {} : { rt: returnTo }),
    })
    setBindingCookie(c, binding, config.stateTtlSeconds)
    log.info('authorize.redirect', { flow: flowId(challenge) })
    return c.redirect(unity.authorizeUrl({ redirectUri: deps.redirectUriFor(c), scope, state, challenge }), 302)
  })
}
