// The one typed client of the Reelforge API.
//
// It relies on the HttpOnly `rf_access` / `rf_refresh` cookies of the same
// origin. When a call answers 401 it calls `POST /api/auth/refresh` once
// (concurrent 401s share that single refresh: a refresh token is single use
// and presenting a rotated one revokes the whole session) and repeats the
// call; when the refresh fails too, `onSignedOut` runs (the app goes to
// /login). Errors are thrown as `ApiError` carrying the RFC 9457 problem.

import type {
  Batch,
  BatchCreated,
  BatchPage,
  BatchSettings,
  Brand,
  CaptionStyle,
  ApiKeyList,
  ApiKeyResponse,
  CreatedApiKey,
  AuditPage,
  BackupStatus,
  CheckoutResponse,
  CreateProject,
  Created,
  EstimateProject,
  ExportView,
  InviteView,
  MagicLinkSent,
  MemberView,
  NewInvite,
  MediaItem,
  MediaPage,
  Me,
  MusicBed,
  PortalResponse,
  Problem,
  Project,
  ProjectEstimate,
  ProjectPage,
  ProjectPatch,
  RenderStarted,
  Role,
  SceneEdit,
  SceneInsert,
  Scope,
  ScriptRequest,
  StockResults,
  StockSearch,
  StoryboardScene,
  Subscription,
  Team,
  Template,
  TemplateInput,
  TokenResponse,
  Overage,
  OverageRequest,
  Usage,
  UsageHistory,
  Voice,
  WebhookDelivery,
  WebhookDeliveryPage,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookEndpointPatch,
  CreatedWebhookEndpoint,
  NewWebhookEndpoint,
  WrittenScript,
} from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  /** From the `Retry-After` header (or the problem's `retry_after_seconds`). */
  readonly retryAfterSeconds: number | null;

  constructor(status: number, problem: Problem, retryAfterSeconds: number | null) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** The message of one field of a 422 answer. */
  fieldError(field: string): string | undefined {
    return this.problem.errors?.find((e) => e.field === field)?.message;
  }
}

/** A network failure (server unreachable), as a problem the UI can show. */
export class NetworkError extends ApiError {
  constructor(cause: unknown) {
    super(0, { title: "Network error", status: 0, detail: String(cause) }, null);
    this.name = "NetworkError";
  }
}

export interface ClientOptions {
  /** The fetch to use (tests pass a fake). */
  fetch?: typeof fetch;
  /** Called once when the session is gone (refresh refused). */
  onSignedOut?: () => void;
}

interface RequestOptions {
  body?: unknown;
  /** A file sent as the request body itself (its type is read by the server from its content). */
  file?: Blob;
  /** A multipart form (the browser writes its Content-Type with the boundary). */
  form?: FormData;
  signal?: AbortSignal;
}

/** Calls that must never trigger a refresh-and-retry. */
const NO_REFRESH = ["/api/auth/refresh", "/api/auth/magic-link/", "/api/auth/logout"];

function retryAfter(response: Response, problem: Problem): number | null {
  const header = response.headers.get("retry-after");
  if (header !== null && /^\d+$/.test(header.trim())) return Number(header.trim());
  if (typeof problem.retry_after_seconds === "number") return problem.retry_after_seconds;
  return null;
}

async function problemOf(response: Response): Promise<Problem> {
  const fallback: Problem = {
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: "",
  };
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("json")) return fallback;
  try {
    const body = (await response.json()) as Partial<Problem>;
    return { ...fallback, ...body, status: response.status };
  } catch {
    return fallback;
  }
}

/** The `ApiError` of a failed response (for calls made outside the client, such as uploads). */
export async function apiErrorOf(response: Response): Promise<ApiError> {
  const problem = await problemOf(response);
  return new ApiError(response.status, problem, retryAfter(response, problem));
}

