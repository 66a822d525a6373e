import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { destinationOf, hostsAllow, normalizeAllowedHosts } from '../../src/domain/hosts.js';
import { findPlaceholders, readingsOf } from '../../src/domain/placeholders.js';
import { embeddedIpv4, judgeAddress } from '../../src/egress/addresses.js';
import { scrubBytes, scrubHeaders, scrubPatterns } from '../../src/egress/scrub.js';
import { EgressError, createEgress, type Resolver } from '../../src/egress/send.js';
import { makeCertificates, reflect, startUpstream, type Upstream } from '../support/upstream.js';

const MiB = 1024 * 1024;
const base = { maxAnswerBytes: 10 * MiB, maxInFlight: 8 };

const hosts = (...entries: string[]) => {
  const result = normalizeAllowedHosts(entries);
  if (!('hosts' in result)) throw new Error(result.problem);
  return result.hosts;
};
const allows = (entries: string[], url: string) => hostsAllow(hosts(...entries), destinationOf(new URL(url)));

describe('the host check reads URLs as the WHATWG parser does (S26)', () => {
  it.each([
    ['https://api.stripe.com/v1', true],
    ['https://API.STRIPE.COM/v1', true],
    ['https://api.stripe.com./v1', true],
    ['https://api.stripe.com:443/v1', true],
    ['https://api.stripe.com@evil.example/', false],
    ['https://api.stripe.com.evil.example/', false],
    ['https://evil.example/?https://api.stripe.com/', false],
    ['https://evil.example/#@api.stripe.com', false],
    ['https://api.stripe.com:8443/', false],
    ['https://xapi.stripe.com/', false],
    ['https://stripe.com/', false],
    // In https: URLs a backslash is a slash: this is api.stripe.com with the path /@evil.example/, and the
    // request goes there, as the parser (and so the check) reads it.
    ['https://api.stripe.com\\@evil.example/', true],
    ['https://evil.example\\@api.stripe.com/', false],
  ])('api.stripe.com allows %s: %s', (url, expected) => {
    expect(allows(['api.stripe.com'], url)).toBe(expected);
  });

  it('a wildcard allows subdomains at any depth, never the domain itself, a lookalike or an IP', () => {
    expect(allows(['*.example.com'], 'https://a.example.com/')).toBe(true);
    expect(allows(['*.example.com'], 'https://a.b.example.com/')).toBe(true);
    expect(allows(['*.example.com'], 'https://example.com/')).toBe(false);
    expect(allows(['*.example.com'], 'https://badexample.com/')).toBe(false);
    expect(allows(['*.example.com'], 'https://example.com.evil.test/')).toBe(false);
  });

  it('IP literals are judged as the parser normalizes them: decimal, hex and IPv6 forms', () => {
    expect(allows(['127.0.0.1:8080'], 'http://2130706433:8080/')).toBe(true);
    expect(allows(['127.0.0.1:8080'], 'http://0x7f.1:8080/')).toBe(true);
    expect(allows(['[::1]:8080'], 'http://[0:0::1]:8080/')).toBe(true);
    expect(allows(['api.stripe.com'], 'https://2130706433/')).toBe(false);
  });

  it('an internationalized host matches its punycode form', () => {
    expect(allows(['bücher.example'], 'https://xn--bcher-kva.example/')).toBe(true);
    expect(allows(['xn--bcher-kva.example'], 'https://BÜCHER.example/')).toBe(true);
  });
});

