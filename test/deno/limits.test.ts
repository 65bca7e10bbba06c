/**
 * The Deno entry under abuse, over a real socket: per-address limits keyed by the peer address
 * (a forged header buys nothing), the in-process limiter, and huge bodies refused unread.
 */
import { strict as assert } from 'node:assert'
import { buildDenoRelay, serveRelay } from '../../src/deno.ts'
import { MemoryRateLimiter } from '../../src/limits/memory-limiter.ts'
import { TEST_ENV } from '../contract/harness.ts'

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
const MiB = 1024 * 1024

async function served(env: Record<string, string>, run: (origin: string) => Promise<void>): Promise<void> {
  const relay = await buildDenoRelay({ ...TEST_ENV, DENO_KV_PATH: ':memory:', ...env })
  const server = serveRelay(relay, { port: 0, hostname: '127.0.0.1', onListen: () => {} })
  try {
    await run(`http://127.0.0.1:${server.addr.port}`)
  } finally {
    await server.shutdown()
  }
}

Deno.test('Deno entry: /authorize is limited per peer address; forged address headers change nothing', async () => {
  await served({ RATE_LIMIT_AUTHORIZE: '2/60' }, async (origin) => {
    const url = `${origin}/authorize?code_challenge=${CHALLENGE}&code_challenge_method=S256`
    const statuses: number[] = []
    for (const forged of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      const response = await fetch(url, { redirect: 'manual', headers: { 'CF-Connecting-IP': forged, 'X-Forwarded-For': forged, 'X-Real-IP': forged } })
      statuses.push(response.status)
      if (response.status === 429) {
        assert.equal(response.headers.get('Retry-After'), '60')
        assert.match(await response.text(), /<code>rate_limited<\/code>/)
      } else await response.body?.cancel()
    }
    assert.deepEqual(statuses, [200, 200, 429])
  })
})

Deno.test('Deno entry: RATE_LIMIT_DEVICE_GUESS sets the budget of wrong user codes; spent, it closes code entry', async () => {
  await served({ RATE_LIMIT_DEVICE_GUESS: '2/60' }, async (origin) => {
    const statuses: number[] = []
    for (const forged of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      const response = await fetch(`${origin}/device?user_code=BBBB-BBBB`, { headers: { 'X-Forwarded-For': forged } })
      statuses.push(response.status)
      if (response.status === 429) {
        assert.equal(response.headers.get('Retry-After'), '60')
        assert.match(await response.text(), /<code>code_entry_closed<\/code>/)
      } else await response.body?.cancel()
    }
    assert.deepEqual(statuses, [400, 400, 429])
  })
})

Deno.test('Deno entry: a streamed 520 MB POST /token is answered 413 without reading it (the V8 string limit once crashed the server)', async () => {
  await served({}, async (origin) => {
    const chunk = new Uint8Array(64 * 1024).fill(0x61)
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 520 * MiB) return controller.close()
        sent += chunk.byteLength
        controller.enqueue(chunk)
      },
    }, { highWaterMark: 0 })
    const started = performance.now()
    const response = await fetch(`${origin}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body })
    const elapsed = performance.now() - started
    const json = await response.json()
    assert.equal(response.status, 413)
    assert.equal(json.error, 'invalid_request')
    assert.ok(sent < 64 * MiB, `sent ${sent} bytes before the answer`)
    console.log(`520 MB streamed POST /token on Deno: 413 after ${Math.round(elapsed)} ms, ${Math.round(sent / 1024)} KiB sent`)
    // The server is still up.
    assert.equal((await fetch(`${origin}/healthz`)).status, 200)
  })
})

Deno.test('MemoryRateLimiter: counts per key per window and bounds its memory under a key flood', async () => {
  let now = 0
  const limiter = new MemoryRateLimiter({ limit: 2, periodSeconds: 10, clock: () => now, maxKeys: 3 })
  const allowed = async (key: string) => (await limiter.limit({ key })).success
  assert.deepEqual([await allowed('a'), await allowed('a'), await allowed('a'), await allowed('b')], [true, true, false, true])
  assert.equal(await allowed('c'), true)
  assert.equal(await allowed('d'), false, 'a new key is refused while every slot is live')
  now = 10_000
  assert.equal(await allowed('d'), true, 'finished windows are swept to make room')
  assert.equal(await allowed('a'), true, 'the window has passed')
  assert.throws(() => new MemoryRateLimiter({ limit: 0, periodSeconds: 10 }), /limit/)
})
