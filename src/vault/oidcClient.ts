import * as oidc from 'openid-client';
import { VaultError, invalidInput } from '../domain/errors.js';
import { EgressError, createEgress, type Egress, type EgressOptions, type Resolver } from '../egress/send.js';

/**
 * The relying party's side of OpenID Connect, over openid-client (the certified client): discovery,
 * the authorization URL with PKCE, state and nonce, and the code exchange whose ID token openid-client
 * checks (issuer, audience, expiry, nonce, and its signature through the issuer's published keys).
 * Nothing here checks a token by hand.
 */
export interface OidcOptions {
  /**
   * Accept an issuer over plain http (tests and labs: `serve --sso-allow-insecure-issuer`). Without it
   * an issuer must be https, and so must every endpoint it names.
   */
  allowInsecureIssuer?: boolean;
  /** How long one request to the identity provider may take. */
  timeoutSeconds?: number;
  /**
   * Let the vault's own calls to the provider (discovery, keys, the code exchange) reach private,
   * loopback and link-local addresses: an identity provider inside the network (`serve
   * --sso-allow-private-issuer`). Without it an account admin could make the vault probe the network it
   * runs in by naming an internal address as the issuer, or as an endpoint in a discovery document.
   */
  allowPrivateIssuer?: boolean;
  /** Tests inject a resolver, as for brokered requests. */
  resolve?: Resolver;
}

/** The egress the provider is called through: the same address rules as brokered requests, its own flag and pool. */
export function ssoEgressOptions(options: OidcOptions): EgressOptions {
  return {
    allowPrivate: options.allowPrivateIssuer === true,
    wording: { requests: "the vault's requests to an identity provider", allowPrivateFlag: '--sso-allow-private-issuer' },
    resolve: options.resolve,
    maxAnswerBytes: 1024 * 1024,
    maxInFlight: 32,
  };
}

export interface OidcClientSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

/** The refusal of an exchange, with a reason fit for the audit trail (an error code, never a token). */
export class OidcRefusal extends Error {
  override name = 'OidcRefusal';
  constructor(
    readonly kind: 'provider_refused' | 'provider_unreachable' | 'verification_failed',
    readonly reason: string,
  ) {
    super(`${kind}: ${reason}`);
  }
}

/** The identity the provider vouched for, as its verified ID token says. */
export interface OidcIdentity {
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
}

export function oidcClient(options: OidcOptions, egress: Egress = createEgress(ssoEgressOptions(options))) {
  const allowInsecure = options.allowInsecureIssuer === true;
  const timeout = options.timeoutSeconds ?? 10;
  const fetchThroughEgress = egressFetch(egress, timeout * 1000);

  /** The issuer as given, checked for the scheme the operator allows; a 400 naming `issuer` otherwise. */
  function issuerUrl(issuer: string): URL {
    const url = new URL(issuer);
    if (url.protocol === 'https:' || (allowInsecure && url.protocol === 'http:')) {
      if (url.username !== '' || url.password !== '') throw invalidInput('issuer', 'issuer: must not hold a user name or password.');
      if (url.search !== '' || url.hash !== '') throw invalidInput('issuer', 'issuer: must not have a query or fragment.');
      return url;
    }
    throw invalidInput(
      'issuer',
      allowInsecure ? 'issuer: must be an https:// or http:// URL.' : 'issuer: must be an https:// URL (plain http is allowed only when the service runs with --sso-allow-insecure-issuer).',
    );
  }

  async function configuration(settings: OidcClientSettings): Promise<oidc.Configuration> {
    const execute = [oidc.enableNonRepudiationChecks, ...(allowInsecure ? [oidc.allowInsecureRequests] : [])];
    // Every request openid-client makes for this configuration, now and later, goes through the egress.
    return await oidc.discovery(issuerUrl(settings.issuer), settings.clientId, settings.clientSecret, oidc.ClientSecretBasic(settings.clientSecret), {
      execute,
      timeout,
      [oidc.customFetch]: fetchThroughEgress,
    });
  }

  /**
   * Discovery at save time (/.well-known/openid-configuration): the issuer must answer with metadata
   * that names it, or the settings are refused with a 400 that says what went wrong.
   */
  async function checkDiscovery(settings: OidcClientSettings): Promise<void> {
    try {
      const config = await configuration(settings);
      const metadata = config.serverMetadata();
      if (metadata.authorization_endpoint === undefined || metadata.token_endpoint === undefined || metadata.jwks_uri === undefined) {
        throw invalidInput('issuer', 'issuer: its discovery document names no authorization endpoint, token endpoint or signing keys (jwks_uri).');
      }
      if (metadata.code_challenge_methods_supported !== undefined && !metadata.code_challenge_methods_supported.includes('S256')) {
        throw invalidInput('issuer', 'issuer: the provider does not support PKCE with S256, which sign-in needs.');
      }
      // The endpoints the vault itself calls must be reachable under the same rules as the issuer: said
      // now, not at the first sign-in.
      for (const [name, endpoint] of [['token_endpoint', metadata.token_endpoint], ['jwks_uri', metadata.jwks_uri]] as const) {
        try {
          await egress.check(new URL(endpoint), timeout * 1000);
        } catch (error) {
          if (!(error instanceof EgressError)) throw error;
          throw invalidInput('issuer', `issuer: its discovery document names ${name} ${new URL(endpoint).origin}, which cannot be used: ${error.message}`);
        }
      }
    } catch (error) {
      if (error instanceof VaultError) throw error;
      throw invalidInput('issuer', `issuer: OpenID Connect discovery at ${discoveryUrl(settings.issuer)} failed (${describe(error)}).`);
    }
  }

  /** The URL the browser is sent to, and what the callback must check. */
  async function authorizationRequest(settings: OidcClientSettings, redirectUri: string, loginHint: string | undefined) {
    const config = await reach(() => configuration(settings));
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const parameters: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: 'openid email',
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    };
    if (loginHint !== undefined) parameters.login_hint = loginHint;
    return { url: oidc.buildAuthorizationUrl(config, parameters).href, state, nonce, codeVerifier };
  }

  /**
   * The callback: openid-client checks the state, redeems the code with the PKCE verifier and checks
   * the ID token (signature, issuer, audience, expiry, nonce). Any failure is an OidcRefusal.
   */
  async function exchange(
    settings: OidcClientSettings,
    callbackUrl: URL,
    expected: { state: string; nonce: string; codeVerifier: string },
  ): Promise<OidcIdentity> {
    const providerError = callbackUrl.searchParams.get('error');
    if (providerError !== null) throw new OidcRefusal('provider_refused', `provider_error:${providerError.slice(0, 64).replace(/[^\w.-]/g, '_')}`);
    const config = await reach(() => configuration(settings));
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw refusalOf(error);
    }
    const claims = tokens.claims();
    if (claims === undefined) throw new OidcRefusal('verification_failed', 'no_id_token');
    return {
      subject: claims.sub,
      email: typeof claims.email === 'string' ? claims.email : undefined,
      emailVerified: claims.email_verified === true,
    };
  }

  return { issuerUrl, checkDiscovery, authorizationRequest, exchange, close: () => egress.close() };
}

