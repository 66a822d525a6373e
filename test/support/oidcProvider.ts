import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Provider from 'oidc-provider';

/** A person at the test identity provider: who they say they are. */
export interface IdpUser {
  email: string;
  emailVerified: boolean;
}

export interface IdpClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/**
 * A real OpenID provider (oidc-provider, the certified server) on a loopback port, started by the
 * test. Its sign-in page is a small form: a person (or a test driving it with fetch) types a login
 * from `users`, or declines. `tamperIdToken`, when set, re-signs the next ID tokens with the
 * provider's own key after changing their claims: how a test gets a correctly signed token for another
 * audience or one already expired (or, with `signWithForeignKey`, one signed by a key the provider
 * never published), which the vault's OIDC client must refuse.
 */
export interface TestIdp {
  issuer: string;
  users: Map<string, IdpUser>;
  tamperIdToken: ((claims: Claims) => Claims) | undefined;
  /** With tamperIdToken: sign with a key of the same id that the provider never published. */
  signWithForeignKey: boolean;
  close(): Promise<void>;
}

type Claims = Record<string, unknown>;

/** A compact JWS (RS256) over these claims: how the tampering provider re-signs an ID token. */
function signJwt(claims: Claims, key: KeyObject): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const input = `${encode({ alg: 'RS256', kid: 'test-key', typ: 'JWT' })}.${encode(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

const claimsOf = (jwt: string): Claims => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Claims;

export async function startTestIdp(clients: IdpClient[], users: Record<string, IdpUser>): Promise<TestIdp> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  const issuer = `http://127.0.0.1:${address.port}`;
  const people = new Map(Object.entries(users));

  const idp: TestIdp = { issuer, users: people, tamperIdToken: undefined, signWithForeignKey: false, close: async () => undefined };
  const provider = new Provider(issuer, {
    clients: clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: [client.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    // The email claims ride in the ID token, as they do at the common providers.
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) => {
      const user = people.get(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ sub, email: user.email, email_verified: user.emailVerified }) };
    },
    // Consent is given once signed in: the test is about the relying party, not the consent screen.
    loadExistingGrant: async (ctx: { oidc: { client: { clientId: string }; session: { accountId: string } } }) => {
      const grant = new provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email');
      await grant.save();
      return grant;
    },
    ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 600, Grant: 600 },
  });
  provider.use(async (ctx, next) => {
    await next();
    const tamper = idp.tamperIdToken;
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path === '/token' && tamper && body?.id_token) {
      body.id_token = signJwt(tamper(claimsOf(body.id_token)), idp.signWithForeignKey ? foreignKey : privateKey);
    }
  });
  const handleProvider = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/interaction\/([\w-]+)$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (!match) return handleProvider(req, res);
    void interaction(req, res).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(`interaction failed: ${(error as Error).message}`);
    });
  });

  async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Refuses an interaction that the provider does not know (or that has expired).
    await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        `<!doctype html><title>Test IdP</title><h1>Sign in to the test identity provider</h1>` +
          `<form method="post"><label>Login <input name="login" autocomplete="off"></label>` +
          `<button type="submit">Continue</button><button type="submit" name="deny" value="1">Decline</button></form>`,
      );
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    if (form.get('deny') === '1') {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person declined to sign in.' }, { mergeWithLastSubmission: false });
      return;
    }
    const login = form.get('login') ?? '';
    if (!people.has(login)) {
      res.statusCode = 400;
      res.end('unknown login');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }

  idp.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return idp;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Cookies kept per name, as a browser would for one host (loopback tests need no more). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair === undefined || at < 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  set(name: string, value: string): void {
    this.cookies.set(name, value);
  }
}

/**
 * What a person does at the provider, with fetch: open the authorization URL, type a login (or
 * decline) on its sign-in page, and be sent back. Answers the callback URL the provider redirects to.
 */
export async function signInAtIdp(authorizationUrl: string, login: string, options: { decline?: boolean } = {}): Promise<URL> {
  const jar = new CookieJar();
  const get = async (url: URL | string, init: RequestInit = {}) => {
    const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jar.header() } });
    jar.take(response);
    await response.text();
    return response;
  };
  const at = new URL(authorizationUrl);
  const toInteraction = await get(at);
  const interaction = new URL(toInteraction.headers.get('location') ?? '', at);
  if (!interaction.pathname.startsWith('/interaction/')) throw new Error(`the provider did not ask to sign in: ${toInteraction.status}`);
  await get(interaction);
  const body = options.decline ? 'login=&deny=1' : `login=${encodeURIComponent(login)}`;
  const submitted = await get(interaction, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const resume = new URL(submitted.headers.get('location') ?? '', at);
  const back = await get(resume);
  const location = back.headers.get('location');
  if (location === null) throw new Error(`the provider sent nobody back: ${back.status}`);
  return new URL(location, at);
}
