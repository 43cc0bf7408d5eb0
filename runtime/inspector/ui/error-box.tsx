// An inline error: what failed and why, in words the user can act on.
import { errorMessage } from './api.js';

interface Props {
  title?: string;
  error: unknown;
  testId?: string;
}

export function ErrorBox({ title, error, testId }: Props) {
  if (error == null) return null;

  return (
    <div class="error-box" role="alert" data-testid={testId}>
      {title && <strong>{title}: </strong>}
      {typeof error === 'string' ? error : errorMessage(error)}
    </div>
  );
}
