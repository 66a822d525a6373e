/**
 * Who did something (an email, or an operator's name), allowed to wrap before its "@" on a narrow
 * screen rather than in the middle of a word.
 */
export function Person({ name }: { name: string }) {
  const at = name.indexOf('@');
  if (at <= 0) return <span className="person">{name}</span>;
  return (
    <span className="person">
      {name.slice(0, at)}
      <wbr />
      {name.slice(at)}
    </span>
  );
}
