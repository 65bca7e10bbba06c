/**
 * @module DEV: `npm run doctor [-- --env-file F] [--remote]` (or `deno task doctor`). Checks a
 * relay's settings against the real Unity before any user signs in, read-only: one line per check,
 * ✓ or ✗ (– where there is nothing to check), with the fix on every ✗. Exit 0 when none fails.
 * Nothing it sends can spend anything: the token probe carries a random code no one was issued,
 * and the authorize probe carries no session, so no one signs in.
 */
import { parseArgs } from 'node:util'
import { parseConfig } from '../src/config.ts'
import type { Config, TokenAuthMethod } from '../src/config.ts'
import { RelayError } from '../src/errors.ts'
import { basicAuthorization, createUnityClient } from '../src/unity.ts'
import { deploymentSettings, SettingsFileError, wranglerVars } from './settings.ts'

/** One check's outcome: `pass` ✓, `fail` ✗ (with its fix), `info` – (nothing to check or recommend). */
export interface CheckLine {
  readonly mark: 'pass' | 'fail' | 'info'
  readonly name: string
  readonly text: string
  readonly fix?: string
}

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** The settings as the relay reads them (`[vars]` and the deployment's variables and secrets). */
  readonly settings: Readonly<Record<string, string>>
  /** Also check the deployed relay at REDIRECT_URI's origin. */
  readonly remote?: boolean
  readonly timeoutMs?: number
}

/** Largest clock difference to Unity that passes; `Date` has a resolution of one second. */
export const MAX_CLOCK_SKEW_SECONDS = 30

const MARKS = { pass: '✓', fail: '✗', info: '–' } as const

/** Unity's answer to one probe, or why there was none. */
type Answer =
  | { readonly kind: 'answer'; readonly status: number; readonly headers: Headers; readonly text: string; readonly json: Record<string, unknown> | null; readonly sentAt: number; readonly receivedAt: number }
  | { readonly kind: 'unreachable'; readonly cause: string }

/** What the token endpoint said about the relay's client credentials. */
type Verdict = 'accepted' | 'refused' | 'not-oauth'

/** Runs every check and returns its lines, in order. */
export async function runDoctor({ settings, remote = false, timeoutMs = 10_000 }: DoctorOptions): Promise<CheckLine[]> {
  let config: Config
  try {
    config = parseConfig(settings)
  } catch (error) {
    if (!(error instanceof RelayError)) throw error
    return [{ mark: 'fail', name: 'settings', text: error.description, fix: 'correct the settings named above; the other checks need settings that parse' }]
  }
  const lines: CheckLine[] = [{ mark: 'pass', name: 'settings', text: "they pass the relay's own checks" }]
  const probe = (auth: TokenAuthMethod) => probeTokenEndpoint(config, auth, timeoutMs)

  const first = await probe(config.tokenAuth)
  const verdict = tokenVerdict(first)
  lines.push(tokenEndpointLine(config, first))
  lines.push(await credentialsLine(config, first, verdict, probe))
  const authorize = config.redirectUri === undefined ? undefined : await get(authorizeProbeUrl(config, config.redirectUri), timeoutMs)
  lines.push(callbackLine(config, authorize))
  const discovery = await discover(config, timeoutMs)
  lines.push(pkceLine(config, discovery, authorize))
  lines.push(issuerLine(config, discovery))
  lines.push(clockLine(first))
  if (remote) lines.push(...(await remoteLines(config, timeoutMs)))
  return lines
}

/** A check's line as printed. */
export function formatLine(line: CheckLine): string {
  return `${MARKS[line.mark]} ${line.name}: ${line.text}${line.fix ? ` → fix: ${line.fix}` : ''}`
}

