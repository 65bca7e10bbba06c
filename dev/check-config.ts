/**
 * @module DEV: the settings half of `npm run deploy:check`. Validates wrangler.toml's `[vars]`, plus
 * an optional dotenv file of the deployment's variables and secrets
 * (`npm run deploy:check -- prod.vars`), with the relay's own `parseConfig`. Without a file,
 * required settings missing from `[vars]` are a warning only: they may live in the dashboard.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'
import { unstable_readConfig } from 'wrangler'

const root = fileURLToPath(new URL('..', import.meta.url))
/** Set with `wrangler secret put`, so never in `[vars]`; stand-ins let a vars-only check run. */
const SECRETS = ['UNITY_CLIENT_SECRET', 'STATE_SECRET', 'REFRESH_SEAL_SECRET'] as const
/** Required settings without a default, which the dashboard may hold instead of `[vars]`. */
const REQUIRED_VARS = ['UNITY_URL', 'UNITY_CLIENT_ID'] as const

const file = process.argv[2]
const vars = Object.fromEntries(Object.entries(unstable_readConfig({ config: join(root, 'wrangler.toml') }).vars).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
let settings: Record<string, string>
if (file) {
  const fromFile = Object.entries(parseEnv(readFileSync(file, 'utf8'))).filter((entry): entry is [string, string] => typeof entry[1] === 'string')
  settings = { ...vars, ...Object.fromEntries(fromFile) }
  console.log(`Checking wrangler.toml [vars] with ${file} on top.`)
} else {
  const missing = REQUIRED_VARS.filter((name) => !vars[name])
  if (missing.length > 0) {
    console.warn(`Not in wrangler.toml [vars]: ${missing.join(', ')}. Set them there, or in the dashboard (then keep keep_vars = true). To check a deployment's full settings: npm run deploy:check -- <vars file>`)
  }
  settings = { UNITY_URL: 'https://unity.invalid', UNITY_CLIENT_ID: 'unchecked', ...vars }
  // One stand-in per secret: the relay refuses a REFRESH_SEAL_SECRET equal to STATE_SECRET.
  for (const name of SECRETS) settings[name] = `unchecked-${name}-set-with-wrangler-secret-put`
  console.log('Checking wrangler.toml [vars] (secrets and missing required settings not checked).')
}
const check = spawnSync(join(root, 'node_modules', '.bin', 'deno'), ['run', '--quiet', '--no-prompt', 'dev/validate-settings.ts'], {
  cwd: root,
  input: JSON.stringify(settings),
  stdio: ['pipe', 'inherit', 'inherit'],
})
process.exitCode = check.status ?? 1
