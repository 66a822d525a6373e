/**
 * What the server answers before a route runs, over raw sockets: every refusal in the documented
 * `{"error": {...}}` shape (Node's parser and Fastify's router included), slow clients cut at the
 * bound, and no more connections held at once than the cap.
 */
import { connect, type Socket } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/http/connections.js';
import { buildServer } from '../../src/http/server.js';
import { startHarness, type Harness } from '../support/harness.js';

interface RawAnswer {
  status: number | undefined;
  body: any;
  /** Milliseconds from the first byte sent until the server closed the connection (undefined: still open). */
  closedAfterMs: number | undefined;
}

function portOf(h: Harness): number {
  return Number(new URL(h.url).port);
}

/**
 * Sends `head` at once, then each of `drip` every `everyMs`, and gathers what comes back until the
 * server closes the connection or `waitMs` passes.
 */
function exchange(port: number, head: string, options: { drip?: string; everyMs?: number; waitMs?: number } = {}): Promise<RawAnswer> {
  const { drip, everyMs = 100, waitMs = 3000 } = options;
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      clearInterval(timer);
      clearTimeout(deadline);
      socket.destroy();
      const [headers = '', ...rest] = received.split('\r\n\r\n');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1];
      let body: unknown = rest.join('\r\n\r\n');
      try {
        body = JSON.parse(body as string);
      } catch {
        // keep the text
      }
      resolve({ status: status === undefined ? undefined : Number(status), body, closedAfterMs: closed ? Date.now() - started : undefined });
    };
    const deadline = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
    socket.write(head);
    if (drip !== undefined) timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
  });
}

function expectDocumentedShape(body: any, code: string) {
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
}

