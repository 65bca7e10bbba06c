/** @module HTML pages (login, consent, error) of the dev-only Unity stand-in. */

const LABEL = 'Unity stand-in — DEV ONLY';

const escapeHtml = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)} · ${LABEL}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}
.banner{background:#b00020;color:#fff;padding:.5rem 1rem;font-weight:bold}
label,input,button{display:block;margin:.5rem 0}button{display:inline-block;margin-right:.5rem}</style>
</head><body><p class="banner">${LABEL} — not the real Intellective Unity</p>
<h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

/** Login form: any non-empty username and password are accepted. */
export function loginPage(uid: string, clientId: string, error?: string): string {
  return layout('Sign in', `<p>Sign in to continue to <code>${escapeHtml(clientId)}</code>.</p>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}" data-unity-standin="login">
<label>Username <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button name="decision" value="allow">Sign in</button>
<button name="decision" value="deny" formnovalidate>Deny</button>
</form>`);
}

/** Consent form with explicit Allow and Deny buttons. */
export function consentPage(uid: string, clientId: string, accountId: string, scopes: string[]): string {
  const list = scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  return layout('Authorize access', `<p>Signed in as <strong>${escapeHtml(accountId)}</strong>.</p>
<p><code>${escapeHtml(clientId)}</code> requests access to:</p><ul>${list}</ul>
<form method="post" action="/interaction/${escapeHtml(uid)}" data-unity-standin="consent">
<button name="decision" value="allow">Allow</button>
<button name="decision" value="deny">Deny</button>
</form>`);
}

/** Error page for failed authorization or interaction requests. */
export function errorPage(error: string, description?: string): string {
  return layout('Error', `<p><strong>${escapeHtml(error)}</strong></p>
${description ? `<p>${escapeHtml(description)}</p>` : ''}`);
}

/** What `/` shows: what the stand-in is, its endpoints, its clients and its redirect URIs. */
export function landingPage(baseUrl: string, clients: ReadonlyArray<{ clientId: string; authMethod: string }>, extraRedirectUris: readonly string[]): string {
  const endpoints = ['authorize', 'token', 'introspect', 'revoke', 'userinfo', 'jwks']
    .map((name) => `<li><code>${escapeHtml(`${baseUrl}/api/oauth/${name}`)}</code></li>`)
    .join('');
  const clientList = clients.map((c) => `<li><code>${escapeHtml(c.clientId)}</code> (${escapeHtml(c.authMethod)})</li>`).join('');
  const extra = extraRedirectUris.map((uri) => `<li><code>${escapeHtml(uri)}</code></li>`).join('');
  return layout('Unity stand-in', `<p>A local OAuth 2.0 server (oidc-provider) with Unity's paths and scope <code>api</code>, for trying the relay without a Unity account. Sign in with any username and password.</p>
<h2>Endpoints</h2><ul>${endpoints}<li><code>${escapeHtml(`${baseUrl}/.well-known/openid-configuration`)}</code> (discovery)</li></ul>
<h2>Clients</h2><p>Secrets are in <code>dev/dev.vars</code> and <code>dev/unity-standin.ts</code>.</p><ul>${clientList}</ul>
<h2>Redirect URIs</h2><p><code>http://localhost:&lt;port&gt;/callback</code> and <code>http://127.0.0.1:&lt;port&gt;/callback</code> for ports 8787–8796 and 8000–8004${extra ? ', and:' : '.'}</p>${extra ? `<ul>${extra}</ul>` : ''}
<p>For another address, start the stand-in with <code>UNITY_STANDIN_REDIRECT_URIS="http://host:port/callback …"</code>.</p>`);
}
