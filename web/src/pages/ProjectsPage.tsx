import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import type { CaptionStyle, ProjectSummary, Template, Usage, WrittenScript } from "../api/types";
import { VoicePicker } from "../components/VoicePicker";
import { useSession } from "../components/AppShell";
import { ErrorAlert } from "../components/ErrorAlert";
import { MusicPicker, musicInput, type MusicChoice } from "../components/MusicPicker";
import { ProgressBar } from "../components/ProgressBar";
import { ScriptWriter } from "../components/ScriptWriter";
import { StatusBadge } from "../components/StatusBadge";
import { notifyUsageChanged } from "../lib/events";
import { METRICS, clock, date, duration, number } from "../lib/format";
import { useEstimate, type LiveEstimate } from "../lib/script";
import { useAsync } from "../lib/useAsync";
import { useTitle } from "../lib/title";
import { Link, navigate } from "../router";
import "./ProjectsPage.css";

export const LANGUAGES: { code: string; name: string }[] = [
  { code: "en", name: "English" },
  { code: "de", name: "German" },
  { code: "fr", name: "French" },
  { code: "es", name: "Spanish" },
  { code: "it", name: "Italian" },
  { code: "pt", name: "Portuguese" },
  { code: "nl", name: "Dutch" },
  { code: "sv", name: "Swedish" },
  { code: "pl", name: "Polish" },
  { code: "cs", name: "Czech" },
  { code: "tr", name: "Turkish" },
  { code: "ru", name: "Russian" },
  { code: "hi", name: "Hindi" },
  { code: "ja", name: "Japanese" },
  { code: "ko", name: "Korean" },
  { code: "zh", name: "Chinese" },
];

export const UNFINISHED = new Set(["queued", "running"]);

/** The size a template renders at: Free renders at most 720p (src/projects/templates.rs). */
export function renderSize(t: Template, freePlan: boolean): string {
  const short = Math.min(t.width, t.height);
  if (!freePlan || short <= 720) return `${t.width}×${t.height}`;
  const scale = (v: number) => Math.round((v * 720) / short / 2) * 2;
  return `${scale(t.width)}×${scale(t.height)} on Free`;
}

function AspectIcon({ aspect }: { aspect: string }) {
  const [w, h] = aspect.split(":").map(Number);
  const ratio = w && h ? w / h : 1;
  const width = ratio >= 1 ? 40 : 40 * ratio;
  const height = ratio >= 1 ? 40 / ratio : 40;
  return (
    <span className="aspect-box" aria-hidden="true">
      <span style={{ width: `${width}px`, height: `${height}px` }} />
    </span>
  );
}