/**
 * openid-client's fetch, over the egress: the address rules and size bound of brokered requests, no
 * redirects, and the connection made to the very address that was judged.
 */
function egressFetch(egress: Egress, timeoutMs: number): oidc.CustomFetch {
  return async (url, init) => {
    const body = init.body === undefined || init.body === null ? undefined : Buffer.from(await new Response(init.body as BodyInit).arrayBuffer());
    const answer = await egress.send({ url: new URL(url), method: init.method, headers: Object.entries(init.headers), body, timeoutMs });
    if (answer.status < 200 || answer.status > 599) throw new EgressError('unreachable', `The identity provider answered with status ${answer.status}.`);
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
    return new Response([204, 205, 304].includes(answer.status) ? null : new Uint8Array(answer.body), { status: answer.status, headers });
  };
}

export type OidcClient = ReturnType<typeof oidcClient>;

const discoveryUrl = (issuer: string): string => `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;

async function reach<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof VaultError) throw new OidcRefusal('provider_unreachable', 'issuer_not_allowed');
    throw new OidcRefusal('provider_unreachable', codeOf(error));
  }
}

/** An error's code and, for a claim check, the claim: what went wrong, never what a token held. */
function codeOf(error: unknown): string {
  for (let cause: unknown = error, depth = 0; cause !== null && typeof cause === 'object' && depth < 4; cause = (cause as { cause?: unknown }).cause, depth++) {
    if (cause instanceof EgressError) return `egress_${cause.reason}`;
  }
  const code = (error as { code?: unknown }).code;
  // openid-client wraps the check's own error; the claim that failed sits in the causes below.
  let claim = '';
  for (let cause = (error as { cause?: unknown }).cause, depth = 0; cause !== null && typeof cause === 'object' && depth < 3; cause = (cause as { cause?: unknown }).cause, depth++) {
    const named = (cause as { claim?: unknown }).claim;
    if (typeof named === 'string' && /^\w{1,32}$/.test(named)) {
      claim = `:${named}`;
      break;
    }
  }
  // An invalid response says what was wrong in its message only (a library constant, never a token's
  // content): the quoted parameter ("state"), or a failed signature.
  if (claim === '' && code === 'OAUTH_INVALID_RESPONSE') {
    const message = String((error as Error).message) + String(((error as { cause?: Error }).cause as Error | undefined)?.message ?? '');
    const quoted = /"(\w{1,32})"/.exec(message)?.[1];
    claim = quoted !== undefined ? `:${quoted}` : /signature/i.test(message) ? ':signature' : '';
  }
  return typeof code === 'string' ? `${code.toLowerCase()}${claim}` : ((error as Error)?.name ?? 'unknown');
}

function refusalOf(error: unknown): OidcRefusal {
  if (error instanceof oidc.ResponseBodyError) return new OidcRefusal('provider_refused', `token_endpoint:${error.error.slice(0, 64).replace(/[^\w.-]/g, '_')}`);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('OAUTH_')) return new OidcRefusal('verification_failed', codeOf(error));
  return new OidcRefusal('provider_unreachable', codeOf(error));
}

/** For a person reading the 400: the failure's own message, shortened, without a stack. */
function describe(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const message = (error as Error)?.message ?? String(error);
  const because = cause instanceof Error && cause.message !== message ? `: ${cause.message}` : '';
  return `${message}${because}`.replace(/\s+/g, ' ').slice(0, 300);
}
