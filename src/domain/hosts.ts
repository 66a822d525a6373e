import { isIP } from 'node:net';

/**
 * Where a secret may be sent (SPEC S25): each allowed host is an exact host name or `*.` and a domain
 * (its subdomains at any depth, never the domain itself), optionally with `:port`. Entries are stored
 * in the form the WHATWG URL parser gives a host (lower case, punycode, canonical IP literals), so the
 * check of a request's URL compares like with like. Pure: node:url and node:net only parse.
 *
 * Choices where SPEC S25 is silent, taken from careful egress proxies:
 * - An entry without a port allows the scheme's default port only (443 for https, 80 for http); any
 *   other port must be named.
 * - A wildcard needs at least two labels after `*.` (`*.com` would allow a whole top-level domain).
 * - A trailing dot (`api.stripe.com.`, the absolute form of the same DNS name) is removed, in entries
 *   and in request URLs alike.
 */

export interface AllowedHost {
  /** The host as the URL parser writes it, without a trailing dot; for a wildcard, the domain after `*.`. */
  host: string;
  wildcard: boolean;
  /** null: the scheme's default port only. */
  port: number | null;
}

export const MAX_ALLOWED_HOSTS = 100;
export const ALLOWED_HOST_RULE =
  'a host name like "api.stripe.com", or "*.example.com" for its subdomains, optionally with ":port" (no scheme, path or user)';

const stripTrailingDot = (host: string): string => (host.endsWith('.') && !host.endsWith('..') ? host.slice(0, -1) : host);

/** Parses one entry; a string says what is wrong with it. */
export function parseAllowedHost(entry: string): AllowedHost | string {
  if (entry.length === 0 || entry.length > 260) return 'must be 1–260 characters';
  // Anything the URL parser would take as another part of a URL: an entry is a host and a port only.
  if (/[\s/\\?#@%\x00-\x1f\x7f]/.test(entry)) return `must be ${ALLOWED_HOST_RULE}`;
  const wildcard = entry.startsWith('*.');
  const rest = wildcard ? entry.slice(2) : entry;
  if (rest.includes('*')) return '"*" is allowed only as a whole left-most label, as in "*.example.com"';
  let url: URL;
  try {
    url = new URL(`https://${rest}/`);
  } catch {
    return `must be ${ALLOWED_HOST_RULE}`;
  }
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    return `must be ${ALLOWED_HOST_RULE}`;
  }
  const host = stripTrailingDot(url.hostname);
  if (host === '' || host.includes('..') || host.startsWith('.')) return `must be ${ALLOWED_HOST_RULE}`;
  const literal = isIpLiteral(host);
  if (wildcard && literal) return 'a wildcard needs a domain name, not an IP address';
  if (wildcard && host.split('.').length < 2) return 'a wildcard needs at least two labels after "*." ("*.example.com", not "*.com")';
  // A port the parser dropped was the default one (443): keep what the entry said.
  const explicitPort = /:(\d+)$/.exec(rest);
  const port = url.port !== '' ? Number(url.port) : explicitPort ? Number(explicitPort[1]) : null;
  if (port !== null && (port < 1 || port > 65535)) return 'the port must be from 1 to 65535';
  return { host, wildcard, port };
}

const isIpLiteral = (host: string): boolean => isIP(host) !== 0 || (host.startsWith('[') && host.endsWith(']'));

/** The stored, canonical text of an entry (what lists show). */
export function formatAllowedHost(allowed: AllowedHost): string {
  return `${allowed.wildcard ? '*.' : ''}${allowed.host}${allowed.port === null ? '' : `:${allowed.port}`}`;
}

/** Entries in canonical form, each once, in the order given; or the first problem, with its index. */
export function normalizeAllowedHosts(entries: readonly string[]): { hosts: string[] } | { index: number; problem: string } {
  if (entries.length > MAX_ALLOWED_HOSTS) return { index: MAX_ALLOWED_HOSTS, problem: `at most ${MAX_ALLOWED_HOSTS} hosts` };
  const hosts: string[] = [];
  for (const [index, entry] of entries.entries()) {
    const parsed = parseAllowedHost(entry);
    if (typeof parsed === 'string') return { index, problem: parsed };
    const text = formatAllowedHost(parsed);
    if (!hosts.includes(text)) hosts.push(text);
  }
  return { hosts };
}

/** A request's destination as the URL parser read it. */
export interface Destination {
  /** `url.hostname` without a trailing dot (IPv6 literals keep their brackets). */
  host: string;
  port: number;
  defaultPort: boolean;
}

export function destinationOf(url: URL): Destination {
  const defaultPort = url.port === '';
  const port = defaultPort ? (url.protocol === 'http:' ? 80 : 443) : Number(url.port);
  return { host: stripTrailingDot(url.hostname), port, defaultPort };
}

/** Whether one stored entry allows the destination. */
export function hostAllows(entry: string, to: Destination): boolean {
  const allowed = parseAllowedHost(entry);
  if (typeof allowed === 'string') return false;
  if (allowed.port === null ? !to.defaultPort : allowed.port !== to.port) return false;
  if (!allowed.wildcard) return to.host === allowed.host;
  return to.host.endsWith(`.${allowed.host}`) && !isIpLiteral(to.host);
}

/** Whether any of a secret's entries allows the destination. */
export const hostsAllow = (entries: readonly string[], to: Destination): boolean => entries.some((entry) => hostAllows(entry, to));
