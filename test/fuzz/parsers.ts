/**
 * @module
 * fast-check properties over the relay's two parsers of untrusted text that sit behind `/token`:
 * the sealed refresh token (`openRefreshToken`) and Unity's token answer (`readTokenAnswer`). Plain
 * web APIs, so any runtime can run them; `spelledAnswer` also feeds the byte-equality property in
 * test/workers/token-answer.test.ts.
 */
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { RelayError } from '../../src/errors.ts'
import { importRefreshSealKeys, openRefreshToken, RefreshTokenRefusal, sealRefreshToken } from '../../src/refresh-seal.ts'
import { MAX_ANSWER_DEPTH, readTokenAnswer, withRefreshToken } from '../../src/token-answer.ts'

/** A JSON text as Unity might spell it, with the value JSON.parse makes of it. */
export interface Spelled {
  readonly text: string
  readonly value: unknown
}

/** A generated token answer: `before + refreshLiteral + after` when it has a refresh_token. */
export interface SpelledAnswer {
  readonly text: string
  /** Unity's refresh token and its literal's place, or `undefined` for an answer without one. */
  readonly refresh: { readonly value: string; readonly before: string; readonly after: string } | undefined
}

const whitespace = fc.oneof({ arbitrary: fc.constant(''), weight: 4 }, { arbitrary: fc.stringMatching(/^[ \t\n\r]{1,3}$/), weight: 1 })
const hex4 = (code: number, upper: boolean) => {
  const hex = code.toString(16).padStart(4, '0')
  return upper ? hex.toUpperCase() : hex
}
const SHORT: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '/': '\\/', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/** One UTF-16 code unit, lone surrogates included, leaning to the characters JSON treats specially. */
const codeUnit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
  fc.constantFrom('"', '\\', '/', '\n', '\t', '\u0000', '\u001f', ' ', 'é', '€', '\u2028', '\ufeff', 'a', 'Z', '0'),
)

/** A string with every character spelt raw, as a short escape or as `\uXXXX` in either case. */
const spelledString = (units: fc.Arbitrary<string[]>): fc.Arbitrary<Spelled> =>
  units.chain((characters) =>
    fc.tuple(...characters.map((character) => fc.nat(3).map((choice) => spell(character, choice)))).map((parts) => ({ text: `"${parts.join('')}"`, value: characters.join('') })),
  )

function spell(character: string, choice: number): string {
  const code = character.charCodeAt(0)
  const raw = character !== '"' && character !== '\\' && code >= 0x20
  if (choice === 0 && raw) return character
  if (choice === 1 && SHORT[character] !== undefined) return SHORT[character]
  return `\\u${hex4(code, choice === 2)}`
}

const anyString = spelledString(fc.array(codeUnit, { maxLength: 12 }))

/** Numbers in every RFC 8259 §6 spelling: signs, leading zero, fractions, exponents of any case and sign. */
const spelledNumber: fc.Arbitrary<Spelled> = fc
  .record({
    minus: fc.boolean(),
    integer: fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,20}$/)),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,8}$/), { nil: undefined }),
    exponent: fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.stringMatching(/^[0-9]{1,3}$/)), { nil: undefined }),
  })
  .map(({ minus, integer, fraction, exponent }) => {
    const text = `${minus ? '-' : ''}${integer}${fraction === undefined ? '' : `.${fraction}`}${exponent === undefined ? '' : exponent.join('')}`
    return { text, value: JSON.parse(text) as unknown }
  })

const literal: fc.Arbitrary<Spelled> = fc.constantFrom({ text: 'true', value: true }, { text: 'false', value: false }, { text: 'null', value: null })

/** A name that does not decode to `refresh_token`, leaning to the names token answers use. */
const otherName: fc.Arbitrary<Spelled> = fc
  .oneof(
    spelledString(fc.constantFrom('access_token', 'token_type', 'expires_in', 'scope', 'jti', 'id_token', 'refresh_tokens', 'Refresh_token', 'refresh_token ', '', '__proto__').map((name) => [...name])),
    anyString,
  )
  .filter((name) => name.value !== 'refresh_token')

