import { ENVIRONMENTS, type Environment } from '../domain/environments.js';
import type { SecretValue } from '../domain/secrets.js';
import { convHttp, type ConvHttp } from './http.js';
import { SecretsError } from './errors.js';
import { convLog, stderrSink, type ConvLog, type LogSink } from './log.js';
import { Masker } from './masking.js';
import { runtimeClient, type ReadableSecret, type RuntimeClient, type RuntimeClientOptions } from './runtimeClient.js';
import { secretSnippets } from './snippets.js';

/**
 * Where a function runs: the environment of its agent key (SPEC S21), as the service says. Functions
 * often pick an API's sandbox or live endpoint by it; the secrets they read already follow it (S22).
 */
export type FunctionEnv = Environment;
export const FUNCTION_ENVS: readonly FunctionEnv[] = ENVIRONMENTS;

export interface ReadableSecretWithSnippet extends ReadableSecret {
  /** Ready-to-paste TypeScript that reads it. */
  snippet: string;
}

export interface ConvUtils {
  /**
   * The current value: a string for a single value, a fresh plain object for a key/value secret.
   * Asks the service on every call (a revoked grant or a new value holds from the next call).
   * The type argument only narrows the type (`get_secret<string>(…)`); nothing is checked against it.
   * @throws SecretNotFound, MissingAccess, VaultUnreachable, SecretsError
   */
  get_secret<T extends SecretValue = SecretValue>(name: string): Promise<T>;
  /** The same as get_secret. */
  getSecret<T extends SecretValue = SecretValue>(name: string): Promise<T>;
  /** The secrets this agent can read: names, kinds, keys, descriptions and a snippet; never values. */
  list_secrets(): Promise<ReadableSecretWithSnippet[]>;
}

/** What a function receives as its first argument. */
export interface Conv {
  readonly env: FunctionEnv;
  /** The agent's name. */
  readonly agent: string;
  /** The account's name. */
  readonly account: string;
  readonly utils: ConvUtils;
  /** Requests that use secrets without holding them (SPEC S28): placeholders the vault fills in. */
  readonly http: ConvHttp;
  readonly log: ConvLog;
}

/** A function file's default export. */
export type AgentFunction<Args = Record<string, unknown>, Result = unknown> = (conv: Conv, args: Args) => Promise<Result> | Result;

export interface ConvOptions extends RuntimeClientOptions {
  /** Where the caller expects to run: checked against the key's environment, never chosen by it. */
  env?: FunctionEnv;
  /** Where conv.log entries go (already masked); default: one line each on standard error. */
  logSink?: LogSink;
  /** Shared with the code that prints the function's output, so that it masks the same values. */
  masker?: Masker;
}

/**
 * A conv object for an agent key. Asks the service once who the agent is and where it runs
 * (conv.agent, conv.account, conv.env: the key's environment); a bad key, a disabled vault, an
 * unreachable service or an `env` the key does not belong to fail here, before the function starts.
 */
export async function createConv(options: ConvOptions): Promise<Conv> {
  const client = runtimeClient(options);
  const { agent, account, environment } = await client.listReadableSecrets();
  if (options.env !== undefined && options.env !== environment) throw environmentMismatch(options.env, environment);
  const masker = options.masker ?? new Masker();
  masker.remember(options.agentKey);
  return buildConv({ client, agent, account, env: environment, masker, logSink: options.logSink ?? stderrSink });
}

/** A caller asked for one environment with a key of another: the key decides, so say how to fix it. */
export function environmentMismatch(asked: string, keyEnvironment: string): SecretsError {
  return new SecretsError(
    `the agent key is a ${keyEnvironment} key, so its functions run in ${keyEnvironment}, not ${asked}: drop the environment option (the key says where it runs) or use a ${asked} key of the agent`,
    { code: 'environment_mismatch', status: 0 },
  );
}

export function buildConv(parts: { client: RuntimeClient; agent: string; account: string; env: FunctionEnv; masker: Masker; logSink: LogSink }): Conv {
  const { client, agent, masker } = parts;

  async function get_secret<T extends SecretValue = SecretValue>(name: string): Promise<T> {
    const secret = await client.readSecret(name, agent);
    // Remembered before the function sees it: from here on, every output path masks it.
    masker.remember(secret.value);
    const value = typeof secret.value === 'string' ? secret.value : { ...secret.value };
    return value as T;
  }

  const utils: ConvUtils = {
    get_secret,
    getSecret: get_secret,
    async list_secrets() {
      const { secrets } = await client.listReadableSecrets();
      return secrets.map((secret) => ({ ...secret, snippet: secretSnippets(secret).typescript }));
    },
  };

  return Object.freeze({
    env: parts.env,
    agent,
    account: parts.account,
    utils: Object.freeze(utils),
    http: convHttp(client),
    log: Object.freeze(convLog(masker, parts.logSink)),
  });
}
