/**
 * @module DEV: plays the app. Makes a PKCE verifier, prints the relay's /authorize URL for the user's
 * browser, and polls /token until Unity's tokens arrive, a final answer, or the deadline.
 * `npm run app -- --relay URL --scope S --return-to URL --wait SECONDS`; `--device` signs in with
 * the device flow instead, through a standard OAuth library (dev/device-login.ts); `--dpop` does
 * the device flow with a DPoP key and then a refresh with the bound refresh token; `--loopback`
 * signs in like a native app with any OAuth library: openid-client, a loopback redirect URI and
 * PKCE (RFC 8252, dev/loopback-login.ts).
 */
import { parseArgs } from 'node:util'
import { userCodeFor } from '../src/user-code.ts'
import { deviceLogin, deviceLoginWithDpop } from './device-login.ts'
import type { DeviceLoginOptions } from './device-login.ts'
import { loopbackLogin } from './loopback-login.ts'
import { challengeOf, makeVerifier } from './pkce.ts'

/** A started login: the URL for the user's browser and the secret the app keeps. */
export interface Login {
  readonly authorizeUrl: string
  readonly verifier: string
  /** The code the relay's confirmation page shows for this login; the app shows it too. */
  readonly userCode: string
}

/**
 * How long an app polls when the relay's metadata does not say: `STATE_TTL_SECONDS`'s default.
 * A sign-in lasts that long once its link is opened; an app that polls all along picks the code
 * up within one interval of Unity's answer, so `CODE_TTL_SECONDS` adds nothing.
 */
export const DEFAULT_POLL_SECONDS = 600

/** The relay's `relay_state_ttl_seconds` (its metadata), or `undefined` when it cannot be read. */
export async function signInSeconds(relay: string): Promise<number | undefined> {
  try {
    const response = await fetch(new URL('/.well-known/oauth-authorization-server', relay))
    const ttl = ((await response.json()) as Record<string, unknown>).relay_state_ttl_seconds
    return typeof ttl === 'number' && Number.isSafeInteger(ttl) && ttl > 0 ? ttl : undefined
  } catch {
    return undefined
  }
}

/**
 * How polling ended: Unity's token JSON, or the last OAuth error (`timedOut` when the deadline
 * ended it), with how long the polling took.
 */
export type PollResult =
  | { readonly ok: true; readonly tokens: Record<string, unknown> }
  | { readonly ok: false; readonly status: number; readonly error: string; readonly description?: string; readonly timedOut: boolean; readonly waitedMs: number }

/** Options of {@link startLogin}. */
export interface LoginOptions {
  readonly relay: string
  readonly scope?: string
  readonly returnTo?: string
}

/** Makes a verifier (RFC 7636 §4.1) and the /authorize URL carrying its S256 challenge. */
export async function startLogin({ relay, scope, returnTo }: LoginOptions): Promise<Login> {
  const verifier = makeVerifier()
  const challenge = await challengeOf(verifier)
  const url = new URL('/authorize', relay)
  url.searchParams.set('code_challenge', challenge)
  url.searchParams.set('code_challenge_method', 'S256')
  if (scope) url.searchParams.set('scope', scope)
  if (returnTo) url.searchParams.set('return_to', returnTo)
  return { authorizeUrl: url.href, verifier, userCode: await userCodeFor(challenge) }
}

/**
 * Polls POST /token like an RFC 8628 client: `authorization_pending` waits, `slow_down` adds 5 s,
 * a 502/503 `temporarily_unavailable` retries; anything else (`invalid_grant`, `access_denied`,
 * `expired_token`, …) is final. The last poll is at the deadline (by default
 * {@link DEFAULT_POLL_SECONDS}), never a wait before it. Each poll asks to be held (`Prefer: wait=`,
 * default 20 s; 0 asks nothing): an answer that says it was (`Preference-Applied`) is followed by
 * the next poll at once, any other after the interval.
 */
export async function pollForTokens(relay: string, verifier: string, options: { intervalMs?: number; timeoutMs?: number; waitSeconds?: number } = {}): Promise<PollResult> {
  let interval = options.intervalMs ?? 2000
  const started = Date.now()
  const deadline = started + (options.timeoutMs ?? DEFAULT_POLL_SECONDS * 1000)
  for (;;) {
    const wait = Math.min(options.waitSeconds ?? 20, Math.floor((deadline - Date.now()) / 1000))
    const response = await fetch(new URL('/token', relay), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(wait > 0 ? { Prefer: `wait=${wait}` } : {}) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code_verifier: verifier }),
    })
    const body = (await response.json()) as Record<string, unknown>
    if (response.ok) return { ok: true, tokens: body }
    const error = String(body.error)
    const retry = error === 'authorization_pending' || error === 'slow_down' || error === 'temporarily_unavailable'
    const left = deadline - Date.now()
    if (!retry || left <= 0) {
      const description = typeof body.error_description === 'string' ? { description: body.error_description } : {}
      return { ok: false, status: response.status, error, ...description, timedOut: retry, waitedMs: Date.now() - started }
    }
    if (error === 'slow_down') interval += 5000
    else if (response.headers.has('Preference-Applied')) continue
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, left)))
  }
}

/**
 * What the person running `npm run app` should make of a poll that ended without tokens.
 * `signInSeconds` is how long the relay keeps a sign-in open once its link is opened.
 */