const joined = (items: fc.Arbitrary<string>[], open: string, close: string): fc.Arbitrary<string> =>
  fc.tuple(whitespace, ...items.map((item) => fc.tuple(item, whitespace))).map(([inner, ...rest]) => {
    if (rest.length === 0) return `${open}${inner}${close}`
    return `${open}${inner}${rest.map(([item, after], index) => `${item}${after}${index < rest.length - 1 ? ',' : ''}`).join('')}${close}`
  })

/** Any JSON value up to a small depth, every member separated by generated whitespace. */
const { value: spelledValue } = fc.letrec<{ value: Spelled; array: Spelled; object: Spelled }>((tie) => ({
  value: fc.oneof({ maxDepth: 3, depthIdentifier: 'json' }, anyString, spelledNumber, literal, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }).chain((items) =>
    joined(items.map((item) => fc.constant(item.text)), '[', ']').map((text) => ({ text, value: items.map((item) => item.value) })),
  ),
  object: fc.array(fc.tuple(otherName, tie('value')), { maxLength: 4 }).chain((members) =>
    joined(members.map(([name, item]) => whitespace.chain((a) => whitespace.map((b) => `${name.text}${a}:${b}${item.text}`))), '{', '}').map((text) => ({ text, value: objectOf(members.map(([name, item]) => [String(name.value), item.value])) })),
  ),
}))

function objectOf(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {}
  for (const [name, value] of entries) Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true })
  return object
}

/** `refresh_token` as a name, raw or with any of its characters escaped. */
const refreshName = spelledString(fc.constant([...'refresh_token'])).map((name) => name.text)

/**
 * A token answer: a top-level object of unknown and known members with nested values, numbers
 * in every spelling and any whitespace, holding at most one `refresh_token`, which is a
 * non-empty string.
 */
export const spelledAnswer: fc.Arbitrary<SpelledAnswer> = fc
  .record({
    members: fc.array(fc.tuple(otherName, spelledValue), { maxLength: 6 }),
    refresh: fc.option(fc.tuple(fc.nat(), refreshName, spelledString(fc.array(codeUnit, { minLength: 1, maxLength: 40 }))), { nil: undefined }),
    spaces: fc.array(whitespace, { minLength: 32, maxLength: 32 }),
  })
  .map(({ members, refresh, spaces }) => {
    const space = (index: number) => spaces[index % spaces.length] ?? ''
    const parts: Array<{ readonly text: string } | { readonly name: string; readonly literal: string }> = members.map(([name, value], index) => ({ text: `${name.text}${space(index)}:${space(index + 1)}${value.text}` }))
    if (refresh) parts.splice(refresh[0] % (parts.length + 1), 0, { name: refresh[1], literal: refresh[2].text })
    let text = `${space(7)}{${space(8)}`
    let before = ''
    let end = -1
    parts.forEach((part, index) => {
      if (index > 0) text += `,${space(index + 9)}`
      if ('name' in part) {
        text += `${part.name}${space(index + 3)}:${space(index + 4)}`
        before = text
        text += part.literal
        end = text.length
      } else {
        text += part.text
      }
      text += space(index + 5)
    })
    text += `}${space(31)}`
    if (!refresh) return { text, refresh: undefined }
    return { text, refresh: { value: JSON.parse(refresh[2].text) as string, before, after: text.slice(end) } }
  })

