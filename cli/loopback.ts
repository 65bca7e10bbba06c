/**
 * @module
 * The redirect listener for the loopback sign-in (RFC 8252 §7.3): an HTTP server on 127.0.0.1 at
 * a port the OS picks, for one redirect, closed as soon as it has it.
 */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { LoopbackReceiver } from '../src/client/index.ts'

const page = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>unity-login</title><style>body{font-family:system-ui,sans-serif;margin:3rem auto;max-width:32rem}</style><h1>${title}</h1><p>${text}</p>`
const DONE_PAGE = page('You are signed in', 'Return to the terminal; you can close this tab.')
const REFUSED_PAGE = page('Sign-in not completed', 'The sign-in was cancelled or refused. Return to the terminal; you can close this tab.')
const OTHER_PAGE = page('This is not the sign-in unity-login is waiting for', 'Nothing was changed.')

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
    const waiting = req.method === 'GET' && url.pathname === path ? pending : undefined
    const ok = waiting?.accept(url) === true
    const body = !ok ? OTHER_PAGE : url.searchParams.has('error') ? REFUSED_PAGE : DONE_PAGE
    // Connection: close, so that closing the receiver never cuts a page the browser is still reading.
    res.writeHead(ok ? 200 : 400, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', connection: 'close' })
    res.end(body, () => {
      if (!ok || !waiting || pending !== waiting) return
      pending = undefined
      waiting.resolve(new URL(`${redirectUri}${url.search}`))
    })
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
      server.closeIdleConnections()
      // A connection the browser opened but never used must not keep the CLI waiting.
      setTimeout(() => server.closeAllConnections(), 2_000).unref()
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
