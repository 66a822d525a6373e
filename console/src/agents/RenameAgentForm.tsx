import { useState } from 'react';
import { api, seg } from '../api/client';
import type { Agent } from '../api/types';
import { Field } from '../ui/Field';
import { useSubmit } from '../ui/useSubmit';

/** Renames an agent; its id, keys and grants stay. */
export function RenameAgentForm({ agent, onRenamed }: { agent: Agent; onRenamed(name: string): void }) {
  const [name, setName] = useState(agent.name);
  const { busy, error, submit } = useSubmit(async () => {
    const renamed = await api.patch<Agent>(`/api/v1/agents/${seg(agent.id)}`, { name: name.trim() });
    onRenamed(renamed.name);
  });

  return (
    <form method="post" className="inline-form card" onSubmit={submit}>
      <Field label="Agent name" error={error}>
        <input className="input" value={name} onChange={(event) => setName(event.target.value)} autoComplete="off" maxLength={64} />
      </Field>
      <button type="submit" className="button" disabled={busy || name.trim() === agent.name || name.trim() === ''}>
        Rename
      </button>
    </form>
  );
}
