import { useEffect, useId, useRef, useState } from "react";
import { api } from "../api";
import type { MediaItem } from "../api/types";
import { mediaFacts } from "../lib/scenes";
import { useModalDialog } from "../lib/useModalDialog";
import { Link } from "../router";
import { ErrorAlert } from "./ErrorAlert";
import "./MediaPicker.css";

/**
 * A modal dialog listing the media library's pictures and clips; choosing one
 * calls `onChoose`. Native `<dialog>`: focus stays inside, Escape closes it,
 * and focus returns to what opened it.
 */
export function MediaPicker({
  title,
  onChoose,
  onClose,
  busy,
}: {
  title: string;
  onChoose: (item: MediaItem) => void;
  onClose: () => void;
  /** The choice is being saved. */
  busy?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingId = useId();
  const [items, setItems] = useState<MediaItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useModalDialog(ref);

  async function load(after?: string) {
    try {
      const page = await api.media.list(after);
      const usable = page.items.filter((m) => m.kind === "image" || m.kind === "video");
      setItems((old) => (after ? [...old, ...usable.filter((m) => !old.some((o) => o.id === m.id))] : usable));
      setCursor(page.next_cursor);
      setError(null);
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
    <dialog
      ref={ref}
      className="media-picker"
      aria-labelledby={headingId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <div className="media-picker-head">
        <h2 id={headingId}>{title}</h2>
        <button type="button" className="btn btn-ghost btn-small" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorAlert error={error} />
      {!loaded ? <p className="loading">Loading your media…</p> : null}
      {loaded && items.length === 0 && !error ? (
        <p className="empty">
          Your library has no pictures or clips yet. Upload one on the card, or in the <Link to="/media">media library</Link>.
        </p>
      ) : null}
      <ul className="media-picker-grid">
        {items.map((item) => (
          <li key={item.id}>
            <button
              type="button"
              className="media-choice"
              onClick={() => onChoose(item)}
              disabled={busy}
              aria-label={`Use ${item.filename} (${mediaFacts(item).join(", ")})`}
            >
              <span className="media-choice-thumb">
                {item.thumbnail_url ? <img src={item.thumbnail_url} alt="" loading="lazy" /> : null}
              </span>
              <span className="media-choice-name">{item.filename}</span>
              <span className="media-choice-facts">{mediaFacts(item).join(" · ")}</span>
            </button>
          </li>
        ))}
      </ul>
      {cursor ? (
        <button type="button" className="btn btn-secondary" onClick={() => void load(cursor)}>
          Show more
        </button>
      ) : null}
    </dialog>
  );
}
