/**
 * @module
 * `GET /`: a static page saying what this relay is and which endpoints it has, for whoever opens
 * the relay's address in a browser. It reads no input and stores nothing.
 */
import { html, layout } from '../pages.ts'
import { cspNonce } from '../security-headers.ts'
import type { Relay, RouteDeps } from './deps.ts'

/** Options of {@link landingPage}. */
export interface LandingPageOptions {
  /** Host of the Unity server the relay signs users in to. */
  readonly unityHost: string
  /** Path of the RFC 8414 server metadata; the page links to it when set. */
  readonly metadataPath?: string | undefined
  readonly nonce?: string | undefined
}

/** What this relay is, its endpoints, and a link to its metadata. */
export function landingPage({ unityHost, metadataPath, nonce }: LandingPageOptions): string {
  const discovery = metadataPath === undefined ? null : html`\
<p>Apps can discover these endpoints from the <a href="${metadataPath}">server metadata</a> (RFC 8414).</p>`
  return layout('Unity sign-in relay', 'info', nonce, html`\
<p>This service signs apps in to the Unity server at <strong>${unityHost}</strong> for their users. It keeps the \
client secret, and hands the tokens only to the app that started the sign-in.</p>\
<p>There is nothing to do on this page: an app sends you here when it needs you to sign in.</p>\
<dl>\
<dt><code>GET /authorize</code></dt><dd>Your browser starts a sign-in and shows its code (the app gives the link).</dd>\
<dt><code>POST /authorize</code></dt><dd>Continue (or the code you pick) or Cancel on that page.</dd>\
<dt><code>GET /callback</code></dt><dd>Unity sends your browser back here after you sign in.</dd>\
<dt><code>POST /token</code></dt><dd>The app picks up its tokens with a form body, or refreshes them.</dd>\
<dt><code>POST /device_authorization</code></dt><dd>A device without a browser (a CLI, a TV app) starts a sign-in and shows you a code.</dd>\
<dt><code>GET /device</code></dt><dd>You type that code here and confirm (RFC 8628).</dd>\
<dt><code>GET /healthz</code></dt><dd>Monitoring.</dd>\
</dl>\
${discovery}`)
}

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
