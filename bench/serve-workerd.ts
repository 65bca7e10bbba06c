/**
 * @module
 * Serves the bench bundle in workerd through Miniflare, with the bindings wrangler.toml declares
 * (real local KV, in memory) and Unity played by a stub worker on the outbound path. The relay is
 * reached on a direct socket, so no proxy or entry worker sits in front of it.
 *
 * Usage: node bench/serve-workerd.ts <bundle.js>. Prints `{"url","pid"}` (pid: the workerd
 * process) on one line, then serves until its stdin closes, so it never outlives the bench.
 * With `BENCH_INSPECTOR_PORT`, workerd itself serves the V8 inspector on that port of 127.0.0.1
 * (no Miniflare proxy in between, which reset the connection under load), for `bench:profile`.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'
import { unstable_getMiniflareWorkerOptions } from 'wrangler'
import { BENCH_SETTINGS, STUB_TOKEN_BODY } from './settings.ts'

const [bundlePath] = process.argv.slice(2)
if (!bundlePath) throw new Error('usage: serve-workerd.ts <bundle.js>')

const { workerOptions } = unstable_getMiniflareWorkerOptions('wrangler.toml')
// All load comes from one address: every [[ratelimits]] binding keeps its name but not its limit.
type RateLimitBinding = { namespace_id: string; simple: { limit: number; period?: 10 | 60 } }
const ratelimits = Object.fromEntries(
  Object.entries((workerOptions.ratelimits ?? {}) as Record<string, RateLimitBinding>).map(([name, binding]) => [name, { ...binding, simple: { ...binding.simple, limit: 1_000_000 } }]),
)
// Content-Length as Unity's Tomcat sends it for a body that fits its buffer (and as Deno.serve adds for the Deno stub): on a service binding workerd adds none itself.
const stubHeaders = { 'Content-Type': 'application/json', 'Content-Length': String(new TextEncoder().encode(STUB_TOKEN_BODY).byteLength) }
const stub = `export default { fetch: () => new Response(${JSON.stringify(STUB_TOKEN_BODY)}, { headers: ${JSON.stringify(stubHeaders)} }) }`

const options: Parameters<typeof convertV4MiniflareOptions>[0] = {
  workers: [
    {
      ...(workerOptions as Record<string, unknown>),
      name: 'relay',
      modules: [{ type: 'ESModule', path: 'worker.js', contents: readFileSync(bundlePath, 'utf8') }],
      bindings: { ...(workerOptions.bindings as Record<string, string>), ...BENCH_SETTINGS },
      ratelimits,
      outboundService: 'unity',
      unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
    },
    { name: 'unity', modules: true, script: stub, compatibilityDate: workerOptions.compatibilityDate as string },
  ],
  // No persistence path: KV and Durable Object data live under TMPDIR, cleared by dispose().
  ...(process.env.BENCH_INSPECTOR_PORT ? { inspectorPort: Number(process.env.BENCH_INSPECTOR_PORT) } : {}),
}
const mf = new Miniflare(convertV4MiniflareOptions(options))

const url = await mf.unsafeGetDirectURL('relay')
console.log(JSON.stringify({ url: url.href, pid: workerdPid() }))

process.stdin.resume()
process.stdin.on('end', () => void mf.dispose().finally(() => process.exit(0)))
process.on('SIGTERM', () => void mf.dispose().finally(() => process.exit(0)))

function workerdPid(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[1]) === process.pid && stat.includes('(workerd)')) return Number(entry)
    } catch {
      // The process ended while the table was read.
    }
  }
  throw new Error('workerd child not found')
}
