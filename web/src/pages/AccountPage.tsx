import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import type { AuditEntry, BackupStatus, Brand, ExportView, Team, UsageHistory } from "../api/types";
import { signOut, useSession } from "../components/AppShell";
import { ErrorAlert } from "../components/ErrorAlert";
import { StatusBadge } from "../components/StatusBadge";
import { TableWrap } from "../components/TableWrap";
import { UsageChart } from "../components/UsageChart";
import { bytes, date, planName } from "../lib/format";
import { atLeast, ROLE_NAMES } from "../lib/roles";
import { useAsync } from "../lib/useAsync";
import { useTitle } from "../lib/title";
import { Link, navigate } from "../router";
import { setSignedInHint } from "../session";
import { ApiKeysSection } from "./ApiKeysSection";
import { MembersSection } from "./MembersSection";
import { WebhooksSection } from "./WebhooksSection";
import "./AccountPage.css";

const EXPORT_KEY = "rf_export_id";
const EXPORT_POLL_MS = 1000;

const ACTIONS: Record<string, string> = {
  "auth.sign_in": "Signed in",
  "auth.logout": "Signed out",
  "auth.verify_failed": "A sign-in link was refused",
  "auth.refresh_reuse": "A stolen session was stopped",
  "account.api_key_rotated": "Default API key replaced",
  "account.api_key_created": "API key created",
  "account.api_key_revoked": "API key revoked",
  "account.export_started": "Data export started",
  "billing.plan_changed": "Plan changed",
  "member.invited": "Member invited",
  "member.invite_resent": "Invitation sent again",
  "member.invite_revoked": "Invitation revoked",
  "member.joined": "Member joined",
  "member.role_changed": "Role changed",
  "member.removed": "Member removed",
  "member.ownership_transferred": "Ownership handed over",
  "auth.switch_tenant": "Switched to this team",
};

