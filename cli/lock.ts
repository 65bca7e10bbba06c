/**
 * @module
 * A lock file per relay, so that parallel `unity-login token` calls refresh once: the relay
 * rotates refresh tokens, and two refreshes of one generation would waste a Unity call or, past
 * the relay's grace window, revoke the grant (RFC 9700 §4.14.2).
 */
import { createHash } from 'node:crypto'
import { mkdir, open, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { CliError, EXIT } from './exit-codes.ts'

/** A lock older than this is left over from a process that died; a refresh takes at most 30 s. */
export const STALE_LOCK_MS = 60_000
const WAIT_MS = 70_000
const RETRY_MS = 50

/** The lock file's path for a relay. */
export function lockPath(dir: string, relay: string): string {
  return join(dir, `refresh-${createHash('sha256').update(relay).digest('hex').slice(0, 16)}.lock`)
}

/**
 * Runs `work` while holding the relay's lock: an exclusive create (`O_EXCL`), released in
 * `finally`. A lock older than {@link STALE_LOCK_MS} is taken over.
 */
export async function withLock<T>(dir: string, relay: string, work: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const path = lockPath(dir, relay)
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600)
      await handle.writeFile(String(process.pid))
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const age = await stat(path).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      )
      if (age > STALE_LOCK_MS) await unlink(path).catch(() => {})
      else if (Date.now() > deadline) throw new CliError(EXIT.unavailable, `Another unity-login has been refreshing for over a minute (${path}).`)
      else await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
    }
  }
  try {
    return await work()
  } finally {
    await unlink(path).catch(() => {})
  }
}
