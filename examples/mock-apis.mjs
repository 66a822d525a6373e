#!/usr/bin/env node
// Stand-ins for the booking, partner OAuth and shop APIs the examples call, so that the walkthrough in
// docs/functions.md runs on one machine. They check that credentials arrive, and never print them.
//
//   node examples/mock-apis.mjs &          # listens on http://127.0.0.1:8790 (MOCK_APIS_PORT)
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const fingerprint = (text) => createHash('sha256').update(text).digest('hex');

/** A server for the three APIs; `received` keeps hashes of the credentials it was sent (for tests). */
export function mockApis() {
  const received = [];
  const server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const send = (status, value) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    const auth = request.headers.authorization ?? '';
    const url = new URL(request.url ?? '/', 'http://localhost');

    if (request.method === 'POST' && url.pathname === '/v1/reservations') {
      if (!auth.startsWith('Bearer ') || auth.length <= 7) return send(401, { error: 'bearer token required' });
      received.push({ api: 'booking', bearer: fingerprint(auth.slice(7)) });
      const { time } = JSON.parse(body || '{}');
      return send(201, { id: `rsv_${Math.random().toString(36).slice(2, 10)}`, time: time ?? 'the requested time' });
    }
    if (request.method === 'POST' && url.pathname === '/oauth/token') {
      if (!auth.startsWith('Basic ')) return send(401, { error: 'invalid_client' });
      const [id, secret] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':').map(decodeURIComponent);
      if (!id || !secret || new URLSearchParams(body).get('grant_type') !== 'client_credentials') return send(400, { error: 'invalid_request' });
      received.push({ api: 'oauth', client_id: id, client_secret: fingerprint(secret) });
      return send(200, { access_token: `mock-access-${Math.random().toString(36).slice(2)}`, token_type: 'Bearer', expires_in: 3600 });
    }
    if (request.method === 'GET' && /^\/v1\/customers\/[^/]+\/points$/.test(url.pathname)) {
      if (!auth.startsWith('Bearer mock-access-')) return send(401, { error: 'invalid_token' });
      return send(200, { balance: 1250 });
    }
    if (request.method === 'GET' && url.pathname.startsWith('/v1/orders/')) {
      const key = request.headers['x-api-key'];
      if (!key) return send(401, { error: 'api key required' });
      received.push({ api: 'shop', key: fingerprint(String(key)) });
      if (url.pathname.endsWith('/o-404')) return send(404, { error: 'no such order' });
      return send(200, { id: url.pathname.split('/').pop(), status: 'shipped' });
    }
    send(404, { error: 'not found' });
  });
  return { server, received };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Not PORT: that one sets the service's own port, and the two run side by side.
  const port = Number(process.env.MOCK_APIS_PORT ?? 8790);
  const { server } = mockApis();
  server.on('error', (error) => {
    console.error(`mock APIs: cannot listen on 127.0.0.1:${port} (${error.code ?? error.message}); set MOCK_APIS_PORT to another port`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => console.log(`mock APIs on http://127.0.0.1:${port} (booking, OAuth token + points, shop orders); stop them with kill %1 (or Ctrl-C in the foreground)`));
}
