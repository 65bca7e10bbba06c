/** @module Scripted "browser" for smoke tests: follows redirects with a cookie jar, presses a button on the relay's confirmation page and submits the Unity stand-in's login and consent forms. */

/** Options for {@link headlessLogin}. */
export interface HeadlessLoginOptions {
  /** Username typed into the stand-in login form (password = username); default `dev-user`. */
  username?: string;
  /** Press "Deny": `true` or `'consent'` on the consent page, `'login'` on the login page; `'confirm'` presses Cancel on the relay's confirmation page. */
  deny?: boolean | 'login' | 'consent' | 'confirm';
  /** fetch implementation; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Return this URL without fetching it when true (e.g. a callback nobody listens on). */
  stopAt?: (url: URL) => boolean;
  /** Maximum number of requests; default 20. */
  maxSteps?: number;
}

/** Outcome of {@link headlessLogin}. */
export interface HeadlessLoginResult {
  /** URL of the final response, or the URL matched by `stopAt`. */
  finalUrl: string;
  /** Status of the final response, or of the redirect leading to the `stopAt` URL. */
  status: number;
  /** Body of the final response ('' when stopped by `stopAt`). */
  body: string;
  /** Every URL requested, in order. */
  visited: string[];
  /** True when `stopAt` ended the run. */
  stopped: boolean;
}

interface Cookie {
  name: string;
  value: string;
  domain: string;
  hostOnly: boolean;
  path: string;
  expires: number;
}

/** Minimal RFC 6265 cookie jar; keeps Secure and `__Host-` cookies even over plain http. */
export class CookieJar {
  #cookies: Cookie[] = [];

  /** Stores the response's Set-Cookie headers as a browser would for `url`. */
  store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const cookie: Cookie = {
        name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(),
        domain: url.hostname, hostOnly: true, path: defaultPath(url), expires: Infinity,
      };
      let maxAge: number | undefined;
      for (const attr of attrs) {
        const [key = '', ...rest] = attr.split('=');
        const value = rest.join('=').trim();
        switch (key.trim().toLowerCase()) {
          case 'max-age': if (/^-?\d+$/.test(value)) maxAge = Number(value); break;
          case 'expires': {
            const time = Date.parse(value);
            if (!Number.isNaN(time)) cookie.expires = time;
            break;
          }
          case 'path': if (value.startsWith('/')) cookie.path = value; break;
          case 'domain': {
            const domain = value.replace(/^\./, '').toLowerCase();
            if (domain && domainMatch(url.hostname, domain)) Object.assign(cookie, { domain, hostOnly: false });
          }
        }
      }
      if (maxAge !== undefined) cookie.expires = maxAge <= 0 ? 0 : Date.now() + maxAge * 1000;
      this.#cookies = this.#cookies.filter((c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path));
      if (cookie.expires > Date.now()) this.#cookies.push(cookie);
    }
  }

  /** The Cookie header value to send to `url`, or undefined. */
  header(url: URL): string | undefined {
    const now = Date.now();
    this.#cookies = this.#cookies.filter((c) => c.expires > now);
    const header = this.#cookies
      .filter((c) => (c.hostOnly ? c.domain === url.hostname : domainMatch(url.hostname, c.domain)) && pathMatch(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    return header || undefined;
  }
}

function defaultPath(url: URL): string {
  const i = url.pathname.lastIndexOf('/');
  return i > 0 ? url.pathname.slice(0, i) : '/';
}

function domainMatch(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && !/^[\d.]+$|:/.test(host));
}

function pathMatch(path: string, cookiePath: string): boolean {
  return path === cookiePath || (path.startsWith(cookiePath) && (cookiePath.endsWith('/') || path[cookiePath.length] === '/'));
}

