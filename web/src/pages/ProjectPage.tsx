import { useCallback, useEffect, useRef, useState } from "react";
import { api, ApiError } from "../api";
import type { CreatedBy, DoneEvent, Project, ProjectCredit, Scene, StepEvent } from "../api/types";
import { Confirm } from "../components/Confirm";
import { ErrorAlert } from "../components/ErrorAlert";
import { MusicSection } from "../components/MusicSection";
import { ProgressBar } from "../components/ProgressBar";
import { StatusBadge, statusLabel } from "../components/StatusBadge";
import { notifyUsageChanged } from "../lib/events";
import { clock, date } from "../lib/format";
import { providerName } from "../lib/scenes";
import { useTitle } from "../lib/title";
import { Link, navigate } from "../router";
import { UNFINISHED } from "./ProjectsPage";
import "./ProjectPage.css";

export const SCENE_STEPS = ["image", "speech", "segment"] as const;
export const STEP_NAMES: Record<string, string> = {
  image: "picture",
  speech: "narration",
  segment: "video",
  audio: "sound (narration, music, loudness)",
  final: "joining, captions and thumbnail",
};

export type Steps = Record<string, string>;

export const stepKey = (kind: string, scene: number | null) => `${kind}:${scene ?? -1}`;

/** Applies one SSE step event to a project (progress, status, scene state). */
export function applyStep(project: Project, steps: Steps, event: StepEvent): { project: Project; steps: Steps } {
  const next = { ...steps, [stepKey(event.kind, event.scene)]: event.status };
  const scenes = project.scenes.map((scene) => {
    if (event.scene !== scene.index) return scene;
    const own = SCENE_STEPS.map((k) => next[stepKey(k, scene.index)]).filter((s): s is string => !!s);
    let status: Scene["status"] = scene.status;
    if (own.some((s) => s === "failed")) status = "failed";
    else if (own.length === SCENE_STEPS.length && own.every((s) => s === "done")) status = "done";
    else if (own.some((s) => s === "running" || s === "done")) status = "running";
    else if (own.some((s) => s === "cancelled")) status = "cancelled";
    return { ...scene, status, error: event.status === "failed" ? event.error : scene.error };
  });
  return {
    project: { ...project, status: event.project_status, progress: event.progress, scenes },
    steps: next,
  };
}

/** Steps done of a scene: from the live steps when known, else from its status. */
export function sceneDone(scene: Scene, steps: Steps): number {
  const known = SCENE_STEPS.map((k) => steps[stepKey(k, scene.index)]);
  if (known.some((s) => s !== undefined)) return known.filter((s) => s === "done").length;
  return scene.status === "done" ? SCENE_STEPS.length : 0;
}

function sceneDetail(scene: Scene, steps: Steps): string {
  const running = SCENE_STEPS.filter((k) => steps[stepKey(k, scene.index)] === "running").map((k) => STEP_NAMES[k]);
  if (running.length) return `Making the ${running.join(" and ")}`;
  return statusLabel(scene.status);
}

