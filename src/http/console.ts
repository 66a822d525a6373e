import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The console's build output: dist/console beside dist/http when running the build, or the repo's
 * dist/console when running from src/ (tests, tsx).
 */
export const CONSOLE_DIR = [join(here, '..', 'console'), join(here, '..', '..', 'dist', 'console')].find((dir) => existsSync(join(dir, 'index.html'))) ?? join(here, '..', 'console');

/**
 * Strict by construction: scripts and styles only from this origin, no framing, no plugins, API
 * calls only to this origin.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Serves the built console at / (and its client-side routes), when it has been built. */
export async function registerConsole(app: FastifyInstance): Promise<void> {
  if (!existsSync(join(CONSOLE_DIR, 'index.html'))) {
    // Hidden like the built console's routes: the OpenAPI document (and the types generated from it)
    // must not depend on whether the console was built.
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/plain').send('The console is not built: run "npm run build" (the API is up at /api/v1).\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: CONSOLE_DIR,
    prefix: '/',
    wildcard: false,
    setHeaders: (reply) => {
      void reply.header('content-security-policy', CONSOLE_CSP);
    },
  });
  // Client-side routes (/secrets/stripe_api_key) load the same page.
  for (const path of ['/secrets', '/secrets/*', '/agents', '/agents/*', '/users', '/settings', '/login', '/account/*']) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => reply.header('content-security-policy', CONSOLE_CSP).sendFile('index.html'));
  }
}
