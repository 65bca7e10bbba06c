/**
 * @module
 * `npm run test:load:held`: held pickups at scale on one dev server (`wrangler dev`,
 * CODE_STORE=durable-object, loopback only). LOAD_HELD_FLOWS apps (500) each hold a pickup with
 * `Prefer: wait=20` (re-polling at once when a hold ends) before any user signs in; then every
 * flow's login runs headlessly through the stand-in to its callback, LOAD_CONCURRENCY (8) at a
 * time. Reports the relay's memory (RSS of its process group: wrangler, its proxy and workerd)
 * before, with every pickup held, and after, and the held pickups' answers.
 *
 * Pass: every app got its tokens exactly once, each access token distinct, no 5xx, all within
 * LOAD_SECONDS (180).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { headlessLogin } from '../support/headless-login.ts'
import { BASIC_CLIENT, delay, startRelay, startStandin } from '../e2e/harness.ts'

const FLOWS = Number(process.env.LOAD_HELD_FLOWS ?? 500)
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 8)
const SECONDS = Number(process.env.LOAD_SECONDS ?? 180)
const PORT = Number(process.env.LOAD_PORT ?? 8792)
const PAGE_KIB = 4

/** Resident memory of every process in group `leader`, MiB. */
function groupRssMiB(leader: number): number {
  let pages = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // proc(5): field 5 is the process group, field 24 the resident set in pages (counted after the command name).
      if (Number(fields[2]) === leader) pages += Number(fields[21])
    } catch {
      // The process ended while the table was read.
    }
  }
  return (pages * PAGE_KIB) / 1024
}

/** The address of flow `index`, as Cloudflare's edge would name it: one per app, so no per-address limit counts them together. */
const addressOf = (index: number) => `10.9.${index >> 8}.${index & 255}`

const standin = await startStandin()
const relay = await startRelay({ port: PORT, standin, vars: { UNITY_CLIENT_ID: BASIC_CLIENT.clientId, CODE_STORE: 'durable-object' } })
const deadline = Date.now() + SECONDS * 1000
const answers = new Map<string, number>()
const count = (what: string) => answers.set(what, (answers.get(what) ?? 0) + 1)
const failures: string[] = []
const accessTokens = new Set<string>()
let held = 0
let got = 0
/** How long each answered pickup took, ms. */
const durations: number[] = []

const flows = await Promise.all(Array.from({ length: FLOWS }, async () => {
  const verifier = makeVerifier()
  return { verifier, challenge: await challengeOf(verifier) }
}))

/** The app of flow `index`: holds its pickup until it has tokens, a final refusal, or the deadline. */
async function app(index: number): Promise<void> {
  const { verifier } = flows[index]!
  for (;;) {
    if (Date.now() > deadline) throw new Error('no tokens before the deadline')
    held++
    const sent = performance.now()
    const response = await fetch(`${relay.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Prefer: 'wait=20', 'CF-Connecting-IP': addressOf(index) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code_verifier: verifier }),
      // openid-client's request timeout: a hold of 20 s plus the lookup must stay within it.
      signal: AbortSignal.timeout(30_000),
    }).finally(() => held--)
    durations.push(performance.now() - sent)
    const body = (await response.json()) as { access_token?: string; error?: string }
    count(`${response.status} ${body.error ?? 'tokens'}${response.headers.has('Preference-Applied') ? ' (held)' : ''}`)
    if (response.status === 200 && body.access_token) {
      if (accessTokens.has(body.access_token)) throw new Error('an access token was handed out twice')
      accessTokens.add(body.access_token)
      got++
      return
    }
    if (body.error !== 'authorization_pending') throw new Error(`pickup answered ${response.status} ${body.error ?? ''}`)
  }
}

const before = groupRssMiB(relay.pid)
const started = Date.now()
let apps: Promise<void>[] = []
let heldRss = before
let after = before
try {
  apps = flows.map((_, index) => app(index).catch((error: unknown) => void failures.push(`app ${index}: ${(error as Error).message}`)))
  while (held < FLOWS && Date.now() < started + 10_000) await delay(50)
  await delay(1000)
  const allHeld = held
  heldRss = groupRssMiB(relay.pid)
  console.log(`${allHeld} of ${FLOWS} pickups held at once after ${((Date.now() - started) / 1000).toFixed(1)} s; relay RSS ${before.toFixed(0)} MiB before, ${heldRss.toFixed(0)} MiB held (${(((heldRss - before) * 1024) / Math.max(allHeld, 1)).toFixed(1)} KiB per held pickup)`)
  let next = 0
  const loginsStarted = Date.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let index = next++; index < FLOWS; index = next++) {
      const query = new URLSearchParams({ code_challenge: flows[index]!.challenge, code_challenge_method: 'S256' })
      const withAddress: typeof fetch = (input, init) => {
        const headers = new Headers(init?.headers)
        headers.set('CF-Connecting-IP', addressOf(index))
        return fetch(input, { ...init, headers })
      }
      const result = await headlessLogin(`${relay.url}/authorize?${query}`, { username: `held-user-${index}`, fetch: withAddress }).catch((error: unknown) => ({ status: 0, finalUrl: String(error) }))
      if (result.status !== 200) failures.push(`login ${index}: ended at ${result.finalUrl} with ${result.status}`)
    }
  }))
  console.log(`${FLOWS} logins (callbacks) in ${((Date.now() - loginsStarted) / 1000).toFixed(1)} s`)
  await Promise.all(apps)
  after = groupRssMiB(relay.pid)
} finally {
  await relay.stop()
  await standin.close()
}

console.log(`relay RSS after: ${after.toFixed(0)} MiB`)
const sorted = durations.sort((a, b) => a - b)
const at = (p: number) => (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN).toFixed(0)
console.log(`pickups answered: ${sorted.length}; time to answer p50 ${at(50)} ms, p99 ${at(99)} ms, max ${at(100)} ms`)
for (const [answer, n] of [...answers].sort()) console.log(`  ${String(n).padStart(5)} × ${answer}`)
for (const line of failures.slice(0, 10)) console.log(`FAIL ${line}`)
const ok = failures.length === 0 && got === FLOWS && accessTokens.size === FLOWS && ![...answers.keys()].some((answer) => answer.startsWith('5'))
console.log(`${got} of ${FLOWS} apps got their tokens, ${accessTokens.size} distinct access tokens, ${failures.length} failures`)
process.exit(ok ? 0 : 1)