/** Follows a project over Server-Sent Events until it finishes. */
export function useLiveProject(id: string) {
  const [project, setProject] = useState<Project | null>(null);
  const [steps, setSteps] = useState<Steps>({});
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(false);
  // What the event handlers apply steps to: set together with `project`.
  const projectRef = useRef<Project | null>(null);
  const stepsRef = useRef<Steps>({});
  const halted = useRef(false);
  const sourceRef = useRef<EventSource | null>(null);
  const inflight = useRef<Promise<unknown>>(Promise.resolve());

  const load = useCallback(async () => {
    if (halted.current) return null;
    const request = api.projects.get(id);
    inflight.current = request.catch(() => {});
    try {
      const p = await request;
      if (halted.current) return null;
      projectRef.current = p;
      setProject(p);
      setError(null);
      return p;
    } catch (err) {
      if (!halted.current) setError(err);
      return null;
    }
  }, [id]);

  /** Stops following (before a delete): no stream, no more reads. */
  async function halt(on: boolean) {
    halted.current = on;
    if (on) {
      sourceRef.current?.close();
      await inflight.current;
    }
  }

  useEffect(() => {
    projectRef.current = null;
    setProject(null);
    setSteps({});
    stepsRef.current = {};
    void load();
  }, [load]);

  const unfinished = project ? UNFINISHED.has(project.status) : false;

  useEffect(() => {
    if (!unfinished) return;
    let source: EventSource | null = null;
    let stopped = false;
    let timer: number | undefined;
    let failures = 0;

    const finish = async () => {
      source?.close();
      setLive(false);
      await load();
      notifyUsageChanged();
    };

    const open = () => {
      if (stopped) return;
      if (halted.current) return;
      source = new EventSource(api.projects.eventsUrl(id));
      sourceRef.current = source;
      source.onopen = () => {
        failures = 0;
        setLive(true);
      };
      source.addEventListener("step", (e) => {
        const event = JSON.parse((e as MessageEvent<string>).data) as StepEvent;
        const current = projectRef.current;
        if (!current) return;
        const applied = applyStep(current, stepsRef.current, event);
        projectRef.current = applied.project;
        stepsRef.current = applied.steps;
        setProject(applied.project);
        setSteps(applied.steps);
      });
      source.addEventListener("done", (e) => {
        const done = JSON.parse((e as MessageEvent<string>).data) as DoneEvent;
        stopped = true;
        if (done.status === "deleted") {
          source?.close();
          navigate("/projects", { replace: true });
          return;
        }
        void finish();
      });
      source.onerror = () => {
        // The stream broke (network, server restart, or an expired session
        // that EventSource cannot report): close it, re-read the project
        // through the client (which refreshes the session), reopen.
        source?.close();
        setLive(false);
        if (stopped) return;
        failures += 1;
        timer = window.setTimeout(async () => {
          const p = await load();
          if (p && UNFINISHED.has(p.status)) open();
          else if (p) notifyUsageChanged();
        }, Math.min(1000 * 2 ** (failures - 1), 15000));
      };
    };
    open();
    return () => {
      stopped = true;
      source?.close();
      window.clearTimeout(timer);
    };
  }, [id, unfinished, load]);

  return { project, steps, error, live, reload: load, halt };
}

/**
 * Who made the stock photos and clips the video shows (Pexels and Pixabay
 * ask for attribution), and the same as a text file to paste elsewhere.
 * Nothing when no scene shows stock.
 */
export function Credits({ projectId, credits }: { projectId: string; credits: ProjectCredit[] }) {
  if (credits.length === 0) return null;
  return (
    <section className="credits" aria-labelledby="credits-heading">
      <h3 id="credits-heading">Credits</h3>
      <ul className="credits-list">
        {credits.map((credit) => (
          <li key={`${credit.scene}:${credit.provider}:${credit.id}`}>
            <span className="muted">Scene {credit.scene + 1}:</span>{" "}
            <a href={credit.page_url} target="_blank" rel="noopener noreferrer">
              {credit.text}
              <span className="sr-only"> (opens in a new tab)</span>
            </a>
            {credit.author_url ? (
              <>
                {" · "}
                <a href={credit.author_url} target="_blank" rel="noopener noreferrer">
                  {credit.author}
                  <span className="sr-only"> on {providerName(credit.provider)} (opens in a new tab)</span>
                </a>
              </>
            ) : null}
          </li>
        ))}
      </ul>
      <a className="btn btn-ghost btn-small" href={api.projects.fileUrl(projectId, "credits.txt")} download="credits.txt">
        Download credits.txt
      </a>
    </section>
  );
}

/** Who made a project, as a sentence: a member of the team or an API key (either may be gone since). */
export function madeBy(by: CreatedBy): string {
  if (by.kind === "api_key") return by.api_key_name ? `Made by API key “${by.api_key_name}”` : "Made by an API key since deleted";
  return by.email ? `Made by ${by.email}` : "Made by a former member of the team";
}

