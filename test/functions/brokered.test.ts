import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { reflect, startUpstream, type Upstream } from '../support/upstream.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ROOT, fixture, runCli, type CliResult } from './cli.js';
import { leaksOf } from './leaks.js';
import { HostNotAllowed, UpstreamUnreachable, createConv } from '../../src/sdk/index.js';

const CHARGE_KEY = 'sk_live_CANARY-fn-charge/+"k"&=1';
const CLIENT_SECRET = 'CANARY-fn-client-secret/=+';
const CANARIES = [CHARGE_KEY, CLIENT_SECRET];

describe('conv.http.fetch through agent-secrets run (S28), against a real server and upstream', () => {
  let h: Harness;
  let upstream: Upstream;
  let env: Record<string, string>;
  let host: string;
  let agentKey: string;
  const outputs: CliResult[] = [];

  const run = async (args: unknown, file = 'brokered.ts') => {
    const result = await runCli(['run', fixture(file), '--args', JSON.stringify(args)], env);
    outputs.push(result);
    return result;
  };

  beforeAll(async () => {
    upstream = await startUpstream();
    host = `127.0.0.1:${upstream.port}`;
    h = await startHarness('sqlite', { broker: { allowPrivate: true } });
    const booking = await h.agentWithKey(h.admin.token, 'booking');
    const create = (body: Record<string, unknown>) => h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { agents: ['booking'], allowedHosts: [host], ...body } });
    await create({ name: 'charge_key', value: CHARGE_KEY, delivery: 'broker-only' });
    await create({ name: 'oauth_client', value: { client_id: 'fn-client', client_secret: CLIENT_SECRET }, reveal: 'never' });
    agentKey = booking.key;
    env = { AGENT_SECRETS_URL: h.url, AGENT_SECRETS_AGENT_KEY: booking.key };
  });
  afterAll(async () => {
    for (const { stdout, stderr } of outputs) expect(leaksOf(`${stdout}\n${stderr}`, CANARIES)).toEqual([]);
    expect(h.logLines.join('\n')).not.toContain('CANARY');
    await h?.close();
    await upstream?.close();
  });
  beforeEach(() => {
    upstream.handle = reflect;
    upstream.seen.length = 0;
  });

  it('sends with the value filled in and answers a standard Response, values scrubbed, logs masked', async () => {
    const result = await run({
      calls: [{ url: `http://${host}/v1/charges`, init: { method: 'POST', headers: { authorization: 'Bearer {{secret:charge_key}}' }, form: { amount: '100', secret: '{{secret:oauth_client.client_secret}}' } } }],
    });
    expect(result.code).toBe(0);
    const [call] = JSON.parse(result.stdout).results;
    expect(call).toMatchObject({ ok: true, status: 200, isResponse: true, contentType: 'application/json' });
    expect(upstream.seen[0]!.headers.authorization).toBe(`Bearer ${CHARGE_KEY}`);
    expect(new URLSearchParams(upstream.seen[0]!.body).get('secret')).toBe(CLIENT_SECRET);
    expect(JSON.parse(call.text).headers.authorization).toBe('Bearer ***');
    expect(result.stderr).toContain('answer 200');
  });

  it('raises HostNotAllowed, UpstreamUnreachable and UpstreamTimeout as classes, and BrokerOnly for get_secret', async () => {
    upstream.handle = (request, response) => {
      if (request.url === '/slow') return;
      reflect(request, response);
    };
    const result = await run({
      calls: [
        { url: 'https://api.example.com/', init: { headers: { a: '{{secret:charge_key}}' } } },
        { url: 'http://127.0.0.1:1/', init: { headers: { a: '{{secret:charge_key}}' } } },
        { url: `http://${host}/slow`, init: { headers: { a: '{{secret:charge_key}}' }, timeoutMs: 300 } },
      ],
      read: 'charge_key',
    });
    const { results, read } = JSON.parse(result.stdout);
    expect(results[0]).toMatchObject({ ok: false, error: 'HostNotAllowed', isHostNotAllowed: true, status: 403 });
    expect(results[1]).toMatchObject({ ok: false, error: 'HostNotAllowed' });
    expect(results[2]).toMatchObject({ ok: false, error: 'UpstreamTimeout', isUpstreamTimeout: true, status: 504 });
    expect(read).toMatchObject({ ok: false, error: 'BrokerOnly', isBrokerOnly: true });
    expect(read.message).toContain('conv.http.fetch');
  });

  it('Python: conv.http.request answers status_code, headers, text and json(), with the same error classes', async () => {
    upstream.handle = (request, response) => {
      if (request.url === '/slow') return;
      reflect(request, response);
    };
    const result = await run(
      {
        calls: [
          { method: 'POST', url: `http://${host}/token`, data: { grant_type: 'client_credentials', client_secret: '{{secret:oauth_client.client_secret}}' } },
          { method: 'POST', url: `http://${host}/json`, headers: { authorization: 'Bearer {{secret:charge_key}}' }, json: { amount: 100 } },
          { url: 'https://api.example.com/', headers: { a: '{{secret:charge_key}}' } },
          { url: `http://${host}/slow`, headers: { a: '{{secret:charge_key}}' }, timeout: 0.3 },
        ],
        read: 'charge_key',
      },
      'brokered.py',
    );
    expect(result.code).toBe(0);
    const { results, read } = JSON.parse(result.stdout);
    expect(results[0]).toMatchObject({ ok: true, status: 200, contentType: 'application/json' });
    expect(new URLSearchParams(upstream.seen[0]!.body).get('client_secret')).toBe(CLIENT_SECRET);
    expect(results[0].echo.body).toContain('client_secret=***');
    expect(JSON.parse(upstream.seen[1]!.body)).toEqual({ amount: 100 });
    expect(upstream.seen[1]!.headers.authorization).toBe(`Bearer ${CHARGE_KEY}`);
    expect(results[1].echo.headers.authorization).toBe('Bearer ***');
    expect(results[2]).toMatchObject({ ok: false, error: 'HostNotAllowed', isHostNotAllowed: true, status: 403 });
    expect(results[3]).toMatchObject({ ok: false, error: 'UpstreamTimeout', isUpstreamTimeout: true, status: 504 });
    expect(read).toMatchObject({ ok: false, error: 'BrokerOnly' });
  });

  it('outside the runner, createConv sends straight to the service: statuses without a body, bytes, redirects and refusals', async () => {
    const conv = await createConv({ agentKey, url: h.url, logSink: () => undefined });
    upstream.handle = (request, response) => {
      if (request.url === '/empty') return void response.writeHead(204).end();
      if (request.url === '/moved') return void response.writeHead(301, { location: `https://elsewhere.example/?k=${encodeURIComponent(CHARGE_KEY)}` }).end();
      // A status HTTP's syntax allows but no Response can hold.
      if (request.url === '/odd') return void response.socket?.end('HTTP/1.1 799 Odd\r\ncontent-length: 0\r\n\r\n');
      response.setHeader('content-type', 'application/octet-stream');
      response.end(Buffer.concat([Buffer.from([0, 255]), Buffer.from(request.headers.authorization ?? '')]));
    };
    const auth = { authorization: 'Bearer {{secret:charge_key}}' };
    const empty = await conv.http.fetch(`http://${host}/empty`, { headers: auth });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
    const bytes = Buffer.from(await (await conv.http.fetch(new URL(`http://${host}/bytes`), { method: 'PUT', headers: auth, body: new Uint8Array([1, 2, 3]) })).arrayBuffer());
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0, 255]));
    expect(bytes.subarray(2).toString()).toBe('Bearer ***');
    expect(upstream.seen[1]!.method).toBe('PUT');
    const moved = await conv.http.fetch(`http://${host}/moved`, { headers: auth });
    expect(moved.status).toBe(301);
    expect(moved.headers.get('location')).toBe('https://elsewhere.example/?k=***');
    await expect(conv.http.fetch('https://api.example.com/', { headers: auth })).rejects.toBeInstanceOf(HostNotAllowed);
    await expect(conv.http.fetch(`http://${host}/odd`, { headers: auth })).rejects.toBeInstanceOf(UpstreamUnreachable);
    expect(upstream.seen.length).toBe(4);
  });

  it('Python outside the runner: connect() and conv.http.request straight to the service', async () => {
    const clientDir = fileURLToPath(new URL('../../clients/python/', import.meta.url));
    const result = await new Promise<CliResult>((resolve) => {
      const child = spawn('python3', [fixture('brokered_client.py'), `http://${host}/direct`], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', PYTHONPATH: clientDir, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    outputs.push(result);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output).toMatchObject({ status: 200, refused: { error: 'HostNotAllowed', status: 403 } });
    expect(output.echo.headers.authorization).toBe('Bearer ***');
    expect(upstream.seen[0]!.headers.authorization).toBe(`Bearer ${CHARGE_KEY}`);
  });
});
