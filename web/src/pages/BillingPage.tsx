import { useEffect, useState } from "react";
import { api, ApiError } from "../api";
import type { Overage, OverageMetric, Plan, Subscription, Usage } from "../api/types";
import { useSession } from "../components/AppShell";
import { ErrorAlert } from "../components/ErrorAlert";
import { PLANS, PlanCard } from "../components/PlanCard";
import { StatusBadge } from "../components/StatusBadge";
import { TableWrap } from "../components/TableWrap";
import { notifyUsageChanged } from "../lib/events";
import { METRICS, METRIC_ORDER, day, planName, usd } from "../lib/format";
import { redirectTo } from "../lib/redirect";
import { useAsync } from "../lib/useAsync";
import { useTitle } from "../lib/title";
import { Link, useLocation } from "../router";
import "./BillingPage.css";

const RANK: Record<Plan, number> = { free: 0, pro: 1, enterprise: 2 };
const CONFIRM_POLL_MS = 1000;
const CONFIRM_TIMEOUT_MS = 45_000;

/** Base quotas per metric, from the current plan's quotas. */
export function baseQuotas(usage: Usage | undefined): Partial<Record<string, number>> {
  if (!usage || usage.plan === "enterprise") return {};
  const factor = usage.plan === "pro" ? 5 : 1;
  const out: Record<string, number> = {};
  for (const name of METRIC_ORDER) {
    const q = usage.metrics[name]?.quota;
    if (typeof q === "number") out[name] = q / factor;
  }
  return out;
}