export function TemplatePicker({
  templates,
  value,
  onChange,
  freePlan,
  error,
}: {
  templates: Template[];
  value: string;
  onChange: (id: string) => void;
  freePlan: boolean;
  error?: string;
}) {
  return (
    <fieldset className="template-picker" aria-describedby={error ? "template-error" : undefined}>
      <legend>Template</legend>
      <div className="template-grid">
        {templates.map((t) => {
          const id = `template-${t.id}`;
          return (
            <label key={t.id} htmlFor={id} className={`template-option${value === t.id ? " template-selected" : ""}`}>
              <input
                id={id}
                type="radio"
                name="template"
                value={t.id}
                checked={value === t.id}
                onChange={() => onChange(t.id)}
                aria-describedby={`${id}-desc`}
              />
              <AspectIcon aspect={t.aspect} />
              <span className="template-text">
                <span className="template-name">
                  {t.name}
                  {t.premium ? <span className="badge badge-brand template-premium">Premium</span> : null}
                  {t.builtin === false ? <span className="badge badge-info template-own">Yours</span> : null}
                </span>
                <span id={`${id}-desc`} className="template-meta">
                  {t.aspect} · {renderSize(t, freePlan && !t.premium)}
                  {t.premium && freePlan ? " · needs Pro" : ""}
                  <span className="sr-only">. {t.description}</span>
                </span>
              </span>
            </label>
          );
        })}
      </div>
      {error ? (
        <p id="template-error" className="field-error">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

function EstimatePanel({ live, usage }: { live: LiveEstimate; usage: Usage | undefined }) {
  const e = live.estimate;
  const scenes = e?.scenes ?? 0;
  const words = e?.words ?? 0;
  const reserve = e?.reserve;
  const rows = reserve
    ? [
        {
          metric: "images_generated" as const,
          amount: reserve.images_generated,
          text: `${number(reserve.images_generated)} image${reserve.images_generated === 1 ? "" : "s"}`,
        },
        { metric: "tts_seconds" as const, amount: reserve.tts_seconds, text: `${duration(reserve.tts_seconds)} of narration` },
        { metric: "render_minutes" as const, amount: reserve.render_minutes, text: `${duration(reserve.render_minutes * 60)} of video` },
        { metric: "storage_mb" as const, amount: reserve.storage_mb, text: null },
      ]
    : [];
  const over = rows.filter((r) => {
    const m = usage?.metrics[r.metric];
    return m && m.quota !== null && m.used + m.reserved + r.amount > m.quota;
  });
  return (
    <div className="estimate" aria-live="polite" aria-busy={live.pending}>
      <p className="estimate-count">
        <strong>{scenes}</strong> scene{scenes === 1 ? "" : "s"} · {number(words)} word{words === 1 ? "" : "s"}
        {scenes >= 60 ? " (the most a video can have; paragraphs are merged)" : ""}
      </p>
      {scenes > 0 ? (
        <p className="estimate-usage">
          <span className="badge badge-neutral">Estimate</span>{" "}
          {rows.flatMap((r) => (r.text ? [r.text] : [])).join(" · ")}
        </p>
      ) : (
        <p className="field-hint">Each paragraph becomes a scene with its own picture and narration.</p>
      )}
      {live.problems.script ? <p className="field-error">The script {live.problems.script}.</p> : null}
      {live.error ? <p className="field-hint">The estimate cannot be shown right now; the script can still be sent.</p> : null}
      {over.length > 0 ? (
        <p className="field-error">
          This is more {over.map((r) => METRICS[r.metric].label.toLowerCase()).join(" and ")} than your plan has left this
          month. <Link to="/billing">Upgrade</Link> or shorten the script.
        </p>
      ) : null}
    </div>
  );
}

/**
 * The caption styles, each with a still drawn by the renderer. `value` is the
 * project's own choice; empty follows the template (`templateStyle`).
 */
function CaptionStylePicker({
  value,
  templateStyle,
  onChange,
}: {
  value: string;
  templateStyle: string | undefined;
  onChange: (v: string) => void;
}) {
  const styles = useAsync<CaptionStyle[]>(() => api.projects.captionStyles(), []);
  const shown = value || templateStyle || "line";
  if (styles.error) return <p className="field-error">Caption styles could not be loaded; the template's will be used.</p>;
  if (!styles.data) return <p className="muted">Loading caption styles…</p>;
  return (
    <fieldset className="template-picker caption-picker">
      <legend>Captions</legend>
      <div className="template-grid">
        {styles.data.map((s) => {
          const id = `caption-style-${s.id}`;
          return (
            <label key={s.id} htmlFor={id} className={`template-option${shown === s.id ? " template-selected" : ""}`}>
              <input
                id={id}
                type="radio"
                name="caption_style"
                value={s.id}
                checked={shown === s.id}
                onChange={() => onChange(s.id === templateStyle ? "" : s.id)}
                aria-describedby={`${id}-desc`}
              />
              <img className="caption-preview" src={s.preview_url} alt={`${s.name} captions`} width={320} height={180} />
              <span className="template-text">
                <span className="template-name">
                  {s.name}
                  {s.id === templateStyle ? <span className="badge template-premium">Template's</span> : null}
                </span>
                <span id={`${id}-desc`} className="template-meta">
                  {s.description}
                </span>
              </span>
            </label>
          );
        })}
      </div>
    </fieldset>
  );
}

/** Where a project opens: a storyboard (draft) on its storyboard, anything else on its page. */
export function projectHref(project: { id: string; status: string }): string {
  return project.status === "draft" ? `/projects/${project.id}/storyboard` : `/projects/${project.id}`;
}

export function CreateProjectForm({
  usage,
  onCreated,
}: {
  usage: Usage | undefined;
  /** `storyboard`: created with "Storyboard first" (no video until Render). */
  onCreated: (id: string, storyboard: boolean) => void;
}) {
  const { me } = useSession();
  const templates = useAsync<Template[]>(() => api.projects.templates(), []);
  const [title, setTitle] = useState("");
  const [script, setScript] = useState("");
  const [templateId, setTemplateId] = useState("");
  const [language, setLanguage] = useState("en");
  const [voice, setVoice] = useState("");
  const [captionStyle, setCaptionStyle] = useState("");
  const [music, setMusic] = useState<MusicChoice>(null);
  const [storyboard, setStoryboard] = useState(false);
  const [writing, setWriting] = useState(false);
  /** A script written for the form: its scenes (with their stock photos) while the text is as written. */
  const [written, setWritten] = useState<{ text: string; scenes: WrittenScript["scenes"] } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  useEffect(() => {
    const first = templates.data?.find((t) => !t.premium) ?? templates.data?.[0];
    if (!templateId && first) setTemplateId(first.id);
  }, [templates.data, templateId]);

  const plan = usage?.plan ?? me?.tenant.plan ?? "free";
  const chosen = templates.data?.find((t) => t.id === templateId);
  // The live estimate validates the same body creation will send (bar the title).
  const live = useEstimate(
    script.trim() && templateId ? { script, template_id: templateId, language, ...(voice ? { voice } : {}) } : null,
  );

  function applyWritten(written: WrittenScript) {
    const text = written.scenes.map((scene) => scene.text).join("\n\n");
    setTitle(written.title);
    setScript(text);
    setWritten({ text, scenes: written.scenes });
    setFieldErrors({});
    setWriting(false);
  }
  // Edited since it was written: the words are sent as a script (the written scenes no longer match).
  const writtenScenes = written && written.text === script ? written.scenes : null;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const local: Record<string, string> = {};
    if (!title.trim()) local.title = "Give the video a title.";
    if (!script.trim()) local.script = "Write or paste the script to narrate.";
    else if (live.problems.script) local.script = `The script ${live.problems.script}.`;
    if (!templateId) local.template_id = "Choose a template.";
    setFieldErrors(local);
    if (Object.keys(local).length > 0) {
      const first = Object.keys(local)[0];
      document.getElementById(first === "template_id" ? `template-${templates.data?.[0]?.id}` : `project-${first}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      const created = await api.projects.create({
        title: title.trim(),
        ...(writtenScenes ? { scenes: writtenScenes } : { script }),
        template_id: templateId,
        language,
        voice: voice || undefined,
        caption_style: captionStyle || undefined,
        ...(music ? { music: musicInput(music) } : {}),
        ...(storyboard ? { render: false } : {}),
      });
      notifyUsageChanged();
      onCreated(created.project_id, storyboard);
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.problem.errors) {
        setFieldErrors(Object.fromEntries(err.problem.errors.map((f) => [f.field, f.message])));
      }
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const fieldProps = (name: string) => ({
    "aria-invalid": fieldErrors[name] ? true : undefined,
    "aria-describedby": fieldErrors[name] ? `project-${name}-error` : undefined,
  });

  return (
    <section className="card create-card" aria-labelledby="create-heading">
      <h2 id="create-heading">New video</h2>
      {/* Outside the form: the dialog has its own. */}
      {writing ? <ScriptWriter language={language} onWritten={applyWritten} onClose={() => setWriting(false)} /> : null}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div className="field">
          <label htmlFor="project-title">Title</label>
          <input
            id="project-title"
            type="text"
            maxLength={200}
            required
            aria-required="true"
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            {...fieldProps("title")}
          />
          {fieldErrors.title ? (
            <p id="project-title-error" className="field-error">
              {fieldErrors.title}
            </p>
          ) : null}
        </div>
        <div className="field">
          <div className="label-row">
            <label htmlFor="project-script">Script</label>
            <button type="button" className="btn btn-secondary btn-small" onClick={() => setWriting(true)}>
              Write it for me
            </button>
          </div>
          <textarea
            id="project-script"
            required
            aria-required="true"
            value={script}
            placeholder={"One paragraph per scene.\n\nLeave a blank line between scenes."}
            onChange={(e) => setScript(e.target.value)}
            {...fieldProps("script")}
            aria-describedby={`project-script-estimate${fieldErrors.script ? " project-script-error" : ""}`}
          />
          {fieldErrors.script ? (
            <p id="project-script-error" className="field-error">
              {fieldErrors.script}
            </p>
          ) : null}
          {writtenScenes ? (
            <p className="field-hint">
              Written for you: each scene will show a stock photo of its subject. Editing the script keeps only its words.
            </p>
          ) : null}
          <div id="project-script-estimate">
            <EstimatePanel live={live} usage={usage} />
          </div>
        </div>
        {templates.data ? (
          <TemplatePicker
            templates={templates.data}
            value={templateId}
            onChange={setTemplateId}
            freePlan={plan === "free"}
            error={fieldErrors.template_id}
          />
        ) : templates.error ? (
          <ErrorAlert error={templates.error} />
        ) : (
          <p className="muted">Loading templates…</p>
        )}
        {chosen?.premium && plan === "free" ? (
          <p className="alert alert-warning small">
            {chosen.name} is a Premium template: it needs the Pro plan. <Link to="/billing">Upgrade</Link> or choose
            another template.
          </p>
        ) : null}
        <div className="form-stack">
          <div className="field">
            <label htmlFor="project-language">Language</label>
            <select
              id="project-language"
              value={language}
              onChange={(e) => {
                setLanguage(e.target.value);
                setVoice("");
              }}
              {...fieldProps("language")}
            >
              {LANGUAGES.map((l) => (
                <option key={l.code} value={l.code}>
                  {l.name}
                </option>
              ))}
            </select>
          </div>
          <VoicePicker id="project-voice" label="Voice" language={language} value={voice} onChange={setVoice} />
        </div>
        <CaptionStylePicker value={captionStyle} templateStyle={chosen?.caption_style} onChange={setCaptionStyle} />
        <MusicPicker
          value={music}
          onChange={setMusic}
          idPrefix="project-music"
          error={Object.entries(fieldErrors).find(([field]) => field.startsWith("music"))?.[1]}
        />
        <div className="check-field">
          <input
            id="project-storyboard"
            type="checkbox"
            checked={storyboard}
            onChange={(e) => setStoryboard(e.target.checked)}
            aria-describedby="project-storyboard-hint"
          />
          <div>
            <label htmlFor="project-storyboard">Storyboard first</label>
            <p id="project-storyboard-hint" className="field-hint">
              Make each scene's picture and narration first; review, edit and reorder the scenes, then render the video.
            </p>
          </div>
        </div>
        <ErrorAlert error={error} context="create" />
        <button type="submit" className="btn btn-primary create-submit" disabled={busy}>
          {busy ? (
            <>
              <span className="spinner" aria-hidden="true" /> Creating…
            </>
          ) : storyboard ? (
            "Create storyboard"
          ) : (
            "Create video"
          )}
        </button>
      </form>
    </section>
  );
}

export function ProjectCard({ project }: { project: ProjectSummary }) {
  const unfinished = UNFINISHED.has(project.status);
  return (
    <li className="project-card" data-status={project.status}>
      <div className="project-thumb">
        {project.thumbnail_url ? (
          <img src={project.thumbnail_url} alt="" loading="lazy" width={160} height={90} />
        ) : (
          <span className="project-thumb-empty" aria-hidden="true">
            ▶
          </span>
        )}
        {project.duration_seconds ? <span className="project-duration">{clock(project.duration_seconds)}</span> : null}
      </div>
      <div className="project-body">
        <h3 className="project-title">
          <Link to={projectHref(project)}>{project.title}</Link>
        </h3>
        <p className="project-meta">
          <StatusBadge status={project.status} /> <span className="muted small">{date(project.created_at)}</span>
        </p>
        {unfinished ? (
          <ProgressBar
            label={`Progress of ${project.title}`}
            hideLabel
            value={project.progress.done}
            max={project.progress.total}
            valueText={`${project.progress.percent}%, ${project.progress.done} of ${project.progress.total} steps`}
            size="small"
          />
        ) : null}
      </div>
    </li>
  );
}

export function ProjectsPage() {
  useTitle("Projects");
  const [items, setItems] = useState<ProjectSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const usage = useAsync<Usage>(() => api.usage.current(), []);

  async function loadFirst(initial: boolean) {
    try {
      const page = await api.projects.list();
      setItems((old) => {
        if (initial) return page.items;
        // A refresh of the first page: update what changed, add what is new.
        const fresh = new Map(page.items.map((p) => [p.id, p]));
        const known = new Set(old.map((p) => p.id));
        return [...page.items.filter((p) => !known.has(p.id)), ...old.map((p) => fresh.get(p.id) ?? p)];
      });
      if (initial) setCursor(page.next_cursor);
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setLoaded(true);
    }
  }

  useEffect(() => {
    void loadFirst(true);
  }, []);

  const anyUnfinished = items.some((p) => UNFINISHED.has(p.status));
  useEffect(() => {
    if (!anyUnfinished) return;
    const timer = window.setInterval(() => void loadFirst(false), 2000);
    return () => window.clearInterval(timer);
  }, [anyUnfinished]);

  async function more() {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await api.projects.list(cursor);
      setItems((old) => [...old, ...page.items.filter((p) => !old.some((o) => o.id === p.id))]);
      setCursor(page.next_cursor);
    } catch (err) {
      setError(err);
    } finally {
      setLoadingMore(false);
    }
  }

  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Projects</h1>
      </div>
      <div className="projects-layout">
        <CreateProjectForm usage={usage.data} onCreated={(id, storyboard) => navigate(storyboard ? `/projects/${id}/storyboard` : `/projects/${id}`)} />
        <section className="projects-list card" aria-labelledby="list-heading">
          <h2 id="list-heading">Your videos</h2>
          <ErrorAlert error={error} />
          {!loaded ? <p className="loading">Loading your videos…</p> : null}
          {loaded && items.length === 0 && !error ? (
            <p className="empty">No videos yet. Write a script in the form to make your first one.</p>
          ) : null}
          <ul className="project-grid">
            {items.map((p) => (
              <ProjectCard key={p.id} project={p} />
            ))}
          </ul>
          {cursor ? (
            <button type="button" className="btn btn-secondary" onClick={() => void more()} disabled={loadingMore}>
              {loadingMore ? "Loading…" : "Show more"}
            </button>
          ) : null}
        </section>
      </div>
    </>
  );
}
