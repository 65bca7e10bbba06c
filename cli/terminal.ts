/**
 * @module
 * What the user sees on stderr while a login runs: a spinner with the time left on a terminal
 * (yocto-spinner), plain lines without escape codes anywhere else (a pipe, a log, CI).
 */
import yoctoSpinner from 'yocto-spinner'

/** Progress of one login. */
export interface Progress {
  /** A line of its own (the code, the URL). */
  line(text: string): void
  /** Starts waiting; `text(now)` is redrawn every second on a terminal and printed once otherwise. */
  wait(text: (now: number) => string): void
  /** Ends the wait with a success or a failure line. */
  done(ok: boolean, text: string): void
}

/** Whether `stream` is a terminal that escape codes may be sent to (not with `NO_COLOR`, `TERM=dumb` or `CI`). */
export function isInteractive(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && env.TERM !== 'dumb' && !('CI' in env)
}

/** A {@link Progress} on `stream`. */
export function progress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!isInteractive(stream)) {
    return {
      line: (text) => stream.write(`${text}\n`),
      wait: (text) => stream.write(`${text(Date.now())}\n`),
      done: (_ok, text) => stream.write(`${text}\n`),
    }
  }
  const spinner = yoctoSpinner({ stream, handleSignals: false })
  let timer: ReturnType<typeof setInterval> | undefined
  return {
    line: (text) => stream.write(`${text}\n`),
    wait(text) {
      spinner.start(text(Date.now()))
      timer = setInterval(() => (spinner.text = text(Date.now())), 1000)
      timer.unref()
    },
    done(ok, text) {
      clearInterval(timer)
      if (ok) spinner.success(text)
      else spinner.error(text)
    },
  }
}

/** `m:ss` left until `until`. */
export function timeLeft(until: number, now: number): string {
  const seconds = Math.max(0, Math.round((until - now) / 1000))
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`
}
