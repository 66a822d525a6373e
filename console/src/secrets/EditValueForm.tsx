import { useState, type FormEvent } from 'react';
import { ApiError, api, messageOf, seg } from '../api/client';
import type { Environment, SecretSummary } from '../api/types';
import { useLeaveGuard } from '../app/router';
import { Notice } from '../ui/Notice';
import { emptyDraft, hasProblems, valueOf, valueProblemFromServer, valueProblems, type ValueDraft, type ValueProblems } from './rules';
import { NewVersionNotice, SaveNewValueButtons } from './NewVersionParts';
import { ValueEditor } from './ValueEditor';

interface EditValueFormProps {
  secret: SecretSummary;
  /** Set this environment's own value (its override, SPEC S22) instead of the default. */
  environment?: Environment | undefined;
  onSaved(version: number): void;
  onCancel(): void;
}

/** SPEC S4: a new value becomes a new version, current at once for every agent. */
export function EditValueForm({ secret, environment, onSaved, onCancel }: EditValueFormProps) {
  const [draft, setDraft] = useState<ValueDraft>(() => emptyDraft(secret.kind, secret.keys));
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [serverProblems, setServerProblems] = useState<ValueProblems | undefined>();
  const [formError, setFormError] = useState<string | null>(null);
  const dirty = draft.single !== '' || draft.rows.some((row) => row.value !== '');
  useLeaveGuard(dirty && !busy, 'Leave without saving the new value?');

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTried(true);
    if (hasProblems(valueProblems(draft))) return;
    setBusy(true);
    setFormError(null);
    try {
      const updated = await api.patch<SecretSummary>(`/api/v1/secrets/${seg(secret.name)}`, environment === undefined ? { value: valueOf(draft) } : { value: valueOf(draft), environment });
      onSaved(environment === undefined ? updated.version : (updated.overrides.find((o) => o.environment === environment)?.version ?? updated.version));
    } catch (failure) {
      setBusy(false);
      const onValue = failure instanceof ApiError ? valueProblemFromServer(draft, failure.field, failure.message) : undefined;
      if (onValue) setServerProblems(onValue);
      else setFormError(messageOf(failure));
    }
  };

  return (
    <form method="post" className="stack" onSubmit={submit} noValidate>
      {environment === undefined ? (
        <NewVersionNotice version={Math.max(secret.version, ...secret.overrides.map((o) => o.version)) + 1} />
      ) : (
        <Notice tone="info">Saving makes a new version the value agent keys of {environment} read from their next call; other environments keep theirs.</Notice>
      )}
      {formError ? <Notice tone="error">{formError}</Notice> : null}
      <ValueEditor
        draft={draft}
        onChange={(next) => {
          setDraft(next);
          setServerProblems(undefined);
        }}
        problems={serverProblems ?? valueProblems(draft)}
        showProblems={tried || serverProblems !== undefined}
      />
      <SaveNewValueButtons busy={busy} onCancel={onCancel} />
    </form>
  );
}
