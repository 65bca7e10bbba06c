/**
 * @module
 * Where sessions live: the OS keyring (Secret Service on Linux, Keychain on macOS, Credential
 * Manager on Windows, through @napi-rs/keyring) or, with `--insecure-storage`, a 0600 JSON file
 * in the config directory. Entries are keyed by the relay's origin.
 */
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Session } from '../src/client/index.ts'
import { CliError, EXIT } from './exit-codes.ts'

/** The keyring service name every entry is stored under. */
export const KEYRING_SERVICE = 'unity-login'

/** The file `--insecure-storage` writes, inside the config directory. */
export const SESSIONS_FILE = 'sessions.json'

/** One place sessions can be kept. */
export interface SessionStore {
  /** Says where, for messages (`the OS keyring`, `/home/me/.config/unity-login/sessions.json`). */
  readonly where: string
  load(relay: string): Promise<Session | undefined>
  save(session: Session): Promise<void>
  /** Forgets the relay's session; `true` when there was one. */
  remove(relay: string): Promise<boolean>
}

/** The narrow slice of @napi-rs/keyring the CLI uses, so tests and other bindings can stand in. */
export interface Keyring {
  get(service: string, account: string): Promise<string | null>
  set(service: string, account: string, secret: string): Promise<void>
  delete(service: string, account: string): Promise<boolean>
}

/** The OS keyring through @napi-rs/keyring; on Linux pinned to the Secret Service, which persists across reboots. */
export async function osKeyring(): Promise<Keyring> {
  const { AsyncEntry } = await import('@napi-rs/keyring')
  const entry = (service: string, account: string) => new AsyncEntry(service, account, { linux: { store: 'secret-service' } })
  return {
    get: (service, account) => entry(service, account).getPassword(),
    set: (service, account, secret) => entry(service, account).setPassword(secret),
    delete: (service, account) => entry(service, account).deleteCredential(),
  }
}

/** A keyring that failed: the message says why and how to go on without one. */
export function noKeyring(cause: unknown, file: string): CliError {
  const why = cause instanceof Error ? cause.message : String(cause)
  return new CliError(
    EXIT.misconfigured,
    `No OS keyring is available here (${why.split('\n')[0]}).\nSign in with --insecure-storage to keep the tokens in a file only you can read (${file}, mode 0600) instead.`,
  )
}

/** Sessions in the OS keyring, one entry per relay. */
export function keyringStore(keyring: Keyring, file: string): SessionStore {
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run()
    } catch (cause) {
      throw noKeyring(cause, file)
    }
  }
  return {
    where: 'the OS keyring',
    load: (relay) => guard(async () => parseSession(await keyring.get(KEYRING_SERVICE, relay))),
    save: (session) => guard(() => keyring.set(KEYRING_SERVICE, session.relay, JSON.stringify(session))),
    remove: (relay) => guard(() => keyring.delete(KEYRING_SERVICE, relay)),
  }
}

/**
 * Sessions in one JSON file, mode 0600 in a 0700 directory. Writes go to a fresh 0600 file that
 * replaces the old one by rename, so a reader never sees half a file and the mode never widens.
 */
export function fileStore(dir: string): SessionStore {
  const path = join(dir, SESSIONS_FILE)
  const readAll = async (): Promise<Record<string, Session>> => {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as Record<string, Session>
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
      throw new CliError(EXIT.misconfigured, `${path} is not readable as unity-login's sessions file: remove it and sign in again.`)
    }
  }
  const writeAll = async (all: Record<string, Session>) => {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
    const handle = await open(temporary, 'wx', 0o600)
    try {
      await handle.writeFile(`${JSON.stringify(all, null, 2)}\n`)
      // The umask can only narrow the mode open() set; chmod makes it exact.
      await handle.chmod(0o600)
    } finally {
      await handle.close()
    }
    await rename(temporary, path)
  }
  return {
    where: path,
    load: async (relay) => parseSession(JSON.stringify((await readAll())[relay] ?? null)),
    async save(session) {
      await writeAll({ ...(await readAll()), [session.relay]: session })
    },
    async remove(relay) {
      const all = await readAll()
      if (!(relay in all)) return false
      delete all[relay]
      if (Object.keys(all).length === 0) await unlink(path).catch(() => {})
      else await writeAll(all)
      return true
    },
  }
}

function parseSession(text: string | null): Session | undefined {
  if (text === null) return undefined
  const value = JSON.parse(text) as Session | null
  return value && value.version === 1 && typeof value.accessToken === 'string' ? value : undefined
}

/** The last relay signed in to, so `token`, `status` and `logout` need no `--relay`. No secrets. */
export interface Settings {
  readonly relay?: string
}

/** Reads `config.json`. */
export async function readSettings(dir: string): Promise<Settings> {
  try {
    return JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Settings
  } catch {
    return {}
  }
}

/** Writes `config.json` (0600 like the rest). */
export async function writeSettings(dir: string, settings: Settings): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const path = join(dir, 'config.json')
  const handle = await open(path, 'w', 0o600)
  try {
    await handle.writeFile(`${JSON.stringify(settings)}\n`)
  } finally {
    await handle.close()
  }
  await chmod(path, 0o600)
}
