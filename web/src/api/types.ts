// Shapes of the Reelforge API. Everything the OpenAPI description covers is
// taken from `schema.d.ts`, generated from it by openapi-typescript
// (`scripts/check-openapi.sh --write`; `make test` fails when it drifts).
// What is left here narrows a generated type where the server's schema says
// only `string` (statuses, metric names), or describes what the description
// does not cover (the problem extensions, the progress events).

import type { components } from "./schema";

type Schemas = components["schemas"];

/**
 * A response body as the server sends it: utoipa marks `Option` members as
 * optional, but serde always writes them (`null` when empty).
 */
type Sent<T> = { [K in keyof T]-?: T[K] };

/** `T` with some members replaced by narrower types; each must be a member of `T`. */
type Narrow<T, U extends { [K in keyof U]: K extends keyof T ? unknown : never }> = Omit<T, keyof U> & U;

export type Plan = Schemas["Plan"];
export type FieldError = Schemas["FieldError"];
export type MetricName = "images_generated" | "tts_seconds" | "render_minutes" | "storage_mb" | "scripts_generated";

/** RFC 9457 problem+json, with the extension members the API uses. */
export type Problem = Narrow<
  Schemas["Problem"],
  {
    /** Absent when the answer was not problem+json. */
    type?: string;
    /** 422: one entry per invalid field (on a batch, with the `row` when it is one row's). */
    errors?: (FieldError & { row?: number })[];
    /** 429: seconds to wait (also the Retry-After header). */
    retry_after_seconds?: number;
  }
> & {
  /**
   * 503 on a stock search or a script: `not_configured` (no stock key, no language model);
   * `provider_busy` (wait). On a script also 429 `rate_limited`, 502 `invalid_answer`,
   * `refused`, `provider_failed`, 504 `timeout`.
   */
  reason?: "not_configured" | "provider_busy" | "rate_limited" | "invalid_answer" | "refused" | "provider_failed" | "timeout";
  /** 429 on export: the export already running, to follow instead. */
  export_id?: string;
  /** 429 on project creation: when the queue should have room. */
  eta_seconds?: number;
  /** 402 quota. */
  metric?: MetricName;
  used?: number;
  reserved?: number;
  quota?: number;
  needed?: number;
  upgrade_url?: string;
  /** 402 at the overage cap (dollars): the cap, spent so far, and with this request. */
  cap_usd?: number;
  spent_usd?: number;
  projected_usd?: number;
  /** 402 premium template. */
  required_plan?: Plan;
  /** 422 on a batch: how many problems there were (`errors` lists the first 100). */
  errors_total?: number;
  /** 402 on a batch: how many videos it asked for. */
  rows?: number;
  /** 409 on deleting a media file that scenes use: the projects they belong to. */
  projects?: { id: string; title: string }[];
  /** 403 `role-required`: the role the route needs. */
  required_role?: "admin" | "owner";
  /** 402 on an invitation: every seat is taken (members and pending invitations). */
  seats_used?: number;
  seats_limit?: number;
  /** 409 on an invitation: the one already open for that address. */
  invite_id?: string;
};

// ---------------------------------------------------------------------------
// Teams (SPEC 4.9).

/** `owner` (one per tenant: billing, erasure, members, ownership), `admin` (members, keys, webhooks, templates, brand, audit, exports), `member` (projects, media, batches, usage). */
export type Role = Schemas["Role"];
/** A tenant the person belongs to, with their role there. */
export type TenantMembership = Sent<Schemas["TenantMembership"]>;
/** A member of the team; `invited_by` is null for the tenant's first owner (or a former member's invitation). */
export type MemberView = Sent<Schemas["MemberView"]>;
/** An invitation not accepted yet; `expired` ones can be sent again. */
export type InviteView = Sent<Schemas["InviteView"]>;
/** Seats taken (members and pending invitations) and the plan's limit (null: unlimited). */
export type Seats = Sent<Schemas["Seats"]>;
/** `GET /api/account/members`: members (the owner first), pending invitations, seats. */
export type Team = Narrow<Sent<Schemas["Team"]>, { members: MemberView[]; invites: InviteView[]; seats: Seats }>;
/** `POST /api/account/members`: `role` defaults to `member`. */
export type NewInvite = Narrow<Schemas["NewInvite"], { role?: "admin" | "member" }>;
/** Who made a project: a member (`email` null once they left every team) or an API key (`api_key_name` null once deleted). */
export type CreatedBy = Narrow<Sent<Schemas["CreatedBy"]>, { kind: "member" | "api_key" }>;

