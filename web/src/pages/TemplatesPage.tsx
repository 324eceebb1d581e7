import { useEffect, useId, useMemo, useState } from "react";
import { api, ApiError } from "../api";
import type { LogoSetting, MediaItem, MusicBed, Template, TemplateInput } from "../api/types";
import { useRole } from "../components/AppShell";
import { Confirm } from "../components/Confirm";
import { ErrorAlert } from "../components/ErrorAlert";
import { FilePicker } from "../components/FileDrop";
import { musicChoice, musicValue } from "../components/MusicPicker";
import { atLeast } from "../lib/roles";
import { useTitle } from "../lib/title";
import { upload } from "../lib/upload";
import "./TemplatesPage.css";

/** The motions a template cycles through, scene by scene (`render::Motion`). */
export const MOTIONS = [
  ["still", "Still"],
  ["pan_right", "Pan right"],
  ["pan_left", "Pan left"],
  ["pan_down", "Pan down"],
  ["pan_up", "Pan up"],
  ["diagonal", "Diagonal"],
] as const;
const CORNERS = [
  ["top_left", "Top left"],
  ["top_right", "Top right"],
  ["bottom_left", "Bottom left"],
  ["bottom_right", "Bottom right"],
] as const;
const MAX_COLOURS = 6;
/** How long the editor waits after the last change before asking for a preview. */
export const PREVIEW_DEBOUNCE_MS = 300;

/** The editor's state: a template as form fields ("" = the base's / none). */
export interface Draft {
  /** Set when editing one of the tenant's templates. */
  id?: string;
  base_id: string;
  name: string;
  description: string;
  palette: string[];
  text_color: string;
  heading_font: string;
  body_font: string;
  caption_font: string;
  caption_style: string;
  logo: "brand" | "none" | "image";
  logo_media: string;
  logo_corner: string;
  logo_opacity: number;
  /** `musicValue`: "", `bundled:<id>` or `media:<id>`. */
  music: string;
  music_volume: number;
  motion: string[];
  transition_seconds: number;
}

/** A new draft on `base`, or the draft of the tenant's `template` (whose base is `base`). */
export function draftOf(base: Template, template?: Template): Draft {
  const source = template ?? base;
  const logo = template?.logo;
  const image = logo && typeof logo === "object" ? logo : null;
  return {
    id: template?.id,
    base_id: base.id,
    name: template?.name ?? `${base.name} (my brand)`,
    description: template?.description ?? "",
    palette: [...source.palette],
    text_color: source.text_color,
    heading_font: template?.heading_font ?? "",
    body_font: template?.body_font ?? "",
    caption_font: template?.caption_font ?? "",
    caption_style: template && template.caption_style !== base.caption_style ? template.caption_style : "",
    logo: image ? "image" : logo === "none" ? "none" : "brand",
    logo_media: image?.media_id ?? "",
    logo_corner: image?.corner ?? "top_right",
    logo_opacity: image?.opacity ?? 0.85,
    music: musicValue(template?.music ?? null),
    music_volume: template?.music?.volume ?? 0.3,
    motion: [...source.motion],
    transition_seconds: source.transition_seconds,
  };
}

/** The create (and preview) body of a draft: only what is set. */
export function inputOf(draft: Draft): TemplateInput {
  const input: TemplateInput = {
    base_id: draft.base_id,
    name: draft.name.trim(),
    palette: draft.palette,
    text_color: draft.text_color,
    motion: draft.motion,
    transition_seconds: draft.transition_seconds,
  };
  if (draft.description.trim()) input.description = draft.description.trim();
  if (draft.heading_font) input.heading_font = draft.heading_font;
  if (draft.body_font) input.body_font = draft.body_font;
  if (draft.caption_font) input.caption_font = draft.caption_font;
  if (draft.caption_style) input.caption_style = draft.caption_style;
  if (draft.logo === "none") input.logo = "none";
  if (draft.logo === "image" && draft.logo_media) {
    input.logo = { media_id: draft.logo_media, corner: draft.logo_corner, opacity: draft.logo_opacity };
  }
  const music = musicChoice(draft.music, draft.music_volume);
  if (music) input.music = music;
  return input;
}

