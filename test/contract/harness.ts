/**
 * @module
 * Runtime-neutral harness for the HTTP contract cases. A runtime supplies only a
 * {@link StoreHarness} (its real store plus raw access to what it holds); everything else here
 * is plain web APIs, so the same cases run in workerd and on Deno.
 */
import { createRelay } from '../../src/app.ts'
import type { Relay, RelayLimiters } from '../../src/app.ts'
import { parseConfig } from '../../src/config.ts'
import type { Config } from '../../src/config.ts'
import type { LogFields, Logger } from '../../src/log.ts'
import type { CodeStore } from '../../src/store.ts'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { createStrictUnity } from '../support/unity-stub.ts'
import type { StrictUnity } from '../support/unity-stub.ts'

/**
 * The harness plays the runtime entry, which names each request's client address: it takes it
 * from this header, as the Workers entry takes `CF-Connecting-IP`.
 */
export const TEST_PEER_HEADER = 'X-Test-Peer'

/** The harness plays Cloudflare's `request.cf` too: a request's country and network come from these. */
export const TEST_COUNTRY_HEADER = 'X-Test-Country'
export const TEST_NETWORK_HEADER = 'X-Test-Network'

/** Where the relay under test pretends to be served. */
export const RELAY_ORIGIN = 'https://relay.example.com'

/** Settings for the relay under test. The secret needs form-urlencoding, which the Basic vector checks. */
export const TEST_ENV: Readonly<Record<string, string>> = {
  UNITY_URL: 'https://unity.example.com/vu/public',
  UNITY_CLIENT_ID: 'relay-test',
  UNITY_CLIENT_SECRET: 'p@ss word:+/ü',
  STATE_SECRET: 'test-state-secret-0123456789abcdef-0123',
  REFRESH_SEAL_SECRET: 'test-refresh-seal-secret-0123456789abcdef',
  RETURN_TO_ALLOWLIST: 'https://app.example.com https://desk.example.org:8443',
  // Device polls are answered at once, as the device cases expect; held.cases.ts turns holds on.
  DEVICE_HOLD_SECONDS: '0',
}

/** RFC 6749 §2.3.1 Basic value for relay-test / `p@ss word:+/ü`, computed outside the relay. */
export const TEST_BASIC_HEADER = 'Basic cmVsYXktdGVzdDpwJTQwc3Mrd29yZCUzQSUyQiUyRiVDMyVCQw=='

/** Raw view of the store's backend, for asserting what was really written. */
export interface RawRecords {
  /** The stored value for a challenge, parsed from JSON, or `null`. */
  get(challenge: string): Promise<unknown>
  /** The stored value for a user code, parsed from JSON, or `null`. */
  getDevice(userCode: string): Promise<unknown>
  /** When the backend itself will drop the entry (Unix seconds), if it says. */
  expiration(challenge: string): Promise<number | undefined>
  /** The DPoP replay cache's value for a proof key, parsed from JSON, or `null`. */
  getProof(key: string): Promise<unknown>
  /** How many flow records exist. */
  count(): Promise<number>
  /** The stored record of a refresh grant, parsed from JSON, or `null`. */
  getGrant(grantId: string): Promise<unknown>
}

/** What a runtime provides: a fresh real store and a raw view of it. */
export interface StoreHarness {
  open(): Promise<{ store: CodeStore; raw: RawRecords }>
}

/** Options for one relay under test. */
export interface RelayOptions {
  /** Settings added to or removed from {@link TEST_ENV} (`undefined` removes). */
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly limiters?: RelayLimiters
  /** Wraps the strict Unity stub's fetch, e.g. to inject a fault. */
  readonly wrapFetch?: (fetch: typeof globalThis.fetch) => typeof globalThis.fetch
  readonly upstreamTimeoutMs?: number
  /** Wraps the real store, e.g. to inject a fault. */
  readonly wrapStore?: (store: CodeStore) => CodeStore
  /** Replaces the clock; the default starts at the real time and moves only when told. */
  readonly clock?: () => number
}

