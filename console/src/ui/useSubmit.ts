import { useState, type FormEvent } from 'react';
import { messageOf } from '../api/client';

/**
 * A form's submit: busy while `action` runs, and the API's message (shown beside the field) when it
 * fails. One place for what every small inline form does.
 */
export function useSubmit(action: () => Promise<void>): { busy: boolean; error: string | undefined; submit(event: FormEvent): Promise<void> } {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, submit };
}
