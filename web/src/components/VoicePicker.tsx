import { useEffect, useRef, useState } from "react";
import { api } from "../api";
import type { Voice } from "../api/types";
import { useAsync } from "../lib/useAsync";
import "./VoicePicker.css";

/**
 * A voice of `language` from `/api/v1/voices`, with a button that plays the
 * chosen voice's preview. An empty value is the default (`defaultLabel`).
 */
export function VoicePicker({
  id,
  label,
  language,
  value,
  onChange,
  defaultLabel = "Default voice for the language",
}: {
  id: string;
  label: string;
  language: string;
  value: string;
  onChange: (v: string) => void;
  defaultLabel?: string;
}) {
  const voices = useAsync<Voice[]>(() => api.projects.voices(language), [language]);
  const [playing, setPlaying] = useState(false);
  const audio = useRef<HTMLAudioElement | null>(null);
  const list = voices.data ?? [];
  const selected = list.find((v) => v.id === value);

  useEffect(() => () => audio.current?.pause(), []);

  function preview() {
    if (!selected) return;
    audio.current?.pause();
    const a = new Audio(selected.preview_url);
    audio.current = a;
    setPlaying(true);
    a.onended = a.onerror = () => setPlaying(false);
    a.play().catch(() => setPlaying(false));
  }

  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="voice-row">
        <select id={id} value={value} onChange={(e) => onChange(e.target.value)} disabled={voices.loading && !voices.data}>
          <option value="">{defaultLabel}</option>
          {list.map((v) => (
            <option key={v.id} value={v.id}>
              {v.name} ({v.provider}
              {v.gender ? `, ${v.gender}` : ""})
            </option>
          ))}
        </select>
        <button
          type="button"
          className="btn btn-ghost btn-small"
          onClick={preview}
          disabled={!selected || playing}
          aria-label={playing ? "Playing the voice preview" : "Preview the selected voice"}
        >
          {playing ? "Playing…" : "Preview"}
        </button>
      </div>
      {voices.error ? <p className="field-error">Voices could not be loaded; the default voice will be used.</p> : null}
    </div>
  );
}
