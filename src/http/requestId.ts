import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * What an incoming request id may be to be kept: characters no log or header can misread, and short
 * enough (UUIDs are 36, W3C trace ids 32) that none of this service's credentials fits: agent keys and
 * tokens are 64 characters and a metrics token made as documented 44, so a client that sends one in
 * the wrong header does not get it logged.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,40}$/;

/**
 * The id of a request, which every log line of it carries (as `reqId`) and its answer carries as
 * `x-request-id`. A proxy's or client's own id is kept when it is short and plain, so one id follows a
 * request through every hop; anything else (long, control characters, spaces, quotes) is replaced by a
 * fresh random one, never logged or echoed as sent.
 */
export function requestIdOf(request: IncomingMessage): string {
  const sent = request.headers[REQUEST_ID_HEADER];
  return typeof sent === 'string' && SAFE_REQUEST_ID.test(sent) ? sent : randomUUID();
}
