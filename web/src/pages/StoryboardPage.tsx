import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import type { MediaItem, Project, SceneEdit, StockMedia, StockResult, StockVisual, StoryboardScene, Visual } from "../api/types";
import { Confirm } from "../components/Confirm";
import { ErrorAlert } from "../components/ErrorAlert";
import { FilePicker, useFileDrop } from "../components/FileDrop";
import { MediaPicker } from "../components/MediaPicker";
import { MenuButton, type MenuItem } from "../components/MenuButton";
import { MusicSection } from "../components/MusicSection";
import { ProgressBar } from "../components/ProgressBar";
import { StatusBadge } from "../components/StatusBadge";
import { StockPicker } from "../components/StockPicker";
import { notifyUsageChanged } from "../lib/events";
import { clock, date, percent } from "../lib/format";
import {
  canAdd,
  canDelete,
  creditLine,
  moveOrder,
  orientationOf,
  renderState,
  sceneVersion,
  versioned,
  visualLabel,
} from "../lib/scenes";
import { useTitle } from "../lib/title";
import { useUpload } from "../lib/upload";
import { VoicePicker } from "../components/VoicePicker";
import { Link } from "../router";
import { STEP_NAMES, stepKey, useLiveProject, type Steps } from "./ProjectPage";
import { UNFINISHED } from "./ProjectsPage";
import "./StoryboardPage.css";

export interface SceneProgress {
  done: number;
  total: number;
  /** What is being made now, in words ("picture", "narration"). */
  running: string[];
  failed: boolean;
}

/**
 * How far one scene is in the running job, from the live step events; a step
 * not heard of yet counts as done when the scene already has its file.
 * `withVideo`: the job renders (a video clip per scene), not only a storyboard.
 */
export function sceneProgress(scene: StoryboardScene, steps: Steps, withVideo: boolean): SceneProgress {
  const kinds = withVideo ? (["image", "speech", "segment"] as const) : (["image", "speech"] as const);
  let done = 0;
  let failed = false;
  const running: string[] = [];
  // A clip is made from the picture and the narration: once its step runs, both are ready.
  const segment = steps[stepKey("segment", scene.index)];
  const filesReady = scene.status !== "stale" || segment === "running" || segment === "done";
  for (const kind of kinds) {
    let status = steps[stepKey(kind, scene.index)];
    if (status === undefined && filesReady) {
      if (kind === "image" && scene.image_url) status = "done";
      if (kind === "speech" && scene.audio_url) status = "done";
    }
    if (status === "done") done += 1;
    else if (status === "running") running.push(STEP_NAMES[kind] ?? kind);
    else if (status === "failed") failed = true;
  }
  return { done, total: kinds.length, running, failed };
}

function progressDetail(p: SceneProgress): string {
  if (p.failed) return "Failed";
  if (p.running.length) return `Making the ${p.running.join(" and ")}`;
  if (p.done === p.total) return "Done";
  return p.done > 0 ? "Waiting for its next step" : "Waiting";
}

