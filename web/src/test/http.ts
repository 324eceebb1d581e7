// A fake `fetch` for tests: routes by "METHOD /path" (query ignored unless
// the route names it), records every call, answers JSON or problem+json.

import { vi } from "vitest";
import type { Template } from "../api/types";

export interface Call {
  method: string;
  url: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
  init: RequestInit;
}

type Answer = Response | { status?: number; body?: unknown; headers?: Record<string, string> };
type Handler = (call: Call) => Answer | Promise<Answer>;

/** The brand fields of a built-in template, for fixtures of `GET /api/v1/templates`. */
export const BUILTIN: Omit<Template, "id" | "name" | "description" | "aspect" | "width" | "height" | "fps" | "premium" | "caption_style"> = {
  builtin: true,
  base_id: null,
  palette: ["#4c1d95", "#7c3aed"],
  text_color: "#ffffff",
  heading_font: null,
  body_font: null,
  caption_font: null,
  logo: "brand",
  music: null,
  motion: ["pan_right", "pan_left"],
  transition_seconds: 0.5,
  created_at: null,
  updated_at: null,
};

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export function problem(status: number, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify({ type: "about:blank", title: "Error", status, detail, ...extra }), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}

export function fakeFetch(routes: Record<string, Handler | Answer>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const parsed = new URL(url, "http://localhost");
    const method = (init.method ?? "GET").toUpperCase();
    const call: Call = {
      method,
      url,
      path: parsed.pathname,
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
      headers: (init.headers ?? {}) as Record<string, string>,
      init,
    };
    calls.push(call);
    const route =
      routes[`${method} ${parsed.pathname}${parsed.search}`] ?? routes[`${method} ${parsed.pathname}`] ?? routes[`${method} *`];
    if (route === undefined) return problem(404, `no fake route for ${method} ${url}`);
    const answer = typeof route === "function" ? await route(call) : route;
    // A Response body can be read once: answer a copy every time.
    if (answer instanceof Response) return answer.clone();
    return json(answer.body ?? {}, answer.status ?? 200, answer.headers);
  });
  vi.stubGlobal("fetch", fn);
  return { fn, calls };
}

/** A stand-in for EventSource: tests push events with `emit`. */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  url: string;
  closed = false;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private listeners = new Map<string, ((e: MessageEvent) => void)[]>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
    setTimeout(() => this.onopen?.(), 0);
  }

  addEventListener(type: string, listener: (e: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  emit(type: string, data: unknown) {
    for (const l of this.listeners.get(type) ?? []) l(new MessageEvent(type, { data: JSON.stringify(data) }));
  }

  close() {
    this.closed = true;
  }
}

/** A stand-in for XMLHttpRequest: the test drives progress and the answer. */
export class FakeXhr {
  static made: FakeXhr[] = [];
  method = "";
  url = "";
  headers: Record<string, string> = {};
  body: FormData | null = null;
  status = 0;
  responseText = "";
  responseHeaders = "";
  aborted = false;
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;

  constructor() {
    FakeXhr.made.push(this);
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: FormData) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  getAllResponseHeaders() {
    return this.responseHeaders;
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.({ loaded, total, lengthComputable: true } as ProgressEvent);
  }
  answer(status: number, body: unknown, contentType = "application/json") {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.responseHeaders = `content-type: ${contentType}\r\nretry-after: 7\r\n`;
    this.onload?.();
  }
}
