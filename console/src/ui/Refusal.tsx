import type { ReactNode } from 'react';

/** What a page shows instead of its content when this person may not use it. */
export function Refusal({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="refusal" aria-labelledby="refusal-title">
      <h1 id="refusal-title">{title}</h1>
      <div className="refusal-body">{children}</div>
    </section>
  );
}
