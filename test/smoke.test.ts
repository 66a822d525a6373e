import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';
import { DATABASES } from './support/stores.js';

describe.each(DATABASES)('on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(kind);
  });
  afterAll(async () => h?.close());

  it('an agent with the grant reads a secret it was given', async () => {
    const agent = await h.agentWithKey(h.admin.token, 'booking');
    const created = await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'k', value: 'CANARY', agents: ['booking'] } });
    expect(created.status).toBe(201);
    const read = await h.call('GET', '/runtime/v1/secrets/k', { token: agent.key });
    expect(read.body).toEqual({ name: 'k', kind: 'single', version: 1, value: 'CANARY' });
  });
});