const decode = (s: string): string =>
  s.replace(/&(#x[\da-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (m, e: string) => {
    const named: Record<string, string | undefined> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (!e.startsWith('#')) return named[e.toLowerCase()] ?? m;
    return String.fromCodePoint(/^#x/i.test(e) ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });

type Attrs = Record<string, string | undefined>;

function attrs(tag = ''): Attrs {
  const out: Attrs = {};
  for (const [, name = '', ...values] of tag.matchAll(/([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    out[name.toLowerCase()] = decode(values.find((v) => v !== undefined) ?? '');
  }
  return out;
}

interface StandinForm {
  kind: string | undefined;
  action: URL;
  fields: URLSearchParams;
  buttons: Attrs[];
}

/** The stand-in's login or consent form, or the relay's confirmation form (kind `confirm`). */
function parseForm(html: string, base: URL, username: string): StandinForm | undefined {
  const match =
    /<form\b([^>]*\bdata-unity-standin\s*=[^>]*)>([\s\S]*?)<\/form>/i.exec(html) ??
    /<form\b([^>]*\baction="\/authorize"[^>]*)>([\s\S]*?name="decision"[\s\S]*?)<\/form>/i.exec(html);
  if (!match) return undefined;
  const [, formTag, inner = ''] = match;
  const form = attrs(formTag);
  form['data-unity-standin'] ??= 'confirm';
  const fields = new URLSearchParams();
  for (const [, tag] of inner.matchAll(/<input\b([^>]*)>/gi)) {
    const input = attrs(tag);
    if (!input.name) continue;
    const type = (input.type ?? 'text').toLowerCase();
    if (['text', 'email', 'password'].includes(type)) fields.set(input.name, username);
    else if (type === 'hidden') fields.set(input.name, input.value ?? '');
  }
  const buttons = [...inner.matchAll(/<button\b([^>]*)>/gi)].map(([, tag]) => attrs(tag)).filter((b) => b.name);
  return { kind: form['data-unity-standin'], action: new URL(form.action ?? '', base), fields, buttons };
}

/**
 * Drives an authorization flow from `startUrl` like a browser: follows redirects manually with a cookie jar,
 * signs in and allows (or denies) on the Unity stand-in's pages, and returns the first other non-redirect response.
 */
export async function headlessLogin(startUrl: string, options: HeadlessLoginOptions = {}): Promise<HeadlessLoginResult> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const username = options.username ?? 'dev-user';
  const denyAt = options.deny === true ? 'consent' : options.deny || undefined;
  const jar = new CookieJar();
  const visited: string[] = [];
  let url = new URL(startUrl);
  let init: { method: string; body?: URLSearchParams; origin?: string } = { method: 'GET' };
  let lastStatus = 0;

  for (let step = 0; step < (options.maxSteps ?? 20); step++) {
    if (options.stopAt?.(url)) return { finalUrl: url.href, status: lastStatus, body: '', visited, stopped: true };
    visited.push(url.href);
    const headers = new Headers({ accept: 'text/html,*/*' });
    const cookie = jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    // Like a browser: a form POST says which origin it came from (Fetch Metadata and Origin).
    if (init.origin !== undefined) {
      headers.set('origin', init.origin);
      headers.set('sec-fetch-site', init.origin === url.origin ? 'same-origin' : 'cross-site');
    } else if (step === 0) {
      // The app opened the browser at the start URL: no site sent it there.
      headers.set('sec-fetch-site', 'none');
    }
    const res = await doFetch(url, { method: init.method, ...(init.body ? { body: init.body } : {}), headers, redirect: 'manual' });
    jar.store(url, res.headers);
    lastStatus = res.status;
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      if (res.status !== 307 && res.status !== 308) init = { method: 'GET' };
      url = new URL(location, url);
      continue;
    }
    const body = await res.text();
    const form = (res.headers.get('content-type') ?? '').includes('html') ? parseForm(body, url, username) : undefined;
    if (!form) return { finalUrl: url.href, status: res.status, body, visited, stopped: false };
    const deny = denyAt === form.kind;
    const button = form.buttons.find((b) => /deny|cancel|abort/i.test(b.value ?? '') === deny);
    if (button?.name) form.fields.set(button.name, button.value ?? '');
    init = { method: 'POST', body: form.fields, origin: url.origin };
    url = form.action;
  }
  throw new Error(`headlessLogin: no final page after ${options.maxSteps ?? 20} requests: ${visited.join(' -> ')}`);
}
