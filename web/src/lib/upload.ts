// Uploads to the media library with progress: `POST /api/v1/media`
// (multipart, field `file`) through XMLHttpRequest, whose `upload.onprogress`
// reports the bytes sent (fetch cannot, short of a streaming body). Like the
// client, a 401 is followed by one shared refresh and one retry; failures
// are `ApiError`s carrying the problem (413 too big, 415 wrong type, 422
// unreadable, 402/507 storage), a broken connection a `NetworkError`.

import { useCallback, useEffect, useRef, useState } from "react";
import { api, ApiError, NetworkError } from "../api";
import { apiErrorOf } from "../api/client";
import type { MediaItem } from "../api/types";

export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
  /** Where to send it (default the media library). */
  url?: string;
  /** Tests pass a fake. */
  createXhr?: () => XMLHttpRequest;
  /** The session refresh after a 401 (default: the app client's, shared with its calls). */
  refresh?: () => Promise<boolean>;
}

interface Answer {
  status: number;
  body: string;
  headers: Headers;
}

function abortError() {
  return new DOMException("The upload was cancelled.", "AbortError");
}

function headersOf(raw: string): Headers {
  const headers = new Headers();
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const at = line.indexOf(":");
    if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return headers;
}

function sendOnce(file: File, options: UploadOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(abortError());
      return;
    }
    const xhr = options.createXhr ? options.createXhr() : new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const cleanup = () => options.signal?.removeEventListener("abort", onAbort);
    xhr.open("POST", options.url ?? api.media.uploadUrl);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e: ProgressEvent) => {
      options.onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    };
    xhr.onload = () => {
      cleanup();
      resolve({ status: xhr.status, body: xhr.responseText, headers: headersOf(xhr.getAllResponseHeaders()) });
    };
    xhr.onerror = () => {
      cleanup();
      reject(new NetworkError("the upload could not reach the server"));
    };
    xhr.onabort = () => {
      cleanup();
      reject(abortError());
    };
    options.signal?.addEventListener("abort", onAbort);
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

/** Uploads `file` to the media library; resolves with the new item. */
export async function upload(file: File, options: UploadOptions = {}): Promise<MediaItem> {
  let answer = await sendOnce(file, options);
  if (answer.status === 401) {
    const refresh = options.refresh ?? api.refresh;
    if (await refresh()) {
      options.onProgress?.({ loaded: 0, total: file.size });
      answer = await sendOnce(file, options);
    }
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw await apiErrorOf(new Response(answer.body, { status: answer.status, headers: answer.headers }));
  }
  try {
    return JSON.parse(answer.body) as MediaItem;
  } catch {
    throw new ApiError(answer.status, { title: "Unreadable answer", status: answer.status, detail: "" }, null);
  }
}

export interface UploadState {
  /** The file on its way, with the bytes sent so far. */
  current: { name: string; loaded: number; total: number } | null;
  error: unknown;
  /** Uploads `file`; resolves with the item, or null when it failed (see `error`) or was cancelled. */
  start: (file: File) => Promise<MediaItem | null>;
  cancel: () => void;
  clearError: () => void;
}

/** One upload at a time, with its progress and error, cancelled when the component goes. */
export function useUpload(): UploadState {
  const [current, setCurrent] = useState<UploadState["current"]>(null);
  const [error, setError] = useState<unknown>(null);
  const controller = useRef<AbortController | null>(null);

  useEffect(() => () => controller.current?.abort(), []);

  const start = useCallback(async (file: File) => {
    controller.current?.abort();
    const mine = new AbortController();
    controller.current = mine;
    setError(null);
    setCurrent({ name: file.name, loaded: 0, total: file.size });
    try {
      const item = await upload(file, {
        signal: mine.signal,
        onProgress: (p) => {
          if (!mine.signal.aborted) setCurrent({ name: file.name, loaded: p.loaded, total: p.total });
        },
      });
      return mine.signal.aborted ? null : item;
    } catch (err) {
      if (!mine.signal.aborted) setError(err);
      return null;
    } finally {
      if (controller.current === mine) {
        controller.current = null;
        setCurrent(null);
      }
    }
  }, []);

  const cancel = useCallback(() => {
    controller.current?.abort();
    controller.current = null;
    setCurrent(null);
  }, []);

  const clearError = useCallback(() => setError(null), []);

  return { current, error, start, cancel, clearError };
}

/** The files of a drop or a file input, as one file (the first), or null. */
export function firstFile(list: FileList | null | undefined): File | null {
  return list && list.length > 0 ? (list[0] ?? null) : null;
}