/** The live scene list: read again whenever a picture or narration is finished. */
function useScenes(id: string, project: Project | null, steps: Steps) {
  const [scenes, setScenes] = useState<StoryboardScene[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Finished pictures and narrations, and the project's state: each change may bring new files.
  const finished = Object.entries(steps)
    .filter(([key, status]) => (key.startsWith("image:") || key.startsWith("speech:")) && (status === "done" || status === "failed"))
    .map(([key]) => key)
    .sort()
    .join(",");
  const trigger = project ? `${project.status}|${project.updated_at}|${finished}` : null;
  const loadedOnce = useRef(false);

  useEffect(() => {
    if (trigger === null) return;
    const controller = new AbortController();
    // The first read at once; later ones gather the steps finishing together.
    const timer = window.setTimeout(() => {
      api.scenes.list(id, controller.signal).then(
        (list) => {
          if (controller.signal.aborted) return;
          loadedOnce.current = true;
          setScenes(list);
          setError(null);
        },
        (err: unknown) => {
          if (!controller.signal.aborted) setError(err);
        },
      );
    }, loadedOnce.current ? 150 : 0);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [id, trigger]);

  return { scenes, setScenes, error };
}

/** The library files scenes use, by id (for their names and previews). */
function useUploads(scenes: StoryboardScene[] | null) {
  const [known, setKnown] = useState<Record<string, MediaItem>>({});
  const wanted = (scenes ?? [])
    .flatMap((s) => (s.visual.kind === "upload" ? [s.visual.media_id] : []))
    .filter((id, i, all) => all.indexOf(id) === i && !known[id])
    .sort()
    .join(",");

  useEffect(() => {
    if (!wanted) return;
    let alive = true;
    for (const mediaId of wanted.split(",")) {
      api.media.get(mediaId).then(
        (item) => alive && setKnown((old) => ({ ...old, [item.id]: item })),
        () => {},
      );
    }
    return () => {
      alive = false;
    };
  }, [wanted]);

  const remember = useCallback((item: MediaItem) => setKnown((old) => ({ ...old, [item.id]: item })), []);
  return { known, remember };
}

function SceneEditor({
  scene,
  language,
  onSave,
  onCancel,
}: {
  scene: StoryboardScene;
  /** The project's, for the voices on offer. */
  language: string;
  onSave: (edit: SceneEdit) => Promise<unknown>;
  onCancel: () => void;
}) {
  const n = scene.index + 1;
  const [title, setTitle] = useState(scene.title ?? "");
  const [voice, setVoice] = useState(scene.voice ?? "");
  const [text, setText] = useState(scene.text);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const textRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    textRef.current?.focus();
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!text.trim()) {
      setFields({ text: "Write what the narrator says in this scene." });
      textRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    setFields({});
    try {
      // The voice only when changed: a scene speaks with the project's voice until given its own.
      const voiceEdit = voice !== (scene.voice ?? "") ? { voice: voice || null } : {};
      await onSave({ text, title: title.trim() ? title.trim() : null, ...voiceEdit });
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.problem.errors) {
        setFields(Object.fromEntries(err.problem.errors.map((f) => [f.field, f.message])));
      }
      setError(err);
      setBusy(false);
    }
  }

  const prefix = `scene-${scene.index}-edit`;
  return (
    <form className="sb-editor" onSubmit={(e) => void submit(e)} noValidate aria-label={`Edit scene ${n}`}>
      <div className="field">
        <label htmlFor={`${prefix}-title`}>Title (optional)</label>
        <input
          id={`${prefix}-title`}
          type="text"
          maxLength={80}
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          aria-invalid={fields.title ? true : undefined}
          aria-describedby={fields.title ? `${prefix}-title-error` : `${prefix}-title-hint`}
        />
        <p id={`${prefix}-title-hint`} className="field-hint">
          A short line for the title card.
        </p>
        {fields.title ? (
          <p id={`${prefix}-title-error`} className="field-error">
            {fields.title}
          </p>
        ) : null}
      </div>
      <div className="field">
        <label htmlFor={`${prefix}-text`}>Narration</label>
        <textarea
          id={`${prefix}-text`}
          ref={textRef}
          className="sb-textarea"
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-invalid={fields.text ? true : undefined}
          aria-describedby={fields.text ? `${prefix}-text-error` : undefined}
        />
        {fields.text ? (
          <p id={`${prefix}-text-error`} className="field-error">
            {fields.text}
          </p>
        ) : null}
      </div>
      <VoicePicker
        id={`${prefix}-voice`}
        label="Voice"
        language={language}
        value={voice}
        onChange={setVoice}
        defaultLabel="The project's voice"
      />
      {fields.voice ? <p className="field-error">{fields.voice}</p> : null}
      {Object.keys(fields).length === 0 ? <ErrorAlert error={error} /> : null}
      <div className="btn-row">
        <button type="submit" className="btn btn-primary btn-small" disabled={busy}>
          {busy ? "Saving…" : "Save"}
        </button>
        <button type="button" className="btn btn-ghost btn-small" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function AddScene({ after, onAdd, onCancel }: { after: number; onAdd: (text: string, title: string | null) => Promise<unknown>; onCancel: () => void }) {
  const id = useId();
  const [title, setTitle] = useState("");
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState(false);
  const textRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    textRef.current?.focus();
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!text.trim()) {
      setMissing(true);
      textRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onAdd(text, title.trim() ? title.trim() : null);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <form className="sb-add-form card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>New scene after scene {after + 1}</h3>
      <div className="field">
        <label htmlFor={`${id}-text`}>Narration</label>
        <textarea
          id={`${id}-text`}
          ref={textRef}
          className="sb-textarea"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setMissing(false);
          }}
          aria-invalid={missing ? true : undefined}
          aria-describedby={missing ? `${id}-text-error` : undefined}
        />
        {missing ? (
          <p id={`${id}-text-error`} className="field-error">
            Write what the narrator says in this scene.
          </p>
        ) : null}
      </div>
      <div className="field">
        <label htmlFor={`${id}-title`}>Title (optional)</label>
        <input id={`${id}-title`} type="text" maxLength={80} value={title} onChange={(e) => setTitle(e.target.value)} />
      </div>
      <ErrorAlert error={error} />
      <div className="btn-row">
        <button type="submit" className="btn btn-primary btn-small" disabled={busy}>
          {busy ? "Adding…" : "Add the scene"}
        </button>
        <button type="button" className="btn btn-ghost btn-small" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export interface SceneCardProps {
  scene: StoryboardScene;
  count: number;
  /** The project's language, for the voices a scene may have. */
  language: string;
  /** Width / height of the video, for the picture's frame. */
  aspect: number;
  /** Edits are refused while a render runs. */
  locked: boolean;
  /** Another change to the list is on its way: no structural change now. */
  busy: boolean;
  media: MediaItem | undefined;
  /** The preview of the stock result just picked for this scene, until the render makes its picture. */
  stockPreview?: string | null;
  progress: SceneProgress | null;
  onSave: (edit: SceneEdit) => Promise<unknown>;
  onUploaded: (item: MediaItem) => Promise<unknown>;
  onLibrary: () => void;
  /** Opens the stock search for this scene. */
  onStock: (media: StockMedia) => void;
  /** A picture made without a choice of file: AI, illustration, title card, automatic. */
  onVisual: (visual: Visual) => Promise<unknown>;
  onMove: (to: number) => void;
  onDelete: () => Promise<unknown>;
  onAddAfter: () => void;
  /** Focus this card's control after a move ("up" or "down"). */
  focus?: "up" | "down" | null;
  onUploading?: (on: boolean) => void;
}

export function SceneCard({
  scene,
  count,
  language,
  aspect,
  locked,
  busy,
  media,
  stockPreview,
  progress,
  onSave,
  onUploaded,
  onLibrary,
  onStock,
  onVisual,
  onMove,
  onDelete,
  onAddAfter,
  focus,
  onUploading,
}: SceneCardProps) {
  const n = scene.index + 1;
  const headingId = `scene-${scene.index}-heading`;
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const uploader = useUpload();
  const upRef = useRef<HTMLButtonElement>(null);
  const downRef = useRef<HTMLButtonElement>(null);
  const editRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (focus === "up") (scene.index > 0 ? upRef : downRef).current?.focus();
    if (focus === "down") (scene.index < count - 1 ? downRef : upRef).current?.focus();
  }, [focus, scene.index, count]);

  async function uploadAndUse(file: File) {
    setError(null);
    onUploading?.(true);
    try {
      const item = await uploader.start(file);
      if (item) await onUploaded(item);
    } catch (err) {
      setError(err);
    } finally {
      onUploading?.(false);
    }
  }

  const { dragging, handlers } = useFileDrop((file) => void uploadAndUse(file), locked || uploader.current !== null);

  function setVisual(visual: Visual) {
    // The same choice again changes nothing (and would not make the scene stale).
    if (JSON.stringify(visual) === JSON.stringify(scene.visual)) return;
    setError(null);
    onVisual(visual).catch((err: unknown) => setError(err));
  }

  const kind = scene.visual.kind;
  const stockMedia = scene.visual.kind === "stock" ? scene.visual.media : null;
  const pictureMenu: MenuItem[] = [
    { id: "stock-photo", label: "Stock photo…", current: stockMedia === "photo", onSelect: () => onStock("photo") },
    { id: "stock-video", label: "Stock video…", current: stockMedia === "video", onSelect: () => onStock("video") },
    { id: "ai", label: "AI image", current: kind === "ai", onSelect: () => setVisual({ kind: "ai" }) },
    { id: "illustration", label: "Illustration", current: kind === "illustration", onSelect: () => setVisual({ kind: "illustration" }) },
    { id: "library", label: "From your library…", current: kind === "upload", onSelect: onLibrary },
    { id: "card", label: "Title card", current: kind === "card", onSelect: () => setVisual({ kind: "card" }) },
    { id: "auto", label: "Automatic", current: kind === "auto", onSelect: () => setVisual({ kind: "auto" }) },
  ];
  const version = sceneVersion(scene);
  const stale = scene.status === "stale";
  // A new upload shows at once; the scene's own picture is made from it by the (next) render.
  const pendingUpload = scene.visual.kind === "upload" && (scene.status !== "done" || !scene.image_url);
  const pendingStock = scene.visual.kind === "stock" && !!stockPreview && (scene.status !== "done" || !scene.image_url);
  const preview = pendingUpload
    ? (media?.thumbnail_url ?? (scene.visual.kind === "upload" ? api.media.thumbnailUrl(scene.visual.media_id) : null))
    : pendingStock
      ? (stockPreview ?? null)
      : null;
  const picture = preview ?? versioned(scene.image_url, version);
  // While a job runs, the live steps say more than the list read before they came.
  const badge = !progress
    ? scene.status
    : progress.failed
      ? "failed"
      : progress.running.length
        ? "running"
        : progress.done === progress.total
          ? "done"
          : scene.status === "stale"
            ? "queued"
            : scene.status;

  return (
    <article
      className={`sb-scene${stale ? " sb-scene-stale" : ""}${dragging ? " drop-active" : ""}`}
      aria-labelledby={headingId}
      data-scene={scene.index}
      {...handlers}
    >
      <div className="sb-media">
        <div className="sb-picture" style={{ aspectRatio: String(aspect) }}>
          {picture ? (
            <img src={picture} alt={`Picture of scene ${n}`} loading="lazy" />
          ) : (
            <span className="sb-picture-empty">
              {progress?.running.includes("picture")
                ? "Making the picture…"
                : stale
                  ? "The picture is made again at the next render"
                  : "No picture yet"}
            </span>
          )}
          {stale && (pendingUpload || pendingStock) && preview ? <span className="sb-picture-note">New picture: used at the next render</span> : null}
          {dragging ? (
            <span className="sb-drop-hint" aria-hidden="true">
              Drop to use this file for scene {n}
            </span>
          ) : null}
        </div>
        {scene.credit ? (
          <p className="sb-credit small">
            <a href={scene.credit.page_url} target="_blank" rel="noopener noreferrer">
              {creditLine(scene.credit)}
              <span className="sr-only"> (opens in a new tab)</span>
            </a>
          </p>
        ) : null}
      </div>
      <div className="sb-body">
        <div className="sb-head">
          <h3 id={headingId}>
            <span className="sb-number">Scene {n}</span>
            {scene.title ? <span className="sb-title">{scene.title}</span> : null}
          </h3>
          <StatusBadge status={badge} label={badge === "stale" ? "Edited, not rendered yet" : undefined} />
        </div>
        {editing ? (
          <SceneEditor
            scene={scene}
            language={language}
            onSave={async (edit) => {
              await onSave(edit);
              setEditing(false);
              window.setTimeout(() => editRef.current?.focus(), 0);
            }}
            onCancel={() => {
              setEditing(false);
              window.setTimeout(() => editRef.current?.focus(), 0);
            }}
          />
        ) : (
          <p className="sb-text">{scene.text}</p>
        )}
        <p className="sb-meta small muted">
          {visualLabel(scene.visual, media)}
          {scene.duration_seconds ? ` · ${clock(scene.duration_seconds)} of narration` : ""}
          {!scene.audio_url && stale ? " · the narration is made again at the next render" : ""}
        </p>
        {scene.error ? <p className="field-error">{scene.error}</p> : null}
        {scene.audio_url ? (
          <audio className="sb-audio" controls preload="none" src={versioned(scene.audio_url, version)} aria-label={`Narration of scene ${n}`} />
        ) : null}
        {progress ? (
          <ProgressBar
            label={`Scene ${n}`}
            value={progress.done}
            max={progress.total}
            detail={progressDetail(progress)}
            valueText={`${progress.done} of ${progress.total} steps: ${progressDetail(progress)}`}
            danger={progress.failed}
            size="small"
          />
        ) : null}
        {uploader.current ? (
          <div className="sb-upload">
            <ProgressBar
              label={`Uploading ${uploader.current.name}`}
              value={uploader.current.loaded}
              max={uploader.current.total}
              detail={percent(uploader.current.loaded, uploader.current.total)}
              valueText={`${percent(uploader.current.loaded, uploader.current.total)} sent`}
              size="small"
            />
            <button type="button" className="btn-link small" onClick={uploader.cancel}>
              Cancel the upload
            </button>
          </div>
        ) : null}
        <ErrorAlert error={uploader.error} context="upload" onDismiss={uploader.clearError} />
        <ErrorAlert error={error} onDismiss={() => setError(null)} />
        {!editing ? (
          <div className="sb-actions">
            <div className="sb-action-group" role="group" aria-label={`Scene ${n}: text and picture`}>
              <button
                type="button"
                ref={editRef}
                className="btn btn-secondary btn-small"
                onClick={() => setEditing(true)}
                disabled={locked}
              >
                Edit text<span className="sr-only"> of scene {n}</span>
              </button>
              <FilePicker
                id={`scene-${scene.index}-file`}
                label={<>Upload picture<span className="sr-only"> for scene {n}</span></>}
                onFile={(file) => void uploadAndUse(file)}
                disabled={locked || uploader.current !== null}
                variant="btn-secondary btn-small"
              />
              <MenuButton
                label={
                  <>
                    Picture<span className="sr-only"> of scene {n}</span>
                  </>
                }
                items={pictureMenu}
                disabled={locked || uploader.current !== null}
              />
            </div>
            <div className="sb-action-group" role="group" aria-label={`Scene ${n}: order`}>
              <button
                type="button"
                ref={upRef}
                className="btn btn-ghost btn-small"
                onClick={() => onMove(scene.index - 1)}
                disabled={locked || busy || scene.index === 0}
                aria-label={`Move scene ${n} up`}
              >
                <span aria-hidden="true">↑</span> Up
              </button>
              <button
                type="button"
                ref={downRef}
                className="btn btn-ghost btn-small"
                onClick={() => onMove(scene.index + 1)}
                disabled={locked || busy || scene.index === count - 1}
                aria-label={`Move scene ${n} down`}
              >
                <span aria-hidden="true">↓</span> Down
              </button>
              <button
                type="button"
                className="btn btn-ghost btn-small sb-delete"
                onClick={() => setConfirming(true)}
                disabled={locked || busy || !canDelete(count)}
                aria-label={`Delete scene ${n}`}
                title={canDelete(count) ? undefined : "A video needs at least one scene."}
              >
                Delete…
              </button>
            </div>
          </div>
        ) : null}
        {confirming ? (
          <Confirm
            question={`Delete scene ${n}?`}
            detail="Its text, picture and narration are removed from this video."
            confirmLabel="Delete the scene"
            onConfirm={() => {
              setDeleting(true);
              onDelete()
                .catch((err: unknown) => setError(err))
                .finally(() => {
                  setDeleting(false);
                  setConfirming(false);
                });
            }}
            onCancel={() => setConfirming(false)}
            busy={deleting}
          />
        ) : null}
        <button
          type="button"
          className="btn btn-ghost btn-small sb-add"
          onClick={onAddAfter}
          disabled={locked || busy || !canAdd(count)}
        >
          <span aria-hidden="true">+</span> Add a scene after scene {n}
        </button>
      </div>
    </article>
  );
}

