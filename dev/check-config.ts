/**
 * @module DEV: the settings half of `npm run deploy:check`. Validates wrangler.toml's `[vars]`, plus
 * an optional dotenv file of the deployment's variables and secrets
 * (`npm run deploy:check -- prod.vars`), with the relay's own `parseConfig`. Without a file,
 * required settings missing from `[vars]` are a warning only: they may live in the dashboard.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { deploymentSettings, REQUIRED_VARS, ROOT as root, SECRETS, SettingsFileError, wranglerVars } from '../scripts/settings.ts'

const file = process.argv[2]
const vars = wranglerVars()
let settings: Record<string, string>
if (file) {
  try {
    settings = deploymentSettings(file)
  } catch (error) {
    if (!(error instanceof SettingsFileError)) throw error
    console.error(error.message)
    process.exit(1)
  }
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
