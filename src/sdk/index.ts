/**
 * The function SDK: what an agent function sees. It knows only the public run-time HTTP contract, so
 * it can be published on its own.
 *
 *   import type { AgentFunction } from 'agent-secrets/sdk';
 *   const bookTable: AgentFunction<{ guests: number }> = async (conv, args) => {
 *     const token = await conv.utils.get_secret<string>('booking_api_token');
 *     …
 *   };
 *   export default bookTable;
 */
export { buildConv, createConv, FUNCTION_ENVS, type AgentFunction, type Conv, type ConvOptions, type ConvUtils, type FunctionEnv, type ReadableSecretWithSnippet } from './conv.js';
export { BrokerOnly, HostNotAllowed, MissingAccess, SecretNotFound, SecretsError, UpstreamTimeout, UpstreamUnreachable, VaultUnreachable, type SecretsErrorDetails } from './errors.js';
export { convHttp, responseOf, type BrokeredInit, type ConvHttp } from './http.js';
export { convLog, formatLogLine, stderrSink, type ConvLog, type LogEntry, type LogLevel, type LogSink } from './log.js';
export { MASK, MIN_MASKED_LENGTH, Masker, StreamMasker, maskedForms } from './masking.js';
export { DEFAULT_URL, runtimeClient, type BrokeredAnswer, type BrokeredRequest, type ReadableSecret, type ReadableSecrets, type RuntimeClient, type RuntimeClientOptions, type SecretRead } from './runtimeClient.js';
export { secretSnippets, type SecretSnippets } from './snippets.js';
export type { SecretValue } from '../domain/secrets.js';
