import { useEffect, useState } from "react";
import { api, ApiError } from "../api";
import type { MediaItem } from "../api/types";
import { Confirm } from "../components/Confirm";
import { ErrorAlert } from "../components/ErrorAlert";
import { FilePicker, useFileDrop } from "../components/FileDrop";
import { ProgressBar } from "../components/ProgressBar";
import { notifyUsageChanged } from "../lib/events";
import { bytes, clock, date, percent } from "../lib/format";
import { dimensions, kindName, mediaFacts } from "../lib/scenes";
import { useTitle } from "../lib/title";
import { useUpload } from "../lib/upload";
import { Link } from "../router";
import "./MediaPage.css";

/** 409 on delete: the file is a scene's picture in these projects. */
export function InUseMessage({ filename, projects }: { filename: string; projects: { id: string; title: string }[] }) {
  return (
    <div role="alert" className="alert alert-error media-in-use">
      <p>
        <strong>“{filename}” is still in use</strong>, so it was not deleted. Scenes of{" "}
        {projects.length === 1 ? "this project" : `these ${projects.length} projects`} show it:{" "}
        {projects.map((p, i) => (
          <span key={p.id}>
            {i > 0 ? (i === projects.length - 1 ? " and " : ", ") : null}
            <Link to={`/projects/${encodeURIComponent(p.id)}/storyboard`}>{p.title}</Link>
          </span>
        ))}
        . Choose another picture for those scenes, then delete the file.
      </p>
    </div>
  );
}

export function MediaCard({ item, onDeleted }: { item: MediaItem; onDeleted: (id: string) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const size = dimensions(item.width, item.height);
  const inUse = error instanceof ApiError && error.status === 409 && error.problem.projects?.length ? error.problem.projects : null;

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await api.media.remove(item.id);
      notifyUsageChanged();
      onDeleted(item.id);
    } catch (err) {
      setError(err);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="media-card">
      <div className="media-thumb">
        {item.thumbnail_url ? <img src={item.thumbnail_url} alt="" loading="lazy" /> : null}
        <span className={`media-kind media-kind-${item.kind}`}>{kindName(item.kind)}</span>
        {item.duration_seconds ? <span className="media-duration">{clock(item.duration_seconds)}</span> : null}
      </div>
      <div className="media-body">
        <h3 className="media-name" title={item.filename}>
          <a href={item.file_url} target="_blank" rel="noopener">
            {item.filename}
            <span className="sr-only"> (opens the file)</span>
          </a>
        </h3>
        <dl className="media-facts">
          {size ? (
            <div>
              <dt>Size</dt>
              <dd>{size}</dd>
            </div>
          ) : null}
          {item.duration_seconds ? (
            <div>
              <dt>Length</dt>
              <dd>{clock(item.duration_seconds)}</dd>
            </div>
          ) : null}
          <div>
            <dt>File</dt>
            <dd>{bytes(item.bytes)}</dd>
          </div>
          <div>
            <dt>Added</dt>
            <dd>{date(item.created_at)}</dd>
          </div>
        </dl>
        {inUse ? <InUseMessage filename={item.filename} projects={inUse} /> : <ErrorAlert error={error} onDismiss={() => setError(null)} />}
        {confirming ? (
          <Confirm
            question={`Delete “${item.filename}”?`}
            detail="It is removed from your library for good."
            confirmLabel="Delete the file"
            onConfirm={() => void remove()}
            onCancel={() => setConfirming(false)}
            busy={busy}
          />
        ) : (
          <button type="button" className="btn btn-ghost btn-small media-delete" onClick={() => setConfirming(true)} aria-label={`Delete ${item.filename}`}>
            Delete…
          </button>
        )}
      </div>
    </li>
  );
}

export function MediaPage() {
  useTitle("Media library");
  const [items, setItems] = useState<MediaItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [added, setAdded] = useState<MediaItem | null>(null);
  const uploader = useUpload();

  async function load(after?: string) {
    if (after) setLoadingMore(true);
    try {
      const page = await api.media.list(after);
      setItems((old) => (after ? [...old, ...page.items.filter((m) => !old.some((o) => o.id === m.id))] : page.items));
      setCursor(page.next_cursor);
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setLoaded(true);
      setLoadingMore(false);
    }
  }

  useEffect(() => {
    void load();
  }, []);

  async function add(file: File) {
    setAdded(null);
    const item = await uploader.start(file);
    if (!item) return;
    setItems((old) => [item, ...old.filter((m) => m.id !== item.id)]);
    setAdded(item);
    notifyUsageChanged();
  }

  const { dragging, handlers } = useFileDrop((file) => void add(file), uploader.current !== null);
  const current = uploader.current;

  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Media library</h1>
      </div>
      <p className="media-intro muted">
        Your own pictures and clips, ready to use as the picture of any scene in a storyboard.
      </p>

      <section className="card" aria-labelledby="upload-heading">
        <h2 id="upload-heading">Upload</h2>
        <div className={`drop-zone media-drop${dragging ? " drop-active" : ""}`} {...handlers}>
          <p className="media-drop-text">
            <strong>Drag a picture or a video here</strong>
            <span className="muted"> or</span>
          </p>
          <FilePicker
            id="media-file"
            label="Choose a file"
            variant="btn-primary"
            onFile={(file) => void add(file)}
            disabled={current !== null}
            describedBy="media-drop-hint"
          />
          <p id="media-drop-hint" className="field-hint">
            PNG, JPEG or WebP pictures and MP4, MOV, WebM or Matroska clips, one at a time. Files count toward your storage.
          </p>
        </div>
        {current ? (
          <div className="media-progress">
            <ProgressBar
              label={`Uploading ${current.name}`}
              value={current.loaded}
              max={current.total}
              detail={`${percent(current.loaded, current.total)} · ${bytes(current.loaded)} of ${bytes(current.total)}`}
              valueText={`${percent(current.loaded, current.total)} sent`}
            />
            <button type="button" className="btn btn-ghost btn-small" onClick={uploader.cancel}>
              Cancel the upload
            </button>
          </div>
        ) : null}
        <ErrorAlert error={uploader.error} context="upload" onDismiss={uploader.clearError} />
        {added ? (
          <div className="alert alert-success" role="status">
            <p>
              “{added.filename}” was added ({mediaFacts(added).join(", ")}).
            </p>
          </div>
        ) : null}
      </section>

      <section className="card" aria-labelledby="library-heading">
        <h2 id="library-heading">Your files</h2>
        <ErrorAlert error={error} />
        {!loaded ? <p className="loading">Loading your files…</p> : null}
        {loaded && items.length === 0 && !error ? <p className="empty">No files yet. Upload a picture or a clip above.</p> : null}
        <ul className="media-grid">
          {items.map((item) => (
            <MediaCard
              key={item.id}
              item={item}
              onDeleted={(id) => {
                setItems((old) => old.filter((m) => m.id !== id));
                if (added?.id === id) setAdded(null);
              }}
            />
          ))}
        </ul>
        {cursor ? (
          <button type="button" className="btn btn-secondary" onClick={() => void load(cursor)} disabled={loadingMore}>
            {loadingMore ? "Loading…" : "Show more"}
          </button>
        ) : null}
      </section>
    </>
  );
}
