import { UsageError } from '../configError.js';
import { SecretsError } from '../../sdk/errors.js';
import { ApiError } from '../api.js';

/** The agent key for run-time commands: --agent-key, else AGENT_SECRETS_AGENT_KEY. Never echoed. */
export const AGENT_KEY_ENV = 'AGENT_SECRETS_AGENT_KEY';

/** The variables that unlock more than one command's secrets: never handed to what a command starts. */
export const CREDENTIAL_VARIABLES = [AGENT_KEY_ENV, 'AGENT_SECRETS_TOKEN', 'AGENT_SECRETS_MASTER_KEY', 'AGENT_SECRETS_DATABASE_URL'];

const AGENT_KEY_SHAPE = /^ask_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

export function agentKeyFrom(flag: string | undefined): string {
  const key = (flag ?? process.env[AGENT_KEY_ENV] ?? '').trim();
  if (key === '') {
    throw new UsageError(`give the agent key with --agent-key or ${AGENT_KEY_ENV} (the environment keeps it out of ps and shell history)`);
  }
  if (/^asp_/.test(key)) throw new UsageError('that is a personal access token (asp_…); run-time commands need an agent key (ask_…, from agent-secrets keys create AGENT)');
  if (!AGENT_KEY_SHAPE.test(key)) throw new UsageError('the agent key is malformed: an agent key looks like ask_<16 hex digits>_<43 characters>');
  return key;
}

/** An SDK error as the CLI's one-line error (main prints ApiError messages as they are). */
export function asCliError(error: unknown): unknown {
  if (error instanceof SecretsError) {
    const prefix = error.code === 'SecretNotFound' || error.code === 'MissingAccess' ? `${error.name}: ` : '';
    return new ApiError(error.status, error.code, `${prefix}${error.message}`);
  }
  return error;
}
