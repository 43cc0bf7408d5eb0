// A modal confirmation before any action that changes the engine. It is
// only in the document while open, so its buttons are never ambiguous.
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

interface Props {
  title: string;
  children?: ComponentChildren;
  confirmLabel: string;
  busy?: boolean;
  /** Style the confirm button as destructive. */
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

export function ConfirmDialog(props: Props) {
  const { title, children, confirmLabel, busy, danger } = props;
  const { onConfirm, onCancel } = props;
  const ref = useRef<HTMLDialogElement>(null);

  useLayoutEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);

  return (
    <dialog
      ref={ref}
      class="confirm"
      aria-label={title}
      onCancel={(e) => {
        // Escape: we close it ourselves by unmounting.
        e.preventDefault();
        onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          e.stopPropagation();
          onConfirm();
        }}
      >
        <h2>{title}</h2>
        <div class="confirm-body">{children}</div>
        <div class="confirm-buttons">
          <button type="button" data-testid="confirm-cancel" onClick={onCancel}>
            Back
          </button>
          <button
            type="submit"
            class={danger ? 'primary danger' : 'primary'}
            data-testid="confirm-ok"
            disabled={busy}
          >
            {busy ? 'sending…' : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
