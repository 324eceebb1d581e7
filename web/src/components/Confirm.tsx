import { useEffect, useId, useRef } from "react";

/** An inline "are you sure?" with the danger action and a way back; takes focus when shown. */
export function Confirm({
  question,
  detail,
  confirmLabel,
  onConfirm,
  onCancel,
  busy,
  cancelLabel = "Keep it",
}: {
  question: string;
  detail: string;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  busy: boolean;
  /** The way back (default "Keep it"). */
  cancelLabel?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const id = useId();
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <div className="confirm" role="group" aria-labelledby={id} tabIndex={-1} ref={ref}>
      <p id={id}>
        <strong>{question}</strong> {detail}
      </p>
      <div className="btn-row">
        <button type="button" className="btn btn-danger" onClick={onConfirm} disabled={busy}>
          {busy ? "Working…" : confirmLabel}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={busy}>
          {cancelLabel}
        </button>
      </div>
    </div>
  );
}
