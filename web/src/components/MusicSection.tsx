import { useEffect, useState } from "react";
import { api, ApiError } from "../api";
import type { Music, Project } from "../api/types";
import { notifyUsageChanged } from "../lib/events";
import { ErrorAlert } from "./ErrorAlert";
import { MusicPicker, musicInput, type MusicChoice } from "./MusicPicker";

/** The project's music as the picker holds it. */
export function choiceOf(music: Music | null | undefined): MusicChoice {
  if (!music) return null;
  return "bundled" in music ? { bundled: music.bundled, volume: music.volume } : { media_id: music.media_id, volume: music.volume };
}

/**
 * A project's music as a card (the project page and the storyboard): change
 * it, save it, and render (only the sound and the join are made again).
 * `withRender`: a "Save and render" button too, for a page with no Render
 * button of its own; without it the page's own Render button renders.
 */
export function MusicSection({
  project,
  locked,
  onSaved,
  idPrefix,
  withRender = false,
}: {
  project: Project;
  /** A render runs: the server refuses changes until it ends. */
  locked: boolean;
  /** After a save (and a render asked for): read the project again. */
  onSaved: () => Promise<unknown>;
  /** Unique on the page: the ids of the heading and the picker's fields. */
  idPrefix: string;
  withRender?: boolean;
}) {
  const [choice, setChoice] = useState<MusicChoice>(() => choiceOf(project.music));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [saved, setSaved] = useState<string | null>(null);
  const stored = JSON.stringify(choiceOf(project.music));
  const changed = JSON.stringify(choice) !== stored;
  // The stored music changed (saved here, or elsewhere): show it.
  useEffect(() => setChoice(JSON.parse(stored) as MusicChoice), [stored]);

  async function save(render: boolean) {
    setBusy(true);
    setError(null);
    setFieldError(undefined);
    setSaved(null);
    try {
      if (changed) await api.projects.update(project.id, { music: musicInput(choice) });
      if (render) {
        await api.projects.render(project.id);
        notifyUsageChanged();
        setSaved("Rendering with the new music: only the sound is made again.");
      } else {
        setSaved("Music saved. Render to hear it in the video.");
      }
      await onSaved();
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.problem.errors?.length) {
        setFieldError(err.problem.errors[0]?.message);
      }
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const headingId = `${idPrefix}-heading`;
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Music</h2>
      <MusicPicker value={choice} onChange={setChoice} idPrefix={idPrefix} error={fieldError} disabled={locked} legendHidden />
      {saved ? (
        <p className="alert alert-success small" role="status">
          {saved}
        </p>
      ) : null}
      <ErrorAlert error={error} onDismiss={() => setError(null)} />
      <div className="btn-row">
        <button type="button" className="btn btn-secondary btn-small" onClick={() => void save(false)} disabled={busy || locked || !changed}>
          Save music
        </button>
        {withRender ? (
          <button
            type="button"
            className="btn btn-primary btn-small"
            onClick={() => void save(true)}
            disabled={busy || locked || (!changed && !project.stale)}
          >
            Save and render
          </button>
        ) : null}
      </div>
      {locked ? <p className="field-hint">The music can be changed when the current render has finished.</p> : null}
    </section>
  );
}