/** A PATCH of the whole draft: fields left unset go back to the base (`null`). */
export function patchOf(draft: Draft): Partial<Record<keyof TemplateInput, unknown>> {
  const input = inputOf(draft);
  const cleared: (keyof TemplateInput)[] = ["description", "heading_font", "body_font", "caption_font", "caption_style", "logo", "music"];
  const patch: Partial<Record<keyof TemplateInput, unknown>> = { ...input };
  for (const key of cleared) if (input[key] === undefined) patch[key] = null;
  return patch;
}

function Swatches({ colours }: { colours: string[] }) {
  return (
    <span className="tpl-swatches" aria-hidden="true">
      {colours.map((c, i) => (
        <span key={`${c}-${i}`} className="tpl-swatch" style={{ background: c }} />
      ))}
    </span>
  );
}

function logoLabel(logo: LogoSetting): string {
  if (logo === "none") return "No logo";
  if (logo === "brand") return "Account logo";
  return "Own logo";
}

/** The live still: asks the server (the render's own drawing) after each pause in editing. */
function usePreview(input: TemplateInput) {
  const key = JSON.stringify(input);
  const [state, setState] = useState<{ url: string | null; error: unknown; busy: boolean }>({ url: null, error: null, busy: false });
  useEffect(() => {
    const controller = new AbortController();
    let url: string | null = null;
    const timer = window.setTimeout(async () => {
      setState((s) => ({ ...s, busy: true }));
      try {
        const png = await api.templates.preview(JSON.parse(key) as TemplateInput, controller.signal);
        url = URL.createObjectURL(png);
        setState({ url, error: null, busy: false });
      } catch (err) {
        if ((err as Error)?.name === "AbortError") return;
        setState((s) => ({ ...s, error: err, busy: false }));
      }
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [key]);
  return state;
}

function TemplateEditor({
  initial,
  builtins,
  media,
  beds,
  onSaved,
  onCancel,
  onUploaded,
}: {
  initial: Draft;
  builtins: Template[];
  media: MediaItem[];
  beds: MusicBed[];
  onSaved: (template: Template) => void;
  onCancel: () => void;
  onUploaded: (item: MediaItem) => void;
}) {
  const [draft, setDraft] = useState<Draft>(initial);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [uploadError, setUploadError] = useState<unknown>(null);
  const [uploading, setUploading] = useState(false);
  const input = useMemo(() => inputOf(draft), [draft]);
  const preview = usePreview({ ...input, name: input.name || "Preview" });
  const uid = useId();
  const fonts = media.filter((m) => m.kind === "font");
  const pictures = media.filter((m) => m.kind === "image");
  const sounds = media.filter((m) => m.kind === "audio");
  const fieldError = (field: string) => (error instanceof ApiError ? error.fieldError(field) : undefined);
  const previewProblem = preview.error instanceof ApiError && preview.error.status === 422 ? preview.error : null;
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));

  async function save(event: React.FormEvent) {
    event.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const saved = draft.id ? await api.templates.update(draft.id, patchOf(draft)) : await api.templates.create(input);
      onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  }

  async function uploadFont(file: File) {
    setUploading(true);
    setUploadError(null);
    try {
      const item = await upload(file);
      onUploaded(item);
      setDraft((d) => (d.heading_font ? d : { ...d, heading_font: item.id }));
    } catch (err) {
      setUploadError(err);
    } finally {
      setUploading(false);
    }
  }

  function fontSelect(key: "heading_font" | "body_font" | "caption_font", label: string, none: string) {
    const id = `${uid}-${key}`;
    const problem = fieldError(key);
    return (
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <select id={id} value={draft[key]} onChange={(e) => set(key, e.target.value)} aria-invalid={problem ? true : undefined}>
          <option value="">{none}</option>
          {fonts.map((f) => (
            <option key={f.id} value={f.id}>
              {f.filename}
            </option>
          ))}
        </select>
        {problem ? <p className="field-error">{problem}</p> : null}
      </div>
    );
  }

  return (
    <section className="card tpl-editor" aria-labelledby={`${uid}-title`}>
      <h2 id={`${uid}-title`}>{draft.id ? `Edit “${initial.name}”` : "New brand template"}</h2>
      <div className="tpl-editor-layout">
        <form onSubmit={(e) => void save(e)} noValidate>
          <div className="field">
            <label htmlFor={`${uid}-name`}>Name</label>
            <input id={`${uid}-name`} type="text" value={draft.name} maxLength={100} onChange={(e) => set("name", e.target.value)} required />
            {fieldError("name") ? <p className="field-error">{fieldError("name")}</p> : null}
          </div>
          <div className="field">
            <label htmlFor={`${uid}-base`}>Built on</label>
            <select id={`${uid}-base`} value={draft.base_id} onChange={(e) => set("base_id", e.target.value)}>
              {builtins.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name} ({b.aspect})
                </option>
              ))}
            </select>
          </div>
          <fieldset className="field">
            <legend>Card colours</legend>
            <div className="tpl-colours">
              {draft.palette.map((colour, i) => (
                <span key={i} className="tpl-colour">
                  <input
                    type="color"
                    aria-label={`Colour ${i + 1}`}
                    value={colour}
                    onChange={(e) => set("palette", draft.palette.map((c, j) => (j === i ? e.target.value : c)))}
                  />
                  {draft.palette.length > 1 ? (
                    <button
                      type="button"
                      className="btn btn-ghost btn-small"
                      aria-label={`Remove colour ${i + 1}`}
                      onClick={() => set("palette", draft.palette.filter((_, j) => j !== i))}
                    >
                      ×
                    </button>
                  ) : null}
                </span>
              ))}
              {draft.palette.length < MAX_COLOURS ? (
                <button type="button" className="btn btn-secondary btn-small" onClick={() => set("palette", [...draft.palette, "#1e3a8a"])}>
                  Add colour
                </button>
              ) : null}
            </div>
            {fieldError("palette") ? <p className="field-error">{fieldError("palette")}</p> : null}
          </fieldset>
          <div className="field">
            <label htmlFor={`${uid}-text`}>Text colour</label>
            <input id={`${uid}-text`} type="color" value={draft.text_color} onChange={(e) => set("text_color", e.target.value)} />
          </div>
          {fontSelect("heading_font", "Title font", "Built-in (DejaVu Sans)")}
          {fontSelect("body_font", "Text font", "Same as the title font")}
          {fontSelect("caption_font", "Caption font", "Same as the text font")}
          <div className="field">
            <FilePicker
              id={`${uid}-font-upload`}
              label={uploading ? "Uploading…" : "Upload a font (TTF or OTF)"}
              accept=".ttf,.otf,font/ttf,font/otf"
              onFile={(file) => void uploadFont(file)}
              disabled={uploading}
            />
            {uploadError ? <ErrorAlert error={uploadError} /> : null}
          </div>
          <div className="field">
            <label htmlFor={`${uid}-captions`}>Captions</label>
            <select id={`${uid}-captions`} value={draft.caption_style} onChange={(e) => set("caption_style", e.target.value)}>
              <option value="">As the base template</option>
              <option value="line">Line by line</option>
              <option value="karaoke">Karaoke (word by word)</option>
              <option value="pop">Pop (big words)</option>
            </select>
          </div>
          <fieldset className="field">
            <legend>Logo</legend>
            <select aria-label="Logo" value={draft.logo} onChange={(e) => set("logo", e.target.value as Draft["logo"])}>
              <option value="brand">The account's logo (Account page)</option>
              <option value="none">No logo</option>
              <option value="image">A picture of my media library</option>
            </select>
            {draft.logo === "image" ? (
              <div className="tpl-logo">
                <select aria-label="Logo picture" value={draft.logo_media} onChange={(e) => set("logo_media", e.target.value)}>
                  <option value="">Choose a picture…</option>
                  {pictures.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.filename}
                    </option>
                  ))}
                </select>
                <select aria-label="Logo corner" value={draft.logo_corner} onChange={(e) => set("logo_corner", e.target.value)}>
                  {CORNERS.map(([value, label]) => (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  ))}
                </select>
                <label>
                  Opacity{" "}
                  <input
                    type="range"
                    min={0}
                    max={1}
                    step={0.05}
                    value={draft.logo_opacity}
                    onChange={(e) => set("logo_opacity", Number(e.target.value))}
                  />
                </label>
              </div>
            ) : null}
            {fieldError("logo.media_id") ? <p className="field-error">{fieldError("logo.media_id")}</p> : null}
            <p className="hint">Free plans show the Reelforge watermark instead of a logo.</p>
          </fieldset>
          <div className="field">
            <label htmlFor={`${uid}-music`}>Music</label>
            <select id={`${uid}-music`} value={draft.music} onChange={(e) => set("music", e.target.value)}>
              <option value="">No music</option>
              {beds.map((b) => (
                <option key={b.id} value={`bundled:${b.id}`}>
                  {b.name}
                </option>
              ))}
              {sounds.map((s) => (
                <option key={s.id} value={`media:${s.id}`}>
                  {s.filename}
                </option>
              ))}
            </select>
          </div>
          <fieldset className="field">
            <legend>Motion, scene by scene</legend>
            <div className="tpl-motions">
              {MOTIONS.map(([value, label]) => (
                <label key={value} className="checkbox">
                  <input
                    type="checkbox"
                    checked={draft.motion.includes(value)}
                    onChange={(e) =>
                      set("motion", e.target.checked ? [...draft.motion, value] : draft.motion.filter((m) => m !== value))
                    }
                  />{" "}
                  {label}
                </label>
              ))}
            </div>
            {fieldError("motion") ? <p className="field-error">{fieldError("motion")}</p> : null}
          </fieldset>
          <div className="field">
            <label htmlFor={`${uid}-transition`}>Crossfade between scenes: {draft.transition_seconds.toFixed(1)} s</label>
            <input
              id={`${uid}-transition`}
              type="range"
              min={0}
              max={2}
              step={0.1}
              value={draft.transition_seconds}
              onChange={(e) => set("transition_seconds", Number(e.target.value))}
            />
          </div>
          {error && !(error instanceof ApiError && error.status === 422) ? <ErrorAlert error={error} /> : null}
          {error instanceof ApiError && error.status === 422 ? (
            <p role="alert" className="alert alert-error">
              Some fields need a change: {error.problem.errors?.map((e) => e.field).join(", ")}.
            </p>
          ) : null}
          <div className="btn-row">
            <button type="submit" className="btn btn-primary" disabled={saving}>
              {saving ? "Saving…" : draft.id ? "Save changes" : "Create template"}
            </button>
            <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={saving}>
              Cancel
            </button>
          </div>
        </form>
        <figure className="tpl-preview" aria-busy={preview.busy}>
          {preview.url ? <img src={preview.url} alt="Preview: a title card and a caption in this template" /> : <div className="tpl-preview-empty" />}
          <figcaption>
            {previewProblem
              ? `The preview shows again once these are fixed: ${previewProblem.problem.errors?.map((e) => e.field).join(", ")}.`
              : preview.error
                ? "The preview could not be drawn just now."
                : "Drawn by the same code as your videos."}
          </figcaption>
        </figure>
      </div>
    </section>
  );
}

