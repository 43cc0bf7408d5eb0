// A coloured job or workflow status. The text is exactly the status so
// tests and users can read it as is.

interface Props {
  status: string | null | undefined;
  testId?: string;
}

export function StatusBadge({ status, testId }: Props) {
  const text = status || 'unknown';
  return (
    <span class={`badge status-${text}`} data-testid={testId}>
      {text}
    </span>
  );
}
