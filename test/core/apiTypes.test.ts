import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_FILE, generateApiTypes } from '../../scripts/generate-api-types.js';

describe('the API types generated from the OpenAPI document', () => {
  it('are current: the committed src/contract/openapi.generated.ts is what generation makes now', async () => {
    const generated = await generateApiTypes();
    const committed = readFileSync(GENERATED_FILE, 'utf8');
    // A plain comparison, with the way out in the message, rather than a diff of 4,000 lines.
    if (committed !== generated) {
      expect.fail('src/contract/openapi.generated.ts is stale: a route schema changed since it was generated. Run `npm run generate:api-types` and commit the file.');
    }
  });

  it('carry the contract: PATCH of a secret takes value or valueKeys, documented', async () => {
    const generated = await generateApiTypes();
    expect(generated).toMatch(/valueKeys\?: \{\s*\[key: string\]: string \| null;\s*\}/);
    expect(generated).toContain('Change some keys of a key/value secret and keep the others');
  });
});
