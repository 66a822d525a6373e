import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyInstance, FastifyServerOptions } from 'fastify';
import { VaultError } from '../domain/errors.js';
import { STATUS_OF, errorBody } from './errors.js';

/** How long a client may take and how many connections it may hold: a slow client cannot pin the service. */
export interface ConnectionLimits {
  /** The request line and headers must have arrived this long after the request began. */
  headersTimeoutMs: number;
  /** The whole request, body included, must have arrived this long after it began. */
  requestTimeoutMs: number;
  /** A connection on which nothing moves for this long is closed. */
  idleTimeoutMs: number;
  /** Connections open at once; further ones are closed as they come. */
  maxConnections: number;
}

/** What the service runs with (README, "Limits"); tests shorten them to see them hold. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, idleTimeoutMs: 60_000, maxConnections: 4096 };

function connectionErrorOf(code: string, limits: ConnectionLimits): VaultError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new VaultError('headers_too_large', 'The request line and headers are too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new VaultError(
        'request_timeout',
        `The request did not arrive in time: its headers must arrive within ${limits.headersTimeoutMs / 1000} s, the whole request within ${limits.requestTimeoutMs / 1000} s.`,
      );
    default:
      return new VaultError('invalid_input', 'The request is not valid HTTP/1.1.');
  }
}

/**
 * What Node's HTTP parser refuses before Fastify sees a request (headers too large, a request that
 * takes too long to arrive, bytes that are not HTTP), answered in the documented shape on the raw
 * socket, which is then closed.
 */
function connectionErrorHandler(limits: ConnectionLimits) {
  return (error: ConnectionError, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // As Node's own handler does: answer only while no answer has begun on this socket, else just close.
    const answer = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && answer?.headersSent !== true) {
      const known = connectionErrorOf(error.code, limits);
      const status = STATUS_OF[known.code];
      const body = JSON.stringify(errorBody(known));
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}

/** The Fastify server options that bound each connection. */
export function connectionOptions(limits: ConnectionLimits): Pick<FastifyServerOptions, 'requestTimeout' | 'connectionTimeout' | 'return503OnClosing' | 'clientErrorHandler'> & {
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
} {
  return {
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks the two bounds above on this interval (30 s by default), which let a slow body
      // stay open up to twice the bound; checking often keeps the bound what it says.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, limits.headersTimeoutMs / 10)),
    },
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    // Answered by boundConnections' hook instead, in the documented shape.
    return503OnClosing: false,
    clientErrorHandler: connectionErrorHandler(limits),
  };
}

/** The cap on connections, and a shutdown that neither hangs on slow clients nor serves new requests. */
export function boundConnections(app: FastifyInstance, limits: ConnectionLimits): void {
  app.server.maxConnections = limits.maxConnections;
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    // Closing stops Node's checks of the bounds, so a client dripping its request would hold the
    // shutdown open for ever: what is still open one request bound after closing began is cut.
    setTimeout(() => app.server.closeAllConnections(), limits.requestTimeoutMs).unref();
    // Node closes the connections idle when closing begins, but a keep-alive connection whose answer
    // goes out afterwards stays open (and the close waits on it) until its client lets go; closing the
    // idle ones again and again ends each as soon as its last answer is out.
    const idle = setInterval(() => app.server.closeIdleConnections(), 50);
    app.server.once('close', () => clearInterval(idle));
    done();
  });
  // A request that reaches a closing instance (pipelined, or on a busy keep-alive connection) is sent
  // elsewhere by its client or load balancer: 503, and the connection closes.
  // A callback hook, not an async one: it runs on every request, the hot path included.
  app.addHook('onRequest', (_request, _reply, done) => {
    if (closing) done(new VaultError('unavailable', 'This instance is shutting down; send the request again and another instance (or this one, restarted) will answer.'));
    else done();
  });
}
