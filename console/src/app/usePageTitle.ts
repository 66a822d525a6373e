import { useEffect } from 'react';

/** Names the browser tab after the page ("Secrets · agent-secrets"), so tabs and history say where they lead. */
export function usePageTitle(...parts: string[]): void {
  const title = [...parts, 'agent-secrets'].join(' · ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}
