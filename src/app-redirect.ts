/**
 * @module
 * The relay's authorization responses to a standard flow's app (RFC 6749 §4.1.2, §4.1.2.1): the
 * browser goes to the app's checked redirect URI with a code or an error, the app's `state`, and
 * the relay's `iss` (RFC 9207), so an app that talks to several servers can tell whose answer it is.
 */
import type { Context } from 'hono'
import { withQuery } from './redirect-uri.ts'

/** What one authorization response carries; descriptions are the relay's own words. */
export type AppResponse =
  | { readonly code: string; readonly state: string | undefined }
  | { readonly error: string; readonly description: string; readonly state: string | undefined }

/**
 * Sends the browser to `redirectUri` with `response` and `iss`. 303, so a form's POST is never
 * re-sent (RFC 9700 §4.12); the default `Referrer-Policy: no-referrer` keeps the relay's URL
 * (and with it the flow's state) away from the app's page (RFC 9700 §4.2.4).
 */
export function redirectToApp(c: Context, redirectUri: string, issuer: string, response: AppResponse): Response {
  const params =
    'code' in response
      ? { code: response.code, state: response.state, iss: issuer }
      : { error: response.error, error_description: response.description, state: response.state, iss: issuer }
  c.header('Referrer-Policy', 'no-referrer')
  return c.redirect(withQuery(redirectUri, params), 303)
}