function FeatureMatrix({ usage }: { usage: Usage | undefined }) {
  const base = baseQuotas(usage);
  const quota = (name: (typeof METRIC_ORDER)[number], factor: number | null) => {
    if (factor === null) return "Unlimited";
    const b = base[name];
    return b === undefined ? `${factor}× base` : METRICS[name].format(b * factor);
  };
  const rows: [string, string, string, string][] = [
    ...METRIC_ORDER.map(
      (m) =>
        [m === "storage_mb" ? "Storage" : `${METRICS[m].label} per month`, quota(m, 1), quota(m, 5), quota(m, null)] as [
          string,
          string,
          string,
          string,
        ],
    ),
    ["Video resolution", "Up to 720p", "Template's full size (1080p)", "Template's full size (1080p)"],
    ["Watermark", "Small watermark", "None", "None"],
    ["Premium templates", "—", "Included", "Included"],
    ["Captions (WebVTT, SRT)", "Included", "Included", "Included"],
    ["API access with your key", "Included", "Included", "Included"],
  ];
  return (
    <>
    <TableWrap label="Compare the plans">
      <table className="feature-matrix">
        <caption>Compare the plans</caption>
        <thead>
          <tr>
            <th scope="col">Feature</th>
            <th scope="col">Free</th>
            <th scope="col">Pro</th>
            <th scope="col">Enterprise</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([feature, ...cells]) => (
            <tr key={feature}>
              <th scope="row">{feature}</th>
              {cells.map((c, i) => (
                <td key={i}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
      <p className="muted small">Storage is what your videos take now; the other quotas start again on the 1st of each month (UTC).</p>
    </>
  );
}

const OVERAGE_METRICS: OverageMetric[] = ["images_generated", "tts_seconds", "render_minutes"];

/** The owner's overage controls (paid plans): a switch, the monthly cap, and this month's overage. */
export function OverageSection({
  plan,
  overage,
  disabled,
  onSaved,
}: {
  plan: Plan;
  overage: Overage | undefined;
  disabled: boolean;
  onSaved: (overage: Overage) => void;
}) {
  const [enabled, setEnabled] = useState(overage?.enabled ?? false);
  const [cap, setCap] = useState(overage?.cap_usd != null ? String(overage.cap_usd) : "");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    setEnabled(overage?.enabled ?? false);
    setCap(overage?.cap_usd != null ? String(overage.cap_usd) : "");
  }, [overage?.enabled, overage?.cap_usd]);

  if (plan === "free") {
    return (
      <section className="card overage" aria-labelledby="overage-heading">
        <h2 id="overage-heading">Overages</h2>
        <p className="muted">
          On Pro and Enterprise you can keep making videos past your monthly quota, paying for what you use beyond it
          up to a spending cap you choose.
        </p>
      </section>
    );
  }

  async function save(event: React.FormEvent) {
    event.preventDefault();
    setSaving(true);
    setError(null);
    setSaved(false);
    try {
      const trimmed = cap.trim();
      const body = trimmed === "" ? { enabled } : { enabled, cap_usd: Number(trimmed) };
      const result = await api.billing.overage(body);
      onSaved(result);
      setSaved(true);
      notifyUsageChanged();
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  }

  return (
    <section className="card overage" aria-labelledby="overage-heading">
      <h2 id="overage-heading">Overages</h2>
      <p className="muted">
        With overages on, images, narration and video past your monthly quota are admitted and billed with your
        subscription, until this month&rsquo;s overage reaches your cap. We e-mail you at 50%, 80% and 100% of the cap.
      </p>
      {/* The form waits for the settings: a box ticked before they arrive would be reset by them. */}
      {overage === undefined ? (
        <p className="muted" role="status">
          Loading your overage settings…
        </p>
      ) : (
        <form onSubmit={(e) => void save(e)} className="overage-form">
        <div className="field field-inline">
          <input
            id="overage-enabled"
            type="checkbox"
            checked={enabled}
            onChange={(e) => setEnabled(e.target.checked)}
            disabled={disabled || saving}
          />
          <label htmlFor="overage-enabled">Allow usage past the quota</label>
        </div>
        <div className="field">
          <label htmlFor="overage-cap">Monthly cap (US dollars)</label>
          <input
            id="overage-cap"
            type="number"
            inputMode="decimal"
            min="0.01"
            max="100000"
            step="0.01"
            value={cap}
            onChange={(e) => setCap(e.target.value)}
            disabled={disabled || saving}
            aria-describedby="overage-cap-hint"
          />
          <p id="overage-cap-hint" className="field-hint">
            From $0.01 to $100,000. Work that would take this month&rsquo;s overage past it is refused.
          </p>
        </div>
        <div className="btn-row">
          <button type="submit" className="btn btn-primary" disabled={disabled || saving}>
            {saving ? "Saving…" : "Save overage settings"}
          </button>
          {saved ? (
            <span role="status" className="muted small">
              Saved.
            </span>
          ) : null}
        </div>
        </form>
      )}
      <ErrorAlert error={error} onDismiss={() => setError(null)} />
      {overage ? (
        <div className="overage-usage" data-testid="overage-usage">
          <p>
            {overage.active ? "Overage on" : "Overage off"}: <strong>{usd(overage.spent_usd)}</strong> this month
            {overage.cap_usd != null ? ` of your ${usd(overage.cap_usd)} cap` : ""}.
          </p>
          <ul className="overage-metrics">
            {OVERAGE_METRICS.map((m) => (
              <li key={m}>
                {METRICS[m].label}: {METRICS[m].format(overage.metrics[m] ?? 0)} past the quota ·{" "}
                {usd(overage.cost_usd[m] ?? 0)}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

const FAQ: [string, string][] = [
  [
    "How do I pay?",
    "Upgrading opens Stripe Checkout, where you pay by card. Reelforge never sees your card details. Your plan changes as soon as Stripe confirms the payment.",
  ],
  [
    "Can I cancel at any time?",
    "Yes. Open “Manage billing” to cancel in Stripe’s customer portal. You keep your plan until the end of the paid period, then move to Free. Nothing is deleted.",
  ],
  [
    "What happens if a payment fails?",
    "Your plan stays active while Stripe retries, and we e-mail you. Update your card in the customer portal. If Stripe finally cancels the subscription, you move to Free and keep your videos.",
  ],
  [
    "What happens when I reach a quota?",
    "New videos that would pass a quota are refused with a message saying how much is left. Upgrade, or wait for the next month: the monthly quotas start again on the 1st. On Pro and Enterprise you can turn on overages instead, with a monthly cap.",
  ],
  ["Where are invoices?", "Stripe e-mails a receipt for every payment; all invoices are in the customer portal."],
];

/**
 * Billing is the team owner's (the server answers 403 to anyone else): others
 * are told so instead of meeting a page of refusals.
 */
export function BillingPage() {
  useTitle("Billing");
  const { me } = useSession();
  if (!me?.user) return <p className="loading" role="status">Loading…</p>;
  if (me.user.role !== "owner") return <NotTheOwner />;
  return <OwnerBilling />;
}

function NotTheOwner() {
  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Billing</h1>
      </div>
      <section className="card" aria-labelledby="billing-owner-heading">
        <h2 id="billing-owner-heading">Only the team&rsquo;s owner manages billing</h2>
        <p>
          The plan, payments, invoices and overages of this team are managed by its owner. Ask them to upgrade if the
          team needs more; your usage this month is shown above.
        </p>
        <p className="muted">
          <Link to="/projects">Back to your projects</Link>
        </p>
      </section>
    </>
  );
}

function OwnerBilling() {
  const { search } = useLocation();
  const checkout = search.get("checkout");
  const { reload: reloadSession } = useSession();
  const subscription = useAsync<Subscription>(() => api.billing.subscription(), []);
  const { setData: setSubscription } = subscription;
  const usage = useAsync<Usage>(() => api.usage.current(), []);
  const { setData: setUsage } = usage;
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [refused, setRefused] = useState(false);
  const [confirming, setConfirming] = useState(checkout === "success");

  // After Checkout, the plan changes only when Stripe's webhook arrives: poll.
  useEffect(() => {
    if (checkout !== "success") return;
    const started = Date.now();
    let timer: number | undefined;
    let alive = true;
    const tick = async () => {
      try {
        const s = await api.billing.subscription();
        if (!alive) return;
        setSubscription(s);
        if (s.plan !== "free" && (s.status === "active" || s.status === "trialing")) {
          setConfirming(false);
          notifyUsageChanged();
          void reloadSession();
          return;
        }
      } catch {
        // keep polling
      }
      if (Date.now() - started < CONFIRM_TIMEOUT_MS) timer = window.setTimeout(tick, CONFIRM_POLL_MS);
      else if (alive) setConfirming(false);
    };
    void tick();
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [checkout, setSubscription, reloadSession]);

  async function upgrade(plan: "pro" | "enterprise") {
    setBusy(plan);
    setError(null);
    try {
      const session = await api.billing.checkout(plan);
      redirectTo(session.checkout_url);
    } catch (err) {
      if (err instanceof ApiError && err.status === 503) setRefused(true);
      else setError(err);
      setBusy(null);
    }
  }

  async function portal() {
    setBusy("portal");
    setError(null);
    try {
      const session = await api.billing.portal();
      redirectTo(session.portal_url);
    } catch (err) {
      if (err instanceof ApiError && err.status === 503) setRefused(true);
      else setError(err);
      setBusy(null);
    }
  }

  const sub = subscription.data;
  // Known before anyone clicks; a 503 from checkout or the portal also says so.
  const unconfigured = refused || sub?.billing_enabled === false;
  const current: Plan = sub?.plan ?? usage.data?.plan ?? "free";
  const hasSubscription = !!sub && sub.status !== "none";

  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Billing</h1>
      </div>

      {checkout === "success" && confirming ? (
        <div className="alert alert-info" role="status">
          <p>
            <span className="spinner" aria-hidden="true" /> Thank you! Waiting for Stripe to confirm your payment…
          </p>
        </div>
      ) : null}
      {checkout === "success" && !confirming ? (
        current !== "free" ? (
          <div className="alert alert-success" role="status">
            <p>
              Payment confirmed. You are on the <strong>{planName(current)}</strong> plan now.
            </p>
          </div>
        ) : (
          <div className="alert alert-warning" role="status">
            <p>Stripe has not confirmed the payment yet. This page will show your new plan once it does; reload in a minute.</p>
          </div>
        )
      ) : null}
      {checkout === "cancelled" ? (
        <div className="alert alert-info" role="status">
          <p>Checkout was cancelled. Nothing was charged and your plan is unchanged.</p>
        </div>
      ) : null}
      {unconfigured ? (
        <div className="alert alert-warning billing-off" role="alert">
          <p>
            <strong>Billing is not configured on this server.</strong> Plans cannot be bought or managed here yet. Ask
            the administrator to set up Stripe (STRIPE_API_KEY and the plan prices); your current plan keeps working.
          </p>
        </div>
      ) : null}
      <ErrorAlert error={error} context="billing" onDismiss={() => setError(null)} />

      <section className="card current-plan" aria-labelledby="current-heading">
        <h2 id="current-heading">Current plan</h2>
        {subscription.error ? <ErrorAlert error={subscription.error} /> : null}
        {sub ? (
          <div className="current-plan-body">
            <p className="current-plan-name" data-testid="current-plan">
              {planName(sub.plan)} <StatusBadge status={sub.status} />
            </p>
            <p className="muted">
              {sub.current_period_end
                ? sub.cancel_at_period_end
                  ? `Ends on ${day(sub.current_period_end)}; you then move to Free.`
                  : `Renews on ${day(sub.current_period_end)}.`
                : sub.plan === "free"
                  ? "You are on the free plan. Upgrade for more videos, higher quality and premium templates."
                  : "Your plan is active."}
            </p>
            {sub.status === "past_due" ? (
              <p className="alert alert-warning" role="alert">
                Your last payment failed. Your plan stays active while Stripe retries; update your card in the portal.
              </p>
            ) : null}
            <div className="btn-row">
              <button
                type="button"
                className="btn btn-secondary"
                onClick={() => void portal()}
                disabled={busy !== null || unconfigured || !hasSubscription}
                aria-describedby={!hasSubscription ? "portal-hint" : undefined}
              >
                {busy === "portal" ? "Opening…" : "Manage billing"}
              </button>
              {!hasSubscription ? (
                <span id="portal-hint" className="muted small">
                  Available once you have a subscription.
                </span>
              ) : null}
            </div>
          </div>
        ) : subscription.loading ? (
          <p className="loading">Loading your plan…</p>
        ) : null}
      </section>

      {sub || usage.data ? (
        <OverageSection
          plan={current}
          overage={usage.data?.overage}
          disabled={unconfigured}
          onSaved={(overage) => {
            if (usage.data) setUsage({ ...usage.data, overage });
          }}
        />
      ) : null}

      <section className="plans" aria-labelledby="plans-heading">
        <h2 id="plans-heading">Plans</h2>
        <div className="plan-grid">
          {PLANS.map((plan) => {
            const isCurrent = plan.id === current;
            let action: React.ReactNode;
            if (isCurrent) {
              action = (
                <button type="button" className="btn btn-secondary" disabled>
                  Current plan
                </button>
              );
            } else if (plan.id === "free" || RANK[plan.id] < RANK[current]) {
              action = <p className="muted small">Change down in “Manage billing”.</p>;
            } else {
              const id = plan.id;
              action = (
                <button
                  type="button"
                  className="btn btn-primary"
                  onClick={() => void upgrade(id)}
                  disabled={busy !== null || unconfigured}
                >
                  {busy === id ? "Opening Checkout…" : `Upgrade to ${plan.name}`}
                </button>
              );
            }
            return <PlanCard key={plan.id} plan={plan} current={isCurrent} featured={plan.id === "pro"} action={action} />;
          })}
        </div>
      </section>

      <section className="card" aria-labelledby="matrix-heading">
        <h2 id="matrix-heading" className="sr-only">
          Feature comparison
        </h2>
        <FeatureMatrix usage={usage.data} />
      </section>

      <section className="card faq" aria-labelledby="faq-heading">
        <h2 id="faq-heading">Questions about billing</h2>
        {FAQ.map(([q, a]) => (
          <details key={q}>
            <summary>{q}</summary>
            <p>{a}</p>
          </details>
        ))}
      </section>
    </>
  );
}
