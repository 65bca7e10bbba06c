/**
 * @module
 * Held pickups against polling, without a browser: many logins at once, each app waiting for its
 * tokens (held with `Prefer: wait=20`, or polling every 2 s) while a scripted callback arrives at a
 * spread of moments. Reports, per case, the time from the callback's answer to the app's tokens
 * (p50, p99) and the server's CPU per login, pending polls and held waits included.
 */
import { cpuMicros } from './processes.ts'
import type { BenchServer } from './processes.ts'
import { benchVerifier } from './settings.ts'

/** One way for apps to wait, on one relay of a bench server. */
export interface HeldCase {
  readonly id: string
  readonly label: string
  /** Selects the relay (and its store) on the server, e.g. `X-Bench-Relay: durable-object`. */
  readonly headers: Readonly<Record<string, string>>
  /** `Prefer: wait=` of every pickup; 0 polls without it. */
  readonly waitSeconds: number
}

/** What {@link measureHeldLogins} found for one case. */
export interface HeldResult {
  readonly id: string
  readonly label: string
  readonly logins: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Pickups the apps sent in all, the one that got the tokens included. */
  readonly pickups: number
  readonly cpuMicrosPerLogin: number
  readonly loginsPerCpuSecond: number
}

/** How many logins, and over how long their callbacks are spread. */
export interface HeldOptions {
  readonly logins: number
  readonly spreadMs: number
  readonly intervalMs: number
  readonly ticksPerSecond: number
  readonly tag: string
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }

/** Runs `options.logins` logins at once on `server` as `heldCase` says. */
export async function measureHeldLogins(server: BenchServer, heldCase: HeldCase, options: HeldOptions): Promise<HeldResult> {
  const prefix = `held-${heldCase.id}-${options.tag}`
  const mintResponse = await fetch(new URL('/bench/mint', server.url), { method: 'POST', headers: heldCase.headers, body: JSON.stringify({ prefix, from: 0, n: options.logins }) })
  const minted = (await mintResponse.json()) as { state: string; cookie: string }[]
  let pickups = 0
  const cpuBefore = cpuMicros(server.pid, options.ticksPerSecond)
  const latencies = await Promise.all(
    minted.map(async ({ state, cookie }, index) => {
      const verifier = benchVerifier(prefix, index)
      const tokens = (async () => {
        for (;;) {
          pickups++
          const response = await fetch(new URL('/token', server.url), {
            method: 'POST',
            headers: { ...FORM, ...heldCase.headers, ...(heldCase.waitSeconds > 0 ? { Prefer: `wait=${heldCase.waitSeconds}` } : {}) },
            body: `grant_type=authorization_code&code_verifier=${verifier}`,
          })
          const body = await response.text()
          if (response.status === 200) return performance.now()
          if (!body.includes('authorization_pending')) throw new Error(`${heldCase.id}: pickup answered ${response.status} ${body.slice(0, 200)}`)
          if (!response.headers.has('Preference-Applied')) await delay(options.intervalMs)
        }
      })()
      // Evenly spread over the spread: against a 2 s poll, every phase of the interval once.
      await delay(300 + (index * options.spreadMs) / options.logins)
      const callback = await fetch(new URL(`/callback?code=held-code-${index}&state=${state}`, server.url), { headers: { ...heldCase.headers, Cookie: cookie } })
      await callback.text()
      const answeredAt = performance.now()
      if (callback.status !== 200) throw new Error(`${heldCase.id}: callback answered ${callback.status}`)
      return (await tokens) - answeredAt
    }),
  )
  const cpu = cpuMicros(server.pid, options.ticksPerSecond) - cpuBefore
  return {
    id: heldCase.id,
    label: heldCase.label,
    logins: options.logins,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    pickups,
    cpuMicrosPerLogin: cpu / options.logins,
    loginsPerCpuSecond: (1e6 * options.logins) / cpu,
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