export function ProjectPage({ id }: { id: string }) {
  const { project, steps, error, live, reload, halt } = useLiveProject(id);
  useTitle(project ? project.title : "Project");
  const [confirming, setConfirming] = useState<"cancel" | "delete" | null>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  async function act(kind: "retry" | "cancel" | "delete") {
    setBusy(true);
    setActionError(null);
    try {
      if (kind === "retry") {
        await api.projects.retry(id);
        setNotice("The failed steps are queued again.");
        await reload();
        notifyUsageChanged();
      } else if (kind === "cancel") {
        await api.projects.cancel(id);
        setNotice("The video was cancelled.");
        await reload();
        notifyUsageChanged();
      } else {
        await halt(true);
        await api.projects.remove(id).catch(async (err: unknown) => {
          await halt(false);
          throw err;
        });
        notifyUsageChanged();
        navigate("/projects", { replace: true });
        return;
      }
      // Only the question just answered: another may have been asked meanwhile.
      setConfirming((c) => (c === kind ? null : c));
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  }

  if (!project) {
    if (error instanceof ApiError && error.status === 404) {
      return (
        <>
          <h1 tabIndex={-1}>Video not found</h1>
          <p>This video does not exist or was deleted.</p>
          <Link to="/projects">Back to your projects</Link>
        </>
      );
    }
    return error ? <ErrorAlert error={error} /> : <p className="loading">Loading the video…</p>;
  }

  const unfinished = UNFINISHED.has(project.status);
  const ready = project.video_url !== null;
  // A re-render keeps the previous video playable until the new one is ready.
  const rerendering = ready && unfinished;
  const storyboardHref = `/projects/${encodeURIComponent(project.id)}/storyboard`;
  const wholeProgress = (
    <ProgressBar
      label="Whole video"
      value={project.progress.done}
      max={project.progress.total}
      detail={`${project.progress.percent}% · ${project.progress.done} of ${project.progress.total} steps`}
      valueText={`${project.progress.percent}%, ${project.progress.done} of ${project.progress.total} steps done`}
      danger={project.status === "failed"}
    />
  );
  const finalStep = steps[stepKey("final", null)];
  const base = `/api/v1/projects/${encodeURIComponent(project.id)}`;
  // The server caches media for an hour at a fixed URL; a retry re-renders
  // it, so the player asks for the version of this update.
  const fresh = (url: string | null) => (url ? `${url}?v=${encodeURIComponent(project.updated_at)}` : undefined);

  return (
    <article className="project-page" aria-labelledby="project-title">
      <p className="crumbs">
        <Link to="/projects">← All projects</Link>
      </p>
      <div className="page-head">
        <h1 id="project-title" tabIndex={-1}>
          {project.title}
        </h1>
        <StatusBadge status={project.status} />
      </div>
      <p className="muted small project-facts">
        {project.width}×{project.height} · {project.scenes.length} scene{project.scenes.length === 1 ? "" : "s"} · language{" "}
        {project.language}
        {project.duration_seconds ? ` · ${clock(project.duration_seconds)}` : ""} · created {date(project.created_at)}
      </p>
      {project.created_by ? <p className="muted small project-author">{madeBy(project.created_by)}</p> : null}
      <p className="project-links">
        <Link to={storyboardHref} className="btn btn-secondary btn-small">
          Edit the scenes (storyboard)
        </Link>
      </p>

      {notice ? (
        <div className="alert alert-success" role="status">
          <p>{notice}</p>
        </div>
      ) : null}
      <ErrorAlert error={actionError} onDismiss={() => setActionError(null)} />

      {project.status === "partial" ? (
        <div className="alert alert-warning" role="alert">
          <div>
            <p>
              <strong>The video is ready, but some scenes used a fallback.</strong> Retry to make them again.
            </p>
            {project.warnings.length ? (
              <ul>
                {project.warnings.map((w, i) => (
                  <li key={i}>{w}</li>
                ))}
              </ul>
            ) : null}
          </div>
          <button type="button" className="btn btn-secondary btn-small" onClick={() => void act("retry")} disabled={busy}>
            Retry the fallback scenes
          </button>
        </div>
      ) : null}
      {project.status === "failed" ? (
        <div className="alert alert-error" role="alert">
          <p>
            <strong>The video could not be made.</strong> {project.error ?? "Some steps failed."} You can retry the failed
            steps.
          </p>
          <button type="button" className="btn btn-secondary btn-small" onClick={() => void act("retry")} disabled={busy}>
            Retry
          </button>
        </div>
      ) : null}
      {project.stale && !unfinished && ready ? (
        <div className="alert alert-info" role="status">
          <p>
            Scenes were edited since this video was made. <Link to={storyboardHref}>Render the changes</Link> from the
            storyboard.
          </p>
        </div>
      ) : null}
      {project.status === "cancelled" ? (
        <div className="alert alert-info" role="status">
          <p>This video was cancelled. Nothing more will be rendered.</p>
        </div>
      ) : null}

      <div className="project-columns">
        <section className="card" aria-labelledby="player-heading">
          <h2 id="player-heading">{ready ? "Your video" : project.status === "draft" ? "Storyboard ready" : "Progress"}</h2>
          {rerendering ? (
            <div className="rerender-note">
              <p className="small" role="status">
                <strong>A new version is rendering.</strong> This is the previous video; it stays here until the new one is
                ready.
              </p>
              {wholeProgress}
            </div>
          ) : null}
          {ready ? (
            <>
              <video
                className="player"
                controls
                preload="metadata"
                poster={fresh(project.thumbnail_url)}
                src={fresh(project.video_url)}
                aria-label={`Video: ${project.title}`}
              >
                {project.captions_url ? (
                  <track kind="captions" src={fresh(project.captions_url)} srcLang={project.language} label="Captions" />
                ) : null}
              </video>
              <h3 className="downloads-heading">Downloads</h3>
              <ul className="downloads">
                <li>
                  <a className="btn btn-primary" href={`${base}/video`} download={`${project.title}.mp4`}>
                    Download video (MP4)
                  </a>
                </li>
                {project.captions_url ? (
                  <>
                    <li>
                      <a className="btn btn-secondary" href={`${base}/captions.vtt`} download={`${project.title}.vtt`}>
                        Captions (WebVTT)
                      </a>
                    </li>
                    <li>
                      <a className="btn btn-secondary" href={`${base}/captions.srt`} download={`${project.title}.srt`}>
                        Captions (SRT)
                      </a>
                    </li>
                  </>
                ) : null}
              </ul>
            </>
          ) : project.status === "draft" ? (
            <>
              <p>Every scene has its picture and narration. Review and edit them, then render the video.</p>
              <Link to={storyboardHref} className="btn btn-primary">
                Open the storyboard
              </Link>
            </>
          ) : (
            <>
              {wholeProgress}
              <p className="muted small live-note" aria-live="polite">
                {unfinished
                  ? live
                    ? "Updating live."
                    : "Connecting for live updates…"
                  : project.status === "failed"
                    ? "Rendering stopped."
                    : ""}
              </p>
              {finalStep ? (
                <p className="small">
                  Final step ({STEP_NAMES.final}): {statusLabel(finalStep === "pending" || finalStep === "blocked" ? "queued" : finalStep)}
                </p>
              ) : null}
            </>
          )}
          <Credits projectId={project.id} credits={project.credits ?? []} />
          {unfinished ? (
            <div className="project-actions">
              {confirming === "cancel" ? (
                <Confirm
                  question="Cancel this video?"
                  detail="Rendering stops now and what is unused is not counted."
                  confirmLabel="Cancel the video"
                  onConfirm={() => void act("cancel")}
                  onCancel={() => setConfirming(null)}
                  busy={busy}
                />
              ) : (
                <button type="button" className="btn btn-ghost" onClick={() => setConfirming("cancel")}>
                  Cancel rendering…
                </button>
              )}
            </div>
          ) : null}
        </section>

        <section className="card" aria-labelledby="scenes-heading">
          <h2 id="scenes-heading">Scenes</h2>
          <ol className="scene-list">
            {project.scenes.map((scene) => {
              const done = sceneDone(scene, steps);
              return (
                <li key={scene.index} className={`scene scene-${scene.status}`}>
                  <p className="scene-text">{scene.text}</p>
                  <ProgressBar
                    label={`Scene ${scene.index + 1}`}
                    value={done}
                    max={SCENE_STEPS.length}
                    detail={sceneDetail(scene, steps)}
                    valueText={`${done} of ${SCENE_STEPS.length} steps: ${sceneDetail(scene, steps)}`}
                    danger={scene.status === "failed"}
                    size="small"
                  />
                  {scene.error ? <p className="field-error">{scene.error}</p> : null}
                </li>
              );
            })}
          </ol>
        </section>
      </div>

      <MusicSection project={project} locked={unfinished} onSaved={reload} idPrefix="project-page-music" withRender />

      <section className="card danger-zone" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete this video</h2>
        <p className="muted">The video, its pictures, narration and captions are removed, and your storage use goes down.</p>
        {confirming === "delete" ? (
          <Confirm
            question="Delete this video for good?"
            detail="This cannot be undone."
            confirmLabel="Delete the video"
            onConfirm={() => void act("delete")}
            onCancel={() => setConfirming(null)}
            busy={busy}
          />
        ) : (
          <button type="button" className="btn btn-danger" onClick={() => setConfirming("delete")}>
            Delete video…
          </button>
        )}
      </section>
    </article>
  );
}
