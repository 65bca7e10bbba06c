/**
 * @module
 * Registers contract cases. A case receives `start`, which builds relays on the runtime's real
 * store; after the case, every strict Unity stub it started must have seen exactly what it expected.
 */
import { strict as assert } from 'node:assert'
import { importRefreshSealKeys, newGrantId, openRefreshToken, sealRefreshToken } from '../../src/refresh-seal.ts'
import type { RefreshPayload } from '../../src/refresh-seal.ts'
import type { CodeStore } from '../../src/store.ts'
import { startRelay } from './harness.ts'
import type { Flow, RelayOptions, RelayUnderTest, StoreHarness } from './harness.ts'

/** One HTTP contract case, runnable on any runtime's store. */
export interface ContractCase {
  readonly name: string
  run(harness: StoreHarness): Promise<void>
}

/** Starts a relay for the current case. */
export type Start = (options?: RelayOptions) => Promise<RelayUnderTest>

/** Builds a case from its body. */
export function contract(name: string, body: (start: Start) => Promise<void>): ContractCase {
  return {
    name,
    async run(harness) {
      const started: RelayUnderTest[] = []
      await body(async (options) => {
        const relay = await startRelay(harness, options)
        started.push(relay)
        return relay
      })
      for (const relay of started) relay.unity.verify()
    },
  }
}

/** A browser-facing error: status, an HTML page, and the relay's error code on it. */
export async function assertErrorPage(response: Response, status: number, code: string): Promise<string> {
  const body = await response.text()
  assert.equal(response.status, status, body)
  assert.match(response.headers.get('Content-Type') ?? '', /^text\/html/)
  assert.ok(body.includes(`<code>${code}</code>`), `page should show ${code}: ${body.slice(0, 400)}`)
  return body
}

/** An API error: status and an RFC 6749-style JSON body. */
export async function assertJsonError(response: Response, status: number, error: string): Promise<Record<string, unknown>> {
  const text = await response.text()
  assert.equal(response.status, status, text)
  assert.match(response.headers.get('Content-Type') ?? '', /^application\/json/)
  const body = JSON.parse(text) as Record<string, unknown>
  assert.equal(body.error, error)
  assert.equal(typeof body.error_description, 'string')
  assert.equal(response.headers.get('Cache-Control'), 'no-store')
  return body
}

/** A token answer's sealed refresh token, and what it opened to. */
export interface SealedAnswer {
  /** The parsed answer the app got. */
  readonly body: Record<string, unknown>
  readonly sealed: string
  readonly payload: RefreshPayload
}

/**
 * A 200 token answer under `REFRESH_TOKENS=sealed`: Unity's JSON byte for byte, but for the value
 * of `refresh_token`, a sealed token that opens (with the relay's own keys) to `unityRefreshToken`.
 * `unityBody` must hold its refresh token once, or none for an answer that gets one added.
 */
export async function assertSealedTokens(relay: RelayUnderTest, response: Response, unityBody: string, unityRefreshToken?: string): Promise<SealedAnswer> {
  const text = await response.text()
  assert.equal(response.status, 200, text)
  assert.match(response.headers.get('Content-Type') ?? '', /^application\/json/)
  assert.equal(response.headers.get('Cache-Control'), 'no-store')
  const body = JSON.parse(text) as Record<string, unknown>
  const sealed = body.refresh_token
  assert.equal(typeof sealed, 'string', text)
  assert.match(String(sealed), /^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+$/)
  const inUnity = (JSON.parse(unityBody) as Record<string, unknown>).refresh_token
  if (inUnity === undefined) {
    assert.equal(text, `${unityBody.slice(0, -1)},"refresh_token":${JSON.stringify(sealed)}}`, 'the member is added at the end, the rest unchanged')
  } else {
    assert.equal(unityBody.split(JSON.stringify(inUnity)).length, 2, 'the case’s body holds its refresh token once')
    assert.equal(text, unityBody.replace(JSON.stringify(inUnity), JSON.stringify(sealed)), 'only the refresh token changed')
  }
  const payload = await openRefreshToken(await importRefreshSealKeys(relay.config.refreshSealSecrets), String(sealed))
  assert.equal(payload.unityRefreshToken, unityRefreshToken ?? inUnity)
  return { body, sealed: String(sealed), payload }
}

/**
 * A token sealed with the relay's own current key, as a pickup would have sealed it; `payload`
 * overrides. Its grant is recorded in the relay's store at the token's generation, as if the app
 * had refreshed up to it.
 */