describe('addresses brokered requests may reach', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['127.0.0.1', 'private'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.1.1', 'private'],
    ['::1', 'private'],
    ['fe80::1', 'private'],
    ['fc00::1', 'private'],
    ['::ffff:127.0.0.1', 'private'],
    ['::ffff:7f00:1', 'private'],
    ['64:ff9b::a00:1', 'private'],
    ['64:ff9b::808:808', 'public'],
    ['2002:c0a8:101::1', 'private'],
    ['0.0.0.0', 'refused'],
    ['::', 'refused'],
    ['169.254.169.254', 'refused'],
    ['::ffff:169.254.169.254', 'refused'],
    ['fd00:ec2::254', 'refused'],
    ['100.100.100.200', 'refused'],
    ['224.0.0.1', 'refused'],
    ['ff02::1', 'refused'],
    ['not-an-ip', 'refused'],
  ])('%s is %s', (address, verdict) => {
    expect(judgeAddress(address)).toBe(verdict);
  });

  it('finds the IPv4 address inside mapped, NAT64 and 6to4 forms', () => {
    expect(embeddedIpv4('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(embeddedIpv4('64:ff9b::7f00:1')).toBe('127.0.0.1');
    expect(embeddedIpv4('2002:7f00:1::')).toBe('127.0.0.1');
    expect(embeddedIpv4('2606:4700::1')).toBeUndefined();
  });
});

describe('placeholders', () => {
  it('reads a dotted placeholder as the whole name first, then NAME.KEY splits from the right', () => {
    expect(readingsOf('a.b.c')).toEqual([
      { name: 'a.b.c', key: undefined },
      { name: 'a.b', key: 'c' },
      { name: 'a', key: 'b.c' },
    ]);
  });

  it.each([
    ['{{secret:}}'],
    ['{{secret:has space}}'],
    ['Bearer {{secret:open'],
    ['{{secret:a{{secret:b}}}}'],
    ['{{secret:..}}'],
  ])('refuses the malformed %s', (text) => {
    expect(typeof findPlaceholders(text)).toBe('string');
  });
});

