import { useEffect } from "react";
import { api } from "../api";
import type { MetricName, Usage } from "../api/types";
import { METRICS, METRIC_ORDER, planName, usd } from "../lib/format";
import { onUsageChanged } from "../lib/events";
import { useAsync } from "../lib/useAsync";
import { Link } from "../router";
import { ProgressBar } from "./ProgressBar";
import "./UsageBanner.css";

const REFRESH_MS = 30_000;

export function isNear(usage: Usage, metric: MetricName): boolean {
  const m = usage.metrics[metric];
  if (usage.near_limit.includes(metric)) return true;
  return !!m && m.quota !== null && m.quota > 0 && m.used >= 0.9 * m.quota;
}

/**
 * Who reads the banner: the team's `owner` (billing is theirs: links to
 * /billing), an `other` role (told to ask the owner), or `unknown` while the
 * session loads (neither).
 */
export type BannerReader = "owner" | "other" | "unknown";

/** This month's usage against the plan's quotas, one bar per metric. With
 * overages on, the upgrade prompt becomes what the overage has cost so far. */
export function UsageBannerView({ usage, reader = "owner" }: { usage: Usage; reader?: BannerReader }) {
  const near = METRIC_ORDER.filter((m) => isNear(usage, m));
  const overage = usage.overage?.active ? usage.overage : null;
  const upgradable = usage.plan !== "enterprise" && !overage;
  const overageText = overage ? `Overage on: ${usd(overage.spent_usd)} so far of your ${usd(overage.cap_usd ?? 0)} cap` : "";
  return (
    <section className="usage-banner" aria-labelledby="usage-heading">
      <div className="usage-head">
        <h2 id="usage-heading">
          Usage this month <span className="usage-plan">{planName(usage.plan)} plan</span>
        </h2>
        {overage ? (
          reader === "owner" ? (
            <Link to="/billing" className="usage-overage" data-testid="overage-status">
              {overageText}
            </Link>
          ) : (
            <span className="usage-overage" data-testid="overage-status">
              {overageText}
            </span>
          )
        ) : upgradable && reader === "owner" ? (
          <Link to="/billing" className="usage-upgrade">
            Upgrade for more
          </Link>
        ) : upgradable && reader === "other" ? (
          <span className="usage-ask">For more, ask the team&rsquo;s owner to upgrade</span>
        ) : null}
      </div>
      {near.length > 0 ? (
        <p className="usage-warning" role="status">
          You have used 90% or more of your {near.map((m) => METRICS[m].label.toLowerCase()).join(", ")} quota.
          {overage
            ? " Overage is on: images, narration and video past the quota are billed, up to your cap."
            : upgradable && reader === "owner"
              ? " Upgrade to keep making videos this month."
              : upgradable && reader === "other"
                ? " Ask the team’s owner to upgrade to keep making videos this month."
                : ""}
        </p>
      ) : null}
      <div className="usage-grid">
        {METRIC_ORDER.map((name) => {
          const metric = usage.metrics[name];
          if (!metric) return null;
          const info = METRICS[name];
          if (metric.quota === null) {
            return (
              <div key={name} className="usage-metric" data-metric={name}>
                <ProgressBar
                  label={info.label}
                  value={0}
                  max={1}
                  detail={`${info.format(metric.used)} · unlimited`}
                  valueText={`${info.format(metric.used)} used, unlimited`}
                  size="small"
                />
              </div>
            );
          }
          const text = `${info.format(metric.used)} of ${info.format(metric.quota)}`;
          return (
            <div key={name} className="usage-metric" data-metric={name}>
              <ProgressBar
                label={info.label}
                value={metric.used}
                max={metric.quota}
                detail={text}
                valueText={`${text} used${isNear(usage, name) ? ", near the limit" : ""}`}
                warn={isNear(usage, name)}
                size="small"
              />
            </div>
          );
        })}
      </div>
    </section>
  );
}

export function UsageBanner({ reader }: { reader: BannerReader }) {
  const usage = useAsync(() => api.usage.current(), []);
  const { reload } = usage;
  useEffect(() => {
    const off = onUsageChanged(() => void reload());
    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible") void reload();
    }, REFRESH_MS);
    return () => {
      off();
      window.clearInterval(timer);
    };
  }, [reload]);
  if (!usage.data) {
    return (
      <section className="usage-banner usage-loading" aria-label="Usage this month">
        <p>{usage.error ? "Usage could not be loaded." : "Loading usage…"}</p>
      </section>
    );
  }
  return <UsageBannerView usage={usage.data} reader={reader} />;
}
