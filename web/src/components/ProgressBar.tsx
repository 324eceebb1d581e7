import { useId } from "react";

export interface ProgressBarProps {
  /** Visible label; also the accessible name. */
  label: string;
  value: number;
  max: number;
  /** What a screen reader hears instead of the bare number, e.g. "3 of 9 steps". */
  valueText?: string;
  /** Orange (near a limit). */
  warn?: boolean;
  /** Red (failed). */
  danger?: boolean;
  /** Hide the label visually (it stays the accessible name). */
  hideLabel?: boolean;
  /** Text shown at the right of the label. */
  detail?: string;
  size?: "small" | "normal";
}

/** A labelled progress bar: role="progressbar" with aria-value*. */
export function ProgressBar({ label, value, max, valueText, warn, danger, hideLabel, detail, size = "normal" }: ProgressBarProps) {
  const id = useId();
  const safeMax = max > 0 ? max : 1;
  const clamped = Math.min(Math.max(value, 0), safeMax);
  const percent = (clamped / safeMax) * 100;
  const tone = danger ? "danger" : warn ? "warn" : "ok";
  return (
    <div className={`progress progress-${size}`}>
      <div className={hideLabel ? "sr-only" : "progress-label"}>
        <span id={id}>{label}</span>
        {detail ? <span className="progress-detail">{detail}</span> : null}
      </div>
      <div
        className={`progress-track progress-${tone}`}
        role="progressbar"
        aria-labelledby={id}
        aria-valuemin={0}
        aria-valuemax={safeMax}
        aria-valuenow={Math.round(clamped * 100) / 100}
        aria-valuetext={valueText}
      >
        <div className="progress-fill" style={{ width: `${percent}%`, minWidth: clamped > 0 ? "4px" : 0 }} />
      </div>
    </div>
  );
}