export function createClient(options: ClientOptions = {}) {
  const doFetch: typeof fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
  let refreshing: Promise<boolean> | null = null;
  let signedOutNotified = false;

  /** One refresh at a time; every caller waiting on a 401 shares it. */
  function refresh(): Promise<boolean> {
    if (!refreshing) {
      refreshing = doFetch("/api/auth/refresh", {
        method: "POST",
        credentials: "same-origin",
        referrerPolicy: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then((r) => r.ok)
        .catch(() => false)
        .finally(() => {
          // Let a later 401 (a new expiry) refresh again.
          setTimeout(() => (refreshing = null), 0);
        });
    }
    return refreshing;
  }

  function signedOut() {
    if (signedOutNotified) return;
    signedOutNotified = true;
    options.onSignedOut?.();
  }

  async function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    // "same-origin" keeps a real Origin header on our own POSTs even though the
    // app's page is served with Referrer-Policy: no-referrer (under which the
    // Fetch standard sends "Origin: null", refused by the server's cookie
    // origin check), and sends no Referer anywhere else.
    const init: RequestInit = { method, credentials: "same-origin", headers, signal: opts.signal, referrerPolicy: "same-origin" };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    } else if (opts.file !== undefined) {
      headers["Content-Type"] = opts.file.type || "application/octet-stream";
      init.body = opts.file;
    } else if (opts.form !== undefined) {
      init.body = opts.form;
    }
    try {
      return await doFetch(path, init);
    } catch (err) {
      if ((err as Error)?.name === "AbortError") throw err;
      throw new NetworkError(err);
    }
  }

  /** A response, after the transparent refresh; throws ApiError when not 2xx. */
  async function raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    let response = await send(method, path, opts);
    if (response.status === 401 && !NO_REFRESH.some((p) => path.startsWith(p))) {
      if (await refresh()) {
        signedOutNotified = false;
        response = await send(method, path, opts);
      }
      if (response.status === 401) {
        const problem = await problemOf(response);
        signedOut();
        throw new ApiError(401, problem, null);
      }
    }
    if (!response.ok) throw await apiErrorOf(response);
    return response;
  }

  async function json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const response = await raw(method, path, opts);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  const get = <T>(path: string, signal?: AbortSignal) => json<T>("GET", path, { signal });
  const post = <T>(path: string, body?: unknown) => json<T>("POST", path, { body });
  const del = <T>(path: string) => json<T>("DELETE", path);
  const enc = encodeURIComponent;

  return {
    raw,
    get,
    post,
    del,
    /** Exposed for the live-progress stream, which cannot see a 401 itself. */
    refresh,
    auth: {
      requestLink: (email: string) => post<MagicLinkSent>("/api/auth/magic-link/request", { email }),
      verify: (token: string) => post<TokenResponse>("/api/auth/magic-link/verify", { token }),
      me: (signal?: AbortSignal) => get<Me>("/api/auth/me", signal),
      /** Opens another tenant of `me.tenants`: new session cookies, the old session ends; 404 when not a member. */
      switchTenant: (tenantId: string) => post<TokenResponse>("/api/auth/switch-tenant", { tenant_id: tenantId }),
      logout: () => post<void>("/api/auth/logout"),
    },
    projects: {
      templates: () => get<Template[]>("/api/v1/templates"),
      captionStyles: () => get<CaptionStyle[]>("/api/v1/caption-styles"),
      voices: (language?: string) =>
        get<Voice[]>(`/api/v1/voices${language ? `?language=${enc(language)}` : ""}`),
      list: (cursor?: string, limit = 20) =>
        get<ProjectPage>(`/api/v1/projects?limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ""}`),
      get: (id: string, signal?: AbortSignal) => get<Project>(`/api/v1/projects/${enc(id)}`, signal),
      /** The project's settings (its music; `null` removes it); 409 while a render runs, 422 with the fields. */
      update: (id: string, body: ProjectPatch) => json<Project>("PATCH", `/api/v1/projects/${enc(id)}`, { body }),
      create: (body: CreateProject) => post<Created>("/api/v1/projects", body),
      /** Scenes, words and the usage creation would reserve; 422 as creation. */
      estimate: (body: EstimateProject, signal?: AbortSignal) =>
        json<ProjectEstimate>("POST", "/api/v1/projects/estimate", { body, signal }),
      retry: (id: string) => post<{ project_id: string; status: string }>(`/api/v1/projects/${enc(id)}/retry`),
      cancel: (id: string) => post<{ project_id: string; status: string }>(`/api/v1/projects/${enc(id)}/cancel`),
      remove: (id: string) => del<void>(`/api/v1/projects/${enc(id)}`),
      eventsUrl: (id: string) => `/api/v1/projects/${enc(id)}/events`,
      fileUrl: (id: string, file: "video" | "thumbnail" | "captions.vtt" | "captions.srt" | "credits.txt") =>
        `/api/v1/projects/${enc(id)}/${file}`,
      /** Renders what changed since the last render (a draft: everything); 409 while running or when nothing changed. */
      render: (id: string) => post<RenderStarted>(`/api/v1/projects/${enc(id)}/render`),
    },
    batches: {
      list: (cursor?: string, limit = 20) =>
        get<BatchPage>(`/api/v1/batches?limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ""}`),
      get: (id: string, signal?: AbortSignal) => get<Batch>(`/api/v1/batches/${enc(id)}`, signal),
      /** The rows as a CSV file; 422 lists every problem (`errors`, each with its `row`), 402 for the whole batch. */
      createFromCsv: (csv: Blob, settings: BatchSettings) => {
        const form = new FormData();
        form.append("batch", new Blob([JSON.stringify(settings)], { type: "application/json" }));
        form.append("rows", csv, "rows.csv");
        return json<BatchCreated>("POST", "/api/v1/batches", { form });
      },
      zipUrl: (id: string) => `/api/v1/batches/${enc(id)}/videos.zip`,
    },
    templates: {
      /** The built-ins, then the tenant's own. */
      list: () => get<Template[]>("/api/v1/templates"),
      /** 201; 422 names each wrong field. */
      create: (body: TemplateInput) => post<Template>("/api/v1/templates", body),
      /** A merge patch: members replace, `null` gives a field back to the base; 403 for a built-in. */
      update: (id: string, body: Partial<Record<keyof TemplateInput, unknown>>) =>
        json<Template>("PATCH", `/api/v1/templates/${enc(id)}`, { body }),
      remove: (id: string) => del<void>(`/api/v1/templates/${enc(id)}`),
      /** The still (PNG) the render's code draws for `body`; 422 as create, 429 past the per-minute limit. */
      preview: async (body: TemplateInput, signal?: AbortSignal) =>
        (await raw("POST", "/api/v1/templates/preview", { body, signal })).blob(),
    },
    scripts: {
      /** A script from a topic; 503 without a language model, 402 `scripts_generated`, 429, 502, 504. */
      write: (body: ScriptRequest) => post<WrittenScript>("/api/v1/scripts", body),
    },
    music: {
      /** The bundled beds, each with a WAV preview. */
      beds: () => get<MusicBed[]>("/api/v1/music"),
    },
    scenes: {
      list: (id: string, signal?: AbortSignal) => get<StoryboardScene[]>(`/api/v1/projects/${enc(id)}/scenes`, signal),
      /** 409 while a render runs; 422 with the fields. */
      update: (id: string, index: number, body: SceneEdit) =>
        json<StoryboardScene>("PATCH", `/api/v1/projects/${enc(id)}/scenes/${index}`, { body }),
      /** These three answer the whole new scene list. */
      insert: (id: string, body: SceneInsert) => post<StoryboardScene[]>(`/api/v1/projects/${enc(id)}/scenes`, body),
      remove: (id: string, index: number) => del<StoryboardScene[]>(`/api/v1/projects/${enc(id)}/scenes/${index}`),
      /** `order`: the old indexes in their new order. */
      reorder: (id: string, order: number[]) =>
        post<StoryboardScene[]>(`/api/v1/projects/${enc(id)}/scenes/reorder`, { order }),
    },
    media: {
      /** Uploads go through `upload()` in lib/upload.ts (progress needs XMLHttpRequest). */
      uploadUrl: "/api/v1/media",
      list: (cursor?: string, limit = 24) =>
        get<MediaPage>(`/api/v1/media?limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ""}`),
      get: (id: string) => get<MediaItem>(`/api/v1/media/${enc(id)}`),
      /** 409 with `projects` when scenes use the file. */
      remove: (id: string) => del<void>(`/api/v1/media/${enc(id)}`),
      fileUrl: (id: string) => `/api/v1/media/${enc(id)}/file`,
      thumbnailUrl: (id: string) => `/api/v1/media/${enc(id)}/thumbnail`,
    },
    stock: {
      /** 503 when no provider is set up (or they ask us to wait), 502 when one failed, 429 (Retry-After). */
      search: (search: StockSearch, signal?: AbortSignal) => {
        const query = new URLSearchParams({ q: search.q, media: search.media, orientation: search.orientation, page: String(search.page ?? 1) });
        if (search.provider) query.set("provider", search.provider);
        return get<StockResults>(`/api/v1/stock/search?${query.toString()}`, signal);
      },
    },
    usage: {
      current: (signal?: AbortSignal) => get<Usage>("/api/usage", signal),
      history: (days = 30) => get<UsageHistory>(`/api/usage/history?days=${days}`),
    },
    billing: {
      subscription: () => get<Subscription>("/api/billing/subscription"),
      checkout: (plan: "pro" | "enterprise") => post<CheckoutResponse>("/api/billing/checkout", { plan }),
      portal: () => post<PortalResponse>("/api/billing/portal"),
      /** The owner turns overages on or off and sets the monthly cap: 409 on Free, 422 names `cap_usd`. */
      overage: (body: OverageRequest) => json<Overage>("PATCH", "/api/billing/overage", { body }),
    },
    brand: {
      get: () => get<Brand>("/api/v1/brand"),
      /** 402 on Free; 422 names `corner` or `opacity`. */
      place: (placement: { corner?: string; opacity?: number }) => json<Brand>("PATCH", "/api/v1/brand", { body: placement }),
      /** The PNG or SVG itself as the body; 413 over 2 MB, 422 with the reason. */
      uploadLogo: (file: Blob) => json<Brand>("PUT", "/api/v1/brand/logo", { file }),
      removeLogo: () => del<void>("/api/v1/brand/logo"),
    },
    webhooks: {
      /** The endpoints, oldest first (never their secrets). */
      list: () => get<WebhookEndpointList>("/api/v1/webhooks"),
      /** 201 with the signing secret, this once; 422 names `url` (refused address, or already 10 endpoints), `events` or `description`. */
      create: (body: NewWebhookEndpoint) => post<CreatedWebhookEndpoint>("/api/v1/webhooks", body),
      /** URL, description, events, `enabled`; 422 as `create`. */
      update: (id: string, body: WebhookEndpointPatch) => json<WebhookEndpoint>("PATCH", `/api/v1/webhooks/${enc(id)}`, { body }),
      /** Deletes the endpoint and its delivery log. */
      remove: (id: string) => del<void>(`/api/v1/webhooks/${enc(id)}`),
      /** The delivery log, newest first; `limit` 1 to 100. */
      deliveries: (id: string, cursor?: string, limit = 10) =>
        get<WebhookDeliveryPage>(`/api/v1/webhooks/${enc(id)}/deliveries?limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ""}`),
      /** The same message again as a new delivery (202); 409 while the endpoint is off. */
      resend: (id: string, deliveryId: string) =>
        post<WebhookDelivery>(`/api/v1/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/resend`),
      /** Queues a `webhook.test` (202); 409 while the endpoint is off. */
      test: (id: string) => post<WebhookDelivery>(`/api/v1/webhooks/${enc(id)}/test`),
    },
    account: {
      rotateApiKey: () => post<ApiKeyResponse>("/api/account/rotate-api-key"),
      apiKeys: () => get<ApiKeyList>("/api/account/api-keys"),
      createApiKey: (name: string, scopes: Scope[]) => post<CreatedApiKey>("/api/account/api-keys", { name, scopes }),
      revokeApiKey: (id: string) => del<void>(`/api/account/api-keys/${enc(id)}`),
      audit: (cursor?: string, limit = 20) =>
        get<AuditPage>(`/api/account/audit?limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ""}`),
      startExport: () => post<ExportView>("/api/account/export"),
      exportStatus: (id: string) => get<ExportView>(`/api/account/exports/${enc(id)}`),
      backupStatus: () => get<BackupStatus>("/api/account/backup-status"),
      remove: (confirm: string) => post<{ status: string }>("/api/account/delete", { confirm }),
      /** The team (admins and the owner): members (the owner first), pending invitations, seats. */
      members: () => get<Team>("/api/account/members"),
      /** 201; 402 every seat taken (`seats_used`, `seats_limit`, `upgrade_url`), 409 already a member or invited (`invite_id`), 422 `email` or `role`. */
      invite: (body: NewInvite) => post<InviteView>("/api/account/members", body),
      /** `owner` hands ownership to an admin (the owner only; they become an admin); 409 for the owner's own role. */
      changeRole: (userId: string, role: Role) => json<MemberView>("PATCH", `/api/account/members/${enc(userId)}`, { body: { role } }),
      /** 204; 409 for the owner. */
      removeMember: (userId: string) => del<void>(`/api/account/members/${enc(userId)}`),
      /** 204: the link stops working and the seat is free. */
      revokeInvite: (id: string) => del<void>(`/api/account/invites/${enc(id)}`),
      /** A new link and expiry (expired ones too); 402 when an expired one cannot get its seat back. */
      resendInvite: (id: string) => post<InviteView>(`/api/account/invites/${enc(id)}/resend`),
    },
  };
}

export type Client = ReturnType<typeof createClient>;
