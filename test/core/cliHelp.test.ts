/**
 * The command line explains itself: every command and subcommand has a description, and
 * `agent-secrets help A B` shows exactly what `agent-secrets A B --help` shows, at every depth.
 */
import { Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { runCli } from '../support/processes.js';

/** Every command path of the program, groups and their subcommands (`['secrets', 'create']`). */
function commandPaths(command: Command, above: string[] = []): string[][] {
  return command.commands.flatMap((sub) => [[...above, sub.name()], ...commandPaths(sub, [...above, sub.name()])]);
}

/** What one parse of a fresh program prints on stdout, and the exit code it ends with. */
async function helpOf(args: string[]): Promise<{ text: string; exitCode: number }> {
  let text = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += chunk.toString();
    return true;
  });
  try {
    await buildProgram().parseAsync(['node', 'agent-secrets', ...args]);
    return { text, exitCode: -1 };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { text, exitCode: error.exitCode };
  } finally {
    write.mockRestore();
  }
}

describe('agent-secrets help', () => {
  afterEach(() => vi.restoreAllMocks());
  const paths = commandPaths(buildProgram());

  it('walks a real command tree (groups with subcommands, several levels)', () => {
    expect(paths.length).toBeGreaterThan(40);
    expect(paths).toContainEqual(['secrets', 'create']);
    expect(paths).toContainEqual(['keys', 'rotate-master']);
  });

  it('describes every command and subcommand', () => {
    const program = buildProgram();
    const undescribed = paths.filter((path) => {
      let command: Command | undefined = program;
      for (const name of path) command = command?.commands.find((sub) => sub.name() === name);
      return (command?.description() ?? '').trim() === '';
    });
    expect(undescribed.map((path) => path.join(' '))).toEqual([]);
  });

  it('help A B prints what A B --help prints, for every command', async () => {
    for (const path of paths) {
      if (path[path.length - 1] === 'help') continue; // commander's own `help` of a group: it is help, not a command
      const viaHelp = await helpOf(['help', ...path]);
      const viaFlag = await helpOf([...path, '--help']);
      expect(viaHelp.text, path.join(' ')).toBe(viaFlag.text);
      expect(viaHelp.text, path.join(' ')).toMatch(new RegExp(`^Usage: agent-secrets ${path.join(' ')} `));
      expect([viaHelp.exitCode, viaFlag.exitCode], path.join(' ')).toEqual([0, 0]);
    }
    // And with no command: the program's own help.
    expect((await helpOf(['help'])).text).toBe((await helpOf(['--help'])).text);
  });

  it('as a process: help secrets create is the create command\'s help; an unknown one gets one line with the near name', async () => {
    const [viaHelp, viaFlag] = await Promise.all([runCli(['help', 'secrets', 'create']), runCli(['secrets', 'create', '--help'])]);
    expect(viaHelp).toEqual(viaFlag);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toContain('--stdin-json');
    const unknown = await runCli(['help', 'secrets', 'crate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('agent-secrets: no command "secrets crate"; did you mean "secrets create"?\n');
    expect((await runCli(['help', 'nothing-like-it'])).stderr).toBe('agent-secrets: no command "nothing-like-it"; run agent-secrets help\n');
  });
});
