/**
 * SPEC S29 beside S26's egress rules: the vault's own calls to an identity provider (discovery, its
 * keys, the code exchange) go where brokered requests may go and nowhere else. An account admin must
 * not be able to make the vault probe the network it runs in, by naming an internal address as the
 * issuer or as an endpoint of a discovery document.
 */
import { createServer, type Server } from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SSO_FLOW_COOKIE } from '../../src/http/routes/sso.js';
import type { Resolver } from '../../src/egress/send.js';
import { startHarness, type Harness } from '../support/harness.js';

const SECRET = 'canary-sso-egress-client-secret';

/** A TCP listener that counts connections and answers none: what an internal service sees of a probe. */
async function countingListener(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, connections: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A provider's discovery document whose endpoints the test chooses; it records each path asked for. */
async function discoveryServer() {
  const asked: string[] = [];
  const endpoints: { token_endpoint?: string; jwks_uri?: string } = {};
  const server = http.createServer((request, response) => {
    asked.push(request.url ?? '');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (request.url === '/.well-known/openid-configuration') {
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          issuer: base,
          authorization_endpoint: `${base}/auth`,
          token_endpoint: endpoints.token_endpoint ?? `${base}/token`,
          jwks_uri: endpoints.jwks_uri ?? `${base}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        }),
      );
      return;
    }
    response.statusCode = 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, asked, endpoints, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const settings = (issuer: string) => ({ issuer, clientId: 'vault', clientSecret: SECRET, allowedDomains: ['example.com'], jitRole: null, passwordSignIn: true });

describe('without --sso-allow-private-issuer: an issuer inside the network is refused before any connection', () => {
  let h: Harness;
  let listener: Awaited<ReturnType<typeof countingListener>>;
  // Names that resolve inside: an internal host, and one that answers a public and a private address.
  const resolve: Resolver = async (host) =>
    host === 'idp.internal.test' ? [{ address: '10.0.0.7', family: 4 }] : host === 'split.example.test' ? [{ address: '93.184.215.14', family: 4 }, { address: '127.0.0.1', family: 4 }] : [];

  beforeAll(async () => {
    listener = await countingListener();
    h = await startHarness('sqlite', { sso: { allowInsecureIssuer: true, timeoutSeconds: 3, resolve } });
  });
  afterAll(async () => {
    await h?.close();
    await listener?.close();
  });

  it.each([
    ['a loopback address over https', () => `https://127.0.0.1:${listener.port}`, /resolves to 127\.0\.0\.1, a private, loopback or link-local address.*--sso-allow-private-issuer/],
    ['a loopback address over plain http', () => `http://127.0.0.1:${listener.port}`, /plain http: only to private addresses, with serve --sso-allow-private-issuer/],
    ['an IPv4-mapped IPv6 loopback', () => `https://[::ffff:127.0.0.1]:${listener.port}`, /private, loopback or link-local address/],
    ['a decimal IP literal of loopback', () => `https://2130706433:${listener.port}`, /resolves to 127\.0\.0\.1/],
    ['a name that resolves inside', () => 'https://idp.internal.test', /"idp\.internal\.test" resolves to 10\.0\.0\.7/],
    ['a name that resolves both outside and inside', () => 'https://split.example.test', /resolves to 127\.0\.0\.1/],
    ['the cloud metadata address', () => 'https://169.254.169.254', /reserved or metadata address, which the vault's requests to an identity provider may never reach/],
  ])('%s: a 400 naming issuer and the flag, and nothing reached the address', async (_name, issuer, message) => {
    const before = listener.connections();
    const answer = await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: settings(issuer()) });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_input', field: 'issuer' });
    expect(answer.body.error.message).toMatch(message);
    expect(answer.body.error.message).not.toContain(SECRET);
    expect(listener.connections()).toBe(before);
    expect((await h.call('GET', '/api/v1/settings/sso', { token: h.admin.token })).body.configured).toBe(false);
  });
});

describe('with --sso-allow-private-issuer: the endpoints a discovery document names are held to the same rules', () => {
  let h: Harness;
  let idp: Awaited<ReturnType<typeof discoveryServer>>;

  beforeAll(async () => {
    idp = await discoveryServer();
    h = await startHarness('sqlite', { sso: { allowInsecureIssuer: true, allowPrivateIssuer: true, timeoutSeconds: 3 } });
  });
  afterEach(() => {
    delete idp.endpoints.token_endpoint;
    delete idp.endpoints.jwks_uri;
  });
  afterAll(async () => {
    await h?.close();
    await idp?.close();
  });

  it.each([
    ['token_endpoint', 'http://169.254.169.254/latest/meta-data/iam', /token_endpoint http:\/\/169\.254\.169\.254.*reserved or metadata address/],
    ['jwks_uri', 'http://[::ffff:a9fe:a9fe]/keys', /jwks_uri http:\/\/\[::ffff:a9fe:a9fe\].*reserved or metadata address/],
    ['token_endpoint', 'http://0.0.0.0:8787/token', /token_endpoint http:\/\/0\.0\.0\.0:8787.*reserved or metadata address/],
  ])('a %s at %s is refused at save, naming it', async (field, endpoint, message) => {
    idp.endpoints[field as 'token_endpoint' | 'jwks_uri'] = endpoint;
    const answer = await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: settings(idp.issuer) });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_input', field: 'issuer' });
    expect(answer.body.error.message).toMatch(message);
    expect((await h.call('GET', '/api/v1/settings/sso', { token: h.admin.token })).body.configured).toBe(false);
  });

  it('a discovery document changed after save to point the code exchange at the metadata address: the sign-in is refused before the exchange, audited with why', async () => {
    expect((await h.call('PUT', '/api/v1/settings/sso', { token: h.admin.token, body: settings(idp.issuer) })).status).toBe(200);
    idp.endpoints.token_endpoint = 'http://169.254.169.254/token';
    const start = await fetch(`${h.url}/api/v1/auth/sso/start?account=default`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get('location') ?? '');
    expect(location.origin).toBe(idp.issuer);
    const flowCookie = start.headers.getSetCookie().find((line) => line.startsWith(`${SSO_FLOW_COOKIE}=`))?.split(';')[0] ?? '';
    // The browser comes back as a provider would send it, with a code for the exchange.
    const callback = await fetch(`${h.url}/api/v1/auth/sso/callback?code=canary-code-1&state=${location.searchParams.get('state')}`, { redirect: 'manual', headers: { cookie: flowCookie } });
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toMatch(/^\/\?sso_error=/);
    const events = await h.vault.store.db.selectFrom('audit_events').select(['action', 'outcome', 'detail']).where('action', 'like', 'sso.sign_in%').orderBy('seq').execute();
    const last = events.at(-1);
    expect(last?.outcome).not.toBe('success');
    expect(JSON.parse(last?.detail ?? '{}').reason).toBe('egress_private_address');
    expect(JSON.stringify(events)).not.toContain('canary-code-1');
    // The code went nowhere: the provider itself was asked for its discovery document only.
    expect(idp.asked.filter((path) => path !== '/.well-known/openid-configuration')).toEqual([]);
  });
});
