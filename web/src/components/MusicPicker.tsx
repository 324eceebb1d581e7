import { useId } from "react";
import { api } from "../api";
import type { MediaItem, MusicBed, MusicInput } from "../api/types";
import { useAsync } from "../lib/useAsync";
import "./MusicPicker.css";

/** The music a form holds: none, a bundled bed or a library sound, and its volume (0-1). */
export type MusicChoice = { bundled: string; volume: number } | { media_id: string; volume: number } | null;

/** The bed's level when nothing else is chosen: well under the voice. */
export const DEFAULT_MUSIC_VOLUME = 0.3;

/** The select's value of a choice: `""`, `bundled:<id>` or `media:<id>`. */
export function musicValue(choice: MusicChoice): string {
  if (!choice) return "";
  return "bundled" in choice ? `bundled:${choice.bundled}` : `media:${choice.media_id}`;
}

/** A choice from the select's value, keeping the volume. */
export function musicChoice(value: string, volume: number): MusicChoice {
  if (value.startsWith("bundled:")) return { bundled: value.slice("bundled:".length), volume };
  if (value.startsWith("media:")) return { media_id: value.slice("media:".length), volume };
  return null;
}

/** The request body's `music` for a choice. */
export function musicInput(choice: MusicChoice): MusicInput | null {
  return choice ? { ...choice } : null;
}

/** The tenant's sounds: the library's audio files (first 100). */
async function librarySounds(): Promise<MediaItem[]> {
  const page = await api.media.list(undefined, 100);
  return page.items.filter((m) => m.kind === "audio");
}

/**
 * Music under the narration: none, one of the bundled beds or a sound of the
 * media library, a volume slider and a preview of what is chosen.
 */
export function MusicPicker({
  value,
  onChange,
  error,
  idPrefix = "music",
  disabled = false,
  legendHidden = false,
}: {
  value: MusicChoice;
  onChange: (choice: MusicChoice) => void;
  /** A 422's message for `music` or one of its fields. */
  error?: string;
  idPrefix?: string;
  /** No change now (a render runs); the preview still plays. */
  disabled?: boolean;
  /** The legend is for screen readers only: a heading above says "Music" already. */
  legendHidden?: boolean;
}) {
  const beds = useAsync<MusicBed[]>(() => api.music.beds(), []);
  const sounds = useAsync<MediaItem[]>(() => librarySounds(), []);
  const hintId = useId();
  const volume = value?.volume ?? DEFAULT_MUSIC_VOLUME;
  const previewUrl = value
    ? "bundled" in value
      ? beds.data?.find((b) => b.id === value.bundled)?.preview_url
      : api.media.fileUrl(value.media_id)
    : undefined;

  return (
    <fieldset className="field music-picker" disabled={disabled}>
      <legend className={legendHidden ? "sr-only" : undefined}>Music</legend>
      <label htmlFor={`${idPrefix}-source`}>Background music</label>
      <select
        id={`${idPrefix}-source`}
        value={musicValue(value)}
        onChange={(e) => onChange(musicChoice(e.target.value, volume))}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${idPrefix}-error` : hintId}
      >
        <option value="">No music</option>
        {beds.data?.length ? (
          <optgroup label="Bundled beds">
            {beds.data.map((bed) => (
              <option key={bed.id} value={`bundled:${bed.id}`}>
                {bed.name}: {bed.description}
              </option>
            ))}
          </optgroup>
        ) : null}
        {sounds.data?.length ? (
          <optgroup label="Your media library">
            {sounds.data.map((item) => (
              <option key={item.id} value={`media:${item.id}`}>
                {item.filename}
              </option>
            ))}
          </optgroup>
        ) : null}
      </select>
      <p id={hintId} className="field-hint">
        Looped under the whole video, faded in and out, and lowered while the voice speaks. Upload MP3, AAC, WAV, Ogg
        or FLAC files on the Media page to use your own.
      </p>
      {value ? (
        <div className="music-volume">
          <label htmlFor={`${idPrefix}-volume`}>Music volume</label>
          <input
            id={`${idPrefix}-volume`}
            type="range"
            min={0}
            max={100}
            step={5}
            value={Math.round(volume * 100)}
            onChange={(e) => onChange({ ...value, volume: Number(e.target.value) / 100 })}
            aria-valuetext={`${Math.round(volume * 100)}%`}
          />
          <span aria-hidden="true">{Math.round(volume * 100)}%</span>
        </div>
      ) : null}
      {previewUrl ? (
        <audio className="music-preview" controls preload="none" src={previewUrl} aria-label="Preview of the music" />
      ) : null}
      {error ? (
        <p id={`${idPrefix}-error`} className="field-error">
          {error}
        </p>
      ) : null}
      {beds.error ? <p className="field-error">The bundled music could not be loaded.</p> : null}
    </fieldset>
  );
}