/** A relay wired to a real store, a strict Unity stub, a manual clock and a recording logger. */
export interface RelayUnderTest {
  readonly app: Relay
  readonly config: Config
  readonly raw: RawRecords
  /** The store the relay uses (unwrapped), e.g. to seed a grant record. */
  readonly store: CodeStore
  readonly unity: StrictUnity
  readonly logs: string[]
  /** The relay's clock, Unix seconds. */
  nowSeconds(): number
  /** Moves the relay's clock forward. */
  advance(seconds: number): void
  /** Sends a request to the relay; `path` is relative to {@link RELAY_ORIGIN}. */
  fetch(path: string, init?: RequestInit): Promise<Response>
  /**
   * GET /authorize like a browser that an app opened (`Sec-Fetch-Site: none`): the confirmation
   * page (or, with CONFIRM_PAGE=never, the redirect), its cookie and state. `headers` replace or
   * (`undefined`) remove the browser's.
   */
  open(params?: FlowParams, headers?: Readonly<Record<string, string | undefined>>): Promise<Opened>
  /** POST /authorize as the page's form does: same origin, with the flow's cookie unless told otherwise. */
  decide(opened: Opened, decision: string, options?: DecideOptions): Promise<Response>
  /** Starts a flow like a browser and a user who presses Continue: ends at Unity's authorize URL. */
  authorize(params?: FlowParams): Promise<Flow>
  /** Unity's redirect back to the relay for `flow`, with the flow's cookie unless told otherwise. */
  callback(flow: Pick<Flow, 'cookie'>, params: Record<string, string>, options?: { cookie?: string | null }): Promise<Response>
  /** The app's pickup: POST /token with the flow's verifier. */
  pickup(verifier: string, extra?: Record<string, string>): Promise<Response>
}

/** Query parameters an app may send to /authorize. */
export interface FlowParams {
  readonly scope?: string
  readonly return_to?: string
  /** Reuses a verifier, i.e. another flow with the same challenge (default: a fresh one). */
  readonly verifier?: string
}

/** What GET /authorize gave the browser. */
export interface Opened {
  readonly verifier: string
  readonly challenge: string
  readonly state: string
  /** `name=value` of the binding cookie, as a browser would send it back. */
  readonly cookie: string
  readonly response: Response
  /** The confirmation page's HTML ('' for a redirect). */
  readonly page: string
}

/** How {@link RelayUnderTest.decide} departs from the page's own form post. */
export interface DecideOptions {
  /** Another cookie header, or `null` for none. */
  readonly cookie?: string | null
  /** Headers that replace the browser-like defaults (`Origin`, `Sec-Fetch-Site`); `undefined` removes one. */
  readonly headers?: Readonly<Record<string, string | undefined>>
  /** Another state than the page's. */
  readonly state?: string
  /** Sends `pick=<code>` (a choice on the page reached from another site) instead of `decision`. */
  readonly pick?: string
}

/** A flow started at /authorize and confirmed. */
export interface Flow {
  readonly verifier: string
  readonly challenge: string
  readonly state: string
  /** `name=value` of the binding cookie, as a browser would send it back. */
  readonly cookie: string
  readonly location: URL
}