export type UserView = Sent<Schemas["UserView"]>;
export type TenantView = Sent<Schemas["TenantView"]>;
/**
 * `user` is null when the caller is an API key; `tenants`: every tenant the
 * person belongs to (empty for a key), `user.role` their role in this one.
 */
export type Me = Sent<Schemas["MeResponse"]>;
export type TokenResponse = Sent<Schemas["TokenResponse"]>;
export type MagicLinkSent = Sent<Schemas["MagicLinkSent"]>;

/** A template: a built-in (`builtin`, read-only) or one of the tenant's brand templates. */
export type Template = Sent<Schemas["TemplateView"]>;
/** A brand template as a create (or preview) body; a PATCH sends any of its members, `null` giving one back to the base. */
export type TemplateInput = Schemas["TemplateInput"];
/** `"brand"`, `"none"` or a picture of the library in a corner. */
export type LogoSetting = Schemas["LogoSetting"];
/** `preview_url` plays a short WAV sample. */
export type Voice = Sent<Schemas["VoiceView"]>;
/** `preview_url` is a still of the style over a frame. */
export type CaptionStyle = Sent<Schemas["CaptionStyleView"]>;
/** A bundled music bed (`GET /api/v1/music`). */
export type MusicBed = Sent<Schemas["BedView"]>;
/** A project's music as a request gives it: `bundled` or `media_id`, and `volume`. */
export type MusicInput = Schemas["MusicInput"];
/** A project's music as it is shown. */
export type Music = Schemas["Music"];
export type ProjectPatch = Schemas["ProjectPatch"];

/**
 * A create call: from `script` (paragraphs become scenes) or from `scenes`;
 * `render: false` makes a storyboard (pictures and narration, then `draft`).
 */
export type CreateProject = Schemas["CreateProject"];
/** The create form's body, with the title optional. */
export type EstimateProject = Schemas["EstimateProject"];
/** What creating the project would reserve (`reserve` in the units of `/api/usage`). */
export type ProjectEstimate = Schemas["ProjectEstimate"];
export type Created = Narrow<Sent<Schemas["Created"]>, { status: "queued" }>;

/** `draft`: a storyboard (every scene has its picture and narration), no video yet. */
export type ProjectStatus = "queued" | "running" | "completed" | "partial" | "failed" | "cancelled" | "draft";
/** `stale`: edited since its picture or narration was made; the next render makes it again. */
export type SceneStatus = "queued" | "running" | "done" | "failed" | "cancelled" | "stale";

export type Progress = Schemas["Progress"];
export type Scene = Narrow<Sent<Schemas["SceneView"]>, { status: SceneStatus }>;
/**
 * `stale`: scenes were edited since the last render; `video_url` stays the
 * previous video while a render runs.
 */
export type Project = Narrow<
  Sent<Schemas["ProjectView"]>,
  {
    status: ProjectStatus;
    scenes: Scene[];
    credits: ProjectCredit[];
    /** Null for projects made before teams, or on the command line. */
    created_by: CreatedBy | null;
  }
>;
export type ProjectSummary = Narrow<Sent<Schemas["ProjectSummary"]>, { status: ProjectStatus }>;
export type ProjectPage = Narrow<Sent<Schemas["ProjectPage"]>, { items: ProjectSummary[] }>;

/** Known step kinds (a `StepEvent` may name others). */
export type StepKind = "image" | "speech" | "segment" | "audio" | "final";

/** Data of an SSE `step` event (the event stream is not in the OpenAPI description). */
export interface StepEvent {
  /** A `StepKind`. */
  kind: string;
  /** Absent (null) for the project-wide steps (audio and final). */
  scene: number | null;
  /** `pending`, `blocked`, `running`, `done`, `failed` or `cancelled`. */
  status: string;
  error: string | null;
  warning: string | null;
  project_status: ProjectStatus;
  progress: Progress;
  at: number;
}

/** Data of the SSE `done` event. */
export interface DoneEvent {
  status: ProjectStatus | "deleted";
  error?: string | null;
}