/** POSTs a code no one was issued: Unity checks the client first (RFC 6749 §3.2.1), then finds the code unknown. */
async function probeTokenEndpoint(config: Config, auth: TokenAuthMethod, timeoutMs: number): Promise<Answer> {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code: `relay-doctor-${randomToken(16)}`, redirect_uri: config.redirectUri ?? 'https://relay.invalid/callback' })
  if (config.pkce === 'S256') body.set('code_verifier', randomToken(43))
  const headers = new Headers({ 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' })
  if (auth === 'client_secret_basic') {
    headers.set('Authorization', basicAuthorization(config.clientId, config.clientSecret))
  } else {
    body.set('client_id', config.clientId)
    body.set('client_secret', config.clientSecret)
  }
  return send(config.tokenEndpoint, { method: 'POST', headers, body }, timeoutMs)
}

async function get(url: string, timeoutMs: number): Promise<Answer> {
  return send(url, { headers: { Accept: 'text/html,application/json' } }, timeoutMs)
}

async function send(url: string, init: RequestInit, timeoutMs: number): Promise<Answer> {
  const sentAt = Date.now()
  try {
    // Never followed: the secret must not go on to a redirect target, and a sign-in page is as far as a probe goes.
    const response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
    const text = (await response.text()).slice(0, 64 * 1024)
    return { kind: 'answer', status: response.status, headers: response.headers, text, json: parseObject(text), sentAt, receivedAt: Date.now() }
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    return { kind: 'unreachable', cause: cause?.code ?? cause?.message ?? (error instanceof Error ? error.name : String(error)) }
  }
}

function tokenVerdict(answer: Answer): Verdict {
  if (answer.kind !== 'answer') return 'not-oauth'
  const error = typeof answer.json?.error === 'string' ? answer.json.error : undefined
  // Spring answers an unauthenticated client 401 `unauthorized`; RFC 6749 §5.2 says `invalid_client`.
  if (answer.status === 401 && error !== 'invalid_token') return 'refused'
  if (error === 'invalid_client' || error === 'unauthorized') return 'refused'
  return answer.status >= 400 && answer.status < 500 && error !== undefined ? 'accepted' : 'not-oauth'
}

function tokenEndpointLine(config: Config, answer: Answer): CheckLine {
  const name = 'token endpoint'
  const endpoint = config.tokenEndpoint
  if (answer.kind === 'unreachable') {
    return { mark: 'fail', name, text: `cannot reach ${new URL(endpoint).origin} (${answer.cause})`, fix: "check UNITY_URL's host and port, and that this machine can reach Unity (proxy, VPN, firewall)" }
  }
  const error = typeof answer.json?.error === 'string' ? answer.json.error : undefined
  if (error !== undefined && answer.status >= 400 && answer.status < 500) {
    const expected = error === 'invalid_grant' ? '' : tokenVerdict(answer) === 'refused' ? ' (it checks the client before the code: see below)' : ' (a made-up code should earn invalid_grant)'
    return { mark: 'pass', name, text: `POST ${endpoint} answers like OAuth: ${answer.status} ${error}${expected}` }
  }
  if (answer.status >= 300 && answer.status < 400) {
    const location = URL.parse(answer.headers.get('Location') ?? '', endpoint)
    return { mark: 'fail', name, text: `POST ${endpoint} redirects to ${location ? location.origin + location.pathname : 'nowhere'}`, fix: 'set UNITY_URL to the https base URL that api/oauth/token lives under (the redirect may show the right scheme, host or context root)' }
  }
  if (answer.status >= 500) return { mark: 'fail', name, text: `POST ${endpoint} answered ${answer.status}`, fix: "Unity is failing: try again later, or ask Unity's operator" }
  const what = answer.json ? 'JSON without an OAuth error' : /<html/i.test(answer.text) ? 'a page' : 'no OAuth answer'
  return { mark: 'fail', name, text: `POST ${endpoint} answered ${answer.status} with ${what}, not like an OAuth token endpoint`, fix: 'set UNITY_URL to the base URL that api/oauth/token lives under, with its context root (e.g. https://unity.example.com/vu/public)' }
}

async function credentialsLine(config: Config, first: Answer, verdict: Verdict, probe: (auth: TokenAuthMethod) => Promise<Answer>): Promise<CheckLine> {
  const name = 'client credentials'
  const client = `client ${config.clientId}`
  if (verdict === 'not-oauth') return { mark: 'fail', name, text: 'not checked: the token endpoint did not answer like OAuth', fix: 'fix the token endpoint first' }
  if (verdict === 'accepted') return { mark: 'pass', name, text: `Unity accepts ${client} with ${config.tokenAuth}` }
  const other: TokenAuthMethod = config.tokenAuth === 'client_secret_basic' ? 'client_secret_post' : 'client_secret_basic'
  const second = await probe(other)
  const refusal = first.kind === 'answer' ? `${first.status}${typeof first.json?.error === 'string' ? ` ${first.json.error}` : ''}` : ''
  if (tokenVerdict(second) === 'accepted') {
    return { mark: 'fail', name, text: `Unity refuses ${client} with ${config.tokenAuth} (${refusal}) but accepts it with ${other}`, fix: `set UNITY_TOKEN_AUTH=${other}` }
  }
  return { mark: 'fail', name, text: `Unity refuses ${client} with both client_secret_basic and client_secret_post (${refusal})`, fix: "set UNITY_CLIENT_ID and UNITY_CLIENT_SECRET to the client registered at Unity (wrangler secret put UNITY_CLIENT_SECRET)" }
}

/** The authorize URL the relay would send a browser to, with a made-up state and challenge. */
function authorizeProbeUrl(config: Config, redirectUri: string): string {
  const unity = createUnityClient({ config, fetch: () => Promise.reject(new Error('not used')) })
  return unity.authorizeUrl({ redirectUri, scope: config.defaultScope, state: `relay-doctor-${randomToken(16)}`, challenge: randomToken(43) })
}

/** Unity's words for a redirect URI it does not know: oidc-provider, Spring Security OAuth, RFC 6749 wording. */
const UNKNOWN_REDIRECT = /invalid[_ ]redirect|redirect_uri did not match|does not match one of the registered|redirect[_ ]ur[il] mismatch|unregistered redirect/i
const UNKNOWN_CLIENT = /invalid_client|client is invalid|unknown client|no client with requested id|client not found/i

function callbackLine(config: Config, answer: Answer | undefined): CheckLine {
  const name = 'callback registered'
  if (answer === undefined || config.redirectUri === undefined) {
    return { mark: 'fail', name, text: "REDIRECT_URI is not set, so the relay sends each request's own origin + /callback to Unity", fix: 'set REDIRECT_URI to the callback registered at Unity, e.g. https://relay.example.com/callback' }
  }
  const callback = config.redirectUri
  const register = `register ${callback} as a redirect URI of client ${config.clientId} at Unity, or set REDIRECT_URI to the one registered`
  if (answer.kind === 'unreachable') return { mark: 'fail', name, text: `cannot reach ${new URL(config.authorizeEndpoint).origin} (${answer.cause})`, fix: "check UNITY_URL's host" }
  if (answer.status >= 300 && answer.status < 400) {
    const location = URL.parse(answer.headers.get('Location') ?? '', config.authorizeEndpoint)
    if (location && `${location.origin}${location.pathname}` === new URL(callback).href.replace(/[?#].*$/, '')) {
      const error = location.searchParams.get('error') ?? ''
      if (error === 'invalid_scope') return { mark: 'fail', name, text: 'the callback is registered, but Unity refuses the scope', fix: `set UNITY_SCOPE to scopes client ${config.clientId} may ask for at Unity` }
      if (error === 'unauthorized_client' || error === 'unsupported_response_type') return { mark: 'fail', name, text: `the callback is registered, but Unity answers ${error}`, fix: `allow the authorization_code grant for client ${config.clientId} at Unity` }
      return { mark: 'pass', name, text: `Unity sends the browser back to ${callback}${error ? ` (with ${error})` : ''}` }
    }
    // A session id in the path (oidc-provider's /interaction/<uid>) is shortened.
    const where = location ? location.pathname.replace(/\/[^/]{16,}/g, '/…') : '?'
    return { mark: 'pass', name, text: `Unity sends the browser to sign in (${answer.status} → ${where}), not to an error (legacy Spring checks the redirect URI only after sign-in)` }
  }
  if (UNKNOWN_REDIRECT.test(answer.text)) return { mark: 'fail', name, text: `Unity refuses ${callback} for client ${config.clientId} (${answer.status})`, fix: register }
  if (UNKNOWN_CLIENT.test(answer.text)) return { mark: 'fail', name, text: `Unity does not know client ${config.clientId} (${answer.status})`, fix: 'set UNITY_CLIENT_ID to the client registered at Unity' }
  if (answer.status === 404) return { mark: 'fail', name, text: `GET ${config.authorizeEndpoint} answered 404`, fix: 'set UNITY_URL to the base URL that api/oauth/authorize lives under' }
  if (answer.status >= 400) return { mark: 'fail', name, text: `Unity refuses the authorization request (${answer.status}) without saying why in words the doctor knows`, fix: `open ${config.authorizeEndpoint} with these parameters in a browser and read Unity's page; ${register}` }
  return { mark: 'pass', name, text: `Unity shows a page (${answer.status}), not an error` }
}

/** Unity's discovery document (RFC 8414, OpenID Connect Discovery), if it publishes one. */
async function discover(config: Config, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
  const base = new URL(config.tokenEndpoint.replace(/\/api\/oauth\/token$/, ''))
  const path = base.pathname.replace(/\/$/, '')
  const candidates = [`${base.origin}${path}/.well-known/openid-configuration`, `${base.origin}/.well-known/oauth-authorization-server${path}`, `${base.origin}${path}/.well-known/oauth-authorization-server`]
  for (const url of candidates) {
    const answer = await get(url, timeoutMs)
    if (answer.kind === 'answer' && answer.status === 200 && typeof answer.json?.issuer === 'string') return answer.json
  }
  return undefined
}

function pkceLine(config: Config, discovery: Record<string, unknown> | undefined, authorize: Answer | undefined): CheckLine {
  const name = 'PKCE'
  const location = authorize?.kind === 'answer' ? URL.parse(authorize.headers.get('Location') ?? '', config.authorizeEndpoint) : null
  const enforced = config.pkce === 'off' && location?.searchParams.get('error') === 'invalid_request' && /code_challenge|pkce/i.test(location.searchParams.get('error_description') ?? '')
  if (enforced) return { mark: 'fail', name, text: 'Unity requires PKCE and UNITY_PKCE=off sends none', fix: 'set UNITY_PKCE=S256' }
  const methods = Array.isArray(discovery?.code_challenge_methods_supported) ? discovery.code_challenge_methods_supported : undefined
  if (methods?.includes('S256')) {
    // RFC 9700 §2.1.1: PKCE at Unity binds its code to this flow, against code injection.
    if (config.pkce === 'S256') return { mark: 'pass', name, text: 'Unity supports S256 and UNITY_PKCE=S256 sends it' }
    return { mark: 'fail', name, text: 'Unity supports S256 but UNITY_PKCE=off sends none', fix: 'set UNITY_PKCE=S256 (RFC 9700 §2.1.1)' }
  }
  if (discovery) return { mark: 'info', name, text: `Unity's discovery document lists no S256; UNITY_PKCE=${config.pkce} stays as it is unless Unity's documentation says otherwise` }
  return { mark: 'info', name, text: `Unity publishes no discovery document to say; UNITY_PKCE=${config.pkce} (S256 is harmless where Unity ignores it)` }
}

function issuerLine(config: Config, discovery: Record<string, unknown> | undefined): CheckLine {
  const name = 'issuer'
  const issuer = typeof discovery?.issuer === 'string' ? discovery.issuer : undefined
  const sendsIss = discovery?.authorization_response_iss_parameter_supported === true
  if (issuer !== undefined && sendsIss) {
    if (config.issuer === issuer) return { mark: 'pass', name, text: `Unity sends iss and UNITY_ISSUER matches it (${issuer})` }
    // RFC 9207 §2.4: a client that knows the issuer checks iss on every response (mix-up defence).
    const text = config.issuer === undefined ? `Unity sends iss (${issuer}) but UNITY_ISSUER is not set` : `UNITY_ISSUER is ${config.issuer} but Unity's issuer is ${issuer}`
    return { mark: 'fail', name, text, fix: `set UNITY_ISSUER=${issuer} (RFC 9207)` }
  }
  if (config.issuer !== undefined && discovery) {
    return { mark: 'fail', name, text: "UNITY_ISSUER is set but Unity's discovery document does not say it sends iss, so the relay would refuse every callback without it", fix: 'unset UNITY_ISSUER, unless Unity sends iss after all' }
  }
  if (config.issuer !== undefined) return { mark: 'info', name, text: `UNITY_ISSUER=${config.issuer}; Unity publishes no discovery document to compare it with` }
  return { mark: 'info', name, text: discovery ? 'Unity does not send iss: UNITY_ISSUER stays unset' : 'Unity publishes no discovery document: UNITY_ISSUER stays unset unless Unity sends iss' }
}

function clockLine(answer: Answer): CheckLine {
  const name = 'clock'
  const date = answer.kind === 'answer' ? Date.parse(answer.headers.get('Date') ?? '') : Number.NaN
  if (answer.kind !== 'answer' || Number.isNaN(date)) return { mark: 'info', name, text: 'Unity sent no Date header to compare with' }
  // `Date` is truncated to the second, so half a second is added back; the midpoint of the round trip is when Unity wrote it.
  const skew = Math.round((date + 500 - (answer.sentAt + answer.receivedAt) / 2) / 1000)
  if (Math.abs(skew) <= MAX_CLOCK_SKEW_SECONDS) return { mark: 'pass', name, text: `Unity's clock is within ${Math.max(Math.abs(skew), 1)} s of this machine's` }
  return {
    mark: 'fail',
    name,
    text: `Unity's clock is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} this machine's`,
    fix: "correct the clock that is wrong (NTP): tokens Unity issues look expired, or not yet valid, to apps that check their times",
  }
}

/** `--remote`: the deployed relay at REDIRECT_URI's origin, compared with these settings. */
async function remoteLines(config: Config, timeoutMs: number): Promise<CheckLine[]> {
  if (config.redirectUri === undefined) return [{ mark: 'fail', name: 'deployed relay', text: 'not checked: REDIRECT_URI names where it is', fix: 'set REDIRECT_URI' }]
  const origin = new URL(config.redirectUri).origin
  const health = await get(`${origin}/healthz`, timeoutMs)
  const lines: CheckLine[] = []
  if (health.kind === 'unreachable') return [{ mark: 'fail', name: 'deployed relay', text: `cannot reach ${origin} (${health.cause})`, fix: 'deploy the relay (npm run deploy:check, then wrangler deploy), or correct REDIRECT_URI' }]
  const warnings = Array.isArray(health.json?.warnings) ? health.json.warnings.map(String) : []
  if (health.status === 200 && health.json?.ok === true && warnings.length === 0) lines.push({ mark: 'pass', name: 'deployed relay', text: `${origin}/healthz answers ok` })
  else if (health.status === 200 && health.json?.ok === true) lines.push({ mark: 'fail', name: 'deployed relay', text: `${origin}/healthz warns: ${warnings.join(' ')}`, fix: 'set what the warning names and deploy' })
  else {
    const said = typeof health.json?.error_description === 'string' ? `: ${health.json.error_description}` : ''
    lines.push({ mark: 'fail', name: 'deployed relay', text: `${origin}/healthz answered ${health.status}${said}`, fix: 'set the settings it names (wrangler secret put for secrets) and deploy' })
  }
  const metadata = await get(`${origin}/.well-known/oauth-authorization-server`, timeoutMs)
  const deployed = metadata.kind === 'answer' ? metadata.json : null
  if (!deployed) return [...lines, { mark: 'fail', name: 'deployed settings', text: `${origin} serves no relay metadata`, fix: 'check that REDIRECT_URI points at the relay, and deploy it' }]
  const differences: string[] = []
  if (deployed.issuer !== origin) differences.push(`its issuer is ${String(deployed.issuer)}, not ${origin} (REDIRECT_URI)`)
  if (typeof deployed.relay_state_ttl_seconds === 'number' && deployed.relay_state_ttl_seconds !== config.stateTtlSeconds) differences.push(`STATE_TTL_SECONDS is ${deployed.relay_state_ttl_seconds}, here ${config.stateTtlSeconds}`)
  const scopes = Array.isArray(deployed.scopes_supported) ? deployed.scopes_supported.join(' ') : undefined
  const wanted = [...new Set(config.defaultScope.split(' '))].join(' ')
  if (scopes !== undefined && scopes !== wanted) differences.push(`UNITY_SCOPE is ${scopes}, here ${wanted}`)
  if (differences.length === 0) return [...lines, { mark: 'pass', name: 'deployed settings', text: 'the deployed relay publishes the same issuer, state lifetime and scope as these settings' }]
  return [...lines, { mark: 'fail', name: 'deployed settings', text: `the deployed relay differs: ${differences.join('; ')}`, fix: 'deploy these settings, or check the dashboard’s variables (keep_vars)' }]
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** `length` random base64url characters: a made-up code, state or challenge that no one was issued. */
function randomToken(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length))
  return btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '').slice(0, length)
}

if (import.meta.main) {
  // Node reads an `--env-file` anywhere on its command line as its own, so npm's script passes `--` first; the doctor drops it.
  const argv = process.argv.slice(2)
  let values: { 'env-file'?: string | undefined; remote?: boolean | undefined }
  try {
    values = parseArgs({ args: argv[0] === '--' ? argv.slice(1) : argv, options: { 'env-file': { type: 'string' }, remote: { type: 'boolean', default: false } } }).values
  } catch {
    console.error('Usage: npm run doctor [-- --env-file <settings file>] [--remote]')
    process.exit(2)
  }
  const file = values['env-file']
  let settings: Record<string, string>
  try {
    settings = file ? deploymentSettings(file) : wranglerVars()
  } catch (error) {
    if (!(error instanceof SettingsFileError)) throw error
    console.error(error.message)
    process.exit(1)
  }
  console.log(file ? `Checking wrangler.toml [vars] with ${file} on top, against Unity.` : 'Checking wrangler.toml [vars] against Unity (secrets: pass the deployment’s settings with --env-file F).')
  const lines = await runDoctor({ settings, remote: values.remote })
  for (const line of lines) console.log(formatLine(line))
  process.exitCode = lines.some((line) => line.mark === 'fail') ? 1 : 0
}