/** Starts a relay under test on the given store harness. */
export async function startRelay(harness: StoreHarness, options: RelayOptions = {}): Promise<RelayUnderTest> {
  const { store, raw } = await harness.open()
  const env: Record<string, string> = { ...TEST_ENV }
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  const config = parseConfig(env)
  const unity = createStrictUnity({
    tokenEndpoint: config.tokenEndpoint,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    auth: config.tokenAuth,
    basicHeader: TEST_BASIC_HEADER,
  })
  let now = Date.now()
  const logs: string[] = []
  const record = (level: string) => (event: string, fields?: LogFields) => logs.push(JSON.stringify({ level, event, ...fields }))
  const log: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }
  const app = createRelay({
    config,
    store: options.wrapStore ? options.wrapStore(store) : store,
    fetch: options.wrapFetch ? options.wrapFetch(unity.fetch) : unity.fetch,
    clock: options.clock ?? (() => now),
    log,
    clientIp: (request) => request.headers.get(TEST_PEER_HEADER) ?? undefined,
    placeOf: (request) => ({ country: request.headers.get(TEST_COUNTRY_HEADER), network: request.headers.get(TEST_NETWORK_HEADER) }),
    ...(options.limiters ? { limiters: options.limiters } : {}),
    ...(options.upstreamTimeoutMs === undefined ? {} : { upstreamTimeoutMs: options.upstreamTimeoutMs }),
  })
  const relayFetch = (path: string, init?: RequestInit) => Promise.resolve(app.request(`${RELAY_ORIGIN}${path}`, init))

  const openFlow = async ({ verifier = makeVerifier(), ...params }: FlowParams = {}, headers: Readonly<Record<string, string | undefined>> = {}): Promise<Opened> => {
    const challenge = await challengeOf(verifier)
    const query = new URLSearchParams({ code_challenge: challenge, code_challenge_method: 'S256', ...params })
    const response = await relayFetch(`/authorize?${query}`, { headers: browserHeaders({ 'Sec-Fetch-Site': 'none', ...headers }) })
    const expected = config.confirmPage === 'never' ? 302 : 200
    const page = response.status === 200 ? await response.text() : ''
    if (response.status !== expected) throw new Error(`/authorize answered ${response.status}: ${page}`)
    const state = page ? (/name="state" value="([^"]+)"/.exec(page)?.[1] ?? '') : (new URL(response.headers.get('Location') ?? '').searchParams.get('state') ?? '')
    const cookie = (response.headers.get('Set-Cookie') ?? '').split(';')[0] ?? ''
    return { verifier, challenge, state, cookie, response, page }
  }

  const decide = (opened: Opened, decision: string, options: DecideOptions = {}): Promise<Response> => {
    const headers: Record<string, string | undefined> = {
      'Content-Type': 'application/x-www-form-urlencoded',
      // The browser sends the page's public origin, which REDIRECT_URI names when it is set.
      Origin: new URL(config.redirectUri ?? RELAY_ORIGIN).origin,
      'Sec-Fetch-Site': 'same-origin',
      Cookie: options.cookie === undefined ? opened.cookie : (options.cookie ?? undefined),
      ...options.headers,
    }
    const form: Record<string, string> = options.pick === undefined ? { decision } : { pick: options.pick }
    return relayFetch('/authorize', { method: 'POST', headers: browserHeaders(headers), body: new URLSearchParams({ state: options.state ?? opened.state, ...form }) })
  }

  return {
    app,
    config,
    raw,
    store,
    unity,
    logs,
    nowSeconds: () => Math.floor((options.clock ?? (() => now))() / 1000),
    advance(seconds) {
      now += seconds * 1000
    },
    fetch: relayFetch,
    open: openFlow,
    decide,
    async authorize(params = {}) {
      const opened = await openFlow(params)
      const { verifier, challenge, state, cookie } = opened
      if (config.confirmPage === 'never') {
        if (opened.response.status !== 302) throw new Error(`/authorize answered ${opened.response.status}: ${opened.page}`)
        return { verifier, challenge, state, cookie, location: new URL(opened.response.headers.get('Location') ?? '') }
      }
      const response = await decide(opened, 'continue')
      if (response.status !== 303) throw new Error(`POST /authorize answered ${response.status}: ${await response.text()}`)
      return { verifier, challenge, state, cookie, location: new URL(response.headers.get('Location') ?? '') }
    },
    callback(flow, params, { cookie } = {}) {
      const sent = cookie === undefined ? flow.cookie : cookie
      return relayFetch(`/callback?${new URLSearchParams(params)}`, sent === null ? {} : { headers: { Cookie: sent } })
    },
    pickup(verifier, extra = {}) {
      return relayFetch('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code_verifier: verifier, ...extra }),
      })
    },
  }
}

/** Request headers without the ones set to `undefined`. */
function browserHeaders(headers: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined))
}
