/**
 * The tables as the code sees them, identical on SQLite and PostgreSQL: times are ISO-8601 UTC text
 * (they sort as text), flags are 0/1 integers, binary is bytes, lists are JSON text.
 */
export interface Database {
  accounts: AccountsTable;
  users: UsersTable;
  sessions: SessionsTable;
  personal_tokens: PersonalTokensTable;
  agents: AgentsTable;
  agent_keys: AgentKeysTable;
  data_keys: DataKeysTable;
  secrets: SecretsTable;
  secret_versions: SecretVersionsTable;
  grants: GrantsTable;
  audit_events: AuditEventsTable;
  audit_heads: AuditHeadsTable;
  audit_keys: AuditKeysTable;
  read_revision: ReadRevisionTable;
  secret_overrides: SecretOverridesTable;
  read_stamps: ReadStampsTable;
  sso_configs: SsoConfigsTable;
  sso_domains: SsoDomainsTable;
  sso_flows: SsoFlowsTable;
}

export interface AccountsTable {
  id: string;
  name: string;
  vault_enabled: number;
  /** The data key new secret versions are sealed with. */
  data_key_id: string | null;
  created_at: string;
}

export interface UsersTable {
  id: string;
  account_id: string;
  email: string;
  role: string;
  password_hash: string;
  created_at: string;
  created_by: string;
  /** 1 while the password is a one-time one that must be changed (SPEC S19). */
  password_one_time: number;
  /** A one-time password signs in only before this; set to the moment it is used. Null for a chosen password. */
  password_expires_at: string | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  token_hash: Buffer;
  csrf_token: string;
  created_at: string;
  expires_at: string;
  /** 1 for a session opened with a one-time password: it may only change the password. */
  password_change_only: number;
  /** For a session opened by single sign-on: the SSO configuration revision it went through (migration 0008). */
  sso_revision: string | null;
}

export interface PersonalTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: Buffer;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AgentsTable {
  id: string;
  account_id: string;
  name: string;
  name_key: string;
  created_at: string;
  created_by: string;
}

export interface AgentKeysTable {
  id: string;
  agent_id: string;
  name: string;
  key_hash: Buffer;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
  /** The environment the key's functions run in (SPEC S21); never changes. 'live' for keys made before 0006. */
  environment: string;
}

export interface DataKeysTable {
  id: string;
  account_id: string;
  wrapped_key: Buffer;
  master_key_id: string;
  created_at: string;
  /**
   * During a master key rotation: the wrapping by the key being retired, kept so that instances still
   * running on it keep opening this data key. Cleared when the rotation is completed.
   */
  previous_wrapped_key: Buffer | null;
  previous_master_key_id: string | null;
}

export interface SecretsTable {
  id: string;
  account_id: string;
  name: string;
  name_key: string;
  description: string;
  kind: string;
  key_names: string;
  current_version: number;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  last_read_at: string | null;
  /** SPEC S25: JSON list of canonical allowed hosts (src/domain/hosts.ts); '[]' cannot be brokered. */
  allowed_hosts: string;
  /** SPEC S27: 'value' | 'broker-only'. */
  delivery: string;
  /** SPEC S27: 'allowed' | 'never'. */
  reveal: string;
}

export interface SecretVersionsTable {
  secret_id: string;
  version: number;
  data_key_id: string;
  ciphertext: Buffer;
  kind: string;
  key_names: string;
  created_at: string;
  created_by: string;
  restored_from: number | null;
  /** The environment whose override this version was set as; null for the default value (SPEC S22). */
  environment: string | null;
}

export interface GrantsTable {
  secret_id: string;
  agent_id: string;
  created_at: string;
  created_by: string;
  last_read_at: string | null;
}

export interface AuditEventsTable {
  account_id: string;
  seq: number;
  at: string;
  actor_type: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  secret_id: string | null;
  secret_name: string | null;
  version: number | null;
  agent_id: string | null;
  agent_name: string | null;
  outcome: string;
  detail: string | null;
  prev_hash: string;
  hash: string;
  /**
   * On the last event of each committed batch: the account's audit key's signature of the head it
   * made (domain/audit.ts signedHeadStatement), base64. Null elsewhere and before migration 0004.
   */
  signature: string | null;
}

export interface AuditHeadsTable {
  account_id: string;
  seq: number;
  hash: string;
}

/** Each account's audit key (Ed25519), its private key sealed under a data key of the account. */
export interface AuditKeysTable {
  account_id: string;
  data_key_id: string;
  sealed_key: Buffer;
  created_at: string;
}

/** One row: a marker replaced by every change to what a run-time read depends on (see migration 0003). */
export interface ReadRevisionTable {
  id: number;
  revision: string;
}

/** Per secret and environment with an override: the version that environment reads instead of the default. */
export interface SecretOverridesTable {
  secret_id: string;
  environment: string;
  version: number;
  updated_at: string;
  updated_by: string;
}

/** An account's OpenID Connect configuration (SPEC S29). */
export interface SsoConfigsTable {
  account_id: string;
  /** The issuer identifier, an https URL (http only where the operator allows it). */
  issuer: string;
  client_id: string;
  /** The data key the client secret is sealed with. */
  data_key_id: string;
  sealed_client_secret: Buffer;
  /** The role of users a sign-in creates; null: only existing users may sign in. */
  jit_role: string | null;
  /** 1 while the account's users may still sign in with a password. */
  password_sign_in: number;
  /** Replaced whenever issuer, client id or client secret change (see migration 0008). */
  revision: string;
  updated_at: string;
  updated_by: string;
}

/** The last read per secret, agent and environment, and the version it answered (SPEC S24). */
export interface ReadStampsTable {
  secret_id: string;
  agent_id: string;
  environment: string;
  version: number;
  last_read_at: string;
}

/** An email domain whose people sign in through one account's SSO; a domain names one account. */
export interface SsoDomainsTable {
  domain: string;
  account_id: string;
}

/** A sign-in through SSO under way: what the callback must check, found by its browser cookie's hash. */
export interface SsoFlowsTable {
  id: string;
  account_id: string;
  revision: string;
  state: string;
  nonce: string;
  code_verifier: string;
  redirect_uri: string;
  return_to: string;
  created_at: string;
  expires_at: string;
  /** Set by the first callback that uses the flow: a second one is a replay. */
  used_at: string | null;
}