/** `quota` is null when unlimited. */
export type MetricUsage = Sent<Schemas["MetricUsage"]>;
/** Overages: the owner's switch and cap, and this month's usage past the quota (units and dollars). */
export type Overage = Narrow<
  Sent<Schemas["OverageView"]>,
  { metrics: Partial<Record<OverageMetric, number>>; cost_usd: Partial<Record<OverageMetric, number>> }
>;
/** The metrics that can go past their quota when overages are on. */
export type OverageMetric = "images_generated" | "tts_seconds" | "render_minutes";
export type Usage = Narrow<
  Sent<Schemas["UsageResponse"]>,
  {
    metrics: Partial<Record<MetricName, MetricUsage>>;
    near_limit: MetricName[];
    /** Always sent by this server; optional so that a view of an older answer still renders. */
    overage?: Overage;
  }
>;
export type OverageRequest = Schemas["OverageRequest"];
export type DayAmount = Schemas["DayAmount"];
export type UsageHistory = Narrow<Schemas["HistoryResponse"], { series: Partial<Record<MetricName, DayAmount[]>> }>;

/** `billing_enabled` is false when this server takes no payments (checkout and portal answer 503). */
export type Subscription = Sent<Schemas["SubscriptionView"]>;
export type CheckoutResponse = Schemas["CheckoutResponse"];
export type PortalResponse = Schemas["PortalResponse"];
export type ApiKeyResponse = Schemas["ApiKeyResponse"];
/** What an API key may do (`projects:read`, ...). */
export type Scope = Schemas["Scope"];
/** A named key as listed: never the key itself. */
export type ApiKey = Sent<Schemas["ApiKeyView"]>;
export type ApiKeyList = { items: ApiKey[] };
/** A new key: its listing and, this once, `api_key`. */
export type CreatedApiKey = ApiKey & { api_key: string };

export type AuditEntry = Narrow<Sent<Schemas["AuditEntry"]>, { detail: Record<string, unknown> }>;
export type AuditPage = Narrow<Sent<Schemas["AuditPage"]>, { items: AuditEntry[] }>;

export type ExportStatus = "queued" | "running" | "ready" | "failed" | "expired";
export type ExportView = Narrow<Sent<Schemas["ExportView"]>, { status: ExportStatus }>;

/** `last_status` is `ok`, `failed`, `running` or `never`. */
export type BackupStatus = Sent<Schemas["BackupStatus"]>;
/** A paid tenant's logo over its videos (`available` is false on Free). */
export type Brand = Sent<Schemas["BrandView"]>;

/** What a scene shows (`auto` unless chosen). */
export type Visual = Schemas["Visual"];
/** A stock provider (`pexels` or `pixabay`). */
export type StockProvider = Schemas["StockProvider"];
/** A stock photo or a clip. */
export type StockMedia = Schemas["StockMedia"];
/** The shape of a frame: `landscape`, `portrait` or `square`. */
export type Orientation = Schemas["Orientation"];
/** A scene's stock visual: `pick` (a result's id) needs `provider`. */
export type StockVisual = Extract<Visual, { kind: "stock" }>;
/** Who made a scene's stock photo or clip, and where it comes from. */
export type Credit = Sent<Schemas["Credit"]>;
/** A project's credit of one scene's stock photo or clip; `scene` from 0. */
export type ProjectCredit = Narrow<Sent<Schemas["ProjectCredit"]>, { provider: StockProvider; media: StockMedia }>;
/** One result of `GET /api/v1/stock/search`; `thumbnail_url` is served by Reelforge. */
export type StockResult = Sent<Schemas["StockResult"]>;
/** A page of stock results; `provider` is null when none had results. */
export type StockResults = Narrow<Sent<Schemas["StockResults"]>, { results: StockResult[] }>;
/** `GET /api/v1/stock/search`'s parameters. */
export interface StockSearch {
  q: string;
  media: StockMedia;
  orientation: Orientation;
  /** From 1 (default) to 50. */
  page?: number;
  /** One provider only (the one page 1 came from, for the next pages). */
  provider?: StockProvider | null;
}

