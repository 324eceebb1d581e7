const LABELS: Record<string, string> = {
  queued: "Queued",
  running: "Rendering",
  completed: "Ready",
  partial: "Ready with warnings",
  failed: "Failed",
  cancelled: "Cancelled",
  done: "Done",
  active: "Active",
  trialing: "Trial",
  past_due: "Payment due",
  canceled: "Cancelled",
  unpaid: "Unpaid",
  none: "No subscription",
  ready: "Ready",
  expired: "Expired",
  ok: "OK",
  never: "Never run",
  draft: "Storyboard ready",
  stale: "Edited",
};

const TONES: Record<string, string> = {
  queued: "neutral",
  running: "info",
  completed: "success",
  done: "success",
  ready: "success",
  active: "success",
  trialing: "info",
  ok: "success",
  partial: "warning",
  past_due: "warning",
  failed: "danger",
  unpaid: "danger",
  cancelled: "neutral",
  canceled: "neutral",
  expired: "neutral",
  none: "neutral",
  never: "neutral",
  draft: "brand",
  stale: "warning",
};

export function statusLabel(status: string): string {
  return LABELS[status] ?? status.replace(/_/g, " ");
}

export function StatusBadge({ status, label }: { status: string; label?: string }) {
  return <span className={`badge badge-${TONES[status] ?? "neutral"}`}>{label ?? statusLabel(status)}</span>;
}
