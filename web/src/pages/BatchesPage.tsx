import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import type { Batch, BatchPage, BatchSummary, Template } from "../api/types";
import { ErrorAlert } from "../components/ErrorAlert";
import { StatusBadge } from "../components/StatusBadge";
import { TableWrap } from "../components/TableWrap";
import { notifyUsageChanged } from "../lib/events";
import { date } from "../lib/format";
import { useTitle } from "../lib/title";
import { Link, navigate } from "../router";

/** How often an unfinished batch is read again. */
const POLL_MS = 3000;

function progress(batch: Pick<BatchSummary, "counts" | "row_count">): string {
  const { completed, partial, draft, failed, cancelled, deleted } = batch.counts;
  const finished = completed + partial + draft + failed + cancelled + deleted;
  return `${finished} of ${batch.row_count} finished`;
}

/** The rows' problems of a 422, each with its row number for people (1-based, the header not counted). */
export function BatchProblems({ error }: { error: ApiError }) {
  const errors = error.problem.errors ?? [];
  const total = error.problem.errors_total ?? errors.length;
  return (
    <div role="alert" className="alert alert-error">
      <p>
        <strong>The batch was not made:</strong> {total === 1 ? "1 problem" : `${total} problems`}
        {total > errors.length ? ` (the first ${errors.length} are listed)` : ""}.
      </p>
      <ul>
        {errors.map((e, i) => (
          <li key={i}>
            {e.row !== undefined && e.row !== null ? `Row ${e.row + 1}: ` : ""}
            <code>{e.field}</code> {e.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A new batch: a CSV file of rows and a script with merge fields such as {{name}}. */
function NewBatchForm() {
  const [templates, setTemplates] = useState<Template[]>([]);
  const [templateId, setTemplateId] = useState("explainer");
  const [title, setTitle] = useState("");
  const [script, setScript] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api.projects.templates().then(setTemplates, setError);
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const created = await api.batches.createFromCsv(file, {
        template_id: templateId,
        template_script: { title, script },
      });
      notifyUsageChanged();
      navigate(`/batches/${encodeURIComponent(created.id)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const rowProblems = error instanceof ApiError && error.status === 422 && error.problem.errors?.length ? error : null;
  return (
    <form className="card form-stack" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-batch-heading">
      <h2 id="new-batch-heading">New batch from a spreadsheet</h2>
      <p>
        One video per row of a CSV file (its first row names the fields, at most 500 rows). Write{" "}
        <code>{"{{name}}"}</code> in the title or the script where a row's value goes.
      </p>
      <div className="field">
        <label htmlFor="batch-rows">CSV file</label>
        <input
          id="batch-rows"
          type="file"
          accept=".csv,text/csv"
          required
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
        />
      </div>
      <div className="field">
        <label htmlFor="batch-template">Template</label>
        <select id="batch-template" value={templateId} onChange={(e) => setTemplateId(e.target.value)}>
          {templates.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
              {t.premium ? " (paid plans)" : ""}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="batch-title">Title</label>
        <input
          id="batch-title"
          type="text"
          value={title}
          required
          maxLength={200}
          placeholder="Welcome, {{name}}"
          onChange={(e) => setTitle(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="batch-script">Script</label>
        <textarea
          id="batch-script"
          value={script}
          required
          rows={6}
          placeholder="Hello {{name}}, and welcome to our {{city}} office."
          onChange={(e) => setScript(e.target.value)}
        />
        <p className="field-hint">Each paragraph becomes a scene; every row fills in its own values.</p>
      </div>
      {rowProblems ? <BatchProblems error={rowProblems} /> : <ErrorAlert error={error} context="create" />}
      <button type="submit" className="btn btn-primary" disabled={busy || !file}>
        {busy ? "Making the batch…" : "Make the videos"}
      </button>
    </form>
  );
}

/** `/batches`: the tenant's batches, newest first, and a new one from a CSV file. */
export function BatchesPage() {
  useTitle("Batches");
  const [page, setPage] = useState<BatchPage | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api.batches.list().then(setPage, setError);
  }, []);

  return (
    <>
      <h1>Batches</h1>
      <ErrorAlert error={error} />
      {page && page.items.length > 0 ? (
        <TableWrap label="Batches">
          <table>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Status</th>
                <th scope="col">Rows</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((batch) => (
                <tr key={batch.id}>
                  <td>
                    <Link to={`/batches/${encodeURIComponent(batch.id)}`}>{batch.title}</Link>
                  </td>
                  <td>
                    <StatusBadge status={batch.status} />
                  </td>
                  <td>{progress(batch)}</td>
                  <td>{date(batch.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : page ? (
        <p>No batches yet.</p>
      ) : null}
      <NewBatchForm />
    </>
  );
}

/** `/batches/:id`: a batch's rows with their status and videos, and the ZIP. */
export function BatchPage({ id }: { id: string }) {
  const [batch, setBatch] = useState<Batch | null>(null);
  const [error, setError] = useState<unknown>(null);
  useTitle(batch ? batch.title : "Batch");

  useEffect(() => {
    let timer: number | undefined;
    const controller = new AbortController();
    async function load() {
      try {
        const read = await api.batches.get(id, controller.signal);
        setBatch(read);
        if (read.status === "queued" || read.status === "running") timer = window.setTimeout(load, POLL_MS);
      } catch (err) {
        if ((err as Error)?.name !== "AbortError") setError(err);
      }
    }
    void load();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [id]);

  const finished = batch ? batch.counts.completed + batch.counts.partial : 0;
  return (
    <>
      <p>
        <Link to="/batches">All batches</Link>
      </p>
      <h1>{batch ? batch.title : "Batch"}</h1>
      <ErrorAlert error={error} />
      {batch ? (
        <>
          <p>
            <StatusBadge status={batch.status} /> {progress(batch)}
            {finished > 0 ? (
              <>
                {" · "}
                <a href={api.batches.zipUrl(batch.id)} download>
                  Download the {finished === 1 ? "finished video" : `${finished} finished videos`} (ZIP)
                </a>
              </>
            ) : null}
          </p>
          <TableWrap label="Rows">
            <table>
              <thead>
                <tr>
                  <th scope="col">Row</th>
                  <th scope="col">Video</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {batch.rows.map((row) => (
                  <tr key={row.index}>
                    <td>{row.index + 1}</td>
                    <td>
                      {row.project_id ? (
                        <Link to={`/projects/${encodeURIComponent(row.project_id)}`}>{row.title}</Link>
                      ) : (
                        "Deleted"
                      )}
                      {row.error ? <p className="field-error">{row.error}</p> : null}
                    </td>
                    <td>
                      {row.status === "deleted" ? "Deleted" : <StatusBadge status={row.status} />}
                      {row.video_url ? (
                        <>
                          {" "}
                          <a href={row.video_url}>Video</a>
                        </>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </>
      ) : null}
    </>
  );
}
