/**
 * @module
 * `npm start` stopped with a plain SIGTERM to npm (what a process manager or `kill <pid>` sends):
 * the stand-in, wrangler and workerd stop too, and both ports are free again.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { assertPortFree } from '../../dev/ports.ts'
import { ROOT } from './harness.ts'

const RELAY_PORT = 8796
const STANDIN_PORT = 9000

async function until(what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(250)
  }
}

const isFree = (port: number) => () => assertPortFree(port, '127.0.0.1', 'test', '').then(() => true, () => false)

test('npm start: SIGTERM to npm stops the stand-in, wrangler and workerd, and frees both ports', async () => {
  // Its own process group, so a failed test can still stop the whole tree.
  const npm = spawn('npm', ['start'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RELAY_PORT: String(RELAY_PORT) } })
  let output = ''
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk))
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk))
  after(() => {
    try {
      process.kill(-(npm.pid ?? 0), 'SIGKILL')
    } catch {
      // Already gone, as it should be.
    }
  })
  const relayUp = () => fetch(`http://127.0.0.1:${RELAY_PORT}/healthz`).then((response) => response.ok, () => false)
  await until('the relay answers', relayUp, 60_000).catch((error: unknown) => assert.fail(`${String(error)}\n${output.slice(-2000)}`))
  assert.equal(await isFree(STANDIN_PORT)(), false, 'the stand-in listens')

  const exited = new Promise((resolve) => npm.once('exit', resolve))
  process.kill(npm.pid ?? 0, 'SIGTERM')
  await exited
  await until(`ports ${RELAY_PORT} and ${STANDIN_PORT} are free`, async () => (await isFree(RELAY_PORT)()) && (await isFree(STANDIN_PORT)()), 10_000)
  await until('no process of the group is left', async () => {
    try {
      process.kill(-(npm.pid ?? 0), 0)
      return false
    } catch {
      return true
    }
  }, 10_000)
})
