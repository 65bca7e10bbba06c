/** @module DEV-ONLY local stand-in for Intellective Unity's OAuth 2.0 server, built on oidc-provider; never deploy it. */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, IncomingMessage } from 'node:http';
import type { ServerResponse } from 'node:http';
import Provider, { errors } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
import { exitOnPortInUse, isAddressInUse, PortInUseError } from './ports.ts';
import { consentPage, errorPage, landingPage, loginPage } from './unity-standin-pages.ts';

/** Options for {@link startUnityStandin}. */
export interface UnityStandinOptions {
  /** Listen port; default `UNITY_STANDIN_PORT` or 9000 (0 picks a free port). */
  port?: number;
  /** Listen host; default 127.0.0.1. */
  host?: string;
  /** Issuer (`iss`); default the base URL. */
  issuer?: string;
  /** Redirect URIs registered in addition to the defaults and `UNITY_STANDIN_REDIRECT_URIS`. */
  redirectUris?: string[];
}

/** A running stand-in. */
export interface UnityStandin {
  /** Base URL, e.g. `http://127.0.0.1:9000`; endpoints live under `/api/oauth/`. */
  url: string;
  issuer: string;
  /** Token requests received so far, by `grant_type` (e.g. `refresh_token`), for tests that count refreshes. */
  readonly tokenGrants: Readonly<Record<string, number>>;
  /** Sets the lifetime of the access tokens issued from now on (default 30 days), e.g. a short one to test refreshes. */
  setAccessTokenTtl(seconds: number): void;
  close(): Promise<void>;
}

/** The registered dev clients (both confidential, grant types authorization_code + refresh_token). */
export const UNITY_STANDIN_CLIENTS = [
  { clientId: 'relay-dev', clientSecret: 'dev-only-secret-basic-0123456789abcdef', authMethod: 'client_secret_basic' },
  { clientId: 'relay-dev-post', clientSecret: 'dev-only-secret-post-0123456789abcdef', authMethod: 'client_secret_post' },
] as const;

/** Resource indicator (access-token audience) carrying scope `api`. */
export const UNITY_STANDIN_RESOURCE = 'urn:unity-standin:api';

const ACCESS_TOKEN_TTL = 30 * 24 * 3600;
const REFRESH_TOKEN_TTL = 365 * 24 * 3600;
const DEV_PORTS = [8787, 8788, 8789, 8790, 8791, 8792, 8793, 8794, 8795, 8796, 8000, 8001, 8002, 8003, 8004];

/** Default redirect URIs: `http://{localhost,127.0.0.1}:<port>/callback` for ports 8787–8796 and 8000–8004. */
export function defaultRedirectUris(): string[] {
  return DEV_PORTS.flatMap((p) => [`http://localhost:${p}/callback`, `http://127.0.0.1:${p}/callback`]);
}

function createProvider(issuer: string, redirectUris: string[], accessTokenTtl: () => number): Provider {
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return new Provider(issuer, {
    adapter: createMemoryAdapter(),
    jwks: { keys: [{ ...signingKey, alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: UNITY_STANDIN_CLIENTS.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      token_endpoint_auth_method: c.authMethod,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
    })),
    scopes: ['openid', 'offline_access', 'api'],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    routes: {
      authorization: '/api/oauth/authorize',
      token: '/api/oauth/token',
      introspection: '/api/oauth/introspect',
      revocation: '/api/oauth/revoke',
      userinfo: '/api/oauth/userinfo',
      jwks: '/api/oauth/jwks',
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      introspection: { enabled: true, allowedPolicy: () => true },
      revocation: { enabled: true, allowedPolicy: (_ctx: unknown, client: any, token: any) => client.clientId === token.clientId },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => UNITY_STANDIN_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== UNITY_STANDIN_RESOURCE) throw new errors.InvalidTarget();
          return { scope: 'api', audience: UNITY_STANDIN_RESOURCE, accessTokenFormat: 'opaque', accessTokenTTL: accessTokenTtl() };
        },
      },
    },
    pkce: { required: () => false },
    issueRefreshToken: (_ctx: unknown, client: any) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: () => false,
    rotateRefreshToken: true,
    clientBasedCORS: () => true,
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    renderError: (ctx: any, out: { error: string; error_description?: string }) => {
      ctx.type = 'html';
      ctx.body = errorPage(out.error, out.error === 'invalid_redirect_uri' ? `${out.error_description ?? ''} ${REDIRECT_URI_HINT}` : out.error_description);
    },
    ttl: {
      AccessToken: () => accessTokenTtl(),
      AuthorizationCode: 60,
      RefreshToken: REFRESH_TOKEN_TTL,
      Grant: REFRESH_TOKEN_TTL,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
    },
  });
}

const REDIRECT_URI_HINT = 'The stand-in registers http://localhost:<port>/callback and http://127.0.0.1:<port>/callback for ports 8787–8796 and 8000–8004. For another address, restart it with UNITY_STANDIN_REDIRECT_URIS="http://host:port/callback".';

/** Endpoints where a client authenticates with its secret. */
const CLIENT_AUTH_PATHS = new Set(['/api/oauth/token', '/api/oauth/introspect', '/api/oauth/revoke']);
const MAX_CLIENT_AUTH_BODY = 56 * 1024;