describe('scrubbing an answer', () => {
  const value = 'sk_live_CANARY-scrub-9d1f';
  const patterns = scrubPatterns([value]);

  it.each([
    ['raw', value],
    ['base64', Buffer.from(value).toString('base64')],
    ['base64 inside Basic auth', Buffer.from(`user:${value}`).toString('base64')],
    ['URL-encoded', encodeURIComponent(`${value}/+&`)],
    ['JSON-escaped', JSON.stringify(`${value}"`)],
  ])('removes the value %s from a body', (_form, text) => {
    const scrubbed = scrubBytes(Buffer.from(`before ${text} after`), patterns);
    expect(scrubbed.found).toBe(true);
    expect(scrubbed.body.toString()).not.toContain(value);
    expect(scrubbed.body.toString()).toContain('***');
    expect(scrubbed.body.toString()).toMatch(/^before .*\*\*\*.* after$/);
  });

  it.each([
    ['Go (<>& as \\u00XX)', 'pa&ss<wo>rd-123456', '{"v":"pa\\u0026ss\\u003cwo\\u003erd-123456"}'],
    ['Gson (= and \' too)', "pa=ss'wo&rd-1234", '{"v":"pa\\u003dss\\u0027wo\\u0026rd-1234"}'],
    ['.NET (upper-case hex)', 'pa<ss>wö+rd', '{"v":"pa\\u003Css\\u003Ew\\u00F6\\u002Brd"}'],
    ['PHP (\\/ and non-ASCII)', 'pa/ss/wörd', '{"v":"pa\\/ss\\/w\\u00f6rd"}'],
    ['PHP with JSON_UNESCAPED_UNICODE', 'pa/ss/wörd', '{"v":"pa\\/ss\\/wörd"}'],
    ['Jackson (non-ASCII, upper-case hex)', 'pässwörd-1', '{"v":"p\\u00E4ssw\\u00F6rd-1"}'],
  ])('removes a value JSON-escaped as %s writes it', (_serializer, secret, answer) => {
    const scrubbed = scrubBytes(Buffer.from(answer), scrubPatterns([secret]));
    expect(scrubbed.body.toString()).toBe('{"v":"***"}');
  });

  it.each([
    ['MIME (76 characters, CRLF)', 76, '\r\n'],
    ['a PEM-like file (64, LF)', 64, '\n'],
    ["GitHub's contents API (60, JSON-escaped \\n)", 60, '\\n'],
    ['JSON-escaped CRLF', 76, '\\r\\n'],
  ])('removes a value base64-encoded in lines as %s, wherever a line breaks it', (_style, width, lineBreak) => {
    for (let before = 0; before < width + 3; before += 5) {
      const file = `${'x'.repeat(before)}${value}\n${'y'.repeat(40)}`;
      const encoded = Buffer.from(file).toString('base64');
      const wrapped = encoded.match(new RegExp(`.{1,${width}}`, 'g'))!.join(lineBreak);
      const scrubbed = scrubBytes(Buffer.from(`{"content":"${wrapped}"}`), patterns).body.toString();
      // What the value's own bits encode to, whatever the bytes around it.
      const first = Math.ceil((before * 8) / 6);
      const own = encoded.slice(first, Math.floor(((before + value.length) * 8) / 6));
      expect(scrubbed.split(lineBreak).join(''), `${before} bytes before`).not.toContain(own.slice(0, 8));
      expect(scrubbed).toContain('***');
      expect(scrubbed.startsWith(`{"content":"${wrapped.slice(0, Math.max(0, first - 2))}`)).toBe(true);
    }
  });

  it('removes a value from a binary body and from every header value, set-cookie lists included', () => {
    const binary = Buffer.concat([Buffer.from([0xff, 0x00, 0xfe]), Buffer.from(value), Buffer.from([0x80])]);
    expect(scrubBytes(binary, patterns).body.includes(Buffer.from(value))).toBe(false);
    const { headers } = scrubHeaders({ 'x-echo': `Bearer ${value}`, 'set-cookie': ['a=1', `t=${value}`] }, patterns);
    expect(JSON.stringify(headers)).not.toContain(value);
    expect(headers['set-cookie']).toEqual(['a=1', 't=***']);
  });

  it('scrubs a 10 MiB answer of a periodic value in time linear in its size, as one mask', () => {
    const body = Buffer.alloc(10 * MiB, 'a');
    const periodic = scrubPatterns(['aaaa']);
    // The machine is shared: the bound is a ratio to plain Buffer.indexOf scans of the same bytes, one per pattern.
    const timed = (work: () => unknown) => {
      const started = performance.now();
      work();
      return performance.now() - started;
    };
    const baseline = Math.min(...[1, 2, 3].map(() => timed(() => [...periodic.plain, ...periodic.base64].forEach(({ form }) => body.indexOf(`${form}\u0000`, 0, 'latin1')))));
    let scrubbed: ReturnType<typeof scrubBytes> | undefined;
    const took = timed(() => (scrubbed = scrubBytes(body, periodic)));
    expect(scrubbed!.body.toString()).toBe('***');
    expect(took).toBeLessThan(Math.max(200 * baseline, 400));
    // Millions of short lines, each a line break the wrapped-base64 search takes out.
    const lines = Buffer.from('a\n'.repeat(5 * MiB));
    expect(timed(() => scrubBytes(lines, periodic))).toBeLessThan(Math.max(200 * baseline, 400));
  });

  it('removes a non-ASCII value as its UTF-8 bytes', () => {
    const unicode = 'pässwörd-CANARY-ü';
    const scrubbed = scrubBytes(Buffer.from(`x ${unicode} y`), scrubPatterns([unicode]));
    expect(scrubbed.body.toString()).toBe('x *** y');
  });

  it('removes a non-ASCII value as its Latin-1 bytes (how a header carries it), from a body and a header', () => {
    const latin1 = 'pässwörd-CANARY-ü';
    const scrubbed = scrubBytes(Buffer.from(`x ${latin1} y`, 'latin1'), scrubPatterns([latin1]));
    expect(scrubbed.body.toString('latin1')).toBe('x *** y');
    // Node gives header values as latin1 strings, one character per byte.
    expect(scrubHeaders({ 'x-echo': Buffer.from(latin1, 'latin1').toString('latin1') }, scrubPatterns([latin1])).headers['x-echo']).toBe('***');
  });
});

