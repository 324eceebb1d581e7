import { useId, useRef, useState, type FormEvent } from "react";
import { api } from "../api";
import type { WrittenScript } from "../api/types";
import { notifyUsageChanged } from "../lib/events";
import { useModalDialog } from "../lib/useModalDialog";
import { ErrorAlert } from "./ErrorAlert";
import "./MediaPicker.css";

/** The lengths offered, in seconds. */
export const SCRIPT_LENGTHS: { seconds: number; label: string }[] = [
  { seconds: 30, label: "30 seconds" },
  { seconds: 60, label: "1 minute" },
  { seconds: 120, label: "2 minutes" },
  { seconds: 300, label: "5 minutes" },
];

/**
 * "Write it for me": a modal dialog asking for a topic, a tone and a length;
 * a language model writes the script (`POST /api/v1/scripts`) in `language`,
 * and `onWritten` gets it. Native `<dialog>`: Escape closes it and focus
 * returns to what opened it.
 */
export function ScriptWriter({
  language,
  onWritten,
  onClose,
}: {
  language: string;
  onWritten: (script: WrittenScript) => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingId = useId();
  const [topic, setTopic] = useState("");
  const [tone, setTone] = useState("");
  const [seconds, setSeconds] = useState(60);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [topicError, setTopicError] = useState("");

  useModalDialog(ref);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (!topic.trim()) {
      setTopicError("Say what the video is about.");
      document.getElementById("script-topic")?.focus();
      return;
    }
    setTopicError("");
    setBusy(true);
    try {
      const script = await api.scripts.write({
        topic: topic.trim(),
        language,
        duration_seconds: seconds,
        ...(tone.trim() ? { tone: tone.trim() } : {}),
      });
      notifyUsageChanged();
      onWritten(script);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <dialog
      ref={ref}
      className="media-picker script-writer"
      aria-labelledby={headingId}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose();
      }}
    >
      <div className="media-picker-head">
        <h2 id={headingId}>Write it for me</h2>
        <button type="button" className="btn btn-ghost btn-small" onClick={onClose} disabled={busy}>
          Close
        </button>
      </div>
      <form onSubmit={(e) => void submit(e)} noValidate aria-busy={busy}>
        <div className="field">
          <label htmlFor="script-topic">Topic</label>
          <textarea
            id="script-topic"
            maxLength={500}
            rows={3}
            value={topic}
            placeholder="How tides work, for curious ten-year-olds"
            onChange={(e) => setTopic(e.target.value)}
            aria-invalid={topicError ? true : undefined}
            aria-describedby={topicError ? "script-topic-error" : undefined}
          />
          {topicError ? (
            <p id="script-topic-error" className="field-error">
              {topicError}
            </p>
          ) : null}
        </div>
        <div className="form-stack">
          <div className="field">
            <label htmlFor="script-tone">Tone (optional)</label>
            <input
              id="script-tone"
              type="text"
              maxLength={60}
              value={tone}
              placeholder="calm and factual"
              onChange={(e) => setTone(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="script-length">Length</label>
            <select id="script-length" value={seconds} onChange={(e) => setSeconds(Number(e.target.value))}>
              {SCRIPT_LENGTHS.map((l) => (
                <option key={l.seconds} value={l.seconds}>
                  {l.label}
                </option>
              ))}
            </select>
          </div>
        </div>
        <p className="field-hint">
          The script is written in the video's language, one scene per paragraph, each with a stock photo of its
          subject. It replaces the title and script in the form, and counts as one written script of your plan.
        </p>
        <ErrorAlert error={error} context="script" />
        <div className="btn-row">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Writing…" : "Write the script"}
          </button>
        </div>
      </form>
    </dialog>
  );
}
