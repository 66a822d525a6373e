import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

describe('the OpenAPI document', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(async () => h?.close());

  it('is served at /api/openapi.json and describes the public contract from the validating schemas', async () => {
    const response = await h.call('GET', '/api/openapi.json');
    expect(response.status).toBe(200);
    const doc = response.body;
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/runtime/v1/secrets/{name}', '/runtime/v1/secrets', '/api/v1/auth/login', '/api/v1/tokens', '/api/v1/secrets', '/api/v1/secrets/{name}', '/api/v1/secrets/{name}/reveal', '/api/v1/secrets/{name}/access', '/api/v1/secrets/{name}/versions', '/api/v1/secrets/{name}/versions/{version}/restore', '/api/v1/agents', '/api/v1/agents/{agent}/keys', '/api/v1/agents/{agent}/keys/{id}', '/api/v1/users', '/api/v1/audit']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const create = doc.paths['/api/v1/secrets'].post.requestBody.content['application/json'].schema;
    expect(create.required).toEqual(expect.arrayContaining(['name', 'value']));
    expect(create.properties.name.pattern).toBe(String.raw`^(?!\.\.?$)[A-Za-z0-9_.-]{1,128}$`);
  });

  it('documents the password routes of SPEC S19 with their schemas', async () => {
    const doc = (await h.call('GET', '/api/openapi.json')).body;
    const change = doc.paths['/api/v1/auth/password'].post;
    const body = change.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['currentPassword', 'newPassword']));
    expect(body.properties.newPassword.minLength).toBe(12);
    expect(change.responses['200'].content['application/json'].schema.properties.passwordChangeRequired.type).toBe('boolean');
    const reset = doc.paths['/api/v1/users/{id}/password-reset'].post;
    expect(reset.responses['200'].content['application/json'].schema.required).toEqual(expect.arrayContaining(['password']));
    const login = doc.paths['/api/v1/auth/login'].post;
    expect(login.responses['200'].content['application/json'].schema.required).toContain('passwordChangeRequired');
  });

  it('answers unknown routes with the error shape', async () => {
    const response = await h.call('GET', '/api/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
  });

  it('sets protective headers on every response', async () => {
    const response = await h.call('GET', '/healthz');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const api = await h.call('GET', '/api/v1/agents', { token: h.admin.token });
    expect(api.headers.get('cache-control')).toBe('no-store');
  });
});
