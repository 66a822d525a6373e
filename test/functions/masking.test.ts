import { describe, expect, it } from 'vitest';
import { MASK, MIN_MASKED_LENGTH, Masker, StreamMasker, maskedForms, needlesOf, rangesOf, type Range } from '../../src/sdk/masking.js';
import { leaksOf } from './leaks.js';

const CANARY = 'CANARY/mask+"q"&x=1 ü';

const maskerOf = (...values: Array<string | Record<string, string>>): Masker => {
  const masker = new Masker();
  for (const value of values) masker.remember(value);
  return masker;
};

describe('masker (SPEC S12)', () => {
  const masker = maskerOf(CANARY);

  it.each([
    ['as is', (v: string) => `token=${v}.`],
    ['JSON-escaped', (v: string) => JSON.stringify({ token: v })],
    ['JSON-escaped twice', (v: string) => JSON.stringify({ body: JSON.stringify({ token: v }) })],
    ['JSON-escaped as ASCII (Python json.dumps)', (v: string) => `{"token": "${JSON.stringify(v).slice(1, -1).replace(/ü/g, '\\u00fc')}"}`],
    ['JSON-escaped twice, ASCII-only the first time', (v: string) => JSON.stringify({ body: `{"v": "${JSON.stringify(v).slice(1, -1).replace(/ü/g, '\\u00fc')}"}` })],
    ['JSON-escaped as Go writes it (<>& as \\u00XX)', (v: string) => JSON.stringify({ token: v }).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)],
    ['JSON-escaped as Gson writes it (also = and \')', (v: string) => JSON.stringify({ token: v }).replace(/[<>&=']/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)],
    ['JSON-escaped as .NET writes it (upper-case hex, the quote too)', (v: string) =>
      `{"token":"${v.replace(/[^ !#-%(-*,-;=?-_a-~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)}"}`],
    ['JSON-escaped as PHP writes it (\\/ and \\u00fc)', (v: string) => JSON.stringify({ token: v }).replaceAll('/', '\\/').replace(/ü/g, '\\u00fc')],
    ['JSON-escaped as PHP writes it with JSON_UNESCAPED_UNICODE', (v: string) => JSON.stringify({ token: v }).replaceAll('/', '\\/')],
    ['JSON-escaped as Jackson writes non-ASCII (upper-case hex)', (v: string) => JSON.stringify({ token: v }).replace(/ü/g, '\\u00FC')],
    ['URL-encoded', (v: string) => `https://api.example.com/?token=${encodeURIComponent(v)}`],
    ['form-encoded', (v: string) => new URLSearchParams({ token: v, other: 'x' }).toString()],
    ['URL-encoded with lowercase hex', (v: string) => encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
    ['base64', (v: string) => Buffer.from(v).toString('base64')],
    ['base64url', (v: string) => Buffer.from(v).toString('base64url')],
    ['base64 after one byte', (v: string) => Buffer.from(`a${v}`).toString('base64')],
    ['base64 after two bytes', (v: string) => Buffer.from(`ab${v}`).toString('base64')],
    ['Basic auth header', (v: string) => `Authorization: Basic ${Buffer.from(`client-id:${v}`).toString('base64')}`],
    ['base64url inside a longer text at offset 2', (v: string) => Buffer.from(`xy${v}zzz`).toString('base64url')],
  ])('masks a value %s', (_label, encode) => {
    const text = encode(CANARY);
    const masked = masker.mask(text);
    expect(masked).toContain(MASK);
    expect(leaksOf(masked, [CANARY])).toEqual([]);
  });

  it('leaves text without values alone', () => {
    expect(masker.mask('Booked a table for 2 at 19:00')).toBe('Booked a table for 2 at 19:00');
  });

  it('masks each value of a key/value secret separately', () => {
    const kv = maskerOf({ client_id: 'client-1234', client_secret: 'CANARY-kv-secret' });
    expect(kv.mask('id client-1234 secret CANARY-kv-secret')).toBe(`id ${MASK} secret ${MASK}`);
  });

  it('masks a JSON-shaped value whole, re-serialised, and field by field', () => {
    const value = '{"api_key": "CANARY-json-inner", "region": "eu-west-1", "pin": 918273}';
    const json = maskerOf(value);
    expect(json.mask(value)).toBe(MASK);
    expect(json.mask(JSON.stringify({ config: value }))).toBe(`{"config":"${MASK}"}`);
    const reparsed = JSON.stringify(JSON.parse(value));
    expect(json.mask(reparsed)).toBe(`{"api_key":"${MASK}","region":"${MASK}","pin":${MASK}}`);
    expect(json.mask(`key is ${JSON.parse(value).api_key}`)).toBe(`key is ${MASK}`);
    expect(json.mask(Buffer.from(JSON.parse(value).api_key).toString('base64'))).not.toContain('CANARY');
  });

  it('also masks the value without surrounding whitespace (a value read from a file)', () => {
    expect(maskerOf('CANARY-with-newline\n').mask('x CANARY-with-newline y')).toBe(`x ${MASK} y`);
  });

  it(`does not mask values shorter than ${MIN_MASKED_LENGTH} characters (they would mask everything)`, () => {
    const short = maskerOf('eu', '443', { region: 'us' });
    expect(short.maskedForms).toEqual([]);
    expect(short.mask('region eu port 443')).toBe('region eu port 443');
    expect(maskedForms('abcd')).toContain('abcd');
  });

  it('masks overlapping and repeated values as one mask each run', () => {
    const overlap = maskerOf('abcdef', 'defghi');
    expect(overlap.mask('xx abcdefghi yy abcdef')).toBe(`xx ${MASK} yy ${MASK}`);
    expect(maskerOf('CANARY-rep').mask('CANARY-repCANARY-rep')).toBe(MASK);
  });

  it('masks values remembered later, and never forgets one', () => {
    const growing = new Masker();
    growing.remember('first-value');
    growing.remember('second-value');
    expect(growing.mask('first-value second-value')).toBe(`${MASK} ${MASK}`);
  });
});

describe('stream masking (values split across chunks)', () => {
  const value = 'CANARY-stream-secret-42';
  const stream = (chunks: string[], ...values: string[]) => {
    const masker = maskerOf(...(values.length > 0 ? values : [value]));
    const streamMasker = new StreamMasker(masker);
    return chunks.map((chunk) => streamMasker.push(chunk)).join('') + streamMasker.end();
  };

  it('masks a value split at every possible position', () => {
    const text = `before ${value} after\n`;
    for (let cut = 1; cut < text.length; cut++) {
      const out = stream([text.slice(0, cut), text.slice(cut)]);
      expect(out, `cut at ${cut}`).toBe(`before ${MASK} after\n`);
    }
  });

  it('masks a value arriving one character at a time', () => {
    expect(stream([...`>${value}<`])).toBe(`>${MASK}<`);
  });

  it('passes text on at once when its end cannot begin a value', () => {
    const streamMasker = new StreamMasker(maskerOf(value));
    expect(streamMasker.push('hello world\n')).toBe('hello world\n');
    expect(streamMasker.push('almost CANARY-str')).toBe('almost ');
    expect(streamMasker.push('ing')).toBe('CANARY-string');
  });

  it('masks a held beginning of a value when the stream ends there', () => {
    expect(stream(['x CANARY-stream'])).toBe(`x ${MASK}`);
  });

  it('masks overlapping values split across chunks without leaking the second', () => {
    expect(stream(['xx abcdef', 'ghi yy'], 'abcdef', 'defghi')).toBe(`xx ${MASK} yy`);
    expect(stream(['xx abcd', 'ef', 'ghi yy'], 'abcdef', 'defghi')).toBe(`xx ${MASK} yy`);
  });

  it('masks base64 of a value split across chunks', () => {
    const encoded = Buffer.from(value).toString('base64');
    const out = stream([`auth ${encoded.slice(0, 7)}`, `${encoded.slice(7)} done`]);
    expect(leaksOf(out, [value])).toEqual([]);
    expect(out).toContain('done');
  });
});

describe('finding where forms occur (shared by log masking and the broker scrubber)', () => {
  /** Every occurrence, one at a time, merged: slow, obviously right. */
  const naive = (text: string, forms: string[]): Range[] => {
    const ranges: Range[] = [];
    for (const form of forms) for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) ranges.push([at, at + form.length]);
    ranges.sort((a, b) => a[0] - b[0]);
    const merged: Range[] = [];
    for (const [start, end] of ranges) {
      const last = merged[merged.length - 1];
      if (last && start <= last[1]) last[1] = Math.max(last[1], end);
      else merged.push([start, end]);
    }
    return merged;
  };

  it('covers exactly what every occurrence covers, overlapping and periodic forms included', () => {
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const word = (length: number) => Array.from({ length }, () => 'ab'[random(2)]).join('');
    for (let round = 0; round < 3000; round++) {
      const text = word(1 + random(40));
      const forms = Array.from({ length: 1 + random(3) }, () => word(1 + random(6)));
      expect(rangesOf(text, needlesOf(forms)), `${forms.join(',')} in ${text}`).toEqual(naive(text, forms));
    }
    expect(rangesOf('ababab', needlesOf(['abab']))).toEqual([[0, 6]]);
    expect(rangesOf('aabaaabaa', needlesOf(['aabaa']))).toEqual([[0, 9]]);
  });

  it('keeps one range for a periodic value repeated through a long text, not one per occurrence', () => {
    const text = 'a'.repeat(1024 * 1024);
    expect(rangesOf(text, needlesOf(['aaaa']))).toEqual([[0, text.length]]);
    expect(rangesOf(`x${'abcd'.repeat(100_000)}ab`, needlesOf(['abcd', 'cdab']))).toEqual([[1, 400_003]]);
  });
});
