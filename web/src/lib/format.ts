// Human units for usage, sizes, durations and dates.

import type { MetricName } from "../api/types";

const nf = (digits: number) => new Intl.NumberFormat("en-US", { maximumFractionDigits: digits });

export function number(n: number, digits = 0): string {
  return nf(digits).format(n);
}

/** Dollars as "$0.06" or "$1,250.00". */
export function usd(n: number): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n);
}

/** Seconds as "45 s", "2.5 min" or "1.2 h". */
export function duration(seconds: number): string {
  if (seconds < 60) return `${number(seconds, seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${number(seconds / 60, 1)} min`;
  return `${number(seconds / 3600, 1)} h`;
}

/** "1:05" for a video length. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Megabytes (decimal) as MB or GB. */
export function megabytes(mb: number): string {
  if (mb >= 1000) return `${number(mb / 1000, 2)} GB`;
  if (mb >= 10) return `${number(mb, 0)} MB`;
  return `${number(mb, 2)} MB`;
}

export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${number(n / 1000, 1)} kB`;
  return megabytes(n / 1_000_000);
}

/** `part` of `whole` as a whole percentage, "42%". */
export function percent(part: number, whole: number): string {
  if (!(whole > 0)) return "0%";
  return `${Math.round(Math.min(Math.max(part / whole, 0), 1) * 100)}%`;
}

export interface MetricInfo {
  label: string;
  /** used and quota in the metric's display unit */
  format: (value: number) => string;
  /** The API amount converted to what `format` shows, for the chart axis. */
  unit: string;
  toUnit: (value: number) => number;
}

export const METRICS: Record<MetricName, MetricInfo> = {
  images_generated: {
    label: "Images",
    format: (v) => number(v),
    unit: "images",
    toUnit: (v) => v,
  },
  tts_seconds: {
    label: "Narration",
    format: (v) => `${number(v / 60, v < 600 ? 1 : 0)} min`,
    unit: "min",
    toUnit: (v) => v / 60,
  },
  render_minutes: {
    label: "Rendering",
    format: (v) => `${number(v, v < 10 ? 2 : 0)} min`,
    unit: "min",
    toUnit: (v) => v,
  },
  storage_mb: {
    label: "Storage",
    format: megabytes,
    unit: "MB",
    toUnit: (v) => v,
  },
  scripts_generated: {
    label: "Written scripts",
    format: (v) => number(v),
    unit: "scripts",
    toUnit: (v) => v,
  },
};

export const METRIC_ORDER: MetricName[] = ["images_generated", "tts_seconds", "render_minutes", "storage_mb", "scripts_generated"];

export function date(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export function day(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString("en-GB", { dateStyle: "medium" });
}

export function planName(plan: string): string {
  return plan.charAt(0).toUpperCase() + plan.slice(1);
}
