/**
 * @module DEV: `npm run app -- --device`. Signs in with the device authorization grant (RFC 8628)
 * through the relay using openid-client, a standard OAuth library that knows nothing of the relay:
 * discovery (RFC 8414), device authorization, then polling until the user confirms. With
 * `--dpop`, the same with a DPoP key, and a refresh with the bound refresh token.
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
export async function deviceLogin(options: DeviceLoginOptions): Promise<client.TokenEndpointResponse> {
  const { config, device } = await startDeviceLogin(options)
  return client.pollDeviceAuthorizationGrant(config, device, undefined, options.signal ? { signal: options.signal } : undefined)
}

/** What {@link deviceLoginWithDpop} got: the sign-in's tokens, and a refresh's with the bound refresh token. */
export interface DpopDeviceLogin {
  readonly tokens: client.TokenEndpointResponse
  readonly refreshed: client.TokenEndpointResponse
}

/**
 * The device flow with a fresh ES256 DPoP key (RFC 9449): the relay binds the refresh token to it,
 * and the one refresh that follows, with the same key, shows the bound token at work.
 */
export async function deviceLoginWithDpop(options: DeviceLoginOptions): Promise<DpopDeviceLogin> {
  const { config, device } = await startDeviceLogin(options)
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
  const tokens = await client.pollDeviceAuthorizationGrant(config, device, undefined, { DPoP, ...(options.signal ? { signal: options.signal } : {}) })
  if (!tokens.refresh_token) throw new Error('the sign-in answered no refresh token')
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP })
  return { tokens, refreshed }
}

async function startDeviceLogin({ relay, scope, onUserCode }: DeviceLoginOptions) {
  const insecure = new URL(relay).protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}
  const config = await client.discovery(new URL(relay), 'unity-oauth-relay-dev-app', undefined, client.None(), { algorithm: 'oauth2', ...insecure })
  const device = await client.initiateDeviceAuthorization(config, { scope: scope ?? 'api' })
  onUserCode({ verificationUri: device.verification_uri, verificationUriComplete: device.verification_uri_complete, userCode: device.user_code })
  return { config, device }
}
