import { useState, type FormEvent } from "react";
import { api } from "../api";
import type { ApiKey, CreatedApiKey, Scope } from "../api/types";
import { Confirm } from "../components/Confirm";
import { ErrorAlert } from "../components/ErrorAlert";
import { SecretBox } from "../components/SecretBox";
import { TableWrap } from "../components/TableWrap";
import { date } from "../lib/format";
import { useAsync } from "../lib/useAsync";

/** Every scope a key can hold, as the server names them, with what each allows. */
export const SCOPES: { id: Scope; label: string; hint: string }[] = [
  { id: "projects:read", label: "Read projects", hint: "projects, scenes, videos, media, templates, voices" },
  { id: "projects:write", label: "Change projects", hint: "create, edit, render, cancel and delete projects" },
  { id: "media:write", label: "Upload media", hint: "add and delete media library files" },
  { id: "webhooks:manage", label: "Manage webhooks", hint: "webhook endpoints and deliveries" },
  { id: "account:read", label: "Read the account", hint: "usage, activity log, backups, exports" },
];

const MAX_NAME = 100;

/** The form that makes a named key with its scopes. */
function CreateKeyForm({ onCreated }: { onCreated: (created: CreatedApiKey) => void }) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["projects:read"]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const trimmed = name.trim();
  const invalid = trimmed.length === 0 || trimmed.length > MAX_NAME || scopes.length === 0;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (invalid) return;
    setBusy(true);
    setError(null);
    try {
      // Sent in the server's order, so the list reads the same everywhere.
      const ordered = SCOPES.map((s) => s.id).filter((id) => scopes.includes(id));
      onCreated(await api.account.createApiKey(trimmed, ordered));
      setName("");
      setScopes(["projects:read"]);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  function toggle(id: Scope, on: boolean) {
    setScopes((current) => (on ? [...current, id] : current.filter((s) => s !== id)));
  }

  return (
    <form className="form-stack api-key-form" onSubmit={(e) => void submit(e)} aria-labelledby="new-key-heading">
      <h4 id="new-key-heading">New key</h4>
      <div className="field">
        <label htmlFor="api-key-name">Name</label>
        <input
          id="api-key-name"
          value={name}
          maxLength={MAX_NAME}
          placeholder="e.g. CI uploader"
          onChange={(e) => setName(e.target.value)}
          autoComplete="off"
        />
      </div>
      <fieldset className="api-key-scopes">
        <legend>What it may do</legend>
        {SCOPES.map((s) => (
          <div className="check-field" key={s.id}>
            <input
              id={`scope-${s.id}`}
              type="checkbox"
              checked={scopes.includes(s.id)}
              onChange={(e) => toggle(s.id, e.target.checked)}
              aria-describedby={`scope-${s.id}-hint`}
            />
            <div>
              <label htmlFor={`scope-${s.id}`}>{s.label}</label>{" "}
              <code className="small">{s.id}</code>
              <div id={`scope-${s.id}-hint`} className="muted small">
                {s.hint}
              </div>
            </div>
          </div>
        ))}
        {scopes.length === 0 ? <p className="field-error">Choose at least one.</p> : null}
      </fieldset>
      <ErrorAlert error={error} />
      <div>
        <button type="submit" className="btn btn-primary" disabled={busy || invalid}>
          {busy ? "Creating…" : "Create key"}
        </button>
      </div>
    </form>
  );
}

/**
 * The tenant's named API keys: list (name, scopes, prefix, created, last
 * used), a form to make one (shown once), and revocation after confirming.
 */
export function ApiKeysSection() {
  const keys = useAsync(() => api.account.apiKeys(), []);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const items = keys.data?.items ?? [];

  async function revoke(key: ApiKey) {
    setBusy(true);
    setError(null);
    try {
      await api.account.revokeApiKey(key.id);
      setRevoking(null);
      if (created?.id === key.id) setCreated(null);
      await keys.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="action-card action-card-column">
      <div className="action-info">
        <h3>API keys</h3>
        <p className="muted">
          Call the API with <code>X-API-Key</code>. Each key does only what its scopes allow; no key can reach billing,
          delete the account or manage keys. A key is shown only once, when it is made.
        </p>
      </div>
      {created ? (
        <SecretBox id="api-key" label={`Your new API key “${created.name}”`} value={created.api_key} noun="key" onDone={() => setCreated(null)} />
      ) : null}
      {keys.error ? <ErrorAlert error={keys.error} /> : null}
      {keys.loading && !keys.data ? <p className="muted">Loading…</p> : null}
      {keys.data && items.length === 0 ? <p className="muted">No API keys yet.</p> : null}
      {items.length > 0 ? (
        <TableWrap label="API keys">
          <table className="api-key-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    {k.scopes.map((s) => (
                      <code key={s} className="scope-chip">
                        {s}
                      </code>
                    ))}
                  </td>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{date(k.created_at)}</td>
                  <td>{k.last_used_at ? date(k.last_used_at) : "Never"}</td>
                  <td>
                    <button
                      type="button"
                      className="btn btn-ghost btn-small"
                      onClick={() => setRevoking(k)}
                      aria-label={`Revoke ${k.name}`}
                      disabled={busy}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      {revoking ? (
        <Confirm
          question={`Revoke “${revoking.name}”?`}
          detail="Anything using this key stops working at once. This cannot be undone."
          confirmLabel="Revoke the key"
          cancelLabel="Keep the key"
          busy={busy}
          onConfirm={() => void revoke(revoking)}
          onCancel={() => setRevoking(null)}
        />
      ) : null}
      <ErrorAlert error={error} />
      <CreateKeyForm
        onCreated={(key) => {
          setCreated(key);
          void keys.reload();
        }}
      />
    </div>
  );
}