/**
 * oidc-provider accepts client_secret_basic and client_secret_post from any client with a secret;
 * this holds each client to its registered method, so a relay set to the wrong one is refused.
 * Answers 401 and returns undefined on a mismatch; otherwise returns an unread copy of the request
 * for oidc-provider, which then parses the body itself (no "already parsed request body" warning).
 */
async function enforceClientAuthMethod(req: IncomingMessage, res: ServerResponse, counts: Record<string, number>): Promise<IncomingMessage | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if ((size += chunk.length) > MAX_CLIENT_AUTH_BODY) throw new Error('request body too large');
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const form = new URLSearchParams(body.toString('utf8'));
  const grantType = form.get('grant_type');
  if (req.url === '/api/oauth/token' && grantType) counts[grantType] = (counts[grantType] ?? 0) + 1;
  const basic = /^basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const used = basic ? 'client_secret_basic' : form.has('client_secret') ? 'client_secret_post' : undefined;
  const clientId = basic ? new URLSearchParams(`id=${Buffer.from(basic, 'base64').toString('utf8').split(':')[0]}`).get('id') : form.get('client_id');
  const client = UNITY_STANDIN_CLIENTS.find((c) => c.clientId === clientId);
  if (!used || !client || client.authMethod === used) return replayable(req, body);
  res.writeHead(401, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: 'invalid_client', error_description: `client ${client.clientId} must authenticate with ${client.authMethod}` }));
  return undefined;
}

/** A fresh request with `req`'s line, headers and socket whose body stream yields `body` again. */
function replayable(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  Object.assign(copy, {
    method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders,
    httpVersion: req.httpVersion, httpVersionMajor: req.httpVersionMajor, httpVersionMinor: req.httpVersionMinor,
    // A complete message: otherwise Node treats the copy's end as an abort and closes the socket.
    complete: true,
  });
  copy.push(body);
  copy.push(null);
  return copy;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

async function interaction(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { uid, prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  const clientId = String(params.client_id);
  const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
  if (req.method !== 'POST') {
    const html = prompt.name === 'login' ? loginPage(uid, clientId) : consentPage(uid, clientId, session?.accountId ?? '', scopes);
    return sendHtml(res, 200, html);
  }
  const form = await readForm(req);
  if (form.get('decision') !== 'allow') {
    const result = { error: 'access_denied', error_description: 'End-User denied the authorization request' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'login') {
    const username = form.get('username')?.trim();
    if (!username || !form.get('password')) return sendHtml(res, 400, loginPage(uid, clientId, 'Username and password are required.'));
    return provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
  }
  const grant = (grantId ? await provider.Grant.find(grantId) : undefined) ?? new provider.Grant({ accountId: session?.accountId, clientId });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details as any;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, s] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(indicator, (s as string[]).join(' '));
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

/** Starts the stand-in HTTP server. Clients: {@link UNITY_STANDIN_CLIENTS}; redirect URIs: defaults + env + `options.redirectUris`. */
export async function startUnityStandin(options: UnityStandinOptions = {}): Promise<UnityStandin> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (process.env.UNITY_STANDIN_PORT ? Number(process.env.UNITY_STANDIN_PORT) : 9000);
  const extraUris = (process.env.UNITY_STANDIN_REDIRECT_URIS ?? '').split(/\s+/).filter(Boolean);
  const redirectUris = [...new Set([...defaultRedirectUris(), ...extraUris, ...(options.redirectUris ?? [])])];
  const addedUris = redirectUris.slice(defaultRedirectUris().length);

  const tokenGrants: Record<string, number> = {};
  let accessTokenTtl = ACCESS_TOKEN_TTL;
  let provider: Provider | undefined;
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (!provider || !handle) return sendHtml(res, 503, errorPage('temporarily_unavailable'));
    if ((req.method === 'GET' || req.method === 'HEAD') && req.url === '/') return sendHtml(res, 200, landingPage(url, UNITY_STANDIN_CLIENTS, addedUris));
    if (req.method === 'POST' && CLIENT_AUTH_PATHS.has(req.url ?? '')) {
      const next = handle;
      enforceClientAuthMethod(req, res, tokenGrants).then((unread) => unread && next(unread, res), (error: unknown) => {
        console.error('Unity stand-in: reading a client request failed:', error);
        res.destroy();
      });
      return;
    }
    if (!req.url?.startsWith('/interaction/')) return handle(req, res);
    interaction(provider, req, res).catch((err) => {
      if (!res.headersSent) sendHtml(res, 400, errorPage(err?.error ?? 'invalid_request', err?.error_description ?? 'Interaction failed.'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(isAddressInUse(err) ? new PortInUseError(port, host, 'the Unity stand-in', 'UNITY_STANDIN_PORT=<port> (npm start then points the relay at it)') : err));
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  const issuer = options.issuer ?? url;
  provider = createProvider(issuer, redirectUris, () => accessTokenTtl);
  handle = provider.callback();

  return {
    url,
    issuer,
    tokenGrants,
    setAccessTokenTtl(seconds) {
      accessTokenTtl = seconds;
    },
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    }),
  };
}

if (import.meta.main) {
  const standin = await startUnityStandin().catch(exitOnPortInUse);
  console.log(`Unity stand-in (DEV ONLY) on ${standin.url} — clients relay-dev (basic), relay-dev-post (post)`);
  const stop = () => void standin.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
