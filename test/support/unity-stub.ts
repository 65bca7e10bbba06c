/**
 * @module
 * A strict stand-in for Unity's token endpoint, injected as the relay's `fetch`. Each test queues
 * the exact calls it expects; any other request fails the test instead of being answered.
 */
import type { TokenAuthMethod } from '../../src/config.ts'

/** The client credentials the stub demands, with the Authorization header computed outside the relay. */
export interface StubCredentials {
  readonly tokenEndpoint: string
  readonly clientId: string
  readonly clientSecret: string
  readonly auth: TokenAuthMethod
  /** Expected `Authorization` value for `client_secret_basic`, from a fixed vector. */
  readonly basicHeader: string
}

/**
 * What Unity answers to one expected call. `headers` replace the default JSON Content-Type;
 * `chunked` streams the body in small pieces without a Content-Length, as a servlet container
 * does for an answer it did not buffer.
 */
export type StubReply =
  | { readonly status: number; readonly body: string; readonly headers?: Readonly<Record<string, string>>; readonly chunked?: boolean }
  | 'network-error'

interface Expectation {
  readonly form: Readonly<Record<string, string>>
  readonly reply: StubReply
}

/** A fetch that only answers the calls it was told to expect, in order. */
export interface StrictUnity {
  readonly fetch: typeof fetch
  /** Queues one expected token call: its exact form fields (client auth excluded) and the reply. */
  expectTokenCall(form: Record<string, string>, reply: StubReply): void
  /** The form bodies received so far. */
  readonly calls: ReadonlyArray<Record<string, string>>
  /** Throws if a request was unexpected or malformed, or an expected call never came. */
  verify(): void
}

/** Creates a {@link StrictUnity} for one relay under test. */
export function createStrictUnity(credentials: StubCredentials): StrictUnity {
  const queue: Expectation[] = []
  const calls: Record<string, string>[] = []
  const problems: string[] = []

  const fail = (problem: string): never => {
    problems.push(problem)
    throw new TypeError(`strict Unity stub: ${problem}`)
  }

  const stubFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init)
    if (request.method !== 'POST' || request.url !== credentials.tokenEndpoint) fail(`unexpected ${request.method} ${request.url}`)
    if (request.headers.get('Content-Type') !== 'application/x-www-form-urlencoded') fail('token call is not form-encoded')
    const fields = await readForm(request)
    const form = Object.fromEntries(fields)
    if (Object.keys(form).length !== fields.length) fail('token call repeats a form field')
    calls.push(form)
    const expected = queue.shift() ?? fail(`unexpected token call with grant_type=${form.grant_type}`)
    const authorization = request.headers.get('Authorization')
    const credentialFields: Record<string, string> = {}
    if (credentials.auth === 'client_secret_basic') {
      if (authorization !== credentials.basicHeader) fail('wrong or missing Basic authorization')
    } else {
      if (authorization !== null) fail('client_secret_post must not send an Authorization header')
      credentialFields.client_id = credentials.clientId
      credentialFields.client_secret = credentials.clientSecret
    }
    const want = sortedJson({ ...expected.form, ...credentialFields })
    if (sortedJson(form) !== want) fail(`token call form differs: got keys ${Object.keys(form).sort().join(',')}`)
    if (expected.reply === 'network-error') throw new TypeError('simulated network failure')
    const { status, body, headers = { 'Content-Type': 'application/json' }, chunked = false } = expected.reply
    return new Response(chunked ? inPieces(body) : body, { status, headers })
  }

  return {
    fetch: stubFetch as typeof fetch,
    calls,
    expectTokenCall(form, reply) {
      queue.push({ form, reply })
    },
    verify() {
      if (problems.length > 0) throw new Error(`strict Unity stub saw bad requests: ${problems.join('; ')}`)
      if (queue.length > 0) throw new Error(`strict Unity stub: ${queue.length} expected call(s) never came`)
    },
  }
}

/** Reads the body as the form it claims to be (`.text()` would make workerd warn about a non-text body). */
async function readForm(request: Request): Promise<Array<[string, string]>> {
  return [...(await request.formData())].map(([name, value]) => [name, String(value)])
}

/** `body` as a stream of 7-byte pieces, which split multi-byte characters too, with no length declared. */
function inPieces(body: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(body)
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close()
      controller.enqueue(bytes.slice(at, at + 7))
      at += 7
    },
  })
}

function sortedJson(record: Record<string, string>): string {
  return JSON.stringify(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)))
}
