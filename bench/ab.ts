/**
 * @module
 * `npm run bench:ab -- <git-rev> [scenario ids…]`: the relay of the working tree against the relay
 * of an earlier revision, in the same run. Both get the same bench entries (copied from this
 * tree), run side by side on workerd and on Deno, and alternate scenario by scenario, so a hot
 * path change is measured against its own "before" under the same machine noise.
 * BENCH_ROUNDS (default 5) and BENCH_SECONDS (default 1) apply.
 */
import { execFileSync, execSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { runScenario, scenarios } from './load.ts'
import type { RunResult } from './load.ts'
import { killAll, startServer } from './processes.ts'
import type { BenchServer } from './processes.ts'
import { median, WORKER_BUILD } from './sizes.ts'

const ROOT = resolve(import.meta.dirname, '..')
const OUT = join(ROOT, 'bench/.out/ab')
const BIN = join(ROOT, 'node_modules/.bin')
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1)
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
const [baseline, ...only] = process.argv.slice(2)
if (!baseline) throw new Error('usage: npm run bench:ab -- <git-rev> [scenario ids…]')

const storageDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'uor-bench-ab-'))
const watchdog = setTimeout(() => {
  console.error('bench:ab: stopped after 10 minutes')
  killAll()
  process.exit(1)
}, 600_000)

/** A copy of the repository's src/ (at `rev`, or as it is now) with this tree's bench entries next to it. */
async function prepare(name: string, rev: string | undefined): Promise<string> {
  const dir = join(OUT, name)
  mkdirSync(join(dir, 'bench'), { recursive: true })
  if (rev === undefined) cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true })
  else execSync(`git archive ${JSON.stringify(rev)} src | tar -x -C ${JSON.stringify(dir)}`, { cwd: ROOT })
  for (const file of ['worker.ts', 'deno.ts', 'floors.ts', 'settings.ts']) cpSync(join(ROOT, 'bench', file), join(dir, 'bench', file))
  await build({
    ...WORKER_BUILD,
    entryPoints: [join(dir, 'bench/worker.ts')],
    outfile: join(dir, 'worker.js'),
    nodePaths: [join(ROOT, 'node_modules')],
    logLevel: 'warning',
  })
  return dir
}

/** deno.json plus the JSX settings that revisions before the hono/html pages need (harmless without JSX). */
function denoConfig(): string {
  const path = join(OUT, 'deno.json')
  const config = readFileSync(join(ROOT, 'deno.json'), 'utf8')
  writeFileSync(path, config.replace('{', '{\n  "compilerOptions": { "jsx": "react-jsx", "jsxImportSource": "hono/jsx" },'))
  return path
}

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true })
  const dirs = { after: await prepare('after', undefined), before: await prepare('before', baseline) }
  const config = denoConfig()
  const servers: Record<string, BenchServer> = {}
  for (const [label, dir] of Object.entries(dirs)) {
    servers[`workerd ${label}`] = await startServer(join(BIN, 'node'), [join(ROOT, 'bench/serve-workerd.ts'), join(dir, 'worker.js')], { ...process.env, TMPDIR: storageDir })
    servers[`deno ${label}`] = await startServer(join(BIN, 'deno'), ['run', '--allow-net', '--allow-env', '--allow-read', `--config=${config}`, join(dir, 'bench/deno.ts')], { ...process.env, NO_COLOR: '1' })
  }
  const confirmPage = (await fetch(new URL('/authorize?code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256', servers['workerd after']!.url), { redirect: 'manual' })).status === 200
  const list = scenarios(confirmPage).filter((scenario) => only.length === 0 || only.includes(scenario.id))
  const runs: Record<string, RunResult[]> = {}
  const rate: Record<string, number> = {}
  for (let round = 0; round <= ROUNDS; round++) {
    console.error(round === 0 ? 'warm-up' : `round ${round}/${ROUNDS}`)
    for (const runtime of ['workerd', 'deno']) {
      for (const scenario of list) {
        if (runtime !== 'workerd' && scenario.workerdOnly) continue
        for (const label of round % 2 ? ['after', 'before'] : ['before', 'after']) {
          const key = `${runtime} ${label}:${scenario.id}`
          const result = await runScenario(servers[`${runtime} ${label}`]!, scenario, {
            connections: 32,
            seconds: round === 0 ? 0.3 : SECONDS,
            amount: round === 0 ? 150 : Math.max(300, Math.round((rate[key] ?? 1000) * SECONDS)),
            ticksPerSecond: TICKS,
            tag: `${round}${runtime[0]}${label[0]}`,
          })
          if (result.unexpected > 0) throw new Error(`${key}: ${result.unexpected} unexpected answers`)
          rate[key] = result.rps
          if (round > 0) (runs[key] ??= []).push(result)
        }
      }
    }
  }
  console.log(`| route | workerd CPU µs/req before | after | after/before | Deno CPU µs/req before | after | after/before |`)
  console.log('|---|---:|---:|---:|---:|---:|---:|')
  for (const scenario of list) {
    const cells = ['workerd', 'deno'].flatMap((runtime) => {
      const before = runs[`${runtime} before:${scenario.id}`] ?? []
      const after = runs[`${runtime} after:${scenario.id}`] ?? []
      const ratio = median(after.map((run, i) => run.cpuMicrosPerRequest / before[i]!.cpuMicrosPerRequest))
      return [median(before.map((run) => run.cpuMicrosPerRequest)).toFixed(0), median(after.map((run) => run.cpuMicrosPerRequest)).toFixed(0), ratio.toFixed(2)]
    })
    console.log(`| ${scenario.label} | ${cells.join(' | ')} |`)
  }
}

try {
  await main()
} catch (error) {
  console.error(error instanceof Error ? error.stack : error)
  process.exitCode = 1
} finally {
  clearTimeout(watchdog)
  killAll()
  rmSync(storageDir, { recursive: true, force: true })
}
