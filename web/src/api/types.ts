// Shapes of the Reelforge API, as the Rust handlers serialise them
// (src/*/routes.rs and the services behind them; /api/openapi.json describes
// the same). `e2e/run.mjs` checks these names against the served OpenAPI.

export type Plan = "free" | "pro" | "enterprise";

/** RFC 9457 problem+json, with the extension members the API uses. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail: string;
  /** 422: one entry per invalid field. */
  errors?: { field: string; message: string }[];
  /** 429: seconds to wait (also the Retry-After header). */
  retry_after_seconds?: number;
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
  /** 402 premium template. */
  required_plan?: Plan;
}

export interface UserView {
  id: string;
  email: string;
  role: string;
}

export interface TenantView {
  id: string;
  name: string;
  plan: Plan;
}

export interface Me {
  /** Absent when the caller is an API key. */
  user: UserView | null;
  tenant: TenantView;
}

export interface TokenResponse {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  refresh_token: string;
  user: UserView;
  tenant: TenantView;
}

export interface MagicLinkSent {
  status: string;
  detail: string;
}

export type Aspect = "16:9" | "9:16" | "1:1";

export interface Template {
  id: string;
  name: string;
  description: string;
  aspect: Aspect | string;
  width: number;
  height: number;
  fps: number;
  premium: boolean;
}

export interface Voice {
  id: string;
  provider: string;
  language: string;
  name: string;
  gender?: string | null;
  /** Where a short WAV sample plays. */
  preview_url: string;
}

export interface CreateProject {
  title: string;
  script: string;
  template_id: string;
  voice?: string;
  language?: string;
}

export interface Created {
  project_id: string;
  status: "queued";
  eta_seconds: number;
}

export type ProjectStatus = "queued" | "running" | "completed" | "partial" | "failed" | "cancelled";
export type SceneStatus = "queued" | "running" | "done" | "failed" | "cancelled";

export interface Progress {
  done: number;
  total: number;
  percent: number;
}

export interface Scene {
  index: number;
  text: string;
  status: SceneStatus;
  error: string | null;
}

export interface Project {
  id: string;
  title: string;
  status: ProjectStatus;
  template_id: string;
  language: string;
  width: number;
  height: number;
  progress: Progress;
  scenes: Scene[];
  warnings: string[];
  error: string | null;
  video_url: string | null;
  thumbnail_url: string | null;
  captions_url: string | null;
  duration_seconds: number | null;
  created_at: string;
  updated_at: string;
}

export interface ProjectSummary {
  id: string;
  title: string;
  status: ProjectStatus;
  template_id: string;
  progress: Progress;
  thumbnail_url: string | null;
  duration_seconds: number | null;
  created_at: string;
}

export interface ProjectPage {
  items: ProjectSummary[];
  next_cursor: string | null;
}

export type StepKind = "image" | "speech" | "segment" | "final";
export type StepStatus = "pending" | "blocked" | "running" | "done" | "failed" | "cancelled" | string;

/** Data of an SSE `step` event. */
export interface StepEvent {
  kind: StepKind | string;
  /** Absent (null) for the project-wide final step. */
  scene: number | null;
  status: StepStatus;
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

export type MetricName = "images_generated" | "tts_seconds" | "render_minutes" | "storage_mb";

export interface MetricUsage {
  used: number;
  /** null when unlimited. */
  quota: number | null;
  reserved: number;
}

export interface Usage {
  period: string;
  plan: Plan;
  metrics: Partial<Record<MetricName, MetricUsage>>;
  near_limit: MetricName[];
}

export interface DayAmount {
  date: string;
  amount: number;
}

export interface UsageHistory {
  days: number;
  series: Partial<Record<MetricName, DayAmount[]>>;
}

export interface Subscription {
  plan: Plan;
  /** Stripe's status (`active`, `past_due`, `canceled`, ...) or `none`. */
  status: string;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
  /** False when this server takes no payments (checkout and portal answer 503). */
  billing_enabled: boolean;
}

export interface CheckoutResponse {
  checkout_url: string;
  session_id: string;
}

export interface PortalResponse {
  portal_url: string;
}

export interface ApiKeyResponse {
  api_key: string;
}

export interface AuditEntry {
  id: string;
  action: string;
  actor: string;
  user_id: string | null;
  ip: string | null;
  detail: Record<string, unknown>;
  created_at: string;
}

export interface AuditPage {
  items: AuditEntry[];
  next_cursor: string | null;
}

export type ExportStatus = "queued" | "running" | "ready" | "failed" | "expired";

export interface ExportView {
  export_id: string;
  status: ExportStatus;
  download_url: string | null;
  size_bytes: number;
  expires_at: string | null;
  error: string | null;
}

export interface BackupStatus {
  last_backup_at: string | null;
  next_backup_at: string | null;
  retention_days: number;
  /** `ok`, `failed`, `running` or `never`. */
  last_status: string;
}
