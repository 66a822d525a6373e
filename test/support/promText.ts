/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests (prom-client has none, and
 * no dependency is added for one): it throws on anything a Prometheus server would refuse or read
 * differently — a bad name or escape, a sample before its TYPE, a family split in two, a repeated
 * series, a negative counter, histogram buckets that are not cumulative or disagree with _count.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, line: number): number {
  // Prometheus reads values with Go's strconv.ParseFloat, which takes Inf and NaN in any case
  // (prom-client writes "Nan" for a gauge not measured yet).
  if (/^\+?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`line ${line}: "${text}" is not a sample value`);
  return Number(text);
}

/** Parses `{a="x",b="y"}` starting at `at` (the "{"); answers the labels and the index after "}". */
function parseLabels(text: string, at: number, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = at + 1;
  while (text[i] !== '}') {
    const nameEnd = text.indexOf('=', i);
    if (nameEnd < 0) throw new Error(`line ${line}: label without "="`);
    const name = text.slice(i, nameEnd);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name "${name}"`);
    if (name in labels) throw new Error(`line ${line}: label "${name}" repeated`);
    if (text[nameEnd + 1] !== '"') throw new Error(`line ${line}: label value must be quoted`);
    let value = '';
    let j = nameEnd + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const escaped = text[++j];
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else throw new Error(`line ${line}: bad escape "\\${escaped ?? ''}" in a label value`);
      } else value += text[j];
    }
    if (text[j] !== '"') throw new Error(`line ${line}: unterminated label value`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i += 1;
    else if (text[i] !== '}') throw new Error(`line ${line}: expected "," or "}" after a label`);
  }
  return [labels, i + 1];
}

/** The family a sample name belongs to, given the families typed so far. */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const family = families.get(sample.slice(0, -suffix.length));
    if (family && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return family;
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: Family | undefined;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((raw, index) => {
    const line = index + 1;
    // The format ignores empty lines (prom-client puts one between families).
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!match) return; // a plain comment
      const [, keyword, name = '', rest = ''] = match;
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name "${name}"`);
      if (closed.has(name)) throw new Error(`line ${line}: family ${name} appears twice`);
      if (current && current.name !== name) closed.add(current.name);
      let family = families.get(name);
      if (!family) {
        family = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, family);
      }
      if (keyword === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`line ${line}: unknown type "${rest}"`);
        if (family.samples.length > 0) throw new Error(`line ${line}: TYPE of ${name} after its samples`);
        family.type = rest as Family['type'];
      } else family.help = rest;
      current = family;
      return;
    }
    const nameEnd = raw.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`line ${line}: not a sample: ${raw}`);
    const name = raw.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name "${name}"`);
    let labels: Record<string, string> = {};
    let at = nameEnd;
    if (raw[at] === '{') [labels, at] = parseLabels(raw, at, line);
    if (raw[at] !== ' ') throw new Error(`line ${line}: expected a space before the value`);
    const [valueText = '', timestamp, ...extra] = raw.slice(at + 1).split(' ');
    if (extra.length > 0 || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) throw new Error(`line ${line}: trailing text after the value`);
    const value = parseValue(valueText, line);
    const family = familyOf(name, families);
    if (!family) throw new Error(`line ${line}: sample ${name} before any TYPE of its family`);
    if (family !== current) throw new Error(`line ${line}: sample ${name} outside its family's block`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`line ${line}: series ${key} repeated`);
    series.add(key);
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`line ${line}: counter ${name} is ${value}`);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** Per label set (le aside): buckets cumulative, ending with +Inf equal to _count, and a _sum. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const { le: _le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  for (const [key, samples] of groups) {
    const buckets = samples.filter((sample) => sample.name === `${family.name}_bucket`);
    let previous = { le: Number.NEGATIVE_INFINITY, count: 0 };
    for (const bucket of buckets) {
      const le = parseValue(bucket.labels.le ?? '', 0);
      if (!(le > previous.le) || bucket.value < previous.count) throw new Error(`histogram ${family.name}${key}: buckets not cumulative at le=${bucket.labels.le}`);
      previous = { le, count: bucket.value };
    }
    const count = samples.find((sample) => sample.name === `${family.name}_count`);
    if (previous.le !== Number.POSITIVE_INFINITY || count?.value !== previous.count) throw new Error(`histogram ${family.name}${key}: +Inf bucket and _count disagree`);
    if (!samples.some((sample) => sample.name === `${family.name}_sum`)) throw new Error(`histogram ${family.name}${key}: no _sum`);
  }
}

/** The value of one series (0 when absent). */
export function valueOf(families: Map<string, Family>, family: string, sample: string, labels: Record<string, string> = {}): number {
  const found = families.get(family)?.samples.find((s) => s.name === sample && Object.entries(labels).every(([name, value]) => s.labels[name] === value));
  return found?.value ?? 0;
}
