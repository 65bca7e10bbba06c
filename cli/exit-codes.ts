/**
 * @module
 * `unity-login`'s exit codes, one per outcome, so scripts can tell them apart; `--help` and
 * docs/clients.md print this table.
 */

/** Every exit code the CLI uses. */
export const EXIT = {
  ok: 0,
  /** An unexpected failure: a bug in unity-login. */
  failure: 1,
  /** Unknown command or option, or a missing value. */
  usage: 2,
  /** No sign-in stored for the relay, or the relay no longer accepts it: run `unity-login login`. */
  notLoggedIn: 3,
  /** The user cancelled (Cancel, Deny, Ctrl-C) or the relay or Unity refused the sign-in. */
  denied: 4,
  /** The sign-in was not finished in time. */
  expired: 5,
  /** The relay or Unity could not be reached or kept failing. */
  unavailable: 6,
  /** The relay's address, its metadata or this machine's setup (no OS keyring) does not fit. */
  misconfigured: 7,
} as const

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** The table for `--help`. */
export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  unexpected failure (a bug in unity-login)
  2  usage error (unknown command or option)
  3  not logged in (nothing stored, or the relay no longer accepts the sign-in)
  4  denied or cancelled (Cancel, Deny, Ctrl-C, or the relay refused)
  5  expired (the sign-in was not finished in time)
  6  relay or Unity unavailable
  7  misconfigured (relay address or metadata, or no OS keyring without --insecure-storage)`

/** A failure the CLI reports with its own message and exit code. */
export class CliError extends Error {
  override readonly name = 'CliError'
  readonly exitCode: ExitCode
  constructor(exitCode: ExitCode, message: string) {
    super(message)
    this.exitCode = exitCode
  }
}
