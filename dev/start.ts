/**
 * @module DEV ONLY: `npm start`. Runs the Unity stand-in and the relay under `wrangler dev` (workerd,
 * local KV) on loopback, wired together by dev/dev.vars. Extra arguments go to `wrangler dev`,
 * e.g. `npm start -- --var UNITY_CLIENT_ID:relay-dev-post`.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startUnityStandin } from './unity-standin.ts'

/** Where `npm start` serves the relay. */
export const DEV_RELAY_URL = 'http://127.0.0.1:8787'

/** The `wrangler dev` arguments `npm start` and `npm run relay` use; `extra` is appended. */
export function wranglerDevArgs(port: number, extra: readonly string[] = []): string[] {
  return ['dev', '--env-file', 'dev/dev.vars', '--ip', '127.0.0.1', '--port', String(port), '--show-interactive-dev-session=false', ...extra]
}

if (import.meta.main) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const standin = await startUnityStandin()
  console.log(`Unity stand-in (DEV ONLY) on ${standin.url}: sign in with any username and password.`)
  const wrangler = spawn('wrangler', wranglerDevArgs(8787, process.argv.slice(2)), {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  })
  console.log(`Relay starting on ${DEV_RELAY_URL}. In another terminal, run: npm run app`)
  const stop = (code: number) => {
    wrangler.kill('SIGTERM')
    void standin.close().finally(() => process.exit(code))
  }
  wrangler.on('exit', (code) => stop(code ?? 1))
  process.once('SIGINT', () => stop(0))
  process.once('SIGTERM', () => stop(0))
}
