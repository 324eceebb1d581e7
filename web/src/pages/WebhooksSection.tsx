import { Fragment, useCallback, useEffect, useLayoutEffect, useRef, useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import type {
  CreatedWebhookEndpoint,
  NewWebhookEndpoint,
  WebhookDelivery,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookEndpointPatch,
  WebhookEvent,
} from "../api/types";
import { Confirm } from "../components/Confirm";
import { ErrorAlert } from "../components/ErrorAlert";
import { SecretBox } from "../components/SecretBox";
import { TableWrap } from "../components/TableWrap";
import { date } from "../lib/format";

/**
 * Every event an endpoint can subscribe to, in the server's order, with what
 * it means. The server does not list them (see `WebhookEvent`).
 */
export const WEBHOOK_EVENTS: { id: WebhookEvent; label: string; hint: string }[] = [
  { id: "project.draft_ready", label: "Storyboard ready", hint: "a storyboard's pictures and narration are made" },
  { id: "project.completed", label: "Video ready", hint: "a video is finished" },
  { id: "project.partial", label: "Video ready with warnings", hint: "finished, some scenes made by a fallback" },
  { id: "project.failed", label: "Project failed", hint: "a project could not be made" },
  { id: "batch.completed", label: "Batch finished", hint: "every row of a batch is finished, failed or cancelled" },
  { id: "export.ready", label: "Data export ready", hint: "an account export can be downloaded" },
  { id: "usage.near_limit", label: "Near a usage limit", hint: "a metric passed 90% of its monthly quota" },
  { id: "subscription.updated", label: "Subscription changed", hint: "plan, status or renewal" },
];

/** The most endpoints a workspace may have (the server's `MAX_ENDPOINTS`). */
export const MAX_ENDPOINTS = 10;
const MAX_DESCRIPTION = 200;
const DELIVERIES_PAGE = 10;
/** The Standard Webhooks project's verification libraries, one per language. */
export const LIBRARIES_URL = "https://github.com/standard-webhooks/standard-webhooks/tree/main/libraries";

export function eventLabel(event: string): string {
  if (event === "webhook.test") return "Test event";
  return WEBHOOK_EVENTS.find((e) => e.id === event)?.label ?? event;
}

/** How a person names an endpoint: its description, else its URL. */
function endpointName(endpoint: WebhookEndpoint): string {
  return endpoint.description || endpoint.url;
}

const FIELD_SUBJECTS: Record<string, string> = { url: "The URL", description: "The description", events: "The event list" };

/** A 422's field errors as sentences, by field (empty for any other error). */
function fieldMessages(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || error.status !== 422 || !error.problem.errors) return {};
  return Object.fromEntries(
    error.problem.errors.map((e) => {
      const text = e.message.replace(/\.$/, "");
      const subject = FIELD_SUBJECTS[e.field];
      const sentence = subject && /^must\b/.test(text) ? `${subject} ${text}.` : `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
      return [e.field, sentence];
    }),
  );
}

function sameEvents(a: WebhookEvent[], b: WebhookEvent[]): boolean {
  return a.length === b.length && a.every((e) => b.includes(e));
}

interface EndpointValues {
  url: string;
  description: string;
  /** Empty: every event. */
  events: WebhookEvent[];
}

/**
 * URL, description and events of an endpoint: the "New endpoint" form and
 * an endpoint's Edit form. The server's 422 lands next to its field.
 */
function EndpointForm({
  idPrefix,
  heading,
  initial,
  submitLabel,
  busyLabel,
  onSubmit,
  onCancel,
}: {
  idPrefix: string;
  heading: string;
  initial?: EndpointValues;
  submitLabel: string;
  busyLabel: string;
  /** Throws the API's error. */
  onSubmit: (values: EndpointValues) => Promise<void>;
  onCancel?: () => void;
}) {
  const [url, setUrl] = useState(initial?.url ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [all, setAll] = useState((initial?.events.length ?? 0) === 0);
  const [chosen, setChosen] = useState<WebhookEvent[]>(initial?.events ?? []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const noEvent = !all && chosen.length === 0;
  const id = (name: string) => `${idPrefix}-${name}`;

  function focusField(name: string) {
    const target = name === "events" ? (all ? id("events-all") : id(`event-${WEBHOOK_EVENTS[0]?.id ?? ""}`)) : id(name);
    document.getElementById(target)?.focus();
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy || noEvent) return;
    setError(null);
    const trimmed = url.trim();
    const local: Record<string, string> = {};
    if (!trimmed) local.url = "Enter the URL Reelforge should send events to.";
    else if (!/^https?:\/\//i.test(trimmed)) local.url = "Enter a full URL, starting with https://.";
    setFields(local);
    if (local.url) {
      focusField("url");
      return;
    }
    setBusy(true);
    try {
      // Sent in the server's order, so the list reads the same everywhere.
      const events = all ? [] : WEBHOOK_EVENTS.map((ev) => ev.id).filter((ev) => chosen.includes(ev));
      await onSubmit({ url: trimmed, description: description.trim(), events });
    } catch (err) {
      const found = fieldMessages(err);
      const shown = Object.keys(found).filter((f) => f in FIELD_SUBJECTS);
      setFields(found);
      // A refusal that names none of these fields is said above the button.
      const first = shown[0];
      if (first === undefined) setError(err);
      else focusField(first);
    } finally {
      setBusy(false);
    }
  }

  /** A field's error goes once the field is changed. */
  function edited(name: string) {
    if (fields[name]) setFields(({ [name]: _gone, ...rest }) => rest);
  }

  function toggle(event: WebhookEvent, on: boolean) {
    edited("events");
    setChosen((current) => (on ? [...current, event] : current.filter((e) => e !== event)));
  }

  const invalid = (name: string) => ({
    "aria-invalid": fields[name] ? true : undefined,
    "aria-describedby": [name === "url" ? id("url-hint") : null, fields[name] ? id(`${name}-error`) : null].filter(Boolean).join(" ") || undefined,
  });
  const fieldError = (name: string) =>
    fields[name] ? (
      <p id={id(`${name}-error`)} className="field-error">
        {fields[name]}
      </p>
    ) : null;

  return (
    <form className="form-stack webhook-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={id("heading")}>
      <h4 id={id("heading")}>{heading}</h4>
      <div className="field">
        <label htmlFor={id("url")}>Endpoint URL</label>
        <input
          id={id("url")}
          type="text"
          inputMode="url"
          value={url}
          placeholder="https://example.com/hooks/reelforge"
          autoComplete="off"
          spellCheck={false}
          required
          aria-required="true"
          onChange={(e) => {
            edited("url");
            setUrl(e.target.value);
          }}
          {...invalid("url")}
        />
        <p id={id("url-hint")} className="field-hint">
          A public <code>https</code> address; Reelforge POSTs each event there.
        </p>
        {fieldError("url")}
      </div>
      <div className="field">
        <label htmlFor={id("description")}>
          Description <span className="muted">(optional)</span>
        </label>
        <input
          id={id("description")}
          type="text"
          value={description}
          maxLength={MAX_DESCRIPTION}
          placeholder="e.g. Publish finished videos"
          autoComplete="off"
          onChange={(e) => {
            edited("description");
            setDescription(e.target.value);
          }}
          {...invalid("description")}
        />
        {fieldError("description")}
      </div>
      <fieldset className="webhook-events" aria-describedby={fields.events ? id("events-error") : undefined}>
        <legend>Events to send</legend>
        <div className="check-field">
          <input
            id={id("events-all")}
            type="radio"
            name={id("events-mode")}
            checked={all}
            onChange={() => {
              edited("events");
              setAll(true);
            }}
          />
          <div>
            <label htmlFor={id("events-all")}>All events</label>
            <div className="muted small">also those added later</div>
          </div>
        </div>
        <div className="check-field">
          <input
            id={id("events-some")}
            type="radio"
            name={id("events-mode")}
            checked={!all}
            onChange={() => {
              edited("events");
              setAll(false);
            }}
          />
          <label htmlFor={id("events-some")}>Only the events chosen here</label>
        </div>
        {!all ? (
          <div className="webhook-event-choices" role="group" aria-label="Events">
            {WEBHOOK_EVENTS.map((ev) => (
              <div className="check-field" key={ev.id}>
                <input
                  id={id(`event-${ev.id}`)}
                  type="checkbox"
                  checked={chosen.includes(ev.id)}
                  onChange={(e) => toggle(ev.id, e.target.checked)}
                  aria-describedby={id(`event-${ev.id}-hint`)}
                />
                <div>
                  <label htmlFor={id(`event-${ev.id}`)}>{ev.label}</label> <code className="small">{ev.id}</code>
                  <div id={id(`event-${ev.id}-hint`)} className="muted small">
                    {ev.hint}
                  </div>
                </div>
              </div>
            ))}
            {noEvent ? <p className="field-error">Choose at least one event, or All events.</p> : null}
          </div>
        ) : null}
        {fieldError("events")}
      </fieldset>
      <ErrorAlert error={error} />
      <div className="btn-row">
        <button type="submit" className="btn btn-primary" disabled={busy || noEvent}>
          {busy ? busyLabel : submitLabel}
        </button>
        {onCancel ? (
          <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}

const DELIVERY_STATUS: Record<WebhookDeliveryStatus, { label: string; tone: string }> = {
  succeeded: { label: "Delivered", tone: "success" },
  pending: { label: "Retrying", tone: "warning" },
  failed: { label: "Failed", tone: "danger" },
};

function DeliveryBadge({ delivery }: { delivery: WebhookDelivery }) {
  // A pending delivery not tried yet is queued, not retrying.
  const known = DELIVERY_STATUS[delivery.status] ?? { label: delivery.status, tone: "neutral" };
  const { label, tone } = delivery.status === "pending" && delivery.attempt === 0 ? { label: "Queued", tone: "neutral" } : known;
  return <span className={`badge badge-${tone}`}>{label}</span>;
}

/** An endpoint's delivery log: newest first, "Send again" per delivery, "Load more". */
function DeliveriesPanel({ endpoint, panelId }: { endpoint: WebhookEndpoint; panelId: string }) {
  const [items, setItems] = useState<WebhookDelivery[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [resending, setResending] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  /** The deliveries whose payload is shown. */
  const [opened, setOpened] = useState<string[]>([]);
  const endpointId = endpoint.id;

  async function load(next?: string) {
    setLoading(true);
    setError(null);
    try {
      const page = await api.webhooks.deliveries(endpointId, next, DELIVERIES_PAGE);
      setItems((old) => (next ? [...old, ...page.items.filter((d) => !old.some((o) => o.id === d.id))] : page.items));
      setCursor(page.next_cursor);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
      setLoaded(true);
    }
  }

  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the first page, once per endpoint (the panel is remounted to reload).
  }, [endpointId]);

  async function resend(delivery: WebhookDelivery) {
    setResending(delivery.id);
    setError(null);
    setNotice(null);
    try {
      const queued = await api.webhooks.resend(endpointId, delivery.id);
      setItems((old) => [queued, ...old]);
      setNotice(`“${eventLabel(delivery.event)}” queued again as a new delivery.`);
    } catch (err) {
      setError(err);
    } finally {
      setResending(null);
    }
  }

  const headingId = `${panelId}-heading`;
  return (
    <div id={panelId} className="webhook-deliveries">
      <div className="webhook-deliveries-head">
        <h5 id={headingId}>Deliveries</h5>
        <button type="button" className="btn btn-ghost btn-small" onClick={() => void load()} disabled={loading}>
          Refresh
        </button>
      </div>
      <p className="muted small">
        Failed deliveries are tried again for about a day, then given up. “Send again” sends the same message (same{" "}
        <code>webhook-id</code>) as a new delivery.
      </p>
      <p className="muted small webhook-notice" role="status">
        {notice}
      </p>
      <ErrorAlert error={error} />
      {!loaded && loading ? <p className="muted">Loading…</p> : null}
      {loaded && items.length === 0 && !error ? <p className="muted">Nothing sent to this endpoint yet.</p> : null}
      {items.length > 0 ? (
        <TableWrap label={`Deliveries to ${endpointName(endpoint)}`}>
          {/* The explicit roles keep it a table when a phone's CSS stacks its cells. */}
          <table className="delivery-table" role="table">
            <thead role="rowgroup">
              <tr role="row">
                <th scope="col" role="columnheader">When</th>
                <th scope="col" role="columnheader">Event</th>
                <th scope="col" role="columnheader">Status</th>
                <th scope="col" role="columnheader">HTTP</th>
                <th scope="col" role="columnheader">Time</th>
                <th scope="col" role="columnheader">Attempts</th>
                <th scope="col" role="columnheader">Next attempt</th>
                <th scope="col" role="columnheader">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody role="rowgroup">
              {items.map((d) => (
                <Fragment key={d.id}>
                  <tr role="row">
                    <td role="cell" className="nowrap" data-label="When">{date(d.created_at)}</td>
                    <td role="cell" data-label="Event">
                      <div>
                        {eventLabel(d.event)}
                        <div>
                          <button
                            type="button"
                            className="btn-link small"
                            aria-expanded={opened.includes(d.id)}
                            aria-controls={`${panelId}-${d.id}-payload`}
                            aria-label={`Payload: ${eventLabel(d.event)}, ${date(d.created_at)}`}
                            onClick={() => setOpened((o) => (o.includes(d.id) ? o.filter((x) => x !== d.id) : [...o, d.id]))}
                          >
                            Payload
                          </button>
                        </div>
                      </div>
                    </td>
                    <td role="cell" data-label="Status">
                      <div>
                        <DeliveryBadge delivery={d} />
                        {d.error ? <div className="small delivery-error">{d.error}</div> : null}
                      </div>
                    </td>
                    <td role="cell" data-label="HTTP">{d.status_code ?? "—"}</td>
                    <td role="cell" className="nowrap" data-label="Time">{d.duration_ms == null ? "—" : `${d.duration_ms} ms`}</td>
                    <td role="cell" data-label="Attempts">{d.attempt}</td>
                    <td role="cell" className="nowrap" data-label="Next attempt">{d.next_attempt_at ? date(d.next_attempt_at) : "—"}</td>
                    <td role="cell">
                      <button
                        type="button"
                        className="btn btn-ghost btn-small nowrap"
                        aria-label={`Send again: ${eventLabel(d.event)}, ${date(d.created_at)}`}
                        disabled={resending !== null}
                        onClick={() => void resend(d)}
                      >
                        {resending === d.id ? "Sending…" : "Send again"}
                      </button>
                    </td>
                  </tr>
                  {opened.includes(d.id) ? (
                    <tr className="delivery-payload-row" role="row">
                      <td role="cell" colSpan={8} id={`${panelId}-${d.id}-payload`}>
                        <p className="small">
                          <span className="muted">webhook-id</span> <code>{d.message_id}</code>
                        </p>
                        <pre className="webhook-payload">{JSON.stringify(d.payload, null, 2)}</pre>
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      {cursor ? (
        <button type="button" className="btn btn-ghost btn-small" onClick={() => void load(cursor)} disabled={loading}>
          {loading ? "Loading…" : "Load more"}
        </button>
      ) : null}
    </div>
  );
}

/** One endpoint: its state and events, and what can be done with it. */
function EndpointItem({
  endpoint,
  onChanged,
  onDeleted,
}: {
  endpoint: WebhookEndpoint;
  onChanged: (endpoint: WebhookEndpoint) => void;
  onDeleted: (id: string) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [showDeliveries, setShowDeliveries] = useState(false);
  /** Bumped to load the delivery log afresh (after a test event). */
  const [logVersion, setLogVersion] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);
  /** Set when the edit form or the delete question closes: its button takes the focus back. */
  const refocus = useRef<"edit" | "delete" | null>(null);
  const name = endpointName(endpoint);

  // A layout effect: the focus moves in the same commit that removes the form,
  // so it is never left on the page's body for a frame (nor for a test's check).
  useLayoutEffect(() => {
    if (!editing && !deleting && refocus.current) {
      (refocus.current === "edit" ? editButton : deleteButton).current?.focus();
      refocus.current = null;
    }
  }, [editing, deleting]);

  function closeEditor() {
    refocus.current = "edit";
    setEditing(false);
  }
  const base = `webhook-${endpoint.id}`;

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const toggle = () =>
    run(async () => {
      const updated = await api.webhooks.update(endpoint.id, { enabled: !endpoint.enabled });
      onChanged(updated);
      setNotice(updated.enabled ? "Turned on: waiting deliveries go out now." : "Turned off: nothing is sent to it until it is turned on.");
    });

  const sendTest = () =>
    run(async () => {
      await api.webhooks.test(endpoint.id);
      setNotice("Test event queued. See how it went in the deliveries below.");
      setShowDeliveries(true);
      setLogVersion((v) => v + 1);
    });

  const remove = () =>
    run(async () => {
      await api.webhooks.remove(endpoint.id);
      onDeleted(endpoint.id);
    });

  async function save(values: EndpointValues) {
    const patch: WebhookEndpointPatch = {};
    if (values.url !== endpoint.url) patch.url = values.url;
    if (values.description !== endpoint.description) patch.description = values.description;
    if (!sameEvents(values.events, endpoint.events)) patch.events = values.events;
    if (Object.keys(patch).length > 0) onChanged(await api.webhooks.update(endpoint.id, patch));
    closeEditor();
    setNotice(Object.keys(patch).length > 0 ? "Saved." : "Nothing changed.");
  }

  return (
    <li className="webhook-item">
      <div className="webhook-head">
        <div className="webhook-title">
          <h4 id={`${base}-url`} className="webhook-url mono">
            {endpoint.url}
          </h4>
          {endpoint.description ? <p className="webhook-description">{endpoint.description}</p> : null}
        </div>
        <EndpointState endpoint={endpoint} />
      </div>
      <div className="webhook-event-list">
        <span className="muted small">Events: </span>
        {endpoint.events.length === 0 ? (
          <span className="scope-chip">All events</span>
        ) : (
          endpoint.events.map((ev) => (
            <span key={ev} className="scope-chip" title={ev}>
              {eventLabel(ev)}
            </span>
          ))
        )}
      </div>
      {editing ? (
        <EndpointForm
          idPrefix={`${base}-edit`}
          heading={`Edit ${name}`}
          initial={{ url: endpoint.url, description: endpoint.description, events: endpoint.events }}
          submitLabel="Save changes"
          busyLabel="Saving…"
          onSubmit={save}
          onCancel={closeEditor}
        />
      ) : (
        <div className="btn-row">
          <button type="button" className="btn btn-secondary btn-small" disabled={busy} onClick={() => void toggle()} aria-label={`${endpoint.enabled ? "Turn off" : "Turn on"} ${name}`}>
            {endpoint.enabled ? "Turn off" : "Turn on"}
          </button>
          <button
            type="button"
            className="btn btn-ghost btn-small"
            ref={editButton}
            disabled={busy}
            onClick={() => {
              setNotice(null);
              setEditing(true);
            }}
            aria-label={`Edit ${name}`}
          >
            Edit
          </button>
          <button type="button" className="btn btn-ghost btn-small" disabled={busy} onClick={() => void sendTest()} aria-label={`Send test event to ${name}`}>
            Send test event
          </button>
          <button
            type="button"
            className="btn btn-ghost btn-small"
            aria-expanded={showDeliveries}
            aria-controls={`${base}-deliveries`}
            onClick={() => setShowDeliveries((v) => !v)}
            aria-label={`Deliveries to ${name}`}
          >
            Deliveries <span aria-hidden="true">{showDeliveries ? "▴" : "▾"}</span>
          </button>
          <button
            type="button"
            className="btn btn-ghost btn-small"
            ref={deleteButton}
            disabled={busy}
            onClick={() => setDeleting(true)}
            aria-label={`Delete ${name}`}
          >
            Delete
          </button>
        </div>
      )}
      <p className="muted small webhook-notice" role="status">
        {notice}
      </p>
      <ErrorAlert error={error} onDismiss={() => setError(null)} />
      {deleting ? (
        <Confirm
          question={`Delete the endpoint “${name}”?`}
          detail="Nothing more is sent to it and its delivery log is erased. This cannot be undone."
          confirmLabel="Delete the endpoint"
          cancelLabel="Keep the endpoint"
          busy={busy}
          onConfirm={() => void remove()}
          onCancel={() => {
            refocus.current = "delete";
            setDeleting(false);
          }}
        />
      ) : null}
      {showDeliveries ? <DeliveriesPanel key={logVersion} endpoint={endpoint} panelId={`${base}-deliveries`} /> : null}
    </li>
  );
}

function EndpointState({ endpoint }: { endpoint: WebhookEndpoint }) {
  if (!endpoint.enabled) {
    const reason = endpoint.disabled_reason ?? "";
    return (
      <div className="webhook-state">
        <span className="badge badge-neutral">Off</span>
        <span className="small">
          {reason ? `${reason.charAt(0).toUpperCase()}${reason.slice(1).replace(/\.$/, "")}. ` : ""}
          Turn it on to send events again.
        </span>
      </div>
    );
  }
  if (endpoint.failing_since) {
    return (
      <div className="webhook-state">
        <span className="badge badge-warning">Failing</span>
        <span className="small">
          Every attempt has failed since {date(endpoint.failing_since)}. After 5 days it is turned off.
        </span>
      </div>
    );
  }
  return (
    <div className="webhook-state">
      <span className="badge badge-success">On</span>
    </div>
  );
}

/**
 * The workspace's webhook endpoints: list (URL, description, events, state),
 * add one (its signing secret shown once), turn on/off, edit, test, delete
 * after confirming, and each one's delivery log with "Send again".
 */
export function WebhooksSection() {
  // Held here rather than in useAsync: changes to two endpoints may answer in
  // any order, so each is applied to the latest list.
  const [endpoints, setEndpoints] = useState<WebhookEndpoint[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [created, setCreated] = useState<CreatedWebhookEndpoint | null>(null);
  const [formKey, setFormKey] = useState(0);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const items = endpoints ?? [];
  const full = items.length >= MAX_ENDPOINTS;

  const load = useCallback(async () => {
    try {
      setEndpoints((await api.webhooks.list()).items);
      setLoadError(null);
    } catch (err) {
      setLoadError(err);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  async function create(values: EndpointValues) {
    const body: NewWebhookEndpoint = { url: values.url };
    if (values.description) body.description = values.description;
    if (values.events.length > 0) body.events = values.events;
    const made = await api.webhooks.create(body);
    setCreated(made);
    setFormKey((k) => k + 1);
    await load();
  }

  function replace(endpoint: WebhookEndpoint) {
    setEndpoints((current) => current?.map((e) => (e.id === endpoint.id ? endpoint : e)) ?? null);
  }

  function removed(id: string) {
    setEndpoints((current) => current?.filter((e) => e.id !== id) ?? null);
    if (created?.id === id) setCreated(null);
    headingRef.current?.focus();
  }

  return (
    <div className="action-card action-card-column webhooks-section">
      <div className="action-info">
        <h3 id="webhooks-heading" ref={headingRef} tabIndex={-1}>
          Webhooks
        </h3>
        <p className="muted">
          Reelforge POSTs a signed message to your URL when a video is ready, a project fails, an export can be downloaded
          and more, so you need not poll. Up to {MAX_ENDPOINTS} endpoints; each has its own signing secret, shown only once,
          when it is added.
        </p>
      </div>
      {created ? (
        <SecretBox
          id="webhook-secret"
          label={`Signing secret of ${created.url}`}
          value={created.secret}
          noun="secret"
          focus
          onDone={() => setCreated(null)}
        >
          <p className="small webhook-verify">
            Check every delivery with it before trusting it: the{" "}
            <a href={LIBRARIES_URL} target="_blank" rel="noreferrer">
              Standard Webhooks libraries<span className="sr-only"> (opens in a new tab)</span>
            </a>{" "}
            verify the <code>webhook-signature</code> header in one call (Python: <code>pip install standardwebhooks</code>,
            Node: <code>npm install standardwebhooks</code>).
          </p>
        </SecretBox>
      ) : null}
      <ErrorAlert error={loadError} />
      {!endpoints && !loadError ? <p className="muted">Loading…</p> : null}
      {endpoints && items.length === 0 ? <p className="muted">No webhook endpoints yet.</p> : null}
      {items.length > 0 ? (
        <ul className="webhook-list" aria-labelledby="webhooks-heading">
          {items.map((e) => (
            <EndpointItem key={e.id} endpoint={e} onChanged={replace} onDeleted={removed} />
          ))}
        </ul>
      ) : null}
      {full ? (
        <p className="muted">
          This workspace has {MAX_ENDPOINTS} endpoints, the most it may have. Delete one to add another.
        </p>
      ) : endpoints ? (
        <EndpointForm
          key={formKey}
          idPrefix="webhook-new"
          heading="New endpoint"
          submitLabel="Add endpoint"
          busyLabel="Adding…"
          onSubmit={create}
        />
      ) : null}
    </div>
  );
}