/** A scene of a create call. */
export type NewScene = Schemas["SceneInput"];
/** Body of `POST /api/v1/scripts`. */
export type ScriptRequest = Schemas["ScriptRequest"];
/** A script from a topic: its `title`, `language` and `scenes` are a project's. */
export type WrittenScript = Schemas["Script"];
/** A scene as `GET /api/v1/projects/{id}/scenes` lists it: `image_url` (PNG) and `audio_url` (WAV) once made. */
export type StoryboardScene = Narrow<Sent<Schemas["SceneDetail"]>, { status: SceneStatus; credit: Credit | null }>;
/** `PATCH /api/v1/projects/{id}/scenes/{index}`: only the members sent change. */
export type SceneEdit = Schemas["ScenePatch"];
/** `POST /api/v1/projects/{id}/scenes`: a new scene at position `at`. */
export type SceneInsert = Schemas["InsertScene"];
/** The answer to `POST /api/v1/projects/{id}/render`. */
export type RenderStarted = Created;

// ---------------------------------------------------------------------------
// The media library (SPEC 4.7).

/** SPEC 4.7 kinds; the library accepts pictures and clips today. */
export type MediaKind = "image" | "video" | "audio" | "font";

/** A file of the media library. */
export type MediaItem = Narrow<Sent<Schemas["MediaView"]>, { kind: MediaKind }>;

/** A page of the media library, newest first. */
export interface MediaPage {
  items: MediaItem[];
  next_cursor: string | null;
}

// ---------------------------------------------------------------------------
// Outgoing webhooks (SPEC 4.8).

/**
 * An event an endpoint can subscribe to. The server does not list them (its
 * 422 on an unknown one names them); `webhook.test` is sent only by the test
 * button and cannot be subscribed to.
 */
export type WebhookEvent =
  | "project.draft_ready"
  | "project.completed"
  | "project.partial"
  | "project.failed"
  | "export.ready"
  | "usage.near_limit"
  | "subscription.updated"
  | "batch.completed";
/**
 * An endpoint as listed: never its secret. `events` empty: every event;
 * `disabled_reason` says why it is off; `failing_since` is set while every
 * attempt fails (after 5 days the server turns it off).
 */
export type WebhookEndpoint = Narrow<Omit<Sent<Schemas["EndpointView"]>, "secret">, { events: WebhookEvent[] }>;
export type WebhookEndpointList = { items: WebhookEndpoint[] };
/** A new endpoint: its listing and, this once, the signing secret (`whsec_...`). */
export type CreatedWebhookEndpoint = WebhookEndpoint & { secret: string };
/** `POST /api/v1/webhooks`: no events (or none listed) means every event. */
export type NewWebhookEndpoint = Narrow<Schemas["NewEndpoint"], { events?: WebhookEvent[] }>;
/** `PATCH /api/v1/webhooks/{id}`: only the members sent change. */
export type WebhookEndpointPatch = Narrow<Schemas["EndpointPatch"], { events?: WebhookEvent[] | null }>;
/** `succeeded`; `pending` (the next attempt at `next_attempt_at`); `failed`: given up. */
export type WebhookDeliveryStatus = "pending" | "succeeded" | "failed";
/** One message to one endpoint; `event` may also be `webhook.test`. */
export type WebhookDelivery = Narrow<Sent<Schemas["DeliveryView"]>, { status: WebhookDeliveryStatus; payload: unknown }>;
/** A page of an endpoint's deliveries, newest first. */
export type WebhookDeliveryPage = Narrow<Sent<Schemas["DeliveryPage"]>, { items: WebhookDelivery[] }>;
/** A batch's status, from its rows. */
export type BatchStatus = "queued" | "running" | "completed" | "partial" | "failed" | "cancelled";
/** One problem of a batch's 422: of one row (`row`, 0-based) or of the whole request. */
export type BatchError = Schemas["RowError"];
export type BatchCreated = Narrow<Sent<Schemas["BatchCreated"]>, { status: BatchStatus }>;
export type BatchRow = Sent<Schemas["BatchRowView"]>;
export type Batch = Narrow<Sent<Schemas["BatchView"]>, { status: BatchStatus; rows: BatchRow[] }>;
export type BatchSummary = Narrow<Sent<Schemas["BatchSummary"]>, { status: BatchStatus }>;
export type BatchPage = Narrow<Sent<Schemas["BatchPage"]>, { items: BatchSummary[] }>;
/** The JSON part of a CSV upload: a batch without `rows`. */
export type BatchSettings = Omit<Schemas["CreateBatch"], "rows">;
