/**
 * @module
 * The app of held.test.ts in a process of its own, so the test's browser driving and the
 * in-process stand-in cannot delay the moment it notices its tokens. Reads one JSON job a line on
 * stdin (`{ relay, verifier, waitSeconds, intervalMs }`), polls with dev/app.ts, and prints
 * `{ verifier, ok, at }` (at: `Date.now()` when the answer was read) for each.
 */
import { createInterface } from 'node:readline'
import { pollForTokens } from '../../dev/app.ts'

interface Job {
  readonly relay: string
  readonly verifier: string
  readonly waitSeconds: number
  readonly intervalMs: number
}

for await (const line of createInterface({ input: process.stdin })) {
  const job = JSON.parse(line) as Job
  void pollForTokens(job.relay, job.verifier, { intervalMs: job.intervalMs, waitSeconds: job.waitSeconds, timeoutMs: 60_000 }).then(
    (result) => console.log(JSON.stringify({ verifier: job.verifier, ok: result.ok, at: Date.now() })),
    () => console.log(JSON.stringify({ verifier: job.verifier, ok: false, at: Date.now() })),
  )
}