function TemplateCard({
  template,
  onUse,
  onEdit,
  onDeleted,
}: {
  template: Template;
  onUse?: () => void;
  onEdit?: () => void;
  onDeleted?: (id: string) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function remove() {
    setBusy(true);
    try {
      await api.templates.remove(template.id);
      onDeleted?.(template.id);
    } catch (err) {
      setError(err);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  }
  return (
    <li className="card tpl-card">
      <h3>
        {template.name} {template.premium ? <span className="badge badge-brand">Premium</span> : null}
      </h3>
      <Swatches colours={template.palette} />
      <p className="tpl-meta">
        {template.aspect} · {template.width}×{template.height} · captions {template.caption_style}
        {template.builtin ? null : ` · ${logoLabel(template.logo)}`}
      </p>
      {template.description ? <p className="tpl-desc">{template.description}</p> : null}
      {error ? <ErrorAlert error={error} /> : null}
      {confirming ? (
        <Confirm
          question={`Delete “${template.name}”?`}
          detail="Projects made with it keep their look."
          confirmLabel="Delete template"
          onConfirm={() => void remove()}
          onCancel={() => setConfirming(false)}
          busy={busy}
        />
      ) : (
        <div className="btn-row">
          {onUse ? (
            <button type="button" className="btn btn-secondary" onClick={onUse}>
              Use as base<span className="sr-only"> for a template like {template.name}</span>
            </button>
          ) : null}
          {onEdit ? (
            <button type="button" className="btn btn-secondary" onClick={onEdit}>
              Edit<span className="sr-only"> {template.name}</span>
            </button>
          ) : null}
          {onDeleted ? (
            <button type="button" className="btn btn-ghost" onClick={() => setConfirming(true)}>
              Delete<span className="sr-only"> {template.name}</span>
            </button>
          ) : null}
        </div>
      )}
    </li>
  );
}

/** Brand templates: the built-ins to start from, your own, and the editor with its live still. */
export function TemplatesPage() {
  useTitle("Templates");
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [media, setMedia] = useState<MediaItem[]>([]);
  const [beds, setBeds] = useState<MusicBed[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<Draft | null>(null);
  // Making and changing templates is for admins and the owner (the server refuses members).
  const role = useRole();
  const canEdit = atLeast(role, "admin");

  useEffect(() => {
    api.templates.list().then(setTemplates, setError);
    api.media.list(undefined, 100).then((page) => setMedia(page.items), () => setMedia([]));
    api.music.beds().then(setBeds, () => setBeds([]));
  }, []);

  const builtins = (templates ?? []).filter((t) => t.builtin);
  const own = (templates ?? []).filter((t) => !t.builtin);
  const baseOf = (t: Template) => builtins.find((b) => b.id === t.base_id);

  return (
    <>
      <h1>Templates</h1>
      <p className="lede">Your colours, fonts, logo and music on every video: make a template on a built-in one.</p>
      {role !== null && !canEdit ? (
        <p className="alert alert-info">
          Admins and the team&rsquo;s owner make and change brand templates. You can use any of these when you create a
          video.
        </p>
      ) : null}
      {error ? <ErrorAlert error={error} /> : null}
      {templates === null && !error ? <p role="status">Loading…</p> : null}
      {editing && canEdit ? (
        <TemplateEditor
          key={editing.id ?? `new-${editing.base_id}`}
          initial={editing}
          builtins={builtins}
          media={media}
          beds={beds}
          onUploaded={(item) => setMedia((m) => [item, ...m])}
          onCancel={() => setEditing(null)}
          onSaved={(saved) => {
            setTemplates((list) => [...(list ?? []).filter((t) => t.id !== saved.id), saved]);
            setEditing(null);
          }}
        />
      ) : null}
      {templates ? (
        <>
          <section aria-labelledby="own-templates">
            <h2 id="own-templates">Your templates</h2>
            {own.length === 0 ? <p>{canEdit ? "None yet: start from a built-in template below." : "None yet."}</p> : null}
            <ul className="tpl-grid">
              {own.map((t) => {
                const base = baseOf(t);
                return (
                  <TemplateCard
                    key={t.id}
                    template={t}
                    onEdit={base && canEdit ? () => setEditing(draftOf(base, t)) : undefined}
                    onDeleted={canEdit ? (id) => setTemplates((list) => (list ?? []).filter((x) => x.id !== id)) : undefined}
                  />
                );
              })}
            </ul>
          </section>
          <section aria-labelledby="builtin-templates">
            <h2 id="builtin-templates">Built-in templates</h2>
            <ul className="tpl-grid">
              {builtins.map((t) => (
                <TemplateCard key={t.id} template={t} onUse={canEdit ? () => setEditing(draftOf(t)) : undefined} />
              ))}
            </ul>
          </section>
        </>
      ) : null}
    </>
  );
}
