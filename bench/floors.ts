/**
 * @module
 * Bench-only routes, never shipped: a Hono hello route, "floor" routes that do only the WebCrypto
 * and storage work each relay endpoint must do, a peer design that keeps a random state in KV
 * (as Cloudflare's OAuth demos do), and setup routes that seed records and mint signed states.
 * Both bench entries (workerd and Deno) mount the same app, so the figures compare like with like.
 */
import { Hono } from 'hono'
import { bindingCookieName, createBinding } from '../src/binding.ts'
import { importRefreshSealKeys, newGrantId, sealRefreshToken } from '../src/refresh-seal.ts'
import { firstGrantRecord } from '../src/stores/grant-state.ts'
import { apiResponse } from '../src/security-headers.ts'
import { importStateKeys, signState } from '../src/state.ts'
import type { CodeStore, FlowRecord } from '../src/store.ts'
import { benchVerifier } from './settings.ts'
import type { BenchSettings } from './settings.ts'

/** The storage calls the floors and the peer make; each runtime adapts its KV to it. */
export interface BenchKv {
  get(key: string): Promise<unknown>
  put(key: string, value: unknown, ttlSeconds: number): Promise<void>
  delete(key: string): Promise<void>
}

/** What a bench entry provides to {@link createBenchApp}. */
export interface BenchDeps {
  readonly kv: BenchKv
  /** The relay's own store: seeds confirm and save records exactly as `POST /authorize` and `/callback` would, and start grants as a pickup does. */
  readonly store: Pick<CodeStore, 'confirm' | 'save' | 'startGrant'>
  readonly settings: BenchSettings
  /** Unity's token endpoint as the relay sees it (the stub). */
  readonly tokenEndpoint: string
  /** Storage operations made by the counting relay and the peer since the last reset. */
  readonly counts: Record<string, number>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The floors' own minimal encoder, so a floor never benefits from the relay's codec. */
function encode(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0)
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64URL[(n >> 6) & 63]! : '') + (i + 2 < bytes.length ? B64URL[n & 63]! : '')
  }
  return out
}

function decode(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array((text.length * 3) >> 2)
  let bits = 0
  let value = 0
  let at = 0
  for (let i = 0; i < text.length; i++) {
    value = (value << 6) | B64URL.indexOf(text[i]!)
    bits += 6
    if (bits >= 8) {
      bits -= 8
      bytes[at++] = (value >> bits) & 255
    }
  }
  return bytes
}

/** The floor's sealed token: base64url(IV ‖ AES-GCM(JSON)), no version, no key id. */
async function floorSeal(key: CryptoKey, payload: unknown): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, encoder.encode(JSON.stringify(payload))))
  const bytes = new Uint8Array(12 + sealed.length)
  bytes.set(iv)
  bytes.set(sealed, 12)
  return encode(bytes)
}

async function sha256(text: string): Promise<string> {
  return encode(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text))))
}

const PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed in</title></head><body><h1>You are signed in</h1><p>You can close this tab.</p></body></html>'

