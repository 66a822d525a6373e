import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain JavaScript example without type declarations
import { mockApis } from '../../examples/mock-apis.mjs';
import { runCli, type CliResult } from './cli.js';

/** How the mock APIs record a credential they were sent: its hash, never the value. */
export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The mock APIs of examples/ on a free loopback port, and `agent-secrets run` of an example against
 * them (its `api_base`), each run's output kept so that a file can check them all for leaks at the end.
 */
export async function exampleRuns() {
  const api = mockApis() as { server: Server; received: Array<Record<string, string>> };
  await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  const outputs: CliResult[] = [];
  return {
    api,
    /** host:port, as an allowed host of a brokered secret names it. */
    host,
    outputs,
    async run(file: string, args: Record<string, unknown>, env: Record<string, string>): Promise<CliResult> {
      const path = fileURLToPath(new URL(`../../examples/${file}`, import.meta.url));
      const result = await runCli(['run', path, '--args', JSON.stringify({ ...args, api_base: `http://${host}` })], env);
      outputs.push(result);
      return result;
    },
    close: () => new Promise((resolve) => api.server.close(resolve)),
  };
}
