/**
 * @module
 * Structured logs. Callers pass only the fields below, so codes, tokens, verifiers, states and
 * secrets have no way into a log line.
 */

/** The only fields a log line may carry. */
export interface LogFields {
  /** First characters of the PKCE challenge: enough to correlate, useless to an attacker. */
  readonly flow?: string
  readonly status?: number
  /** A relay error code, or Unity's OAuth error code. */
  readonly error?: string
  readonly outcome?: string
  /** The class of an unexpected fault (never its message, which may quote input). */
  readonly fault?: string
  /** The `client_id` a device sent to `/device_authorization`: untrusted, for correlation only. */
  readonly client?: string
  /** Names of the settings that make the relay misconfigured (names only, never values). */
  readonly settings?: readonly string[]
  /** A refresh grant's id: a random handle (`newGrantId`) that opens nothing, for correlation. */
  readonly grant?: string
  /** How many lines of an event were held back (see `log-budget.ts`). */
  readonly count?: number
}

/** Where log lines go. */
export interface Logger {
  info(event: string, fields?: LogFields): void
  warn(event: string, fields?: LogFields): void
  error(event: string, fields?: LogFields): void
}

/** One JSON object per line on the console, which Workers Logs and Deno Deploy index. */
export const consoleLogger: Logger = {
  info: (event, fields) => console.log(JSON.stringify({ level: 'info', event, ...fields })),
  warn: (event, fields) => console.warn(JSON.stringify({ level: 'warn', event, ...fields })),
  error: (event, fields) => console.error(JSON.stringify({ level: 'error', event, ...fields })),
}

/** A short, non-secret correlation id for a flow. */
export function flowId(challenge: string): string {
  return challenge.slice(0, 8)
}

/** The class of an unexpected fault for a log line, never its message (which may quote input). */
export function faultName(cause: unknown): string {
  return cause instanceof Error ? cause.name : typeof cause
}
