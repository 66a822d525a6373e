interface Props {
  columns: readonly string[];
  /** A last, unlabelled column of row actions (named for screen readers). */
  actions?: boolean;
}

/** A table's header row: every column a labelled `th scope="col"`. */
export function TableHead({ columns, actions = false }: Props) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th scope="col" key={column}>
            {column}
          </th>
        ))}
        {actions ? (
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        ) : null}
      </tr>
    </thead>
  );
}