export function actionLabel(action: string): string {
  return ACTIONS[action] ?? action.replace(/[._]/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

/** The label and, for the team's events, whom it was about ("Role changed: bob@example.com, member to admin"). */
export function actionText(entry: Pick<AuditEntry, "action" | "detail">): string {
  const label = actionLabel(entry.action);
  const d = entry.detail;
  const text = (key: string) => {
    const value = d[key];
    return typeof value === "string" ? value : null;
  };
  if (entry.action === "member.ownership_transferred" && text("to")) return `${label} to ${text("to")}`;
  if (entry.action.startsWith("member.") && text("email")) {
    const change = entry.action === "member.role_changed" && text("from") && text("to") ? `, ${text("from")} to ${text("to")}` : "";
    return `${label}: ${text("email")}${change}`;
  }
  return label;
}

function ExportSection() {
  const [view, setView] = useState<ExportView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);

  // Resume following an export started earlier in this tab.
  useEffect(() => {
    const id = window.sessionStorage.getItem(EXPORT_KEY);
    if (id) api.account.exportStatus(id).then(setView, () => window.sessionStorage.removeItem(EXPORT_KEY));
  }, []);

  const pending = view?.status === "queued" || view?.status === "running";
  useEffect(() => {
    if (!pending || !view) return;
    const timer = window.setTimeout(async () => {
      try {
        setView(await api.account.exportStatus(view.export_id));
      } catch (err) {
        setError(err);
      }
    }, EXPORT_POLL_MS);
    return () => window.clearTimeout(timer);
  }, [pending, view]);

  async function start() {
    setStarting(true);
    setError(null);
    try {
      const v = await api.account.startExport();
      window.sessionStorage.setItem(EXPORT_KEY, v.export_id);
      setView(v);
    } catch (err) {
      // One export at a time: follow the one already running (e.g. from another tab).
      const running = err instanceof ApiError && err.status === 429 ? err.problem.export_id : undefined;
      if (running) {
        window.sessionStorage.setItem(EXPORT_KEY, running);
        setView(await api.account.exportStatus(running).catch(() => null));
      } else setError(err);
    } finally {
      setStarting(false);
    }
  }

  return (
    <div className="action-card">
      <div className="action-info">
        <h3 id="export-heading">Export my data</h3>
        <p className="muted">
          A ZIP with your account, projects, usage, billing and audit records and every media file. You can download it
          for 7 days; we also e-mail you when it is ready.
        </p>
        {view ? (
          <div className="export-status" data-status={view.status}>
            {pending ? (
              <div className="progress progress-small">
                <div className="progress-label">
                  <span id="export-progress-label">Preparing your export</span>
                  <span className="progress-detail">{view.status === "queued" ? "Queued" : "Packing files"}</span>
                </div>
                <div
                  className="progress-track progress-ok progress-indeterminate"
                  role="progressbar"
                  aria-labelledby="export-progress-label"
                  aria-valuetext={view.status === "queued" ? "Queued" : "Packing files"}
                >
                  <div className="progress-fill" />
                </div>
              </div>
            ) : null}
            {view.status === "ready" && view.download_url ? (
              <p role="status" className="export-ready">
                <StatusBadge status="ready" /> Your export is ready ({bytes(view.size_bytes)}
                {view.expires_at ? `, until ${date(view.expires_at)}` : ""}).{" "}
                <a className="btn btn-primary btn-small" href={view.download_url} download>
                  Download the ZIP
                </a>
              </p>
            ) : null}
            {view.status === "failed" ? (
              <p role="alert" className="field-error">
                The export failed{view.error ? `: ${view.error}` : ""}. Start a new one.
              </p>
            ) : null}
            {view.status === "expired" ? <p className="muted">That export has expired. Start a new one.</p> : null}
          </div>
        ) : null}
        <ErrorAlert error={error} context="export" />
      </div>
      <button type="button" className="btn btn-secondary" onClick={() => void start()} disabled={starting || pending}>
        {pending ? "Export running…" : starting ? "Starting…" : "Export my data"}
      </button>
    </div>
  );
}

function BackupSection() {
  const backup = useAsync<BackupStatus>(() => api.account.backupStatus(), []);
  const b = backup.data;
  return (
    <div className="action-card action-card-column">
      <div className="action-info">
        <h3>Backups</h3>
        {backup.error ? <ErrorAlert error={backup.error} /> : null}
        {b ? (
          <dl className="facts">
            <div>
              <dt>Last backup</dt>
              <dd>
                {b.last_backup_at ? date(b.last_backup_at) : "None yet"} <StatusBadge status={b.last_status} />
              </dd>
            </div>
            <div>
              <dt>Next backup</dt>
              <dd>{b.next_backup_at ? date(b.next_backup_at) : "Not scheduled"}</dd>
            </div>
            <div>
              <dt>Kept for</dt>
              <dd>{b.retention_days} days</dd>
            </div>
          </dl>
        ) : backup.loading ? (
          <p className="muted">Loading…</p>
        ) : null}
      </div>
    </div>
  );
}

const CORNERS: { id: string; name: string }[] = [
  { id: "top_left", name: "Top left" },
  { id: "top_right", name: "Top right" },
  { id: "bottom_left", name: "Bottom left" },
  { id: "bottom_right", name: "Bottom right" },
];

/** The logo placed over a paid tenant's videos: upload, corner, opacity (admins and the owner; others see it). */
function BrandSection({ canEdit, owner }: { canEdit: boolean; owner: boolean }) {
  const brand = useAsync<Brand>(() => api.brand.get(), []);
  const [current, setCurrent] = useState<Brand | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const b = current ?? brand.data;

  async function run(action: () => Promise<Brand | void>) {
    setBusy(true);
    setError(null);
    try {
      const next = await action();
      setCurrent(next ?? (await api.brand.get()));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (brand.error) return <ErrorAlert error={brand.error} />;
  if (!b) return <p className="muted">Loading…</p>;
  if (!b.available) {
    return owner ? (
      <p className="muted">
        Videos on the Free plan carry the Reelforge watermark. <Link to="/billing">Upgrade to Pro</Link> to place your own logo instead.
      </p>
    ) : (
      <p className="muted">
        Videos on the Free plan carry the Reelforge watermark. On Pro, which the team&rsquo;s owner can upgrade to, the
        team&rsquo;s own logo takes its place.
      </p>
    );
  }
  if (!canEdit) {
    return (
      <div className="action-card action-card-column">
        <div className="action-info">
          <h3>Logo</h3>
          {b.logo_url ? <img className="brand-logo" src={b.logo_url} alt="The team's logo" /> : <p className="muted">No logo yet.</p>}
          {b.logo_url ? (
            <p className="small">
              {CORNERS.find((c) => c.id === b.corner)?.name ?? b.corner} corner, {Math.round(b.opacity * 100)}% opacity.
            </p>
          ) : null}
          <p className="muted small">Admins and the owner change the team&rsquo;s logo.</p>
        </div>
      </div>
    );
  }
  return (
    <div className="action-card action-card-column">
      <div className="action-info">
        <h3>Logo</h3>
        <p className="muted">A PNG or SVG, at most 2 MB, placed over every scene of your videos.</p>
        {b.logo_url ? <img className="brand-logo" src={b.logo_url} alt="Your logo" /> : <p className="muted">No logo yet.</p>}
      </div>
      <div className="form-stack">
        <div className="field">
          <label htmlFor="brand-logo">{b.logo_url ? "Replace the logo" : "Upload a logo"}</label>
          <input
            id="brand-logo"
            type="file"
            accept="image/png,image/svg+xml,.png,.svg"
            disabled={busy}
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void run(() => api.brand.uploadLogo(file));
              e.target.value = "";
            }}
          />
        </div>
        <div className="field">
          <label htmlFor="brand-corner">Corner</label>
          <select
            id="brand-corner"
            value={b.corner}
            disabled={busy}
            onChange={(e) => void run(() => api.brand.place({ corner: e.target.value }))}
          >
            {CORNERS.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="brand-opacity">Opacity: {Math.round(b.opacity * 100)}%</label>
          <input
            id="brand-opacity"
            type="range"
            min={10}
            max={100}
            step={5}
            value={Math.round(b.opacity * 100)}
            disabled={busy}
            onChange={(e) => setCurrent({ ...b, opacity: Number(e.target.value) / 100 })}
            onPointerUp={(e) => void run(() => api.brand.place({ opacity: Number((e.target as HTMLInputElement).value) / 100 }))}
            onKeyUp={(e) => void run(() => api.brand.place({ opacity: Number((e.target as HTMLInputElement).value) / 100 }))}
          />
        </div>
        {b.logo_url ? (
          <button type="button" className="btn btn-ghost btn-small" disabled={busy} onClick={() => void run(() => api.brand.removeLogo())}>
            Remove the logo
          </button>
        ) : null}
      </div>
      <ErrorAlert error={error} />
    </div>
  );
}

/** `names`: the team's e-mail addresses by user id, to say who did what. */
function AuditSection({ myId, names }: { myId: string | undefined; names: Record<string, string> }) {
  const [items, setItems] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loaded, setLoaded] = useState(false);

  async function load(next?: string) {
    try {
      const page = await api.account.audit(next, 10);
      setItems((old) => (next ? [...old, ...page.items] : page.items));
      setCursor(page.next_cursor);
    } catch (err) {
      setError(err);
    } finally {
      setLoaded(true);
    }
  }

  useEffect(() => {
    void load();
  }, []);

  return (
    <section className="card" aria-labelledby="audit-heading">
      <h2 id="audit-heading">Recent activity</h2>
      <ErrorAlert error={error} />
      {loaded && items.length === 0 && !error ? <p className="muted">No activity yet.</p> : null}
      {items.length ? (
        <TableWrap label="Activity log">
          <table className="audit-table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">By</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id}>
                  <td>{date(e.created_at)}</td>
                  <td>{actionText(e)}</td>
                  <td>
                    {e.actor === "user"
                      ? e.user_id && e.user_id === myId
                        ? "You"
                        : (e.user_id && names[e.user_id]) || "A member"
                      : e.actor === "api_key"
                        ? "API key"
                        : e.actor === "system"
                          ? "Reelforge"
                          : e.actor}
                  </td>
                  <td className="mono small">{e.ip ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      {cursor ? (
        <button type="button" className="btn btn-ghost" onClick={() => void load(cursor)}>
          Show older activity
        </button>
      ) : null}
    </section>
  );
}

function DeleteSection({ email, team }: { email: string | undefined; team: string | undefined }) {
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const matches = !!email && typed.trim().toLowerCase() === email.toLowerCase();

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!matches) return;
    setBusy(true);
    setError(null);
    try {
      await api.account.remove(typed.trim());
      setSignedInHint(false);
      navigate("/login?deleted=1", { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <section className="card danger-zone" aria-labelledby="delete-account-heading">
      <h2 id="delete-account-heading">Delete account</h2>
      <p>
        This signs you out everywhere, stops your API keys and webhooks, cancels your subscription and then erases every project,
        video, export and record of your account. It cannot be undone. Export your data first if you want a copy.
      </p>
      <p>
        Everyone in the team{team ? <> {team}</> : null} loses access to it with you; their other teams are not touched.
      </p>
      <form onSubmit={(e) => void submit(e)} noValidate className="delete-form">
        <div className="field">
          <label htmlFor="delete-confirm">
            Type your e-mail address{email ? <> (<span className="mono">{email}</span>)</> : null} to confirm
          </label>
          <input
            id="delete-confirm"
            type="email"
            autoComplete="off"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            aria-describedby="delete-hint"
          />
          <p id="delete-hint" className="field-hint">
            The button works once the address matches.
          </p>
        </div>
        <ErrorAlert error={error} />
        <button type="submit" className="btn btn-danger" disabled={!matches || busy}>
          {busy ? "Deleting…" : "Delete my account and all data"}
        </button>
      </form>
    </section>
  );
}

export function AccountPage() {
  useTitle("Account");
  const { me, reload } = useSession();
  const history = useAsync<UsageHistory>(() => api.usage.history(30), []);
  const [names, setNames] = useState<Record<string, string>>({});
  const role = me?.user?.role ?? null;
  // Sections wait for the role: a member would only get refusals (403) from theirs.
  const admin = atLeast(role, "admin");
  const owner = role === "owner";

  function teamLoaded(team: Team) {
    setNames(Object.fromEntries(team.members.map((m) => [m.user_id, m.email])));
  }

  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Account</h1>
        <button type="button" className="btn btn-secondary" onClick={() => void signOut()}>
          Sign out
        </button>
      </div>

      <section className="card" aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <dl className="facts">
          <div>
            <dt>E-mail</dt>
            <dd>{me?.user?.email ?? "…"}</dd>
          </div>
          <div>
            <dt>Workspace</dt>
            <dd>{me?.tenant.name ?? "…"}</dd>
          </div>
          <div>
            <dt>Your role</dt>
            <dd>{role ? ROLE_NAMES[role] : "…"}</dd>
          </div>
          <div>
            <dt>Plan</dt>
            <dd>{me ? planName(me.tenant.plan) : "…"}</dd>
          </div>
        </dl>
      </section>

      {admin && me?.user && role ? (
        <MembersSection role={role} myId={me.user.id} teamName={me.tenant.name} onTeam={teamLoaded} onOwnershipGiven={reload} />
      ) : null}

      <section className="card" aria-labelledby="history-heading">
        <h2 id="history-heading">Usage, last 30 days</h2>
        {history.data ? <UsageChart history={history.data} /> : history.error ? <ErrorAlert error={history.error} /> : <p className="loading">Loading…</p>}
      </section>

      <section className="card" aria-labelledby="brand-heading">
        <h2 id="brand-heading">Brand</h2>
        {role ? <BrandSection canEdit={admin} owner={owner} /> : <p className="muted">Loading…</p>}
      </section>

      {admin ? (
        <section className="card" aria-labelledby="privacy-heading">
          <h2 id="privacy-heading">Data and privacy</h2>
          <ExportSection />
        </section>
      ) : null}

      <section className="card" aria-labelledby="security-heading">
        <h2 id="security-heading">{admin ? "API and security" : "Session"}</h2>
        {admin ? (
          <>
            <ApiKeysSection />
            <WebhooksSection />
            <BackupSection />
          </>
        ) : null}
        <div className="action-card">
          <div className="action-info">
            {admin ? <h3>Session</h3> : null}
            <p className="muted">Sign out of Reelforge in this browser.</p>
          </div>
          <button type="button" className="btn btn-secondary" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </section>

      {admin ? <AuditSection myId={me?.user?.id} names={names} /> : null}
      {owner ? <DeleteSection email={me?.user?.email} team={me?.tenant.name} /> : null}
    </>
  );
}
