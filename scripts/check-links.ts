/**
 * @module
 * Checks the links between the project's Markdown files: every relative link must name a file or
 * folder that exists, and every `#anchor` a heading of its file, spelt as GitHub spells heading
 * anchors. Web links are not fetched. `npm run lint` runs it; it exits 1 with one line per broken
 * link, `file:line: target (why)`.
 *
 * Usage: `node scripts/check-links.ts [files…]` (default: README.md, CHANGELOG.md and docs/*.md).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const root = resolve(dirname(new URL(import.meta.url).pathname), '..')

/** A link found in a Markdown file. */
interface Link {
  readonly line: number
  readonly target: string
}

/** The file's text with fenced code blocks blanked, offsets kept. */
function outsideFences(markdown: string): string {
  let fenced = false
  const lines = markdown.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced
      return ''.padEnd(line.length)
    }
    return fenced ? ''.padEnd(line.length) : line
  })
  return lines.join('\n')
}

/** The file's text with fenced code blocks and inline code spans blanked, offsets kept. */
export function proseOf(markdown: string): string {
  return outsideFences(markdown).replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length))
}

/** Every inline link and image `[text](target)` outside code, with its line number. */
export function linksIn(markdown: string): Link[] {
  const prose = proseOf(markdown)
  const links: Link[] = []
  for (const match of prose.matchAll(/\]\(\s*<?([^()\s<>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const line = prose.slice(0, match.index).split('\n').length
    links.push({ line, target: match[1] ?? '' })
  }
  return links
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces as dashes. */
export function anchorOf(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '')
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** The anchors of a Markdown file's headings, with GitHub's `-1`, `-2` suffixes for repeats. */
export function anchorsIn(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const line of outsideFences(markdown).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!heading) continue
    const base = anchorOf(heading[1] ?? '')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

/** The broken links of one file, as `file:line: target (why)` lines. */
export function brokenLinks(file: string): string[] {
  const markdown = readFileSync(file, 'utf8')
  const problems: string[] = []
  for (const { line, target } of linksIn(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
    const hash = target.indexOf('#')
    const path = decodeURIComponent(hash === -1 ? target : target.slice(0, hash))
    const anchor = hash === -1 ? '' : decodeURIComponent(target.slice(hash + 1))
    const where = `${relative(root, file)}:${line}: ${target}`
    const linked = path === '' ? file : resolve(dirname(file), path)
    if (!existsSync(linked)) {
      problems.push(`${where} (no such file)`)
      continue
    }
    if (anchor === '') continue
    if (statSync(linked).isDirectory() || !linked.endsWith('.md')) {
      problems.push(`${where} (an anchor into a file that is not Markdown)`)
      continue
    }
    if (!anchorsIn(readFileSync(linked, 'utf8')).has(anchor)) {
      problems.push(`${where} (no heading with this anchor in ${relative(root, linked)})`)
    }
  }
  return problems
}

/** README.md, CHANGELOG.md and every docs/*.md. */
function defaultFiles(): string[] {
  const docs = join(root, 'docs')
  const inDocs = existsSync(docs) ? readdirSync(docs).filter((name) => name.endsWith('.md')).map((name) => join(docs, name)) : []
  return [join(root, 'README.md'), join(root, 'CHANGELOG.md'), ...inDocs.sort()].filter((file) => existsSync(file))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const files = args.length > 0 ? args.map((file) => resolve(file)) : defaultFiles()
  const problems = files.flatMap(brokenLinks)
  for (const problem of problems) console.error(problem)
  const count = files.length === 1 ? '1 file' : `${files.length} files`
  if (problems.length > 0) {
    console.error(`check-links: ${problems.length} broken link${problems.length === 1 ? '' : 's'} in ${count}`)
    process.exit(1)
  }
  console.log(`check-links: every link in ${count} resolves`)
}