export async function sealedFor(relay: RelayUnderTest, unityRefreshToken: string, payload: Partial<RefreshPayload> = {}): Promise<string> {
  const keys = await importRefreshSealKeys(relay.config.refreshSealSecrets)
  const full: RefreshPayload = { unityRefreshToken, grantId: newGrantId(), generation: 0, scope: 'api', issuedAt: 1_800_000_000, ...payload }
  await recordGrant(relay, full)
  return sealRefreshToken(keys, full)
}

/** Records `payload`'s grant in `relay`'s store at its generation (e.g. a relay on another, empty store). */
export async function recordGrant(relay: RelayUnderTest, payload: Pick<RefreshPayload, 'grantId' | 'generation'>): Promise<void> {
  const now = relay.nowSeconds()
  await relay.store.startGrant(payload.grantId, { generation: payload.generation, exp: now + relay.config.refreshGrantTtlSeconds, rotatedAt: now - 3600 }, now)
}

/** What a page may relax in {@link assertPageHeaders}. */
export interface PageHeaderOptions {
  /** The confirmation page sends `same-origin` so its form post carries an Origin. */
  readonly referrerPolicy?: string
  /** The exact `form-action` directive; default `'none'`. */
  readonly formAction?: string
}

/** The headers every page that may carry a code must have (RFC 9700 §4.2.4, RFC 6749 §5.1). */
export function assertPageHeaders(response: Response, options: PageHeaderOptions = {}): void {
  assert.equal(response.headers.get('Cache-Control'), 'no-store')
  assert.equal(response.headers.get('Referrer-Policy'), options.referrerPolicy ?? 'no-referrer')
  const directives = (response.headers.get('Content-Security-Policy') ?? '').split(';').map((part) => part.trim())
  assert.ok(directives.includes("default-src 'none'"), directives.join('; '))
  assert.ok(directives.includes("frame-ancestors 'none'"), directives.join('; '))
  assert.ok(directives.includes(`form-action ${options.formAction ?? "'none'"}`), directives.join('; '))
  const others = directives.filter((part) => !part.startsWith('form-action '))
  assert.doesNotMatch(others.join('; '), /https?:/, 'no third-party sources')
}

/** The parsed attributes of a Set-Cookie header, lower-cased names. */
export function cookieAttributes(setCookie: string): { name: string; value: string; attributes: Map<string, string> } {
  const [pair = '', ...rest] = setCookie.split(';').map((part) => part.trim())
  const [name = '', value = ''] = pair.split('=')
  const attributes = new Map(rest.map((part) => {
    const [key = '', val = ''] = part.split('=')
    return [key.toLowerCase(), val] as const
  }))
  return { name, value, attributes }
}

/**
 * What a Continue stores for a flow, worked out from the browser's side: the hash of the binding
 * cookie's nonce (`binding:<nonce>`, SHA-256, base64url, 22 characters) and the state's `exp`.
 */
export async function expectedConfirmation(flow: Pick<Flow, 'state' | 'cookie'>): Promise<{ confirmed: string; exp: number }> {
  const nonce = flow.cookie.slice(flow.cookie.indexOf('=') + 1)
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`binding:${nonce}`)))
  const confirmed = btoa(String.fromCharCode(...digest)).replaceAll('+', '-').replaceAll('/', '_').slice(0, 22)
  const payload = flow.state.split('.')[2] ?? ''
  const [, exp] = JSON.parse(atob(payload.replaceAll('-', '+').replaceAll('_', '/'))) as [number, number]
  return { confirmed, exp }
}

/** The flow holds its Continue's confirmation and nothing more: no result was stored. */
export async function assertOnlyConfirmed(relay: RelayUnderTest, flow: Pick<Flow, 'challenge' | 'state' | 'cookie'>): Promise<void> {
  assert.deepEqual(await relay.raw.get(flow.challenge), await expectedConfirmation(flow), 'only the confirmation is stored')
}

/**
 * `store` with the operations in `overrides` replaced and every other member forwarded (methods
 * bound to the real store), so a wrapper names only what it changes and a new store method needs
 * no edit here.
 */
export function withOverrides(store: CodeStore, overrides: Partial<CodeStore>): CodeStore {
  return new Proxy(store, {
    get(target, name) {
      if (Object.hasOwn(overrides, name)) return (overrides as Record<PropertyKey, unknown>)[name]
      const value: unknown = Reflect.get(target, name)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}
