/**
 * The pages' templates escape every value they interpolate: markup and quote characters in any
 * field come out as text, and the page keeps exactly the tags and attributes it has with a
 * harmless value.
 */
import { describe, expect, it } from 'vitest'
import { cancelledPage, confirmPage, deniedPage, deviceEntryPage, donePage, errorPage } from '../../src/pages.ts'
import { INTENT_GATE_SCRIPT } from '../../src/intent-gate.ts'
import { landingPage } from '../../src/pages.ts'

// No spaces: the confirmation page splits a scope on them.
const EVIL = `<script>alert("x")</script><b/title='y'>&amp;`
const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b/title=&#39;y&#39;&gt;&amp;amp;'

/** Every tag of a page with its attribute values blanked: what a value that broke out would change. */
function tags(page: string): string[] {
  return [...page.matchAll(/<[^>]*>/g)].map(([tag]) => tag.replace(/"[^"]*"/g, '""'))
}

type Render = (fields: Record<string, string>) => string

/** The page without the intent gate's own script tag and code, the one script a page may have. */
function withoutGate(page: string): string {
  return page.replace(INTENT_GATE_SCRIPT, '').replace(/<script nonce="[^"]*"><\/script>/, '')
}

const PAGES: Record<string, { render: Render; fields: Record<string, string> }> = {
  confirm: {
    render: (f) => confirmPage({ userCode: f.userCode!, unityHost: f.unityHost!, scope: f.scope!, state: f.state!, nonce: f.nonce }),
    fields: { userCode: 'ABCD-EFGH', unityHost: 'unity.example.com', scope: 'api', state: 'st', nonce: 'n' },
  },
  'confirm (device)': {
    render: (f) => confirmPage({ userCode: f.userCode!, unityHost: f.unityHost!, scope: f.scope!, state: f.state!, device: true, nonce: f.nonce }),
    fields: { userCode: 'ABCD-EFGH', unityHost: 'unity.example.com', scope: 'api read', state: 'st', nonce: 'n' },
  },
  'confirm (reached from another site)': {
    render: (f) => confirmPage({ userCode: f.a!, unityHost: f.unityHost!, scope: 'api', state: f.state!, choices: [f.b!, f.a!, f.c!], startedAt: 1_800_000_000, now: 1_800_000_000, nonce: f.nonce }),
    fields: { a: 'ABCD-EFGH', b: 'BCDF-GHJK', c: 'LMNP-QRST', unityHost: 'unity.example.com', state: 'st', nonce: 'n' },
  },
  'confirm (device, from elsewhere)': {
    render: (f) =>
      confirmPage({
        userCode: 'ABCD-EFGH', unityHost: 'unity.example.com', scope: 'api', state: 'st', device: true, startedAt: 1_800_000_000, now: 1_800_000_200,
        deviceFrom: { country: 'DE', network: f.deviceNetwork! }, browserAt: { country: 'DE', network: f.browserNetwork! }, nonce: f.nonce,
      }),
    fields: { deviceNetwork: 'Deutsche Telekom AG', browserNetwork: 'Vodafone GmbH', nonce: 'n' },
  },
  'device entry': { render: (f) => deviceEntryPage({ problem: f.problem, nonce: f.nonce }), fields: { problem: 'Wrong code.', nonce: 'n' } },
  denied: { render: (f) => deniedPage({ error: f.error!, nonce: f.nonce }), fields: { error: 'server_error', nonce: 'n' } },
  error: {
    render: (f) => errorPage({ title: f.title!, message: f.message!, code: f.code!, nonce: f.nonce }),
    fields: { title: 'Bad request', message: 'Start again.', code: 'invalid_request', nonce: 'n' },
  },
  landing: {
    render: (f) => landingPage({ unityHost: f.unityHost!, metadataPath: f.metadataPath, nonce: f.nonce }),
    fields: { unityHost: 'unity.example.com', metadataPath: '/.well-known/oauth-authorization-server', nonce: 'n' },
  },
  done: { render: (f) => donePage({ nonce: f.nonce }), fields: { nonce: 'n' } },
  cancelled: { render: (f) => cancelledPage({ nonce: f.nonce }), fields: { nonce: 'n' } },
}

describe('pages', () => {
  for (const [name, { render, fields }] of Object.entries(PAGES)) {
    for (const field of Object.keys(fields)) {
      it(`${name}: markup and quotes in ${field} are escaped`, () => {
        const harmless = render(fields)
        const page = withoutGate(render({ ...fields, [field]: EVIL }))
        expect(page).not.toContain('<script')
        expect(page).not.toContain(`"x"`)
        expect(page).not.toContain(`'y'`)
        expect(page).toContain(ESCAPED)
        expect(tags(page)).toEqual(tags(withoutGate(harmless)))
      })
    }
  }

  it('every page is one document with the stylesheet allowed by the nonce, and none without one', () => {
    for (const [name, { render, fields }] of Object.entries(PAGES)) {
      const page = render({ ...fields, nonce: 'Ab+/9=' })
      expect(page, name).toMatch(/^<!doctype html><html lang="en"><head>.*<style nonce="Ab\+\/9=">\n:root \{.*?<\/style>(<script nonce="Ab\+\/9=">.*<\/script><noscript><style nonce="Ab\+\/9=">.*<\/style><\/noscript>)?<\/head><body>.*<\/body><\/html>$/s)
      expect(page, name).toContain('font: 16px/1.5 system-ui, -apple-system, "Segoe UI"')
      // The confirmation page, and only it, runs the intent gate, in its <head> before any button exists.
      expect(page.includes(`<script nonce="Ab+/9=">${INTENT_GATE_SCRIPT}</script>`), name).toBe(name.startsWith('confirm'))
      const withoutNonce = render({ ...fields, nonce: undefined as unknown as string })
      expect(withoutNonce, name).toContain('<style>\n:root {')
      expect(withoutNonce, name).not.toContain('<script')
    }
  })
})
