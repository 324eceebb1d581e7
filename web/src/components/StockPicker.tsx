import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import type { Orientation, StockMedia, StockProvider, StockResult, StockVisual } from "../api/types";
import { clock } from "../lib/format";
import { dimensions, mediaNoun, providerName, providerSite } from "../lib/scenes";
import { useModalDialog } from "../lib/useModalDialog";
import { ErrorAlert } from "./ErrorAlert";
import "./MediaPicker.css";
import "./StockPicker.css";

/** Results the server asks a provider for per page: a shorter page is the last. */
export const STOCK_PAGE_SIZE = 15;
/** The last page the server serves. */
const LAST_PAGE = 50;
/** The longest query the server takes. */
const MAX_QUERY = 100;

/** Why a search failed, in words, or `null` for the generic error alert. */
export function stockProblem(error: unknown): { notSetUp: boolean; message: string } | null {
  if (!(error instanceof ApiError)) return null;
  const detail = error.problem.detail?.trim();
  const sentence = detail ? `${detail.charAt(0).toUpperCase()}${detail.slice(1).replace(/\.$/, "")}.` : null;
  switch (error.status) {
    case 503:
      // `reason` tells "no stock key on this server" from "the providers ask us to wait".
      if (error.problem.reason === "not_configured" || (!error.problem.reason && !detail)) {
        return { notSetUp: true, message: "Stock photos and videos are not set up on this server." };
      }
      return { notSetUp: false, message: sentence ?? "The stock library asks us to wait. Try again shortly." };
    case 429: {
      const wait = error.retryAfterSeconds;
      return {
        notSetUp: false,
        message: sentence ?? `Too many searches. Try again in ${wait ?? "a few"} second${wait === 1 ? "" : "s"}.`,
      };
    }
    case 502:
      return { notSetUp: false, message: sentence ?? "The stock library did not answer. Try again later." };
    case 422:
      return { notSetUp: false, message: "Type one to 100 characters of words to look for." };
    default:
      return null;
  }
}

interface Searched {
  q: string;
  page: number;
  /** The provider page 1 came from: the next pages ask it only. */
  provider: StockProvider | null;
  more: boolean;
}

/**
 * A modal dialog searching stock photos or clips (Pexels, Pixabay) through
 * the server, in the project's orientation; it searches for `initialQuery`
 * at once. Choosing a result calls `onChoose` with the scene's new visual
 * (that result, by its provider's id), and "best match" with the query only.
 * Native `<dialog>`: focus stays inside, Escape closes it, and focus returns
 * to what opened it.
 */