describe('sending: loopback upstreams, counted', () => {
  let upstream: Upstream;
  let tlsUpstream: Upstream;
  let certificates: ReturnType<typeof makeCertificates>;

  beforeAll(async () => {
    upstream = await startUpstream();
    certificates = makeCertificates();
    tlsUpstream = await startUpstream({ key: certificates.key, cert: certificates.cert });
  });
  afterAll(async () => {
    await upstream?.close();
    await tlsUpstream?.close();
    certificates?.dispose();
  });
  beforeEach(() => {
    upstream.handle = reflect;
    upstream.seen.length = 0;
    tlsUpstream.seen.length = 0;
  });

  const get = (url: string) => ({ url: new URL(url), method: 'GET', headers: [] as Array<[string, string]>, timeoutMs: 2000 });

  it('refuses loopback and private addresses unless allowed, with nothing sent', async () => {
    const egress = createEgress({ ...base, allowPrivate: false });
    for (const url of [`${upstream.url}/x`, `http://[::ffff:127.0.0.1]:${upstream.port}/`, `https://127.0.0.1:${tlsUpstream.port}/`, `https://2130706433:${tlsUpstream.port}/`]) {
      await expect(egress.send(get(url))).rejects.toMatchObject({ reason: expect.stringMatching(/private_address|plain_http/) });
    }
    expect(upstream.seen.length + tlsUpstream.seen.length).toBe(0);
    egress.close();
  });

  it('refuses plain http: to a public address even with private addresses allowed', async () => {
    const egress = createEgress({ ...base, allowPrivate: true, resolve: async () => [{ address: '8.8.8.8', family: 4 }] });
    await expect(egress.send(get('http://public.test/'))).rejects.toMatchObject({ reason: 'plain_http' });
    egress.close();
  });

  it('refuses metadata addresses even with private addresses allowed', async () => {
    const egress = createEgress({ ...base, allowPrivate: true, resolve: async () => [{ address: '169.254.169.254', family: 4 }] });
    await expect(egress.send(get('http://metadata.test/latest/meta-data/'))).rejects.toMatchObject({ reason: 'private_address' });
    await expect(egress.send(get('http://169.254.169.254/'))).rejects.toMatchObject({ reason: 'private_address' });
    egress.close();
  });

  it('DNS rebinding: resolves once and connects to the address it checked, never to a second answer', async () => {
    let lookups = 0;
    // Public first, loopback next. Private addresses are even allowed here, so a client that looked the
    // name up again at connect time would reach the upstream on loopback and be counted.
    const rebinding: Resolver = async () => (lookups++ === 0 ? [{ address: '8.8.8.8', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    const egress = createEgress({ ...base, allowPrivate: true, resolve: rebinding });
    const attempt = await egress.send({ ...get(`https://rebind.test:${tlsUpstream.port}/`), timeoutMs: 300 }).catch((error: unknown) => error);
    expect(attempt).toBeInstanceOf(EgressError);
    expect((attempt as EgressError).reason).toMatch(/timeout|unreachable/);
    expect(lookups).toBe(1);
    expect(tlsUpstream.seen.length).toBe(0);
    egress.close();
  });

  it('a name that resolves to a public and a private address is refused, whichever comes first', async () => {
    const egress = createEgress({ ...base, allowPrivate: false, resolve: async () => [{ address: '8.8.8.8', family: 4 }, { address: '127.0.0.1', family: 4 }] });
    await expect(egress.send(get(`https://mixed.test:${tlsUpstream.port}/`))).rejects.toMatchObject({ reason: 'private_address' });
    expect(tlsUpstream.seen.length).toBe(0);
    egress.close();
  });

  it('HTTPS: checks the certificate against the URL\'s name, trusting an extra CA only when given one', async () => {
    const resolve: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const untrusting = createEgress({ ...base, allowPrivate: true, resolve });
    await expect(untrusting.send(get(`https://broker.test:${tlsUpstream.port}/`))).rejects.toMatchObject({ reason: 'certificate' });
    expect(tlsUpstream.seen.length).toBe(0);
    const trusting = createEgress({ ...base, allowPrivate: true, resolve, extraCa: certificates.caPem });
    const answer = await trusting.send(get(`https://broker.test:${tlsUpstream.port}/hello?q=1`));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString()).headers.host).toBe(`broker.test:${tlsUpstream.port}`);
    // A name the certificate does not cover fails, though the address is the same.
    await expect(trusting.send(get(`https://other.test:${tlsUpstream.port}/`))).rejects.toMatchObject({ reason: 'certificate' });
    untrusting.close();
    trusting.close();
  });

  it('never follows a redirect: the 3xx is the answer', async () => {
    upstream.handle = (_request, response) => {
      response.writeHead(302, { location: `${upstream.url}/elsewhere` });
      response.end();
    };
    const egress = createEgress({ ...base, allowPrivate: true });
    const answer = await egress.send(get(`${upstream.url}/start`));
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe(`${upstream.url}/elsewhere`);
    expect(upstream.seen.map((seen) => seen.url)).toEqual(['/start']);
    egress.close();
  });

  it('handles headers as a proxy must: hop-by-hop removed, Host from the URL, identity encoding asked', async () => {
    const egress = createEgress({ ...base, allowPrivate: true });
    await egress.send({
      ...get(`${upstream.url}/h`),
      headers: [
        ['Host', 'evil.example'],
        ['Connection', 'x-secret-hop'],
        ['X-Secret-Hop', 'dropped'],
        ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
        ['Transfer-Encoding', 'chunked'],
        ['TE', 'trailers'],
        ['Upgrade', 'websocket'],
        ['Accept-Encoding', 'gzip'],
        ['X-Kept', 'yes'],
      ],
    });
    const seen = upstream.seen[0]!.headers;
    expect(seen.host).toBe(`127.0.0.1:${upstream.port}`);
    expect(seen['x-secret-hop']).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen['transfer-encoding']).toBeUndefined();
    expect(seen.te).toBeUndefined();
    expect(seen.upgrade).toBeUndefined();
    expect(seen['accept-encoding']).toBe('identity');
    expect(seen['x-kept']).toBe('yes');
    egress.close();
  });

  it('decodes a gzip answer sent anyway, so that it can be scrubbed', async () => {
    upstream.handle = (_request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      response.end(gzipSync('hello CANARY-gzip'));
    };
    const egress = createEgress({ ...base, allowPrivate: true });
    const answer = await egress.send(get(`${upstream.url}/gz`));
    expect(answer.body.toString()).toBe('hello CANARY-gzip');
    expect(answer.headers['content-encoding']).toBeUndefined();
    egress.close();
  });

  it('bounds time and size: a silent upstream times out, a huge answer is refused', async () => {
    upstream.handle = () => undefined;
    const egress = createEgress({ ...base, allowPrivate: true, maxAnswerBytes: MiB });
    const started = Date.now();
    await expect(egress.send({ ...get(`${upstream.url}/slow`), timeoutMs: 200 })).rejects.toMatchObject({ reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
    upstream.handle = (_request, response) => response.end(Buffer.alloc(MiB + 1, 0x61));
    await expect(egress.send(get(`${upstream.url}/big`))).rejects.toMatchObject({ reason: 'too_large' });
    egress.close();
  });

  it('caps requests in flight', async () => {
    upstream.handle = () => undefined;
    const egress = createEgress({ ...base, allowPrivate: true, maxInFlight: 1 });
    const first = egress.send({ ...get(`${upstream.url}/slow`), timeoutMs: 300 }).catch((error: unknown) => error);
    await expect(egress.send(get(`${upstream.url}/slow`))).rejects.toMatchObject({ reason: 'busy' });
    expect(await first).toMatchObject({ reason: 'timeout' });
    egress.close();
  });

  it('an unreachable upstream is reported as such, without the request', async () => {
    const egress = createEgress({ ...base, allowPrivate: true });
    const closed = await startUpstream();
    await closed.close();
    await expect(egress.send(get(`${closed.url}/`))).rejects.toMatchObject({ reason: 'unreachable' });
    egress.close();
  });
});
