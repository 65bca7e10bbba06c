/**
 * @module DEV ONLY: `npm start`. Runs the Unity stand-in and the relay under `wrangler dev` (workerd,
 * local KV) on loopback, wired together by dev/dev.vars. `RELAY_PORT` (8787) and
 * `UNITY_STANDIN_PORT` (9000) choose other ports. Extra arguments go to `wrangler dev`,
 * e.g. `npm start -- --var UNITY_CLIENT_ID:relay-dev-post`.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertPortFree, exitOnPortInUse } from './ports.ts'
import { startUnityStandin } from './unity-standin.ts'

/** Where `npm start` serves the relay by default. */
export const DEV_RELAY_URL = 'http://127.0.0.1:8787'

/** The stand-in address dev/dev.vars points the relay at. */
const DEV_VARS_UNITY_URL = 'http://127.0.0.1:9000'

/** The `wrangler dev` arguments `npm start` and `npm run relay` use; `extra` is appended. */
export function wranglerDevArgs(port: number, extra: readonly string[] = []): string[] {
  return ['dev', '--env-file', 'dev/dev.vars', '--ip', '127.0.0.1', '--port', String(port), '--show-interactive-dev-session=false', ...extra]
}

if (import.meta.main) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const relayPort = Number(process.env.RELAY_PORT || 8787)
  const relayUrl = `http://127.0.0.1:${relayPort}`
  await assertPortFree(relayPort, '127.0.0.1', 'the relay', 'RELAY_PORT=<port> npm start').catch(exitOnPortInUse)
  const standin = await startUnityStandin({ redirectUris: [`${relayUrl}/callback`, `http://localhost:${relayPort}/callback`] }).catch(exitOnPortInUse)
  console.log(`Unity stand-in (DEV ONLY) on ${standin.url}: sign in with any username and password.`)
  const moved = standin.url === DEV_VARS_UNITY_URL ? [] : ['--var', `UNITY_URL:${standin.url}`, '--var', `UNITY_ISSUER:${standin.issuer}`]
  // The bundled Node (the `node` devDependency) runs wrangler too, whatever `node` is on PATH.
  const wrangler = spawn(process.execPath, [join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), ...wranglerDevArgs(relayPort, [...moved, ...process.argv.slice(2)])], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  })
  console.log(`Relay starting on ${relayUrl}. In another terminal, run: npm run app${relayPort === 8787 ? '' : ` -- --relay ${relayUrl}`}`)
  const stop = (code: number) => {
    wrangler.kill('SIGTERM')
    void standin.close().finally(() => process.exit(code))
  }
  wrangler.on('exit', (code) => stop(code ?? 1))
  process.once('SIGINT', () => stop(0))
  process.once('SIGTERM', () => stop(0))
}
