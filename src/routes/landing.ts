/**
 * @module
 * `GET /`: a static page saying what this relay is and which endpoints it has, for whoever opens
 * the relay's address in a browser. It reads no input and stores nothing.
 */
import { landingPage } from '../pages.ts'
import { cspNonce } from '../security-headers.ts'
import type { Relay, RouteDeps } from '../relay.ts'

/** Options of {@link mountLanding}. */
export interface LandingOptions {
  /** RFC 8414 metadata path to link, e.g. `/.well-known/oauth-authorization-server`. */
  readonly metadataPath?: string
}

/** Mounts `GET /`. */
export function mountLanding(app: Relay, deps: RouteDeps, options: LandingOptions = {}): void {
  const unityHost = new URL(deps.config.authorizeEndpoint).host
  app.get('/', (c) => c.html(landingPage({ unityHost, metadataPath: options.metadataPath, nonce: cspNonce(c) })))
}
