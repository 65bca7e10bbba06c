/**
 * @module DEV: plays the app. Makes a PKCE verifier, prints the relay's /authorize URL for the user's
 * browser, and polls /token until Unity's tokens arrive. `npm run app -- --relay URL --scope S`.
 */
import { parseArgs } from 'node:util'
import { userCodeFor } from '../src/user-code.ts'
import { challengeOf, makeVerifier } from './pkce.ts'

/** A started login: the URL for the user's browser and the secret the app keeps. */
export interface Login {
  readonly authorizeUrl: string
  readonly verifier: string
  /** The code the relay's confirmation page shows for this login; the app shows it too. */
  readonly userCode: string
}

/** How polling ended: Unity's token JSON, or the relay's final OAuth error. */
export type PollResult =
  | { readonly ok: true; readonly tokens: Record<string, unknown> }
  | { readonly ok: false; readonly status: number; readonly error: string; readonly description?: string }

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
 * a 502/503 `temporarily_unavailable` retries; anything else ends the poll.
 */
export async function pollForTokens(relay: string, verifier: string, options: { intervalMs?: number; timeoutMs?: number } = {}): Promise<PollResult> {
  let interval = options.intervalMs ?? 2000
  const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000)
  for (;;) {
    const response = await fetch(new URL('/token', relay), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code_verifier: verifier }),
    })
    const body = (await response.json()) as Record<string, unknown>
    if (response.ok) return { ok: true, tokens: body }
    const error = String(body.error)
    const retry = error === 'authorization_pending' || error === 'slow_down' || error === 'temporarily_unavailable'
    if (!retry || Date.now() + interval > deadline) {
      return { ok: false, status: response.status, error, ...(typeof body.error_description === 'string' ? { description: body.error_description } : {}) }
    }
    if (error === 'slow_down') interval += 5000
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { relay: { type: 'string', default: 'http://127.0.0.1:8787' }, scope: { type: 'string' }, 'return-to': { type: 'string' } },
  })
  const relay = values.relay
  const login = await startLogin({ relay, scope: values.scope, returnTo: values['return-to'] })
  console.log(`Open this URL in your browser and sign in:\n\n  ${login.authorizeUrl}\n`)
  console.log(`Check that the page shows ${login.userCode} before you press Continue.\n`)
  console.log(`Waiting for the sign-in. The same pickup with curl:\n\n  curl -s -X POST ${relay}/token -d grant_type=authorization_code -d code_verifier=${login.verifier}\n`)
  const result = await pollForTokens(relay, login.verifier)
  if (result.ok) {
    console.log(JSON.stringify(result.tokens, null, 2))
  } else {
    console.error(`Sign-in ended with ${result.status} ${result.error}${result.description ? `: ${result.description}` : ''}`)
    process.exitCode = 1
  }
}
