/**
 * @module
 * Finding the session for a relay wherever it was stored, and the one place a login stores it.
 */
import { join } from 'node:path'
import type { Session } from '../src/client/index.ts'
import { CliError, EXIT } from './exit-codes.ts'
import { fileStore, keyringStore, SESSIONS_FILE } from './storage.ts'
import type { Keyring, SessionStore } from './storage.ts'

/** What the commands get from their environment. */
export interface Context {
  readonly dir: string
  readonly env: NodeJS.ProcessEnv
  /** The OS keyring, loaded only when a command needs it. */
  readonly keyring: () => Promise<Keyring>
  readonly stdout: NodeJS.WriteStream
  readonly stderr: NodeJS.WriteStream
}

/** A session and the store it came from. */
export interface Found {
  readonly session: Session
  readonly store: SessionStore
}

/** The store a login writes to: the keyring, or the file with `--insecure-storage`. */
export async function storeFor(ctx: Context, insecure: boolean): Promise<SessionStore> {
  const file = fileStore(ctx.dir)
  if (insecure) return file
  return keyringStore(await ctx.keyring(), join(ctx.dir, SESSIONS_FILE))
}

/**
 * The relay's session: the 0600 file first (no D-Bus round trip when the user chose it), then the
 * keyring. A keyring that fails only matters when the file has nothing either.
 */
export async function findSession(ctx: Context, relay: string): Promise<Found | undefined> {
  const file = fileStore(ctx.dir)
  const inFile = await file.load(relay)
  if (inFile) return { session: inFile, store: file }
  let keyring: SessionStore
  try {
    keyring = await storeFor(ctx, false)
    const inKeyring = await keyring.load(relay)
    return inKeyring ? { session: inKeyring, store: keyring } : undefined
  } catch (error) {
    if (error instanceof CliError) {
      ctx.stderr.write(`${error.message.split('\n')[0]}\n`)
      return undefined
    }
    throw error
  }
}

/** {@link findSession}, or exit 3 with how to sign in. */
export async function requireSession(ctx: Context, relay: string): Promise<Found> {
  const found = await findSession(ctx, relay)
  if (!found) throw new CliError(EXIT.notLoggedIn, `Not logged in to ${relay}. Run: unity-login login --relay ${relay}`)
  return found
}