export function StockPicker({
  title,
  media,
  orientation,
  aspect,
  initialQuery,
  onChoose,
  onClose,
  busy,
}: {
  title: string;
  media: StockMedia;
  orientation: Orientation;
  /** Width / height of the video: the previews are framed as the scene will be. */
  aspect: number;
  initialQuery: string;
  /** `result`: the one picked, or null for the best match. */
  onChoose: (visual: StockVisual, result: StockResult | null) => void;
  onClose: () => void;
  /** The choice is being saved. */
  busy?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const gridRef = useRef<HTMLUListElement>(null);
  const controller = useRef<AbortController | null>(null);
  const id = useId();
  const [query, setQuery] = useState(initialQuery.slice(0, MAX_QUERY));
  const [searched, setSearched] = useState<Searched | null>(null);
  const [results, setResults] = useState<StockResult[]>([]);
  const resultsRef = useRef<StockResult[]>([]);
  const [loading, setLoading] = useState<"search" | "more" | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState(false);
  const [focusAt, setFocusAt] = useState<number | null>(null);
  const [said, setSaid] = useState("");
  const noun = mediaNoun(media).toLowerCase();
  const nouns = `${noun}s`;

  useModalDialog(ref);
  useEffect(() => {
    inputRef.current?.focus();
    return () => controller.current?.abort();
  }, []);

  useEffect(() => {
    if (focusAt === null) return;
    gridRef.current?.querySelectorAll<HTMLButtonElement>("button.stock-choice")[focusAt]?.focus();
    setFocusAt(null);
  }, [focusAt, results]);

  async function search(q: string, page: number, provider: StockProvider | null) {
    controller.current?.abort();
    const mine = new AbortController();
    controller.current = mine;
    setLoading(page === 1 ? "search" : "more");
    setError(null);
    setSaid(page === 1 ? `Searching ${nouns} for “${q}”…` : `Loading more ${nouns}…`);
    try {
      const answer = await api.stock.search({ q, media, orientation, page, provider }, mine.signal);
      if (mine.signal.aborted) return;
      const more = answer.results.length >= STOCK_PAGE_SIZE && page < LAST_PAGE;
      if (page === 1) {
        resultsRef.current = answer.results;
        setResults(answer.results);
        setSearched({ q, page, provider: answer.provider ?? null, more });
        setSaid(
          answer.results.length
            ? `${answer.results.length}${more ? "+" : ""} ${answer.results.length === 1 ? noun : nouns} for “${q}”.`
            : `No ${nouns} for “${q}”. Try other words.`,
        );
      } else {
        const old = resultsRef.current;
        const known = new Set(old.map((r) => `${r.provider}:${r.id}`));
        const fresh = answer.results.filter((r) => !known.has(`${r.provider}:${r.id}`));
        resultsRef.current = [...old, ...fresh];
        setResults(resultsRef.current);
        setSearched({ q, page, provider, more: more && fresh.length > 0 });
        setSaid(fresh.length ? `${fresh.length} more ${fresh.length === 1 ? noun : nouns}.` : `No more ${nouns} for “${q}”.`);
        // Keyboard users go on from the first new result.
        if (fresh.length) setFocusAt(old.length);
      }
    } catch (err) {
      if (mine.signal.aborted || (err as Error)?.name === "AbortError") return;
      setError(err);
      setSaid("");
    } finally {
      if (controller.current === mine) {
        controller.current = null;
        setLoading(null);
      }
    }
  }

  useEffect(() => {
    const q = initialQuery.trim().slice(0, MAX_QUERY);
    if (q) void search(q, 1, null);
    // Only once, with what the dialog opened with.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  function submit(event: FormEvent) {
    event.preventDefault();
    const q = query.trim();
    if (!q) {
      setMissing(true);
      inputRef.current?.focus();
      return;
    }
    setMissing(false);
    void search(q, 1, null);
  }

  const problem = stockProblem(error);
  const notSetUp = problem?.notSetUp ?? false;
  const provider = searched?.provider ?? results[0]?.provider ?? null;
  const site = provider ? providerSite(provider) : null;
  const orientationWord = orientation.charAt(0).toUpperCase() + orientation.slice(1);

  return (
    <dialog
      ref={ref}
      className="media-picker stock-picker"
      aria-labelledby={`${id}-h`}
      aria-busy={loading !== null}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <div className="media-picker-head">
        <h2 id={`${id}-h`}>{title}</h2>
        <button type="button" className="btn btn-ghost btn-small" onClick={onClose}>
          Close
        </button>
      </div>
      {notSetUp ? (
        <div role="alert" className="alert alert-info stock-off">
          <p>
            <strong>{problem?.message}</strong> Ask the administrator to add a Pexels or Pixabay API key, or choose another
            kind of picture for this scene.
          </p>
        </div>
      ) : (
        <>
          <form role="search" className="stock-search" onSubmit={submit} noValidate aria-label="Stock search">
            <div className="field">
              <label htmlFor={`${id}-q`}>Search stock {nouns}</label>
              <div className="stock-search-row">
                <input
                  id={`${id}-q`}
                  ref={inputRef}
                  type="search"
                  value={query}
                  maxLength={MAX_QUERY}
                  enterKeyHint="search"
                  autoComplete="off"
                  onChange={(e) => {
                    setQuery(e.target.value);
                    setMissing(false);
                  }}
                  aria-invalid={missing ? true : undefined}
                  aria-describedby={missing ? `${id}-q-error` : `${id}-hint`}
                />
                <button type="submit" className="btn btn-primary" disabled={loading === "search"}>
                  {loading === "search" ? (
                    <>
                      <span className="spinner" aria-hidden="true" /> Searching…
                    </>
                  ) : (
                    "Search"
                  )}
                </button>
              </div>
              {missing ? (
                <p id={`${id}-q-error`} className="field-error">
                  Type what the {noun} should show.
                </p>
              ) : null}
              <p id={`${id}-hint`} className="field-hint">
                {orientationWord} {nouns}, the shape of this video.
              </p>
            </div>
          </form>
          {problem ? (
            <div role="alert" className="alert alert-error">
              <p>{problem.message}</p>
            </div>
          ) : (
            <ErrorAlert error={error} />
          )}
          {searched && results.length > 0 ? (
            <div className="stock-best">
              <button
                type="button"
                className="btn btn-secondary btn-small"
                disabled={busy}
                onClick={() => onChoose({ kind: "stock", media, query: searched.q }, null)}
              >
                Best match for this query
              </button>
              <span className="small muted">The render picks the {noun} that fits “{searched.q}” best.</span>
            </div>
          ) : null}
        </>
      )}
      <p className="sr-only" role="status" aria-live="polite">
        {said}
      </p>
      {loading === "search" ? <p className="loading">Searching {nouns}…</p> : null}
      {!notSetUp && loading === null && searched && results.length === 0 && !error ? (
        <p className="empty">
          No {nouns} match “{searched.q}”. Try other or fewer words.
        </p>
      ) : null}
      {!notSetUp && loading !== "search" && results.length > 0 ? (
        <>
          <ul className="media-picker-grid stock-grid" ref={gridRef} aria-label={`${mediaNoun(media)}s found`}>
            {results.map((result) => (
              <StockChoice
                key={`${result.provider}:${result.id}`}
                result={result}
                aspect={aspect}
                disabled={busy}
                onChoose={() =>
                  onChoose(
                    { kind: "stock", media, query: searched?.q ?? query.trim(), provider: result.provider, pick: result.id },
                    result,
                  )
                }
              />
            ))}
          </ul>
          <div className="stock-foot">
            {searched?.more ? (
              <button
                type="button"
                className="btn btn-secondary"
                disabled={loading === "more"}
                onClick={() => searched && void search(searched.q, searched.page + 1, searched.provider)}
              >
                {loading === "more" ? (
                  <>
                    <span className="spinner" aria-hidden="true" /> Loading…
                  </>
                ) : (
                  `More ${nouns}`
                )}
              </button>
            ) : null}
            {provider ? (
              <p className="small muted stock-attribution">
                {mediaNoun(media)}s from{" "}
                {site ? (
                  <a href={site} target="_blank" rel="noopener noreferrer">
                    {providerName(provider)}
                    <span className="sr-only"> (opens in a new tab)</span>
                  </a>
                ) : (
                  providerName(provider)
                )}
                . The video credits the author.
              </p>
            ) : null}
          </div>
        </>
      ) : null}
    </dialog>
  );
}

function StockChoice({
  result,
  aspect,
  disabled,
  onChoose,
}: {
  result: StockResult;
  aspect: number;
  disabled?: boolean;
  onChoose: () => void;
}) {
  const factsId = useId();
  const noun = mediaNoun(result.media);
  const size = dimensions(result.width, result.height);
  const length = result.media === "video" && result.duration_seconds ? clock(result.duration_seconds) : null;
  const facts = [providerName(result.provider), size, length].filter((f): f is string => !!f);
  // The button is the author's name (its visible text is in its accessible
  // name); it stretches over the whole tile, so the preview is clicked too.
  return (
    <li className="stock-tile">
      <span className="media-choice-thumb" style={{ aspectRatio: String(aspect) }}>
        {result.thumbnail_url ? (
          <img src={result.thumbnail_url} alt={`${noun} by ${result.author}`} loading="lazy" />
        ) : (
          <span className="stock-no-preview">No preview</span>
        )}
        {length ? (
          <span className="stock-length" aria-hidden="true">
            {length}
          </span>
        ) : null}
      </span>
      <button type="button" className="stock-choice" onClick={onChoose} disabled={disabled} aria-describedby={factsId}>
        <span className="sr-only">Use the {noun.toLowerCase()} by </span>
        {result.author}
      </button>
      <span id={factsId} className="media-choice-facts">
        {facts.join(" · ")}
      </span>
    </li>
  );
}
