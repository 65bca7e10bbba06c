/**
 * @module
 * `npm run bench:profile -- <scenario id> [seconds] [deno|workerd]`: runs one bench server (Deno by
 * default) under one scenario's load with V8's sampling profiler attached over the inspector,
 * prints the functions with the most self time on the isolate's thread and writes the profile to
 * bench/.out/<runtime>-<id>.cpuprofile (open it in Chrome DevTools).
 * On workerd the bench entry is bundled with wrangler's settings but not minified, and workerd
 * serves its own inspector (Miniflare's proxy reset the connection under load). V8 counts its
 * builtins (JSON.stringify, string building, promise machinery) as their caller's self time, and
 * time spent outside JavaScript (HTTP, header serialisation, KV) as "(program)" or not at all.
 * Binds 127.0.0.1 only and stops by itself.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { runScenario, scenarios } from './load.ts'
import { freePort, startServer, stopGroup } from './processes.ts'
import type { BenchServer } from './processes.ts'
import { WORKER_BUILD } from './sizes.ts'

const ROOT = resolve(import.meta.dirname, '..')
const OUT = join(ROOT, 'bench/.out')
const BIN = join(ROOT, 'node_modules/.bin')
const [id, seconds = '3', runtime = 'deno'] = process.argv.slice(2)
const scenario = scenarios(true).find((candidate) => candidate.id === id && (runtime === 'workerd' || !candidate.workerdOnly))
if (!scenario || (runtime !== 'deno' && runtime !== 'workerd')) {
  throw new Error(`usage: npm run bench:profile -- <${scenarios(true).map((s) => s.id).join('|')}> [seconds] [deno|workerd]`)
}
mkdirSync(OUT, { recursive: true })

const inspectorPort = await freePort()
const storageDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'uor-profile-'))
const server = await startProfiledServer()
const timeout = setTimeout(() => void stopGroup(server.child), 120_000)
try {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as { title: string; webSocketDebuggerUrl: string }[]
  // workerd lists one target per worker: the relay's, the Unity stub's and Miniflare's own.
  const target = runtime === 'deno' ? targets[0] : targets.find((candidate) => candidate.title.includes('relay'))
  if (!target) throw new Error(`the ${runtime} inspector lists no relay target: ${targets.map((candidate) => candidate.title).join(', ')}`)
  const socket = new WebSocket(target.webSocketDebuggerUrl)
  await new Promise((open) => socket.addEventListener('open', open, { once: true }))
  let lastId = 0
  const replies = new Map<number, (result: unknown) => void>()
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown }
    if (message.id !== undefined) replies.get(message.id)?.(message.result)
  })
  const send = <T>(method: string, params = {}) => new Promise<T>((reply) => {
    replies.set(++lastId, reply as (result: unknown) => void)
    socket.send(JSON.stringify({ id: lastId, method, params }))
  })
  const options = { connections: 32, seconds: Number(seconds), amount: 3000, ticksPerSecond: 100, tag: 'p' }
  await runScenario(server, scenario, { ...options, seconds: 0.5, amount: 300, tag: 'w' })
  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: 100 })
  await send('Profiler.start')
  await runScenario(server, scenario, options)
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
  const { profile } = await send<{ profile: { nodes: Node[]; samples: number[] } }>('Profiler.stop')
  writeFileSync(join(OUT, `${runtime}-${id}.cpuprofile`), JSON.stringify(profile))
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<string, number>()
  for (const sample of profile.samples) {
    const { functionName, url: file, lineNumber } = byId.get(sample)!.callFrame
    const name = `${functionName || '(anonymous)'} ${file.split('/').slice(-2).join('/')}:${lineNumber + 1}`
    self.set(name, (self.get(name) ?? 0) + 1)
  }
  const idle = (self.get('(idle) :0') ?? 0) + (self.get('(idle) :-1') ?? 0)
  const busy = profile.samples.length - idle
  console.log(`self time, % of busy samples (${busy} of ${profile.samples.length}):`)
  for (const [name, count] of [...self].filter(([name]) => !name.startsWith('(idle) ')).sort((a, b) => b[1] - a[1]).slice(0, 35)) console.log(`${((100 * count) / busy).toFixed(1).padStart(5)}  ${name}`)
  socket.close()
} finally {
  clearTimeout(timeout)
  await stopGroup(server.child)
  rmSync(storageDir, { recursive: true, force: true })
}

/** The bench server of `runtime`, with its inspector on `inspectorPort`. */
async function startProfiledServer(): Promise<BenchServer> {
  if (runtime === 'deno') {
    return startServer(join(BIN, 'deno'), ['run', `--inspect=127.0.0.1:${inspectorPort}`, '--allow-net', '--allow-env', '--allow-read', join(ROOT, 'bench/deno.ts')], { ...process.env, NO_COLOR: '1' })
  }
  const bundle = join(OUT, 'profile-worker.js')
  await build({ ...WORKER_BUILD, minify: false, entryPoints: [join(ROOT, 'bench/worker.ts')], outfile: bundle, logLevel: 'warning' })
  return startServer(join(BIN, 'node'), [join(ROOT, 'bench/serve-workerd.ts'), bundle], { ...process.env, TMPDIR: storageDir, BENCH_INSPECTOR_PORT: String(inspectorPort) })
}
