/**
 * @module
 * Unity's token answer, read just far enough to swap its refresh token. A small strict JSON
 * scanner (RFC 8259) finds each top-level member's value in the raw text, so the relay splices in
 * its sealed token and every other byte stays as Unity sent it: numbers such as `2592000`, `1.0`
 * or `1e3`, escapes, member order, unknown members and whitespace, which JSON.parse and
 * JSON.stringify would not all keep.
 */
import { RelayError } from './errors.ts'

/** What the relay reads from Unity's token answer. */
export interface TokenAnswer {
  /** Unity's answer, verbatim. */
  readonly text: string
  /** Unity's refresh token, and where its value (quotes included) lies in {@link text}. */
  readonly refreshToken: { readonly value: string; readonly start: number; readonly end: number } | undefined
  /** The top-level `scope` when it is a string, the last one as JSON.parse reads it. */
  readonly scope: string | undefined
  /** Where a missing `refresh_token` member goes: just after the last member, or just inside `{`. */
  readonly insertAt: number
  /** Whether the object has no member, so an inserted one needs no comma. */
  readonly empty: boolean
}

/** Deepest nesting the scanner follows; Unity's answers are flat, and the recursion stays bounded. */
export const MAX_ANSWER_DEPTH = 32

interface MemberSpan {
  readonly name: string
  readonly start: number
  readonly end: number
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
/** RFC 8259 §7: the characters that may follow a backslash, besides `u`. */
const SHORT_ESCAPES = new Set([QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74])
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const HEX4 = /[0-9A-Fa-f]{4}/y

/**
 * Reads Unity's answer: a JSON object with at most one `refresh_token` member, which must be a
 * non-empty string.
 *
 * @throws {RelayError} `upstream_invalid_response` for anything else, so the app never gets an
 *   answer whose refresh token the relay could not seal.
 */
export function readTokenAnswer(text: string): TokenAnswer {
  const scanned = scanTopLevel(text)
  if (!scanned) throw unreadable('Unity’s token answer is not a JSON object the relay can read.')
  const refreshMembers = scanned.members.filter((member) => member.name === 'refresh_token')
  // JSON.parse would keep the last of two, but which one Unity meant is anyone's guess.
  if (refreshMembers.length > 1) throw unreadable('Unity’s token answer has more than one refresh_token.')
  const [member] = refreshMembers
  let refreshToken: TokenAnswer['refreshToken']
  if (member) {
    const value: unknown = JSON.parse(text.slice(member.start, member.end))
    if (typeof value !== 'string' || value === '') throw unreadable('Unity’s token answer has a refresh_token that is not a string.')
    refreshToken = { value, start: member.start, end: member.end }
  }
  const scopeMember = scanned.members.findLast((candidate) => candidate.name === 'scope')
  const scope: unknown = scopeMember ? JSON.parse(text.slice(scopeMember.start, scopeMember.end)) : undefined
  return { text, refreshToken, scope: typeof scope === 'string' ? scope : undefined, insertAt: scanned.insertAt, empty: scanned.members.length === 0 }
}

/**
 * The answer with its refresh token's value replaced by `token`, or a `refresh_token` member
 * added when it had none. Every other character is the answer's own.
 */
export function withRefreshToken(answer: TokenAnswer, token: string): string {
  const { text, refreshToken, insertAt, empty } = answer
  const literal = JSON.stringify(token)
  if (refreshToken) return text.slice(0, refreshToken.start) + literal + text.slice(refreshToken.end)
  return `${text.slice(0, insertAt)}${empty ? '' : ','}"refresh_token":${literal}${text.slice(insertAt)}`
}

/** The top-level object's members, or `null` unless `text` is exactly one JSON object. */
function scanTopLevel(text: string): { members: MemberSpan[]; insertAt: number } | null {
  let at = skipWhitespace(text, 0)
  if (text.charCodeAt(at) !== OPEN_BRACE) return null
  const members: MemberSpan[] = []
  let insertAt = at + 1
  at = skipWhitespace(text, at + 1)
  if (text.charCodeAt(at) === CLOSE_BRACE) {
    at++
  } else {
    for (;;) {
      const nameEnd = skipString(text, at)
      if (nameEnd < 0) return null
      const nameStart = at
      at = skipWhitespace(text, nameEnd)
      if (text.charCodeAt(at) !== COLON) return null
      const start = skipWhitespace(text, at + 1)
      const end = skipValue(text, start, 1)
      if (end < 0) return null
      members.push({ name: JSON.parse(text.slice(nameStart, nameEnd)) as string, start, end })
      insertAt = end
      at = skipWhitespace(text, end)
      const next = text.charCodeAt(at)
      if (next === CLOSE_BRACE) {
        at++
        break
      }
      if (next !== COMMA) return null
      at = skipWhitespace(text, at + 1)
    }
  }
  return skipWhitespace(text, at) === text.length ? { members, insertAt } : null
}

/** The index just past the value at `at`, or -1. */
function skipValue(text: string, at: number, depth: number): number {
  const first = text.charCodeAt(at)
  if (first === QUOTE) return skipString(text, at)
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    if (depth >= MAX_ANSWER_DEPTH) return -1
    const object = first === OPEN_BRACE
    const close = object ? CLOSE_BRACE : CLOSE_BRACKET
    at = skipWhitespace(text, at + 1)
    if (text.charCodeAt(at) === close) return at + 1
    for (;;) {
      if (object) {
        at = skipString(text, at)
        if (at < 0) return -1
        at = skipWhitespace(text, at)
        if (text.charCodeAt(at) !== COLON) return -1
        at = skipWhitespace(text, at + 1)
      }
      at = skipValue(text, at, depth + 1)
      if (at < 0) return -1
      at = skipWhitespace(text, at)
      const next = text.charCodeAt(at)
      if (next === close) return at + 1
      if (next !== COMMA) return -1
      at = skipWhitespace(text, at + 1)
    }
  }
  for (const literal of ['true', 'false', 'null']) if (text.startsWith(literal, at)) return at + literal.length
  NUMBER.lastIndex = at
  return NUMBER.test(text) ? NUMBER.lastIndex : -1
}

/** The index just past the string literal at `at`, or -1 (RFC 8259 §7). */
function skipString(text: string, at: number): number {
  if (text.charCodeAt(at) !== QUOTE) return -1
  for (let i = at + 1; i < text.length; ) {
    const code = text.charCodeAt(i)
    if (code === QUOTE) return i + 1
    if (code < 0x20) return -1
    if (code !== BACKSLASH) {
      i++
      continue
    }
    const escaped = text.charCodeAt(i + 1)
    if (SHORT_ESCAPES.has(escaped)) {
      i += 2
      continue
    }
    if (escaped !== 0x75) return -1
    HEX4.lastIndex = i + 2
    if (!HEX4.test(text)) return -1
    i += 6
  }
  return -1
}

/** RFC 8259 §2: insignificant whitespace is space, tab, line feed and carriage return. */
function skipWhitespace(text: string, at: number): number {
  for (;;) {
    const code = text.charCodeAt(at)
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return at
    at++
  }
}

function unreadable(description: string): RelayError {
  return new RelayError('upstream_invalid_response', description)
}
