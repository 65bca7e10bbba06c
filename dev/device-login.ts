/**
 * @module DEV: `npm run app -- --device`. Signs in with the device authorization grant (RFC 8628)
 * through the relay using openid-client, a standard OAuth library that knows nothing of the relay:
 * discovery (RFC 8414), device authorization, then polling until the user confirms.
 */
import * as client from 'openid-client'

/** Options of {@link deviceLogin}. */
export interface DeviceLoginOptions {
  readonly relay: string
  readonly scope?: string | undefined
  /** Called once with what the user must open and type. */
  readonly onUserCode: (prompt: { verificationUri: string; verificationUriComplete: string | undefined; userCode: string }) => void
  /** Ends the poll early, e.g. from a test. */
  readonly signal?: AbortSignal
}

/** Runs the whole device flow and returns Unity's token response. */
export async function deviceLogin({ relay, scope, onUserCode, signal }: DeviceLoginOptions): Promise<client.TokenEndpointResponse> {
  const insecure = new URL(relay).protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}
  const config = await client.discovery(new URL(relay), 'unity-oauth-relay-dev-app', undefined, client.None(), { algorithm: 'oauth2', ...insecure })
  const device = await client.initiateDeviceAuthorization(config, { scope: scope ?? 'api' })
  onUserCode({ verificationUri: device.verification_uri, verificationUriComplete: device.verification_uri_complete, userCode: device.user_code })
  return client.pollDeviceAuthorizationGrant(config, device, undefined, signal ? { signal } : undefined)
}
