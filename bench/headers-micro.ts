/**
 * @module
 * The relay's security headers against hono/secure-headers doing the same job, on a bare Hono app
 * answering JSON: `hono` is `secureHeaders()` with the relay's CSP and `Referrer-Policy`, plus
 * the two no-cache headers; `relay` is the one-pass `setSecurityHeaders` the relay's middleware
 * runs on a response Hono made; `template` is `apiResponse`, which copies them from a per-isolate
 * list. Usage: `node bench/headers-micro.ts` (after `npm ci`); it runs the three on workerd (through
 * Miniflare, timed from outside: workerd's clock stands still while a request computes), Deno and
 * Node, in alternating rounds, and prints the median time per request and each ratio to `hono`.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'

const ROOT = join(import.meta.dirname, '..')
const OUT = join(ROOT, 'bench/.out/headers-micro')
const ROUNDS = 15
const REQUESTS = 4000

/** The three apps, and a loop over one of them; bundled as is for each runtime. */
const VARIANTS_SOURCE = `
import { Hono } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { API_CSP, apiResponse, hasSecurityHeaders, setSecurityHeaders } from '../../../src/security-headers.ts'

const hono = new Hono()
hono.use(secureHeaders({ referrerPolicy: 'no-referrer', contentSecurityPolicy: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] } }))
hono.use(async (c, next) => {
  await next()
  c.res.headers.set('Cache-Control', 'no-store')
  c.res.headers.set('Pragma', 'no-cache')
})
hono.get('/healthz', (c) => c.json({ ok: true }))

const relay = new Hono()
relay.use(async (c, next) => {
  await next()
  if (!hasSecurityHeaders(c.res)) setSecurityHeaders(c.res.headers, undefined, undefined)
})
relay.get('/healthz', (c) => c.json({ ok: true }))

const template = new Hono()
template.use(async (c, next) => {
  await next()
  if (!hasSecurityHeaders(c.res)) setSecurityHeaders(c.res.headers, undefined, undefined)
})
template.get('/healthz', () => apiResponse('{"ok":true}', 200, 'application/json'))

const apps = { hono, relay, template }
export const NAMES = Object.keys(apps)

/** Runs n requests through one app; checks that the answer carries the headers. */
export async function run(name, n) {
  const app = apps[name]
  for (let i = 0; i < n; i++) {
    const response = await app.fetch(new Request('https://relay.example.com/healthz'))
    if (response.headers.get('Content-Security-Policy') !== API_CSP || response.headers.get('X-Frame-Options') !== 'SAMEORIGIN') throw new Error(name + ': headers missing')
  }
}
`
const WORKER_SOURCE = `
import { run } from './variants.ts'
export default { async fetch(request) {
  const url = new URL(request.url)
  await run(url.searchParams.get('v'), Number(url.searchParams.get('n')))
  return new Response('done')
} }
`
const IN_PROCESS_SOURCE = `
import { NAMES, run } from './variants.ts'
const rounds = ${ROUNDS}, n = ${REQUESTS}
const samples = Object.fromEntries(NAMES.map((name) => [name, []]))
for (const name of NAMES) await run(name, n)
for (let round = 0; round < rounds; round++) {
  for (const name of NAMES) {
    const started = performance.now()
    await run(name, n)
    samples[name].push(((performance.now() - started) * 1000) / n)
  }
}
console.log(JSON.stringify(samples))
`

type Samples = Record<string, number[]>

mkdirSync(OUT, { recursive: true })
writeFileSync(join(OUT, 'variants.ts'), VARIANTS_SOURCE.replaceAll('../../../src/', `${join(ROOT, 'src')}/`))
writeFileSync(join(OUT, 'worker.js'), WORKER_SOURCE)
writeFileSync(join(OUT, 'in-process.js'), IN_PROCESS_SOURCE)
const bundle = (entry: string, outfile: string) => build({ entryPoints: [join(OUT, entry)], outfile: join(OUT, outfile), bundle: true, format: 'esm', platform: 'neutral', minify: true, logLevel: 'warning' })
await bundle('worker.js', 'worker.bundle.js')
await bundle('in-process.js', 'in-process.bundle.js')

async function onWorkerd(): Promise<Samples> {
  const mf = new Miniflare(convertV4MiniflareOptions({ workers: [{ name: 'headers', modules: true, scriptPath: join(OUT, 'worker.bundle.js'), compatibilityDate: '2026-11-01' }] }))
  try {
    const time = async (name: string) => {
      const started = performance.now()
      const response = await mf.dispatchFetch(`http://bench/?v=${name}&n=${REQUESTS}`)
      if ((await response.text()) !== 'done') throw new Error(`workerd ${name} failed`)
      return ((performance.now() - started) * 1000) / REQUESTS
    }
    const names = ['hono', 'relay', 'template']
    for (const name of names) await time(name)
    const samples: Samples = Object.fromEntries(names.map((name) => [name, []]))
    for (let round = 0; round < ROUNDS; round++) for (const name of names) samples[name]!.push(await time(name))
    return samples
  } finally {
    await mf.dispose()
  }
}

const inProcess = (command: string, args: string[]): Samples => JSON.parse(execFileSync(command, args, { env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 }).toString()) as Samples
const results: Record<string, Samples> = {
  workerd: await onWorkerd(),
  deno: inProcess(join(ROOT, 'node_modules/.bin/deno'), ['run', join(OUT, 'in-process.bundle.js')]),
  node: inProcess(process.execPath, [join(OUT, 'in-process.bundle.js')]),
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!
for (const [runtime, samples] of Object.entries(results)) {
  const hono = samples.hono!
  const row = Object.entries(samples).map(([name, values]) => {
    // Ratio per round, then the median: a noisy moment slows both sides of a round alike.
    const ratio = median(values.map((value, i) => value / hono[i]!))
    return `${name} ${median(values).toFixed(2)} µs (${ratio.toFixed(2)}×)`
  })
  console.log(`${runtime}: ${row.join(', ')}`)
}
