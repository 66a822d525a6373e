import { UsageError } from '../configError.js';

/**
 * Environment variable names for `agent-secrets exec --secret NAME[=ENV_VAR]`: by default the secret's
 * name in upper case (`stripe_api_key` → `STRIPE_API_KEY`); a key/value secret becomes one variable per
 * key (`oauth_client` → `OAUTH_CLIENT_CLIENT_ID`, `OAUTH_CLIENT_CLIENT_SECRET`).
 */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function envName(text: string): string {
  const name = text.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

export interface SecretRequest {
  secret: string;
  variable: string;
}

export function parseSecretRequest(spec: string): SecretRequest {
  const at = spec.indexOf('=');
  const secret = at === -1 ? spec : spec.slice(0, at);
  if (secret === '') throw new UsageError('--secret needs a secret name: --secret NAME or --secret NAME=ENV_VAR');
  const variable = at === -1 ? envName(secret) : spec.slice(at + 1);
  if (!ENV_NAME.test(variable)) throw new UsageError(`--secret ${spec}: "${variable}" is not an environment variable name (letters, digits and "_", not starting with a digit)`);
  return { secret, variable };
}

/** The variables for one read value; key/value secrets get one per key. */
export function variablesFor(variable: string, value: string | Readonly<Record<string, string>>): Array<[string, string]> {
  if (typeof value === 'string') return [[variable, value]];
  return Object.entries(value).map(([key, item]) => [`${variable}_${envName(key)}`, item]);
}
