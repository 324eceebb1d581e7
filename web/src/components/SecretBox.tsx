import { useEffect, useRef, useState, type ReactNode } from "react";

/**
 * A secret the server shows only once (a new API key, a webhook signing
 * secret): hidden to start with, Show/Hide, Copy (or select it for Ctrl+C
 * when the clipboard is refused), and Done to drop it from the page.
 * `children` is extra help under the box (what to do with the secret).
 */
export function SecretBox({
  id,
  label,
  value,
  noun,
  onDone,
  focus = false,
  children,
}: {
  /** The input's id. */
  id: string;
  label: ReactNode;
  value: string;
  /** What it is in a sentence ("key", "secret"). */
  noun: string;
  onDone: () => void;
  /** Take the focus when shown (the box appears away from the button that made the secret). */
  focus?: boolean;
  children?: ReactNode;
}) {
  const [visible, setVisible] = useState(false);
  const [copied, setCopied] = useState<string | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (focus) inputRef.current?.focus();
  }, [focus]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setCopied("Copied to the clipboard.");
    } catch {
      // No clipboard permission: select the text so Ctrl+C works.
      setVisible(true);
      requestAnimationFrame(() => inputRef.current?.select());
      setCopied(`Press Ctrl+C (or ⌘C) to copy the selected ${noun}.`);
    }
  }

  return (
    <div className="key-box">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      <div className="key-row">
        <input
          id={id}
          ref={inputRef}
          className="mono"
          type={visible ? "text" : "password"}
          value={value}
          readOnly
          autoComplete="off"
          spellCheck={false}
        />
        <button type="button" className="btn btn-ghost btn-small" aria-pressed={visible} onClick={() => setVisible((v) => !v)}>
          {visible ? "Hide" : "Show"}
        </button>
        <button type="button" className="btn btn-secondary btn-small" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" className="btn btn-ghost btn-small" onClick={onDone}>
          Done
        </button>
      </div>
      <p className="muted small" role="status">
        {copied ?? "Store it now: it will not be shown again."}
      </p>
      {children}
    </div>
  );
}
