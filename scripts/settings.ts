/**
 * @module DEV: where an operator's tools read a deployment's settings from: wrangler.toml's
 * `[vars]`, with a dotenv file of the deployment's variables and secrets on top. Shared by
 * `npm run deploy:check` (dev/check-config.ts) and `npm run doctor` (scripts/doctor.ts).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'
import { unstable_readConfig } from 'wrangler'

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Set with `wrangler secret put`, so never in `[vars]`. */
export const SECRETS = ['UNITY_CLIENT_SECRET', 'STATE_SECRET', 'REFRESH_SEAL_SECRET'] as const

/** Required settings without a default, which the dashboard may hold instead of `[vars]`. */
export const REQUIRED_VARS = ['UNITY_URL', 'UNITY_CLIENT_ID'] as const

/** A settings file that cannot be read; `message` is one line for the operator. */
export class SettingsFileError extends Error {
  constructor(file: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'it may not be read' : `it cannot be read (${code ?? String(cause)})`
    super(`Cannot read the settings file ${file}: ${why}. Give the path of a dotenv file of NAME=value lines, e.g. prod.vars.`)
    this.name = 'SettingsFileError'
  }
}

/** wrangler.toml's `[vars]`, the string ones. */
export function wranglerVars(): Record<string, string> {
  const vars = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') }).vars
  return Object.fromEntries(Object.entries(vars).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
}

/**
 * A dotenv file's settings (Node's `parseEnv`: `NAME=value` lines, quotes for spaces).
 *
 * @throws {SettingsFileError} when the file cannot be read.
 */
export function readSettingsFile(file: string): Record<string, string> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    throw new SettingsFileError(file, cause)
  }
  return Object.fromEntries(Object.entries(parseEnv(text)).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
}

/** wrangler.toml's `[vars]` with `file`'s settings on top. */
export function deploymentSettings(file: string): Record<string, string> {
  return { ...wranglerVars(), ...readSettingsFile(file) }
}
