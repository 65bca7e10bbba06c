/**
 * @module DEV: clear messages for a loopback port that is already taken, instead of a raw
 * `EADDRINUSE` stack.
 */
import { createServer } from 'node:net'

/** A port another process holds; `message` says which, and how to free it or choose another. */
export class PortInUseError extends Error {
  constructor(port: number, host: string, what: string, howToChoose: string) {
    super(`Port ${port} on ${host} (${what}) is already in use, probably by an earlier \`npm start\`, \`npm run unity\` or \`npm run relay\` that is still running. Stop it with Ctrl-C in its terminal (find it with: lsof -i :${port}), or choose another port: ${howToChoose}`)
    this.name = 'PortInUseError'
  }
}

/** Whether `error` is Node's "address already in use". */
export function isAddressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE'
}

/** Resolves if `port` on `host` can be listened on now; rejects with a {@link PortInUseError} if not. */
export async function assertPortFree(port: number, host: string, what: string, howToChoose: string): Promise<void> {
  const probe = createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) => reject(isAddressInUse(error) ? new PortInUseError(port, host, what, howToChoose) : error))
    probe.listen(port, host, () => probe.close(() => resolve()))
  })
}

/** Prints a {@link PortInUseError}'s message alone and exits 1; anything else is rethrown. */
export function exitOnPortInUse(error: unknown): never {
  if (!(error instanceof PortInUseError)) throw error
  console.error(error.message)
  process.exit(1)
}
