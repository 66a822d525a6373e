import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One request as the upstream saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

export type UpstreamHandler = (request: SeenRequest, response: http.ServerResponse) => void;

/**
 * A real HTTP(S) server on loopback that counts what reaches it, so that a refusal can prove nothing
 * was sent. Each test sets `handle`; the default reflects the request as JSON.
 */
export interface Upstream {
  url: string;
  port: number;
  seen: SeenRequest[];
  handle: UpstreamHandler;
  close(): Promise<void>;
}

export const reflect: UpstreamHandler = (request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ method: request.method, url: request.url, headers: request.headers, body: request.body }));
};

export async function startUpstream(tls?: { key: string; cert: string }): Promise<Upstream> {
  const upstream: Upstream = { url: '', port: 0, seen: [], handle: reflect, close: async () => undefined };
  const listener = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const seen = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, rawHeaders: request.rawHeaders, body: Buffer.concat(chunks).toString('utf8') };
      upstream.seen.push(seen);
      upstream.handle(seen, response);
    });
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, listener) : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.port = (server.address() as AddressInfo).port;
  upstream.url = `${tls ? 'https' : 'http'}://127.0.0.1:${upstream.port}`;
  upstream.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return upstream;
}

/**
 * A certificate authority and a leaf certificate it signed, for `localhost`, `broker.test` and
 * 127.0.0.1, made with the openssl command line (node:crypto cannot issue certificates).
 */
export function makeCertificates(): { caPem: string; key: string; cert: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'agent-secrets-tls-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=agent-secrets test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost');
  const ext = join(dir, 'leaf.ext');
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,DNS:broker.test,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ${ext}`]);
  run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', ext);
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return { caPem: read('ca.pem'), key: read('leaf.key'), cert: read('leaf.pem'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
