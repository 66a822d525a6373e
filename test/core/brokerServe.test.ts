import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstAdminToken, runCli, startServe, type ServeProcess } from '../support/processes.js';
import { makeCertificates, startUpstream, type Upstream } from '../support/upstream.js';

const VALUE = 'CANARY-serve-https-61d2';

describe('serve --broker-allow-private --broker-ca-file: HTTPS to an internal API with a CA made by the test', () => {
  let dir: string;
  let server: ServeProcess;
  let upstream: Upstream;
  let certificates: ReturnType<typeof makeCertificates>;
  let token: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-broker-serve-'));
    certificates = makeCertificates();
    writeFileSync(join(dir, 'ca.pem'), certificates.caPem);
    upstream = await startUpstream({ key: certificates.key, cert: certificates.cert });
    server = await startServe(['--data', join(dir, 'data'), '--broker-allow-private', '--broker-ca-file', join(dir, 'ca.pem')]);
    token = await firstAdminToken(server.url, ['--data', join(dir, 'data')]);
  });
  afterAll(async () => {
    expect(server?.output() ?? '').not.toContain(VALUE);
    await server?.stop();
    await upstream?.close();
    certificates?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (path: string, body: unknown, bearer = token) => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('sends over HTTPS, the certificate checked against the URL\'s name through the extra CA', async () => {
    const agent = await call('/api/v1/agents', { name: 'internal' });
    const key = await call(`/api/v1/agents/${agent.body.id}/keys`, { name: 'k' });
    const made = await call('/api/v1/secrets', { name: 'internal_token', value: VALUE, agents: ['internal'], allowedHosts: [`localhost:${upstream.port}`], delivery: 'broker-only' });
    expect(made.status).toBe(201);
    const answer = await call('/runtime/v1/requests', { method: 'GET', url: `https://localhost:${upstream.port}/internal`, headers: { authorization: 'Bearer {{secret:internal_token}}' } }, key.body.key);
    expect(answer.status).toBe(200);
    expect(upstream.seen[0]!.headers.authorization).toBe(`Bearer ${VALUE}`);
    expect(JSON.parse(answer.body.body).headers.authorization).toBe('Bearer ***');
  });

  it('a CA file without certificates stops serve with one clear line, before it listens', async () => {
    writeFileSync(join(dir, 'bad.pem'), 'not a certificate\n');
    const result = await runCli(['serve', '--port', '0', '--data', join(dir, 'other'), '--broker-ca-file', join(dir, 'bad.pem')]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining('--broker-ca-file')]);
    expect(result.stderr).toContain('holds no PEM certificates');
  });
});
