/** Naming rules shared by secrets, key/value keys, agents and accounts (SPEC S1). */

// "." and ".." are refused: in a URL path they are dot segments, which clients remove before sending,
// so such a secret could never be reached by name from the CLI or the console.
export const SECRET_NAME_PATTERN = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,128}$/;
export const SECRET_NAME_RULE = '1–128 characters of letters, digits, "_", "-" and ".", other than "." and ".."';

/**
 * Key names of a key/value value that fit the name rule but are refused (SPEC S1): a value travels as a
 * plain object into code we do not control (a function's own code, SDKs, the console, clients), where
 * `out[key] = v` with "__proto__" sets the prototype and drops the key without a word, and a
 * "constructor" key shadows what code expects of every object. Refusing them is safer than relying on
 * every copy of a value, now and later, using own-property semantics. (Request bodies also refuse
 * "__proto__" as a key of any object, src/http/jsonBody.ts.)
 */
export const RESERVED_KEY_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor']);
export const RESERVED_KEY_RULE = '__proto__ and constructor are reserved key names';

/**
 * Agents are named by people ("Booking agent"), so spaces are allowed inside, never at the ends. A
 * name shaped like an agent id (`agt_` and 16 hex digits) is refused: `{agent}` in a path takes a name
 * or an id, and such a name would shadow, or be shadowed by, the agent with that id.
 */
export const AGENT_NAME_PATTERN = /^(?!agt_[0-9a-f]{16}$)[A-Za-z0-9_.-](?:[A-Za-z0-9_. -]{0,62}[A-Za-z0-9_.-])?$/i;
export const AGENT_NAME_RULE = '1–64 characters of letters, digits, spaces, "_", "-" and ".", not starting or ending with a space, and not shaped like an agent id (agt_ and 16 hex digits)';

export const ACCOUNT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const ACCOUNT_NAME_RULE = '1–63 characters of lowercase letters, digits, "_" and "-", starting with a letter or digit';

// Deliberately loose: the address is an identifier for sign-in, and the real check is the invitation.
export const EMAIL_PATTERN = /^[^\s@\x00-\x1f\x7f]{1,64}@[^\s@\x00-\x1f\x7f]{1,255}\.[^\s@\x00-\x1f\x7f]{1,63}$/;
export const EMAIL_RULE = 'an email address like name@example.com';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/** Identity of a name for uniqueness: names are unique per account ignoring case. */
export const nameKey = (name: string): string => name.toLowerCase();

/** The form the console suggests: lowercase with underscores (`Stripe API key` → `stripe_api_key`). */
export function suggestSecretName(input: string): string {
  return input
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 128);
}

/** Free text that ends up in the database (labels, references) carries no control characters. */
export const NO_CONTROL_CHARACTERS = /^[^\x00-\x1f\x7f]*$/;