/** Small edits of a valid text: delete, insert, replace or duplicate a piece, or cut it short. */
const mutated = (texts: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(texts, fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constant(0), fc.nat(8)), fc.constantFrom('delete', 'insert', 'replace', 'duplicate', 'cut'), fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', ' ', '0', '-', '+', '.', 'e', 'u', 'n', 't', '\u0000', '\u001f', '\n', '\t', '\u00a0', 'é')), { minLength: 1, maxLength: 2 }))
    .map(([text, edits]) =>
      edits.reduce((current, [at, length, kind, character]) => {
        const index = current.length === 0 ? 0 : at % (current.length + 1)
        if (kind === 'delete') return current.slice(0, index) + current.slice(index + length + 1)
        if (kind === 'insert') return current.slice(0, index) + character + current.slice(index)
        if (kind === 'replace') return current.slice(0, index) + character + current.slice(index + 1)
        if (kind === 'duplicate') return current.slice(0, index + length + 1) + current.slice(index)
        return current.slice(0, index)
      }, text),
    )

/** Each piece of an object: what JSON allows there, and near misses that JSON.parse refuses. */
const PIECES = {
  open: [['{', ' {', '\n{'], ['', '[', '\u00a0{', '\ufeff{']],
  name: [['"a"', '"refresh_token"', '"scope"', '"re\\u0066resh_token"', '"\\u0041"', '""'], ['a', "'a'", '"a', '"\\x"', '"\u0001"', '"\t"', '1', 'null']],
  colon: [[':', ' : ', ':\t'], ['', '::', '\u00a0:', '=']],
  value: [
    ['0', '-0', '1.5', '1e5', '1E+2', '2592000', '-1.0e-7', 'true', 'false', 'null', '"rt"', '"\\/"', '"\\u00e9"', '[]', '[1, {"b": null}]', '{}', '{"c":[true]}'],
    ['01', '-', '1.', '.5', '1e', '1e+', '+1', '0x1', '-01', 'nul', 'True', '"\\x"', '"\\u00e"', '"\u0001"', '"\t"', '[1,]', '[1 2]', '[,1]', '{"a"}', '{"a":1,}', '{"a" 1}', '"x\\"', 'NaN', '1\u00a0', "'a'"],
  ],
  comma: [[',', ', ', ' ,\n'], ['', ' ', ',,', '\u00a0,', ';']],
  close: [['}', ' }', '}\n'], ['', '}}', '},', '} x', '}\u00a0', ']', '}\ufeff']],
} as const satisfies Record<string, readonly [readonly string[], readonly string[]]>

/** Every near miss with the piece it replaces, so each is drawn as often as any other. */
const NEAR_MISSES = Object.entries(PIECES).flatMap(([piece, [, nearMisses]]) => nearMisses.map((text) => ({ piece: piece as keyof typeof PIECES, text })))

/**
 * An object built piece by piece, usually with exactly one piece a near miss (a leading zero, a
 * bare `1.`, a trailing comma, a no-break space, a bad escape): where a scanner and JSON.parse
 * would disagree.
 */
const nearMiss: fc.Arbitrary<string> = fc
  .record({ count: fc.nat(3), picks: fc.array(fc.nat(), { minLength: 16, maxLength: 16 }), broken: fc.option(fc.nat(NEAR_MISSES.length - 1), { freq: 9 }) })
  .map(({ count, picks, broken }) => {
    const miss = broken === null ? undefined : NEAR_MISSES[broken]
    const members = Math.max(count, miss?.piece === 'comma' ? 2 : miss && ['name', 'colon', 'value'].includes(miss.piece) ? 1 : 0)
    const pieces: Array<keyof typeof PIECES> = ['open']
    for (let member = 0; member < members; member++) pieces.push(...(member > 0 ? ['comma' as const] : []), 'name', 'colon', 'value')
    pieces.push('close')
    const candidates = pieces.flatMap((piece, index) => (piece === miss?.piece ? [index] : []))
    const brokenAt = candidates[(picks[15] ?? 0) % Math.max(1, candidates.length)] ?? -1
    return pieces.map((piece, index) => (index === brokenAt ? miss!.text : PIECES[piece][0][(picks[index % 15] ?? 0) % PIECES[piece][0].length]!)).join('')
  })

function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  return 1 + Math.max(0, ...Object.values(value).map(depthOf))
}

/** One parser property: a name and a run, like a contract case but with no relay. */
export interface ParserProperty {
  readonly name: string
  run(): Promise<void>
}

/**
 * The scanner agrees with JSON.parse: what it reads, JSON.parse reads as an object; what it
 * refuses that JSON.parse reads as an object is deeper than {@link MAX_ANSWER_DEPTH}, or has two
 * refresh tokens or one that is not a non-empty string. It throws nothing but `RelayError`.
 */