export function StoryboardPage({ id }: { id: string }) {
  const { project, steps, error, live, reload } = useLiveProject(id);
  const { scenes, setScenes, error: scenesError } = useScenes(id, project, steps);
  const { known, remember } = useUploads(scenes);
  useTitle(project ? `Storyboard: ${project.title}` : "Storyboard");
  const [actionError, setActionError] = useState<unknown>(null);
  const [renderError, setRenderError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const [renderAsked, setRenderAsked] = useState(false);
  const [changing, setChanging] = useState(false);
  const [uploads, setUploads] = useState(0);
  const [announce, setAnnounce] = useState("");
  const [addingAfter, setAddingAfter] = useState<number | null>(null);
  const [libraryFor, setLibraryFor] = useState<number | null>(null);
  const [stockFor, setStockFor] = useState<{ index: number; media: StockMedia } | null>(null);
  // Previews of picked stock results, by "provider:id", shown until the render makes the scene's picture.
  const [stockPreviews, setStockPreviews] = useState<Record<string, string>>({});
  const [choosing, setChoosing] = useState(false);
  const [focus, setFocus] = useState<{ index: number; dir: "up" | "down" } | null>(null);

  if (!project) {
    if (error instanceof ApiError && error.status === 404) {
      return (
        <>
          <h1 tabIndex={-1}>Storyboard not found</h1>
          <p>This video does not exist or was deleted.</p>
          <Link to="/projects">Back to your projects</Link>
        </>
      );
    }
    return error ? <ErrorAlert error={error} /> : <p className="loading">Loading the storyboard…</p>;
  }

  const current = project;
  const unfinished = UNFINISHED.has(current.status);
  const locked = unfinished;
  const busy = changing || uploads > 0;
  const render = renderState(current);
  const withVideo = renderAsked || current.video_url !== null || Object.keys(steps).some((k) => k.startsWith("segment:") || k.startsWith("final:"));
  const list = scenes ?? [];
  const staleCount = list.filter((s) => s.status === "stale").length;
  const narrated = list.reduce((sum, s) => sum + (s.duration_seconds ?? 0), 0);
  const aspect = current.width > 0 && current.height > 0 ? current.width / current.height : 16 / 9;
  const fresh = (url: string | null) => (url ? `${url}?v=${encodeURIComponent(current.updated_at)}` : undefined);

  /** A change to the scene list: the answer is the new list; the project may have become stale. */
  async function change(run: () => Promise<StoryboardScene[]>, said: string) {
    setChanging(true);
    setActionError(null);
    try {
      setScenes(await run());
      setAnnounce(said);
      await reload();
    } finally {
      setChanging(false);
    }
  }

  async function save(index: number, edit: SceneEdit) {
    const scene = await api.scenes.update(id, index, edit);
    setScenes((old) => (old ? old.map((s) => (s.index === index ? scene : s)) : old));
    setAnnounce(`Scene ${index + 1} saved.`);
    await reload();
  }

  function move(from: number, to: number) {
    const order = moveOrder(list.length, from, to);
    if (!order) return;
    change(() => api.scenes.reorder(id, order), `Scene ${from + 1} moved to position ${to + 1}.`)
      .then(() => setFocus({ index: to, dir: to < from ? "up" : "down" }))
      .catch((err: unknown) => setActionError(err));
  }

  async function startRender() {
    setStarting(true);
    setRenderError(null);
    try {
      await api.projects.render(id);
      setRenderAsked(true);
      setAnnounce("Rendering started.");
      notifyUsageChanged();
      await reload();
    } catch (err) {
      setRenderError(err);
    } finally {
      setStarting(false);
    }
  }

  async function chooseStock(visual: StockVisual, result: StockResult | null) {
    if (stockFor === null) return;
    setChoosing(true);
    try {
      const thumbnail = result?.thumbnail_url;
      if (thumbnail) setStockPreviews((old) => ({ ...old, [`${result.provider}:${result.id}`]: thumbnail }));
      await save(stockFor.index, { visual });
      setStockFor(null);
    } catch (err) {
      setActionError(err);
      setStockFor(null);
    } finally {
      setChoosing(false);
    }
  }

  async function choose(item: MediaItem) {
    if (libraryFor === null) return;
    setChoosing(true);
    try {
      remember(item);
      await save(libraryFor, { visual: { kind: "upload", media_id: item.id } });
      setLibraryFor(null);
    } catch (err) {
      setActionError(err);
      setLibraryFor(null);
    } finally {
      setChoosing(false);
    }
  }

  return (
    <article className="storyboard-page" aria-labelledby="storyboard-title">
      <p className="crumbs">
        <Link to={`/projects/${encodeURIComponent(current.id)}`}>← {current.title}</Link>
      </p>
      <div className="page-head">
        <h1 id="storyboard-title" tabIndex={-1}>
          Storyboard <span className="sb-h1-title">{current.title}</span>
        </h1>
        <StatusBadge status={current.status} />
      </div>
      <p className="muted small project-facts">
        {list.length} scene{list.length === 1 ? "" : "s"}
        {narrated > 0 ? ` · ${clock(narrated)} narrated` : ""} · {current.width}×{current.height} · created {date(current.created_at)}
      </p>

      <div className="sr-only" role="status" aria-live="polite">
        {announce}
      </div>

      <section className="card sb-render" aria-labelledby="render-heading">
        <div className="sb-render-head">
          <div>
            <h2 id="render-heading">{current.video_url ? "Video" : "Render"}</h2>
            <p className="small muted sb-render-hint" id="render-hint">
              {unfinished
                ? current.video_url
                  ? "A new version is rendering."
                  : withVideo
                    ? "Rendering the video…"
                    : "Making each scene's picture and narration…"
                : current.status === "draft"
                  ? "Every scene has its picture and narration. Render the video when the scenes look right."
                  : current.stale
                    ? staleCount
                      ? `${staleCount} scene${staleCount === 1 ? " was" : "s were"} edited since the last render: only what changed is made again.`
                      : "The video changed since the last render (its music, or its scenes): only what changed is made again."
                    : render.can
                      ? "Render the video from these scenes."
                      : "The video is up to date with these scenes."}
            </p>
          </div>
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => void startRender()}
            disabled={!render.can || starting}
            aria-describedby="render-hint"
          >
            {starting ? (
              <>
                <span className="spinner" aria-hidden="true" /> Starting…
              </>
            ) : (
              render.label
            )}
          </button>
        </div>
        <ErrorAlert error={renderError} context="render" onDismiss={() => setRenderError(null)} />
        {unfinished ? (
          <>
            <ProgressBar
              label={current.video_url ? "New version" : withVideo ? "Whole video" : "Storyboard"}
              value={current.progress.done}
              max={current.progress.total}
              detail={`${current.progress.percent}% · ${current.progress.done} of ${current.progress.total} steps`}
              valueText={`${current.progress.percent}%, ${current.progress.done} of ${current.progress.total} steps done`}
            />
            <p className="muted small live-note" aria-live="polite">
              {live ? "Updating live." : "Connecting for live updates…"}
            </p>
          </>
        ) : null}
        {current.video_url ? (
          <>
            {unfinished ? (
              <p className="alert alert-info small sb-previous" role="status">
                This is the previous video: it stays here until the new version is ready.
              </p>
            ) : current.stale ? (
              <p className="alert alert-warning small sb-previous">
                This video does not show {staleCount ? "the edited scenes" : "the latest changes"} yet. Render the changes to update it.
              </p>
            ) : null}
            <video
              className="player sb-player"
              controls
              preload="metadata"
              poster={fresh(current.thumbnail_url)}
              src={fresh(current.video_url)}
              aria-label={`Video: ${current.title}`}
            >
              {current.captions_url ? <track kind="captions" src={fresh(current.captions_url)} srcLang={current.language} label="Captions" /> : null}
            </video>
          </>
        ) : null}
        {current.status === "failed" ? (
          <p className="alert alert-error small" role="alert">
            The video could not be made. {current.error ?? ""} Open <Link to={`/projects/${current.id}`}>the video page</Link> to retry.
          </p>
        ) : null}
      </section>

      {/* The whole video's music, under the Render button that applies it: saving it makes the video stale, and that button renders the changes. */}
      <MusicSection project={current} locked={locked || starting} onSaved={reload} idPrefix="storyboard-music" />

      <section aria-labelledby="scenes-heading" className="sb-scenes">
        <div className="sb-scenes-head">
          <h2 id="scenes-heading">Scenes</h2>
          {locked ? <p className="small muted">Editing is paused while the video renders.</p> : null}
        </div>
        <ErrorAlert error={scenesError} />
        <ErrorAlert error={actionError} onDismiss={() => setActionError(null)} />
        {scenes === null && !scenesError ? <p className="loading">Loading the scenes…</p> : null}
        <ol className="sb-list">
          {list.map((scene) => (
            <li key={scene.index}>
              <SceneCard
                scene={scene}
                count={list.length}
                language={current.language}
                aspect={aspect}
                locked={locked}
                busy={busy}
                media={scene.visual.kind === "upload" ? known[scene.visual.media_id] : undefined}
                stockPreview={
                  scene.visual.kind === "stock" && scene.visual.provider && scene.visual.pick
                    ? stockPreviews[`${scene.visual.provider}:${scene.visual.pick}`]
                    : null
                }
                progress={unfinished ? sceneProgress(scene, steps, withVideo) : null}
                onSave={(edit) => save(scene.index, edit)}
                onUploaded={async (item) => {
                  remember(item);
                  await save(scene.index, { visual: { kind: "upload", media_id: item.id } });
                }}
                onLibrary={() => setLibraryFor(scene.index)}
                onStock={(media) => setStockFor({ index: scene.index, media })}
                onVisual={(visual) => save(scene.index, { visual })}
                onMove={(to) => move(scene.index, to)}
                onDelete={() => change(() => api.scenes.remove(id, scene.index), `Scene ${scene.index + 1} deleted.`)}
                onAddAfter={() => setAddingAfter(scene.index)}
                focus={focus?.index === scene.index ? focus.dir : null}
                onUploading={(on) => setUploads((u) => Math.max(0, u + (on ? 1 : -1)))}
              />
              {addingAfter === scene.index ? (
                <AddScene
                  after={scene.index}
                  onAdd={(text, title) =>
                    change(() => api.scenes.insert(id, { at: scene.index + 1, text, title }), `Scene ${scene.index + 2} added.`).then(() =>
                      setAddingAfter(null),
                    )
                  }
                  onCancel={() => setAddingAfter(null)}
                />
              ) : null}
            </li>
          ))}
        </ol>
      </section>

      {libraryFor !== null ? (
        <MediaPicker
          title={`Choose a picture for scene ${libraryFor + 1}`}
          onChoose={(item) => void choose(item)}
          onClose={() => setLibraryFor(null)}
          busy={choosing}
        />
      ) : null}
      {stockFor !== null ? (
        <StockPicker
          title={`Stock ${stockFor.media === "video" ? "video" : "photo"} for scene ${stockFor.index + 1}`}
          media={stockFor.media}
          orientation={orientationOf(current.width, current.height)}
          aspect={aspect}
          initialQuery={list.find((s) => s.index === stockFor.index)?.suggested_query ?? ""}
          onChoose={(visual, result) => void chooseStock(visual, result)}
          onClose={() => setStockFor(null)}
          busy={choosing}
        />
      ) : null}
    </article>
  );
}
