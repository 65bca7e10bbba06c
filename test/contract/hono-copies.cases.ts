/**
 * @module
 * The two places where the relay does a job a Hono middleware also does, compared with that
 * middleware as installed, so that a Hono upgrade that changes it turns these red: the fixed
 * security headers against hono/secure-headers' defaults, and the confirmation POST's
 * cross-site check against hono/csrf. Why the relay keeps its own: README → "Performance"
 * (`bench/headers-micro.ts`) and the JSDoc of `fromRelayPage` in `src/routes/authorize.ts`.
 */
import { strict as assert } from 'node:assert'
import { Hono } from 'hono'
import { csrf } from 'hono/csrf'
import { secureHeaders } from 'hono/secure-headers'
import { contract } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'

/** The headers a response carries, Content-Type and Content-Length aside, lower-cased and sorted. */
function headerMap(response: Response): Record<string, string> {
  const skip = new Set(['content-type', 'content-length'])
  return Object.fromEntries([...response.headers].filter(([name]) => !skip.has(name)).sort(([a], [b]) => a.localeCompare(b)))
}

const SITES = [undefined, 'same-origin', 'same-site', 'cross-site', 'none'] as const
const ORIGINS = [undefined, RELAY_ORIGIN, 'https://evil.example', 'null'] as const

/**
 * Where the two checks answer differently, each as `Sec-Fetch-Site Origin` (`-` for none). The
 * relay lets through a POST with neither header (an old browser: the binding cookie still guards
 * it) and refuses one whose headers contradict each other; hono/csrf does the opposite.
 */
const KNOWN_DIFFERENCES = {
  relayOnlyAllows: ['- -', 'none -'],
  honoOnlyAllows: ['same-origin https://evil.example', 'same-origin null', 'same-site https://relay.example.com', 'cross-site https://relay.example.com'],
}

export const honoCopiesCases = [
  contract('headers: the fixed security headers are hono/secure-headers\u2019 defaults, plus no caching and the relay\u2019s CSP', async (start) => {
    const relay = await start()
    const ours = headerMap(await relay.fetch('/healthz'))
    const hono = new Hono()
    hono.use(secureHeaders())
    hono.get('/', (c) => c.json({ ok: true }))
    const theirs = headerMap(await hono.request('/'))
    for (const [name, value] of Object.entries(theirs)) assert.equal(ours[name], value, `${name}: the relay sets hono/secure-headers' default`)
    const added = Object.keys(ours).filter((name) => !(name in theirs))
    assert.deepEqual(added, ['cache-control', 'content-security-policy', 'pragma'], 'what the relay adds to them')
  }),

  contract('confirm: the cross-site check answers as hono/csrf does, except where the relay says why', async (start) => {
    const relay = await start()
    const flow = await relay.open()
    const hono = new Hono()
    hono.use(csrf({ origin: RELAY_ORIGIN }))
    hono.post('/authorize', (c) => c.text('passed'))
    const relayOnlyAllows: string[] = []
    const honoOnlyAllows: string[] = []
    for (const site of SITES) {
      for (const origin of ORIGINS) {
        const headers: Record<string, string | undefined> = { 'Sec-Fetch-Site': site, Origin: origin }
        const response = await relay.decide(flow, 'cancel', { headers })
        const body = await response.text()
        const relayAllows = !(response.status === 403 && body.includes('<code>cross_site_request</code>'))
        const sent = Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined))
        const honoAnswer = await hono.request('/authorize', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...sent }, body: 'decision=cancel' })
        const honoAllows = honoAnswer.status === 200
        const pair = `${site ?? '-'} ${origin ?? '-'}`
        if (relayAllows && !honoAllows) relayOnlyAllows.push(pair)
        if (honoAllows && !relayAllows) honoOnlyAllows.push(pair)
      }
    }
    assert.deepEqual({ relayOnlyAllows, honoOnlyAllows }, KNOWN_DIFFERENCES)
  }),
]
