/**
 * @module
 * `unity-oauth-relay/client`: sign a user in to Unity through the relay and keep the tokens fresh.
 * Web APIs only (fetch, WebCrypto), built on oauth4webapi, so it runs in Node, Deno, Bun, Workers
 * and browsers.
 *
 * @example
 * import { startLogin, refresh, revoke } from 'unity-oauth-relay/client'
 *
 * const login = await startLogin({ relay: 'https://relay.example.com', mode: 'device' })
 * console.log(`Open ${login.url} and check the code ${login.userCode}`)
 * let session = await login.tokens()
 * session = await refresh(session)
 * await revoke(session)
 */
export { aborted, pollStep, tokenRequestError } from './answers.ts'
export type { PollStep } from './answers.ts'
export { DEFAULT_CLIENT_ID, discoverRelay, offeredModes, relayOrigin } from './discovery.ts'
export type { ClientOptions, Fetch, LoginMode, Relay } from './discovery.ts'
export { finalAnswerError, LoginError } from './errors.ts'
export type { LoginErrorCode, LoginErrorDetails } from './errors.ts'
export { DEFAULT_INTERVAL_SECONDS, DEFAULT_LOGIN_SECONDS, PREFER_WAIT_SECONDS, startLogin } from './login.ts'
export type { Login, LoopbackReceiver, StartLoginOptions } from './login.ts'
export { DEFAULT_GRANT_SECONDS, expiresWithin, exportDpopKey, importDpopKey, newDpopKey, refresh, revoke, sessionFrom } from './session.ts'
export type { Session, SessionOptions, StoredDpopKey } from './session.ts'
