/**
 * @module
 * Bundle size and cold start. The shipped bundle comes from `wrangler deploy --dry-run` with the
 * project's wrangler.toml; the hello-world Hono worker is built by the same command from a copy
 * of that config's top-level keys whose `main` points at bench/hello-worker.ts. Cold start is the time from
 * spawning `workerd serve` (or `deno run`) to the first response, alternating the two.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import type { BuildOptions } from 'esbuild'
import { BENCH_SETTINGS } from './settings.ts'
import { freePort, startGroup, stopGroup } from './processes.ts'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..')
const BIN = join(ROOT, 'node_modules/.bin')

/** Gzip sizes of the shipped bundle and of hello-world, built the same way. */
export interface BundleSizes {
  readonly relayGzipBytes: number
  readonly helloGzipBytes: number
  readonly relayMinifiedBytes: number
  /** Minified bytes of the pages (src/pages.ts) and the hono/html helpers they use, from esbuild's metafile. */
  readonly pagesMinifiedBytes: number
  /** What `keep_names = true` adds to the minified bundle. */
  readonly keepNamesMinifiedBytes: number
  readonly keepNamesGzipBytes: number
}

/** Builds both workers with wrangler and returns their entry bundles' paths and sizes. */
export async function buildBundles(outDir: string): Promise<{ relayBundle: string; helloBundle: string; sizes: BundleSizes }> {
  mkdirSync(outDir, { recursive: true })
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
  const helloToml = join(outDir, 'hello.wrangler.toml')
  // The top-level keys are what shape the build (compatibility date and flags, minify, keep_names);
  // the tables after them declare bindings, which hello-world neither has nor exports classes for.
  const firstTable = toml.search(/^\[/m)
  const buildKeys = firstTable < 0 ? toml : toml.slice(0, firstTable)
  writeFileSync(helloToml, buildKeys.replace(/^main\s*=.*$/m, `main = "${join(ROOT, 'bench/hello-worker.ts')}"`).replace(/^name\s*=.*$/m, 'name = "bench-hello"'))
  // wrangler's bin runs on the first `node` on PATH: the bundled Node 24.
  const env = { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ''}`, WRANGLER_SEND_METRICS: 'false', CI: '1' }
  const dryRun = (config: string, out: string) =>
    run(join(BIN, 'wrangler'), ['deploy', '--dry-run', '--config', config, '--outdir', out], { cwd: ROOT, env, timeout: 60_000 })
  await Promise.all([dryRun(join(ROOT, 'wrangler.toml'), join(outDir, 'relay-dist')), dryRun(helloToml, join(outDir, 'hello-dist'))])
  const relayBundle = join(outDir, 'relay-dist/index.js')
  const helloBundle = join(outDir, 'hello-dist/hello-worker.js')
  const relayCode = readFileSync(relayBundle)
  return {
    relayBundle,
    helloBundle,
    sizes: {
      relayGzipBytes: gzipSync(relayCode).byteLength,
      helloGzipBytes: gzipSync(readFileSync(helloBundle)).byteLength,
      relayMinifiedBytes: relayCode.byteLength,
      ...(await analyse()),
    },
  }
}

/** esbuild settings for a Worker bundle, as wrangler builds one; every bench build uses them. */
export const WORKER_BUILD = {
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2024',
  conditions: ['workerd', 'worker', 'browser'],
  mainFields: ['module', 'main'],
  external: ['cloudflare:*'],
  // For `bench:ab` baselines from before the pages moved to hono/html; nothing here uses JSX now.
  jsx: 'automatic',
  jsxImportSource: 'hono/jsx',
} as const satisfies BuildOptions

/** esbuild with wrangler's settings, to split the bundle by module and price `keep_names`. */
async function analyse(): Promise<Pick<BundleSizes, 'pagesMinifiedBytes' | 'keepNamesMinifiedBytes' | 'keepNamesGzipBytes'>> {
  const once = (keepNames: boolean) =>
    build({
      ...WORKER_BUILD,
      entryPoints: [join(ROOT, 'src/index.ts')],
      write: false,
      metafile: true,
      keepNames,
      logLevel: 'silent',
    })
  const [without, withNames] = await Promise.all([once(false), once(true)])
  const output = Object.values(without.metafile.outputs)[0]!
  const pagesMinifiedBytes = Object.entries(output.inputs)
    .filter(([path]) => /hono\/dist\/(helper\/html|utils\/html)|src\/pages\.ts$/.test(path))
    .reduce((sum, [, input]) => sum + input.bytesInOutput, 0)
  const size = (result: typeof without) => result.outputFiles[0]!.contents
  return {
    pagesMinifiedBytes,
    keepNamesMinifiedBytes: size(withNames).byteLength - size(without).byteLength,
    keepNamesGzipBytes: gzipSync(size(withNames)).byteLength - gzipSync(size(without)).byteLength,
  }
}

/** Medians of the time to first response, in milliseconds. */
export interface ColdStarts {
  readonly workerdRelayMs: number
  readonly workerdHelloMs: number
  readonly denoRelayMs: number
  readonly denoHelloMs: number
}

/** Measures cold starts, alternating relay and hello `rounds` times on each runtime. */
export async function measureColdStarts(outDir: string, relayBundle: string, helloBundle: string, rounds: number): Promise<ColdStarts> {
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'))?.[1] ?? '2026-11-01'
  const relayConfig = workerdConfig(outDir, 'relay', relayBundle, compatibilityDate, true)
  const helloConfig = workerdConfig(outDir, 'hello', helloBundle, compatibilityDate, false)
  const denoEnv = { ...process.env, ...BENCH_SETTINGS, DENO_KV_PATH: ':memory:', NO_COLOR: '1' }
  const deno = (script: string) => [join(BIN, 'deno'), ['run', '--allow-net', '--allow-env', script]] as const
  const samples = { workerdRelayMs: [] as number[], workerdHelloMs: [] as number[], denoRelayMs: [] as number[], denoHelloMs: [] as number[] }
  // One unmeasured start each fills Deno's module cache and the page cache.
  await timeToFirstResponse(...deno('src/deno.ts'), denoEnv, '/healthz')
  await timeToFirstResponse(...deno('bench/hello-deno.ts'), denoEnv, '/')
  await timeToFirstResponse(join(BIN, 'workerd'), ['serve', relayConfig], process.env, '/healthz')
  for (let i = 0; i < rounds; i++) {
    samples.workerdHelloMs.push(await timeToFirstResponse(join(BIN, 'workerd'), ['serve', helloConfig], process.env, '/'))
    samples.workerdRelayMs.push(await timeToFirstResponse(join(BIN, 'workerd'), ['serve', relayConfig], process.env, '/healthz'))
    samples.denoHelloMs.push(await timeToFirstResponse(...deno('bench/hello-deno.ts'), denoEnv, '/'))
    samples.denoRelayMs.push(await timeToFirstResponse(...deno('src/deno.ts'), denoEnv, '/healthz'))
  }
  return {
    workerdRelayMs: median(samples.workerdRelayMs),
    workerdHelloMs: median(samples.workerdHelloMs),
    denoRelayMs: median(samples.denoRelayMs),
    denoHelloMs: median(samples.denoHelloMs),
  }
}

/** A `workerd serve` config with the bundle as its only module; `{{PORT}}` is filled in per start. */
function workerdConfig(outDir: string, name: string, bundle: string, compatibilityDate: string, relay: boolean): string {
  const settings = Object.entries(BENCH_SETTINGS).map(([key, value]) => `(name = ${JSON.stringify(key)}, text = ${JSON.stringify(value)})`)
  // /healthz never touches KV; the namespace only has to exist, so a stub service stands behind it.
  const bindings = relay ? [...settings, '(name = "AUTH_CODES", kvNamespace = (name = "kv"))'] : []
  const text = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "worker.js", esModule = embed ${JSON.stringify(relative(outDir, bundle))})], compatibilityDate = "${compatibilityDate}", bindings = [${bindings.join(', ')}])),
    (name = "kv", worker = (modules = [(name = "kv.js", esModule = "export default { fetch: () => new Response(null, { status: 404 }) }")], compatibilityDate = "${compatibilityDate}")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:{{PORT}}", http = (), service = "main")],
);
`
  const path = join(outDir, `${name}.capnp`)
  writeFileSync(path, text)
  return path
}

/** Spawns a server on a free port and returns the milliseconds until it first answers 200. */
async function timeToFirstResponse(command: string, args: readonly string[], env: NodeJS.ProcessEnv, path: string): Promise<number> {
  const port = await freePort()
  const finalArgs = args.map((arg) => (arg.endsWith('.capnp') ? withPort(arg, port) : arg))
  const started = performance.now()
  const child = startGroup(command, finalArgs, { stdio: 'ignore', env: { ...env, PORT: String(port), HOST: '127.0.0.1' } })
  try {
    const deadline = started + 15_000
    while (performance.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${command} ${finalArgs.join(' ')} exited with ${child.exitCode}`)
      try {
        const response = await fetch(`http://127.0.0.1:${port}${path}`)
        await response.arrayBuffer()
        if (response.status !== 200) throw new Error(`${path} answered ${response.status} at start`)
        return performance.now() - started
      } catch (error) {
        if (error instanceof Error && error.message.includes('answered')) throw error
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    }
    throw new Error(`${command} did not answer within 15 s`)
  } finally {
    await stopGroup(child)
  }
}

function withPort(config: string, port: number): string {
  const path = config.replace(/\.capnp$/, `.${port}.capnp`)
  writeFileSync(path, readFileSync(config, 'utf8').replace('{{PORT}}', String(port)))
  return path
}

/** The middle value (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