describe('refusals before a route runs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(async () => h?.close());

  it('answers headers too large with 431 headers_too_large in the documented shape', async () => {
    const answer = await exchange(portOf(h), `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(20_000)}\r\n\r\n`);
    expect(answer.status).toBe(431);
    expectDocumentedShape(answer.body, 'headers_too_large');
  });

  it('answers a request line too long for the parser with 431 headers_too_large in the documented shape', async () => {
    const answer = await exchange(portOf(h), `GET /api/v1/secrets/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer.status).toBe(431);
    expectDocumentedShape(answer.body, 'headers_too_large');
  });

  it('answers a path part longer than the router takes with 414 uri_too_long in the documented shape', async () => {
    const answer = await exchange(portOf(h), `GET /api/v1/secrets/${'a'.repeat(600)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(answer.status).toBe(414);
    expectDocumentedShape(answer.body, 'uri_too_long');
    expect(answer.body.error.field).toBe('url');
  });

  it('answers a malformed %-escape with 400 invalid_input naming the url', async () => {
    const answer = await exchange(portOf(h), 'GET /api/v1/secrets/%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer.status).toBe(400);
    expectDocumentedShape(answer.body, 'invalid_input');
    expect(answer.body.error.field).toBe('url');
  });

  it.each([
    ['bytes that are not HTTP', 'GARBAGE\r\n\r\n'],
    ['a content-length that is not a number', 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}'],
    ['both transfer-encoding and content-length', 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n'],
  ])('answers %s with 400 invalid_input in the documented shape', async (_case, request) => {
    const answer = await exchange(portOf(h), request);
    expect(answer.status).toBe(400);
    expectDocumentedShape(answer.body, 'invalid_input');
  });

  it.each([
    ['bad JSON', 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{"email":', 400, 'invalid_input'],
    ['an unknown route', 'GET /api/v1/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 404, 'not_found'],
    ['a body over the limit', `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\nConnection: close\r\n\r\n{`, 413, 'payload_too_large'],
    ['a media type that does not parse', 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: ///\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}', 415, 'unsupported_media_type'],
  ])('answers %s in the documented shape too', async (_case, request, status, code) => {
    const answer = await exchange(portOf(h), request);
    expect(answer.status).toBe(status);
    expectDocumentedShape(answer.body, code);
  });
});

describe('slow clients', () => {
  let h: Harness;
  const bounds = { headersTimeoutMs: 500, requestTimeoutMs: 1000 };
  beforeAll(async () => {
    h = await startHarness('sqlite', { connections: bounds });
  });
  afterAll(async () => h?.close());

  it('runs with the documented bounds unless told otherwise: headers 10 s, the whole request 30 s, 4096 connections', async () => {
    expect(DEFAULT_CONNECTION_LIMITS).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 4096 });
    const app = await buildServer({ vault: h.vault, logger: pino({ level: 'silent' }) });
    try {
      expect(app.server.headersTimeout).toBe(10_000);
      expect(app.server.requestTimeout).toBe(30_000);
      expect(app.server.maxConnections).toBe(4096);
    } finally {
      await app.close();
    }
  });

  it('cuts a client that sends its headers and then drips the body, at the request bound, with 408', async () => {
    const answer = await exchange(portOf(h), 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{', {
      drip: ' ',
      everyMs: 100,
      waitMs: 5000,
    });
    expect(answer.closedAfterMs).toBeDefined();
    expect(answer.closedAfterMs).toBeGreaterThanOrEqual(bounds.requestTimeoutMs - 50);
    expect(answer.closedAfterMs).toBeLessThan(bounds.requestTimeoutMs + 1000);
    expect(answer.status).toBe(408);
    expectDocumentedShape(answer.body, 'request_timeout');
  });

  it('cuts a client that drips its headers, at the headers bound, with 408', async () => {
    const answer = await exchange(portOf(h), 'GET /healthz HTTP/1.1\r\nHost: x\r\n', { drip: 'X-Slow: 1\r\n', everyMs: 100, waitMs: 5000 });
    expect(answer.closedAfterMs).toBeDefined();
    expect(answer.closedAfterMs).toBeGreaterThanOrEqual(bounds.headersTimeoutMs - 50);
    expect(answer.closedAfterMs).toBeLessThan(bounds.headersTimeoutMs + 1000);
    expect(answer.status).toBe(408);
    expectDocumentedShape(answer.body, 'request_timeout');
  });

  it('lets a shutdown end one request bound after it began, with a client still dripping its body', async () => {
    const closing = await startHarness('sqlite', { connections: bounds });
    const dripping = exchange(portOf(closing), 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{', {
      drip: ' ',
      everyMs: 100,
      waitMs: 8000,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    const closed = await Promise.race([closing.close().then(() => Date.now() - started), new Promise<string>((resolve) => setTimeout(() => resolve('still closing'), 5000))]);
    expect(closed).toBeLessThan(bounds.requestTimeoutMs + 1000);
    expect((await dripping).closedAfterMs).toBeDefined();
  });

  it('answers a request that reaches a closing server with 503 unavailable in the documented shape', async () => {
    const closing = await startHarness('sqlite');
    const socket = connect(portOf(closing), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    const ended = new Promise((resolve) => socket.on('close', resolve));
    // The first request is under way (its body not yet sent) when closing begins; the second follows
    // it on the same connection and reaches the server while it closes.
    socket.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closed = closing.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.write('{}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await ended;
    await closed;
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(2);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 503 /);
    expectDocumentedShape(JSON.parse(answers[1]?.split('\r\n\r\n')[1] ?? ''), 'unavailable');
  });

  it('still serves a client that sends its request in time', async () => {
    const answer = await exchange(portOf(h), 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ ok: true });
  });
});

describe('the connection cap', () => {
  let h: Harness;
  const open: Socket[] = [];
  beforeAll(async () => {
    h = await startHarness('sqlite', { connections: { maxConnections: 3 } });
  });
  afterAll(async () => {
    for (const socket of open) socket.destroy();
    await h?.close();
  });

  const connected = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect(portOf(h), '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
    });

  it('closes connections beyond the cap at once, and takes new ones when a place is free', async () => {
    for (let i = 0; i < 3; i++) open.push(await connected());
    // Give the server the moment it takes to count them.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const beyond = await exchange(portOf(h), 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { waitMs: 2000 });
    expect(beyond.status).toBeUndefined();
    expect(beyond.closedAfterMs).toBeDefined();

    open.pop()?.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const served = await exchange(portOf(h), 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(served.status).toBe(200);
  });
});