export function explainFailure(result: Extract<PollResult, { ok: false }>, signInSeconds: number = DEFAULT_POLL_SECONDS): string {
  const waited = Math.round(result.waitedMs / 1000)
  if (result.timedOut) {
    const last = `last answer: ${result.status} ${result.error}`
    if (waited < signInSeconds) {
      return `Stopped waiting after ${waited} s (--wait) without tokens (${last}). The sign-in may still finish: it stays open ${signInSeconds} s (STATE_TTL_SECONDS) after its link was opened. Run with a longer --wait, or start a new sign-in.`
    }
    return `Gave up after ${waited} s without tokens (${last}). A sign-in stays open ${signInSeconds} s (STATE_TTL_SECONDS) after its link is opened, so this one cannot finish any more unless its link was opened late. Start a new sign-in.`
  }
  // The relay's own description already says what to do; these are for a relay that sends none.
  const hints: Record<string, string> = {
    access_denied: 'The user cancelled, or Unity refused the sign-in. Start a new sign-in.',
    invalid_grant: 'This verifier\'s sign-in was already picked up, or Unity no longer accepts its code. Start a new sign-in.',
    expired_token: 'The sign-in expired before it was finished. Start a new sign-in.',
  }
  const advice = result.description ?? hints[result.error] ?? 'This answer is final: fix the request or start a new sign-in.'
  return `Sign-in ended with ${result.status} ${result.error}: ${advice}`
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      relay: { type: 'string', default: 'http://127.0.0.1:8787' },
      scope: { type: 'string' },
      'return-to': { type: 'string' },
      wait: { type: 'string' },
      device: { type: 'boolean', default: false },
      dpop: { type: 'boolean', default: false },
      loopback: { type: 'boolean', default: false },
    },
  })
  const relay = values.relay
  const waitSeconds = values.wait === undefined ? undefined : Number(values.wait)
  if (waitSeconds !== undefined && (!Number.isInteger(waitSeconds) || waitSeconds < 0)) throw new Error('--wait must be a whole number of seconds')
  if (values.loopback) await runLoopbackLogin(relay, values.scope)
  else if (values.device || values.dpop) await runDeviceLogin(relay, values.scope, values.dpop)
  else await runLogin(relay, values.scope, values['return-to'], waitSeconds)
}

/** `npm run app`: the relay's own flow, with a PKCE verifier as the pickup secret. */
async function runLogin(relay: string, scope: string | undefined, returnTo: string | undefined, wait: number | undefined): Promise<void> {
  const login = await startLogin({ relay, scope, returnTo })
  const open = (await signInSeconds(relay)) ?? DEFAULT_POLL_SECONDS
  // Polling all along, the app sees a result within one interval of it: a sign-in's length and two polls' worth is enough.
  const waitSeconds = wait ?? open + 10
  console.log(`Open this URL in your browser and sign in:\n\n  ${login.authorizeUrl}\n`)
  console.log(`Check that the page shows ${login.userCode} before you press Continue.\n`)
  console.log(`Waiting up to ${waitSeconds} s for the sign-in. The same pickup with curl:\n\n  curl -s -X POST ${relay}/token -H 'Prefer: wait=20' -d grant_type=authorization_code -d code_verifier=${login.verifier}\n`)
  const result = await pollForTokens(relay, login.verifier, { timeoutMs: waitSeconds * 1000 }).catch((error: unknown) => {
    console.error(`Cannot reach the relay at ${relay} (${error instanceof Error ? (error.cause ?? error.message) : error}). Is \`npm start\` running? Another address: npm run app -- --relay URL`)
    process.exit(1)
  })
  if (result.ok) {
    console.log(JSON.stringify(result.tokens, null, 2))
  } else {
    console.error(explainFailure(result, open))
    process.exitCode = 1
  }
}

/** `npm run app -- --device` (or `--dpop`): RFC 8628 through openid-client, which knows nothing of the relay. */
async function runDeviceLogin(relay: string, scope: string | undefined, dpop: boolean): Promise<void> {
  const options: DeviceLoginOptions = {
    relay,
    scope,
    onUserCode: ({ verificationUri, verificationUriComplete, userCode }) =>
      console.log(`On any device, open ${verificationUri} and enter the code ${userCode}\n(or open ${verificationUriComplete ?? verificationUri})\n\nWaiting for the sign-in…\n`),
  }
  try {
    if (dpop) {
      const { tokens, refreshed } = await deviceLoginWithDpop(options)
      console.log(`Signed in with a DPoP key; the refresh token is bound to it:\n${JSON.stringify(tokens, null, 2)}\n\nA refresh with that token and a proof from the same key:\n${JSON.stringify(refreshed, null, 2)}`)
    } else {
      console.log(JSON.stringify(await deviceLogin(options), null, 2))
    }
  } catch (error) {
    const code = (error as { error?: unknown }).error
    console.error(`The device sign-in ended: ${typeof code === 'string' ? code : error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  }
}

/** `npm run app -- --loopback`: the standard code flow (RFC 6749 §4.1, RFC 8252) through openid-client, with no client secret. */
async function runLoopbackLogin(relay: string, scope: string | undefined): Promise<void> {
  try {
    const { tokens, refreshed, redirectUri } = await loopbackLogin({
      relay,
      scope,
      onAuthorizeUrl: (url, listening) => console.log(`Listening on ${listening} for the redirect. Open this URL in your browser and sign in:\n\n  ${url}\n`),
    })
    console.log(`Signed in; the code came back to ${redirectUri}:\n${JSON.stringify(tokens, null, 2)}`)
    if (refreshed) console.log(`\nA refresh with the refresh token:\n${JSON.stringify(refreshed, null, 2)}`)
  } catch (error) {
    const code = (error as { error?: unknown }).error
    console.error(`The sign-in ended: ${typeof code === 'string' ? code : error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  }
}
