import { useState, type FormEvent } from 'react';
import { ApiError, api } from '../api/client';
import type { Agent, SecretSummary } from '../api/types';
import { navigateWithNotice, useLeaveGuard } from '../app/router';
import { useLoad } from '../app/useLoad';
import { Field } from '../ui/Field';
import { Link } from '../ui/Link';
import { Notice } from '../ui/Notice';
import { AgentPicker } from './AgentPicker';
import { NameField } from './NameField';
import { secretPath } from './paths';
import { emptyDraft, hasProblems, MAX_DESCRIPTION_CHARS, nameProblem, valueOf, valueProblemFromServer, valueProblems, type ValueDraft, type ValueProblems } from './rules';
import { ValueEditor } from './ValueEditor';
import { usePageTitle } from '../app/usePageTitle';

interface ServerErrors {
  name?: string;
  description?: string;
  value?: ValueProblems;
  agents?: string;
  form?: string;
}

/** SPEC S1: name, description, value (single or key/value rows) and the agents to grant. */
export function AddSecretPage() {
  usePageTitle('Add secret', 'Secrets');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [draft, setDraft] = useState<ValueDraft>(emptyDraft());
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [server, setServer] = useState<ServerErrors>({});
  const [agents] = useLoad(() => api.get<{ agents: Agent[] }>('/api/v1/agents'), 'agents');

  const dirty = name !== '' || description !== '' || draft.single !== '' || draft.rows.some((row) => row.key !== '' || row.value !== '');
  useLeaveGuard(dirty && !busy, 'Leave without adding this secret? What you typed will be lost.');

  const problems = server.value ?? valueProblems(draft);
  const descriptionProblem = description.length > MAX_DESCRIPTION_CHARS ? `At most ${MAX_DESCRIPTION_CHARS} characters.` : undefined;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTried(true);
    if (nameProblem(name) || descriptionProblem || hasProblems(valueProblems(draft))) return;
    setBusy(true);
    setServer({});
    try {
      const created = await api.post<SecretSummary>('/api/v1/secrets', {
        name,
        ...(description.trim() === '' ? {} : { description: description.trim() }),
        value: valueOf(draft),
        agents: [...chosen],
      });
      navigateWithNotice(secretPath(created.name), `Secret "${created.name}" added${chosen.size > 0 ? ` and granted to ${chosen.size} agent${chosen.size === 1 ? '' : 's'}` : ''}.`);
    } catch (failure) {
      setBusy(false);
      setServer(serverErrorsOf(failure, draft));
    }
  };

  return (
    <main id="main" className="page page-narrow">
      <p className="breadcrumb">
        <Link to="/secrets">Secrets</Link> / Add secret
      </p>
      <h1>Add secret</h1>
      <p className="lead">Store a credential once; grant the agents whose functions need it. Values are encrypted and never shown in lists or logs.</p>
      {server.form ? <Notice tone="error">{server.form}</Notice> : null}
      <form method="post" className="stack card" onSubmit={submit} noValidate>
        <NameField name={name} onChange={(next) => { setName(next); setServer((before) => ({ ...before, name: undefined })); }} serverError={server.name} showProblems={tried} />
        <Field label="Description (optional)" hint="What it is for and where it comes from, e.g. “Stripe live key for the booking agent”." error={server.description ?? descriptionProblem}>
          <input className="input" value={description} onChange={(event) => setDescription(event.target.value)} autoComplete="off" />
        </Field>
        <ValueEditor
          draft={draft}
          onChange={(next) => {
            setDraft(next);
            setServer((before) => ({ ...before, value: undefined }));
          }}
          problems={problems}
          showProblems={tried || server.value !== undefined}
        />
        {agents.state === 'loaded' ? (
          <AgentPicker agents={agents.data.agents} chosen={chosen} onChange={setChosen} error={server.agents} />
        ) : agents.state === 'failed' ? (
          <Notice tone="warning">The agents could not be loaded; you can grant access on the secret's page after adding it.</Notice>
        ) : null}
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add secret'}
          </button>
          <Link to="/secrets" className="button">
            Cancel
          </Link>
        </div>
      </form>
    </main>
  );
}

/** Puts the server's refusal beside the field it names. */
function serverErrorsOf(failure: unknown, draft: ValueDraft): ServerErrors {
  if (!(failure instanceof ApiError)) return { form: failure instanceof Error ? failure.message : 'The secret was not added.' };
  const { field, message } = failure;
  const onValue = valueProblemFromServer(draft, field, message);
  if (onValue) return { value: onValue };
  if (field === 'name') return { name: message };
  if (field === 'description') return { description: message };
  if (field?.startsWith('agents')) return { agents: message };
  return { form: message };
}