/** Builds the bench-only app; its routes all live under `/bench/`. */
export function createBenchApp(deps: BenchDeps): Hono {
  const { kv, settings, counts } = deps
  const authorizeEndpoint = `${settings.UNITY_URL}/api/oauth/authorize`
  const keyPromise = crypto.subtle.importKey('raw', encoder.encode(settings.STATE_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
  // The floor's own AES-256 key, derived once per isolate as the relay derives its own.
  const floorSealKey = crypto.subtle
    .digest('SHA-256', encoder.encode(settings.REFRESH_SEAL_SECRET ?? ''))
    .then((raw) => crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']))
  const count = (op: string) => {
    counts[op] = (counts[op] ?? 0) + 1
  }
  const app = new Hono()

  app.get('/bench/hello', (c) => c.text('Hello Hono!'))
  // Not a floor of the issue's: hello with the headers every relay response carries, to price them.
  app.get('/bench/hello-headers', () => apiResponse('Hello Hono!', 200, 'text/plain;charset=UTF-8'))

  // /authorize's floor: 32 random bytes, one SHA-256, one HMAC sign, then a 302.
  const authorizeFloor = async (challenge: string) => {
    const nonce = encode(crypto.getRandomValues(new Uint8Array(32)))
    const hash = await sha256(nonce)
    const signed = `v1.kid.${challenge}.${hash}`
    const signature = encode(new Uint8Array(await crypto.subtle.sign('HMAC', await keyPromise, encoder.encode(signed))))
    return `${signed}.${signature}`
  }
  app.get('/bench/floor/authorize', async (c) => {
    const state = await authorizeFloor(c.req.query('code_challenge') ?? '')
    return c.redirect(`${authorizeEndpoint}?response_type=code&state=${state}`, 302)
  })
  // With the confirmation page: the same, plus the user code's SHA-256, and a page with a form.
  app.get('/bench/floor/authorize-page', async (c) => {
    const challenge = c.req.query('code_challenge') ?? ''
    const state = await authorizeFloor(challenge)
    const code = (await sha256(challenge)).slice(0, 8)
    return c.html(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Confirm</title></head><body><p>${code}</p><form method="post"><input type="hidden" name="state" value="${state}"><button name="decision" value="continue">Continue</button><button name="decision" value="cancel">Cancel</button></form></body></html>`)
  })

  // /callback's floor: one HMAC verify, one SHA-256, one store put and a small HTML page.
  app.get('/bench/floor/callback', async (c) => {
    const state = c.req.query('state') ?? ''
    const dot = state.lastIndexOf('.')
    const ok = await crypto.subtle.verify('HMAC', await keyPromise, decode(state.slice(dot + 1)), encoder.encode(state.slice(0, dot)))
    const hash = await sha256(c.req.header('Cookie') ?? '')
    if (!ok || !hash) return c.text('bad state', 400)
    await kv.put(`floor:${state.slice(dot - 43, dot)}`, { code: c.req.query('code'), redirect_uri: authorizeEndpoint, exp: 0 }, 120)
    return c.html(PAGE)
  })

  // A pending poll's floor: one SHA-256 and one store get.
  app.post('/bench/floor/pending', async (c) => {
    const verifier = new URLSearchParams(await c.req.text()).get('code_verifier') ?? ''
    const record = await kv.get(`flow:${await sha256(verifier)}`)
    return c.json({ error: record ? 'unexpected' : 'authorization_pending' }, 400)
  })

  // /token's floor: one SHA-256, one get, one fetch to the stub and one delete.
  app.post('/bench/floor/token', async (c) => {
    const verifier = new URLSearchParams(await c.req.text()).get('code_verifier') ?? ''
    const key = `flow:${await sha256(verifier)}`
    const record = (await kv.get(key)) as { code?: string } | null
    if (!record?.code) return c.json({ error: 'invalid_grant' }, 400)
    const response = await fetch(deps.tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `grant_type=authorization_code&code=${record.code}&code_verifier=${verifier}`,
    })
    const body = await response.text()
    await kv.delete(key)
    return c.body(body, 200, { 'Content-Type': 'application/json' })
  })

  // A refresh's floor: one AES-GCM open, one store get (the grant), one fetch to the stub, one AES-GCM seal.
  app.post('/bench/floor/refresh', async (c) => {
    const token = new URLSearchParams(await c.req.text()).get('refresh_token') ?? ''
    const sealed = decode(token)
    const key = await floorSealKey
    const opened = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.subarray(0, 12) }, key, sealed.subarray(12)).catch(() => null)
    if (!opened) return c.json({ error: 'invalid_grant' }, 400)
    const [inner, grant, generation] = JSON.parse(decoder.decode(opened)) as [string, string, number]
    if (!(await kv.get(`floor-grant:${grant}`))) return c.json({ error: 'invalid_grant' }, 400)
    const response = await fetch(deps.tokenEndpoint, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${inner}` })
    const body = await response.text()
    const next = await floorSeal(key, [inner, grant, generation + 1])
    return c.body(body.replace('"bench-refresh-token"', JSON.stringify(next)), 200, { 'Content-Type': 'application/json' })
  })

  // A DPoP-bound refresh's floor: the refresh floor, plus one ES256 proof verified (its key imported from
  // the header, the thumbprint hashed, htm, htu and iat checked) and one store put for its jti.
  app.post('/bench/floor/refresh-dpop', async (c) => {
    const [head = '', claims = '', signature = ''] = (c.req.header('DPoP') ?? '').split('.')
    const header = JSON.parse(decoder.decode(decode(head))) as { jwk: { kty: string; crv: string; x: string; y: string } }
    const { kty, crv, x, y } = header.jwk
    const proofKey = await crypto.subtle.importKey('jwk', { kty, crv, x, y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
    const signed = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, proofKey, decode(signature), encoder.encode(`${head}.${claims}`))
    const proof = JSON.parse(decoder.decode(decode(claims))) as { htm: string; htu: string; iat: number; jti: string }
    if (!signed || proof.htm !== 'POST' || proof.htu !== new URL(c.req.url).href || Math.abs(proof.iat - Date.now() / 1000) > 60) return c.json({ error: 'invalid_dpop_proof' }, 400)
    const jkt = await sha256(JSON.stringify({ crv, kty, x, y }))
    await kv.put(`floor-proof:${await sha256(`${jkt}.${proof.jti}`)}`, { exp: proof.iat + 60 }, 60)
    const sealed = decode(new URLSearchParams(await c.req.text()).get('refresh_token') ?? '')
    const key = await floorSealKey
    const opened = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.subarray(0, 12) }, key, sealed.subarray(12)).catch(() => null)
    if (!opened) return c.json({ error: 'invalid_grant' }, 400)
    const [inner, grant, generation, bound] = JSON.parse(decoder.decode(opened)) as [string, string, number, string | null]
    if (bound !== jkt || !(await kv.get(`floor-grant:${grant}`))) return c.json({ error: 'invalid_grant' }, 400)
    const response = await fetch(deps.tokenEndpoint, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${inner}` })
    const body = await response.text()
    const next = await floorSeal(key, [inner, grant, generation + 1, bound])
    return c.body(body.replace('"bench-refresh-token"', JSON.stringify(next)), 200, { 'Content-Type': 'application/json' })
  })

  // The peer design: a random state stored in KV at authorize, read and deleted at the callback.
  app.get('/bench/peer/authorize', async (c) => {
    const challenge = c.req.query('code_challenge') ?? ''
    const state = encode(crypto.getRandomValues(new Uint8Array(32)))
    await kv.put(`peer:${state}`, { cc: challenge, sc: 'api' }, 600)
    count('peer.put')
    const url = new URL(authorizeEndpoint)
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('client_id', settings.UNITY_CLIENT_ID)
    url.searchParams.set('redirect_uri', new URL('/bench/peer/callback', c.req.url).href)
    url.searchParams.set('scope', 'api')
    url.searchParams.set('state', state)
    url.searchParams.set('code_challenge', challenge)
    url.searchParams.set('code_challenge_method', 'S256')
    return c.redirect(url.href, 302)
  })
  app.get('/bench/peer/callback', async (c) => {
    const state = c.req.query('state') ?? ''
    const flow = (await kv.get(`peer:${state}`)) as { cc?: string } | null
    count('peer.get')
    if (!flow?.cc) return c.text('unknown state', 400)
    await kv.delete(`peer:${state}`)
    count('peer.delete')
    const record: FlowRecord = { code: c.req.query('code') ?? '', redirect_uri: new URL('/bench/peer/callback', c.req.url).href, exp: Math.floor(Date.now() / 1000) + 120 }
    await kv.put(`flow:${flow.cc}`, record, 120)
    count('peer.put')
    return c.html(PAGE)
  })

  // Setup, outside any measured run.
  app.post('/bench/seed', async (c) => {
    const { prefix, from, n } = await c.req.json<{ prefix: string; from: number; n: number }>()
    const exp = Math.floor(Date.now() / 1000) + 600
    for (let i = from; i < from + n; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, from + n - i) }, async (_, j) =>
          seedFlow(deps.store, await sha256(benchVerifier(prefix, i + j)), { code: `code-${prefix}-${i + j}`, redirect_uri: 'http://127.0.0.1/callback', exp }),
        ),
      )
    }
    return c.json({ seeded: n })
  })
  app.post('/bench/mint', async (c) => {
    const { prefix, from, n } = await c.req.json<{ prefix: string; from: number; n: number }>()
    const keys = await importStateKeys([settings.STATE_SECRET])
    const now = Math.floor(Date.now() / 1000)
    const minted = await Promise.all(
      Array.from({ length: n }, async (_, j) => {
        const binding = await createBinding()
        const cc = await sha256(benchVerifier(prefix, from + j))
        const state = await signState(keys, { iat: now, exp: now + 600, cc, sc: 'api', bh: binding.hash })
        // The callback takes a result only for a flow whose Continue was pressed.
        await deps.store.confirm(cc, binding.hash, now + 600, 600)
        return { state, cookie: `__Host-${bindingCookieName(binding.hash)}=${binding.nonce}` }
      }),
    )
    return c.json(minted)
  })
  // Refresh tokens for the relay (sealed as a pickup seals them) or for the floor (its own format), one grant each.
  app.post('/bench/mint-refresh', async (c) => {
    const { design, n, jkt } = await c.req.json<{ design: 'relay' | 'floor'; n: number; jkt?: string }>()
    const now = Math.floor(Date.now() / 1000)
    if (design === 'floor') {
      const key = await floorSealKey
      return c.json(await Promise.all(Array.from({ length: n }, async () => {
        const grant = crypto.randomUUID()
        await kv.put(`floor-grant:${grant}`, { generation: 0 }, 600)
        return floorSeal(key, ['bench-refresh-token', grant, 0, jkt ?? null])
      })))
    }
    const keys = await importRefreshSealKeys([settings.REFRESH_SEAL_SECRET ?? ''])
    return c.json(await Promise.all(Array.from({ length: n }, async () => {
      const grantId = newGrantId()
      // As a pickup leaves it: the grant's record at generation 0, then the sealed token.
      await deps.store.startGrant(grantId, firstGrantRecord(now, 600), now)
      return sealRefreshToken(keys, { unityRefreshToken: 'bench-refresh-token', grantId, generation: 0, scope: 'api', issuedAt: now, ...(jkt === undefined ? {} : { jkt }) })
    })))
  })
  app.post('/bench/peer-seed', async (c) => {
    const { prefix, from, n } = await c.req.json<{ prefix: string; from: number; n: number }>()
    const states = await Promise.all(
      Array.from({ length: n }, async (_, j) => {
        const state = encode(crypto.getRandomValues(new Uint8Array(32)))
        await kv.put(`peer:${state}`, { cc: await sha256(benchVerifier(prefix, from + j)), sc: 'api' }, 600)
        return state
      }),
    )
    return c.json(states)
  })
  app.get('/bench/counts', (c) => c.json(counts))
  app.post('/bench/counts/reset', (c) => {
    for (const name of Object.keys(counts)) delete counts[name]
    return c.json({})
  })
  return app
}

const SEED_BINDING = 'bench-seed-binding'

/** A code record as a login leaves it: confirmed, then saved by the callback. */
async function seedFlow(store: BenchDeps['store'], challenge: string, record: FlowRecord): Promise<void> {
  await store.confirm(challenge, SEED_BINDING, record.exp, 600)
  await store.save(challenge, record, 600, { binding: SEED_BINDING })
}
