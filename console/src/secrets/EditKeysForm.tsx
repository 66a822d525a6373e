import { useId, useState, type FormEvent } from 'react';
import { ApiError, api, messageOf, seg } from '../api/client';
import type { SecretSummary } from '../api/types';
import { useLeaveGuard } from '../app/router';
import { Field } from '../ui/Field';
import { Notice } from '../ui/Notice';
import { NewVersionNotice, SaveNewValueButtons } from './NewVersionParts';
import { addKeyRow, hasKeyChangeProblems, isDirty, keyChangeProblemFromServer, keyChangeProblems, startKeyChanges, valueKeysOf, type KeyChangeProblems, type KeyChangesDraft } from './keyChanges';

interface EditKeysFormProps {
  secret: SecretSummary;
  onSaved(version: number): void;
  onCancel(): void;
  /** Switch to replacing the whole value (every key typed afresh). */
  onReplaceWhole(): void;
}

/** A key/value secret's new version, changing only the keys touched: the others keep their values. */
export function EditKeysForm({ secret, onSaved, onCancel, onReplaceWhole }: EditKeysFormProps) {
  const id = useId();
  const [draft, setDraft] = useState<KeyChangesDraft>(() => startKeyChanges(secret.keys));
  // The version this edit was started on: the page reloads when it regains focus, and may bring a newer one.
  const [startedOn] = useState(secret.version);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [showTyped, setShowTyped] = useState(false);
  const [serverProblems, setServerProblems] = useState<KeyChangeProblems | undefined>();
  const problems = serverProblems ?? keyChangeProblems(draft);
  const shown = tried || serverProblems !== undefined;
  useLeaveGuard(isDirty(draft) && !busy, 'Leave without saving the new value?');

  const change = (next: KeyChangesDraft) => {
    setDraft(next);
    setServerProblems(undefined);
  };
  const setCurrent = (key: string, patch: Partial<KeyChangesDraft['current'][number]>) =>
    change({ ...draft, current: draft.current.map((row) => (row.key === key ? { ...row, ...patch } : row)) });
  const setAdded = (rowId: number, patch: { key?: string; value?: string }) =>
    change({ ...draft, added: draft.added.map((row) => (row.id === rowId ? { ...row, ...patch } : row)) });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTried(true);
    if (hasKeyChangeProblems(keyChangeProblems(draft))) return;
    setBusy(true);
    try {
      const updated = await api.patch<SecretSummary>(`/api/v1/secrets/${seg(secret.name)}`, { valueKeys: valueKeysOf(draft) });
      onSaved(updated.version);
    } catch (failure) {
      setBusy(false);
      setServerProblems(keyChangeProblemFromServer(draft, failure instanceof ApiError ? failure.field : undefined, messageOf(failure)));
    }
  };

  const inputType = showTyped ? 'text' : 'password';
  return (
    <form method="post" className="stack" onSubmit={submit} noValidate>
      <NewVersionNotice version={secret.version + 1} keysKept />
      {secret.version !== startedOn ? (
        <Notice tone="warning" title={`Version ${secret.version} was saved while you edited`}>
          By {secret.updatedBy}; its keys are {secret.keys.join(', ')}. Saving applies only your changes to it: keys you leave empty keep what it holds.
        </Notice>
      ) : null}
      {shown && problems.whole ? <Notice tone="error">{problems.whole}</Notice> : null}
      <fieldset className="kv-rows">
        <legend>Keys of {secret.name}</legend>
        {draft.current.map((row) => {
          const error = shown ? problems.current[row.key] : undefined;
          const inputId = `${id}-${row.key}`;
          return (
            <div className={`kv-row kv-row-current${row.remove ? ' kv-row-removed' : ''}${error ? ' kv-row-invalid' : ''}`} key={row.key}>
              <label className="kv-current-key" htmlFor={inputId}>
                <code className="key-name">{row.key}</code>
                <span className="visually-hidden">: new value</span>
              </label>
              <input
                id={inputId}
                className="input input-mono kv-value"
                type={inputType}
                value={row.value}
                placeholder={row.remove ? 'will be removed' : 'unchanged (type to replace)'}
                disabled={row.remove}
                onChange={(event) => setCurrent(row.key, { value: event.target.value })}
                aria-invalid={error ? true : undefined}
                autoComplete="new-password"
                spellCheck={false}
                data-1p-ignore
                data-lpignore="true"
              />
              <button type="button" className="button button-small button-quiet kv-remove" aria-pressed={row.remove} onClick={() => setCurrent(row.key, { remove: !row.remove, value: '' })}>
                {row.remove ? `Keep ${row.key}` : `Remove ${row.key}`}
              </button>
              {error ? <p className="field-error kv-error">{error}</p> : null}
            </div>
          );
        })}
        {draft.added.map((row, index) => {
          const error = shown ? problems.added[row.id] : undefined;
          return (
            <div className={`kv-row${error ? ' kv-row-invalid' : ''}`} key={row.id}>
              <Field label={`New key ${index + 1}`} className="kv-key">
                <input className="input input-mono" value={row.key} placeholder="key_name" onChange={(event) => setAdded(row.id, { key: event.target.value })} autoComplete="off" spellCheck={false} />
              </Field>
              <Field label={`Value of new key ${index + 1}`} className="kv-value">
                <input className="input input-mono" type={inputType} value={row.value} onChange={(event) => setAdded(row.id, { value: event.target.value })} autoComplete="new-password" spellCheck={false} data-1p-ignore data-lpignore="true" />
              </Field>
              <button type="button" className="button button-small button-quiet kv-remove" onClick={() => change({ ...draft, added: draft.added.filter((other) => other.id !== row.id) })}>
                Remove
              </button>
              {error ? <p className="field-error kv-error">{error}</p> : null}
            </div>
          );
        })}
        <div className="actions">
          <button type="button" className="button button-small" onClick={() => change(addKeyRow(draft))}>
            Add key
          </button>
          <button type="button" className="link-button small" onClick={onReplaceWhole}>
            Replace the whole value instead
          </button>
        </div>
      </fieldset>
      <label className="check">
        <input type="checkbox" checked={showTyped} onChange={(event) => setShowTyped(event.target.checked)} />
        Show what I type
      </label>
      <SaveNewValueButtons busy={busy} onCancel={onCancel} />
    </form>
  );
}