function answerProperty(numRuns: number): ParserProperty {
  const answers = spelledAnswer.map((answer) => answer.text)
  const texts = fc.oneof(
    { arbitrary: answers, weight: 1 },
    { arbitrary: mutated(answers), weight: 2 },
    { arbitrary: nearMiss, weight: 6 },
    { arbitrary: fc.string({ maxLength: 60 }), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 30 }), weight: 1 },
  )
  return {
    name: `fuzz: Unity's token answer (${numRuns} cases): the scanner agrees with JSON.parse and throws only RelayError`,
    async run() {
      fc.assert(
        fc.property(texts, (text) => {
          let parsed: unknown
          let parses = true
          try {
            parsed = JSON.parse(text)
          } catch {
            parses = false
          }
          const isObject = parses && typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
          let answer: ReturnType<typeof readTokenAnswer>
          try {
            answer = readTokenAnswer(text)
          } catch (error) {
            assert.ok(error instanceof RelayError && error.code === 'upstream_invalid_response', String(error))
            if (isObject && !/more than one refresh_token|refresh_token that is not/.test(error.description)) {
              assert.ok(depthOf(parsed) >= MAX_ANSWER_DEPTH, `refused what JSON.parse reads: ${JSON.stringify(text).slice(0, 200)}`)
            }
            if (/refresh_token that is not/.test(error.description)) {
              const value = (parsed as Record<string, unknown>).refresh_token
              assert.ok(typeof value !== 'string' || value === '')
            }
            return
          }
          assert.ok(isObject, `read what JSON.parse refuses: ${JSON.stringify(text).slice(0, 200)}`)
          const record = parsed as Record<string, unknown>
          assert.equal(answer.refreshToken?.value, record.refresh_token)
          assert.equal(answer.scope, typeof record.scope === 'string' ? record.scope : undefined)
          const out = JSON.parse(withRefreshToken(answer, 'v1.sealed')) as Record<string, unknown>
          assert.equal(out.refresh_token, 'v1.sealed')
        }),
        { numRuns },
      )
    },
  }
}

/**
 * Any text, and every small edit of a real sealed token, either opens (the untouched token only)
 * or is refused with `invalid_grant` and a reason; nothing else is ever thrown.
 */
function sealedTokenProperty(numRuns: number): ParserProperty {
  return {
    name: `fuzz: sealed refresh tokens (${numRuns} cases): anything but the relay's own token is invalid_grant, nothing else is thrown`,
    async run() {
      const keys = await importRefreshSealKeys(['fuzz-refresh-seal-secret-0123456789abcdef', 'fuzz-refresh-seal-previous-0123456789abcd'])
      const payload = { unityRefreshToken: 'rt-fzsecret', grantId: 'AAECAwQFBgcICQoLDA0ODw', generation: 3, scope: 'api', issuedAt: 1_800_000_000 }
      const tokens = [await sealRefreshToken(keys, payload), await sealRefreshToken({ current: keys.all[1]!, all: keys.all }, { ...payload, jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' })]
      const base64url = fc.stringMatching(/^[A-Za-z0-9_-]{0,300}$/)
      const inputs = fc.oneof(
        fc.string({ maxLength: 80 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.constantFrom(...tokens).chain((token) => mutated(fc.constant(token))),
        fc.tuple(fc.constantFrom(...keys.all.map((key) => key.kid), 'AAAAAAAA'), base64url).map(([kid, body]) => `v1.${kid}.${body}`),
        fc.nat(6000).map((length) => `v1.${keys.current.kid}.${'A'.repeat(length)}`),
      )
      await fc.assert(
        fc.asyncProperty(inputs, async (token) => {
          try {
            const opened = await openRefreshToken(keys, token)
            assert.ok(tokens.includes(token), 'only the relay’s own tokens open')
            assert.equal(opened.unityRefreshToken, 'rt-fzsecret')
          } catch (error) {
            assert.ok(error instanceof RelayError && error.code === 'invalid_grant' && error.cause instanceof RefreshTokenRefusal, String(error))
            if (token.length >= 8) assert.equal(error.description.includes(token), false, 'the description quotes the token')
          }
        }),
        { numRuns },
      )
    },
  }
}

/** Both parser properties, each at `numRuns` cases. */
export function parserProperties(numRuns: number): readonly ParserProperty[] {
  return [sealedTokenProperty(numRuns), answerProperty(numRuns)]
}
