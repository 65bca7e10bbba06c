/**
 * @module
 * The redirect listener for the loopback sign-in (RFC 8252 §7.3): an HTTP server on 127.0.0.1 at
 * a port the OS picks, for one redirect, closed as soon as it has it.
 */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { LoopbackReceiver } from '../src/client/index.ts'

const DONE_PAGE = `<!doctype html><meta charset="utf-8"><title>unity-login</title><style>body{font-family:system-ui,sans-serif;margin:3rem auto;max-width:32rem}</style><h1>You are signed in</h1><p>Return to the terminal; you can close this tab.</p>`
const REFUSED_PAGE = `<!doctype html><meta charset="utf-8"><title>unity-login</title><h1>This is not the sign-in unity-login is waiting for</h1>`

/** A listening receiver; `close()` frees the port. */
export interface OpenReceiver extends LoopbackReceiver {
  close(): Promise<void>
}

/**
 * Listens on `127.0.0.1:0` (RFC 8252 §8.3: the IP literal, not `localhost`, which may resolve
 * elsewhere) under a random path, so that only the redirect the relay sends finds it.
 */
export async function openLoopbackReceiver(): Promise<OpenReceiver> {
  const path = `/callback/${randomBytes(8).toString('hex')}`
  let pending: { accept: (url: URL) => boolean; resolve: (url: URL) => void } | undefined
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const ok = req.method === 'GET' && url.pathname === path && pending?.accept(url) === true
    res.writeHead(ok ? 200 : 400, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
    res.end(ok ? DONE_PAGE : REFUSED_PAGE)
    if (ok && pending) {
      const { resolve } = pending
      pending = undefined
      resolve(new URL(`${redirectUri}${url.search}`))
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as { port: number }
  const redirectUri = `http://127.0.0.1:${port}${path}`
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  return {
    redirectUri,
    close,
    wait: (signal, accept) =>
      new Promise<URL>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason)
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
        pending = { accept, resolve }
      }),
  }
}
