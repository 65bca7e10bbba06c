/**
 * @module
 * `unity-login`'s command line: parses it, runs a command, and turns every outcome into its exit
 * code (cli/exit-codes.ts). cli/bin.ts runs it with the process's streams and the OS keyring.
 */
import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'
import { LoginError } from '../src/client/index.ts'
import { login, logout, status, token } from './commands.ts'
import { CliError, EXIT } from './exit-codes.ts'
import type { ExitCode } from './exit-codes.ts'
import { HELP } from './help.ts'
import type { Context } from './sessions.ts'

const COMMON = { relay: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const satisfies ParseArgsConfig['options']

const OPTIONS = {
  login: {
    ...COMMON,
    scope: { type: 'string' },
    device: { type: 'boolean' },
    'no-browser': { type: 'boolean' },
    clipboard: { type: 'boolean' },
    'insecure-storage': { type: 'boolean' },
    timeout: { type: 'string' },
  },
  token: COMMON,
  status: COMMON,
  logout: { ...COMMON, local: { type: 'boolean' } },
} as const satisfies Record<string, ParseArgsConfig['options']>

type Command = keyof typeof OPTIONS

/** Runs the CLI with `argv` (without node and the script) and resolves its exit code. */
export async function run(argv: readonly string[], ctx: Context): Promise<ExitCode> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ;(name === undefined ? ctx.stderr : ctx.stdout).write(`${HELP.main}\n`)
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  if (!(name in OPTIONS)) {
    ctx.stderr.write(`unity-login: unknown command ${JSON.stringify(name)}. Commands: login, token, status, logout (unity-login --help).\n`)
    return EXIT.usage
  }
  const command = name as Command
  let values: Record<string, string | boolean | undefined>
  try {
    const options: ParseArgsConfig['options'] = OPTIONS[command]
    values = parseArgs({ args: [...rest], options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>
  } catch (error) {
    ctx.stderr.write(`unity-login ${command}: ${(error as Error).message}\nRun unity-login ${command} --help.\n`)
    return EXIT.usage
  }
  if (values.help) {
    ctx.stdout.write(`${HELP[command]}\n`)
    return EXIT.ok
  }
  const relay = typeof values.relay === 'string' ? values.relay : undefined
  try {
    if (command === 'login') {
      if (!relay) {
        ctx.stderr.write('unity-login login: --relay URL is required.\n')
        return EXIT.usage
      }
      const timeout = typeof values.timeout === 'string' ? Number(values.timeout) : undefined
      if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
        ctx.stderr.write('unity-login login: --timeout must be a whole number of seconds.\n')
        return EXIT.usage
      }
      await login(ctx, {
        timeoutSeconds: timeout,
        relay,
        scope: typeof values.scope === 'string' ? values.scope : undefined,
        device: values.device === true,
        noBrowser: values['no-browser'] === true,
        clipboard: values.clipboard === true,
        insecureStorage: values['insecure-storage'] === true,
      })
    } else if (command === 'token') await token(ctx, relay)
    else if (command === 'status') await status(ctx, relay)
    else await logout(ctx, relay, values.local === true)
    return EXIT.ok
  } catch (error) {
    if (error instanceof CliError) {
      ctx.stderr.write(`unity-login: ${error.message}\n`)
      return error.exitCode
    }
    if (error instanceof LoginError) {
      ctx.stderr.write(`unity-login: ${error.message}\n`)
      return error.code === 'unavailable' ? EXIT.unavailable : EXIT.misconfigured
    }
    ctx.stderr.write(`unity-login: unexpected failure, please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    return EXIT.failure
  }
}
