import type { SecretKind } from '../domain/secrets.js';

/**
 * Ready-to-paste code that reads a secret (SPEC S11), for the "Secrets" box of a function editor and
 * `agent-secrets secrets available`. Key/value secrets are destructured into their keys.
 */
export interface SecretSnippets {
  typescript: string;
  javascript: string;
  python: string;
}

const JS_RESERVED = new Set(
  'await break case catch class const continue debugger default delete do else enum export extends false finally for function if implements import in instanceof interface let new null package private protected public return static super switch this throw true try typeof var void while with yield'.split(' '),
);
const PY_RESERVED = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(' '),
);

/** `stripe_api_key` → `stripeApiKey`; anything that is not a usable identifier gets a prefix. */
function jsIdentifier(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const camel = words.map((word, i) => (i === 0 ? word.charAt(0).toLowerCase() + word.slice(1) : word.charAt(0).toUpperCase() + word.slice(1))).join('');
  const identifier = /^[A-Za-z_$]/.test(camel) ? camel : `secret${camel.charAt(0).toUpperCase()}${camel.slice(1)}`;
  return JS_RESERVED.has(identifier) ? `${identifier}Secret` : identifier;
}

function pyIdentifier(name: string): string {
  const snake = name.replace(/[^A-Za-z0-9_]+/g, '_').toLowerCase();
  const identifier = /^[a-z_]/.test(snake) ? snake : `secret_${snake}`;
  return PY_RESERVED.has(identifier) ? `${identifier}_secret` : identifier;
}

const isPlainJsName = (key: string): boolean => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) && !JS_RESERVED.has(key);
const quoted = (text: string): string => JSON.stringify(text);

/**
 * A broker-only secret (SPEC S27) is never read: its snippet is a brokered request to its first
 * allowed host, with the placeholder where a credential usually goes.
 */
function brokeredSnippets(secret: { name: string; kind: SecretKind; keys: readonly string[]; allowedHosts?: readonly string[] | undefined }): SecretSnippets {
  const host = (secret.allowedHosts ?? [])[0]?.replace(/^\*\./, 'api.') ?? 'api.example.com';
  const url = quoted(`https://${host}/`);
  const placeholder = secret.kind === 'kv' && secret.keys.length > 0 ? `{{secret:${secret.name}.${secret.keys[0]}}}` : `{{secret:${secret.name}}}`;
  const headers = `{ authorization: ${quoted(`Bearer ${placeholder}`)} }`;
  const js = `const response = await conv.http.fetch(${url}, { headers: ${headers} });`;
  return {
    typescript: js,
    javascript: js,
    python: `response = conv.http.request("GET", ${url}, headers={"authorization": ${quoted(`Bearer ${placeholder}`)}})`,
  };
}

export function secretSnippets(secret: { name: string; kind: SecretKind; keys: readonly string[]; delivery?: string | undefined; allowedHosts?: readonly string[] | undefined }): SecretSnippets {
  if (secret.delivery === 'broker-only') return brokeredSnippets(secret);
  const call = `conv.utils.get_secret(${quoted(secret.name)})`;
  if (secret.kind === 'single' || secret.keys.length === 0) {
    const variable = jsIdentifier(secret.name);
    return {
      typescript: `const ${variable} = await conv.utils.get_secret<string>(${quoted(secret.name)});`,
      javascript: `const ${variable} = await ${call};`,
      python: `${pyIdentifier(secret.name)} = ${call}`,
    };
  }
  const bindings = secret.keys.map((key) => (isPlainJsName(key) ? key : `${quoted(key)}: ${jsIdentifier(key)}`)).join(', ');
  const shape = secret.keys.map((key) => `${isPlainJsName(key) ? key : quoted(key)}: string`).join('; ');
  return {
    typescript: `const { ${bindings} } = await conv.utils.get_secret<{ ${shape} }>(${quoted(secret.name)});`,
    javascript: `const { ${bindings} } = await ${call};`,
    python: `${pyIdentifier(secret.name)} = ${call}  # keys: ${secret.keys.join(', ')}`,
  };
}
