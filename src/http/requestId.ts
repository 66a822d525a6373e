import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** What an incoming request id may be to be kept: short, and characters no log or header can misread. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

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
