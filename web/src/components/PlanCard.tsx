import type { Plan } from "../api/types";

export interface PlanInfo {
  id: Plan;
  name: string;
  /** Quota multiplier (null = unlimited). */
  multiplier: number | null;
  blurb: string;
  features: string[];
}

// Prices live in Stripe (STRIPE_PRICE_*); Checkout shows the amount.
export const PLANS: PlanInfo[] = [
  {
    id: "free",
    name: "Free",
    multiplier: 1,
    blurb: "Try Reelforge on short scripts.",
    features: ["Up to 720p, with a small watermark", "The base monthly quotas", "Standard templates", "Captions as WebVTT and SRT"],
  },
  {
    id: "pro",
    name: "Pro",
    multiplier: 5,
    blurb: "For creators who publish every week.",
    features: ["Full template resolution, no watermark", "5× the monthly quotas", "Premium templates", "Captions as WebVTT and SRT"],
  },
  {
    id: "enterprise",
    name: "Enterprise",
    multiplier: null,
    blurb: "For teams and high volume.",
    features: ["Full template resolution, no watermark", "Unlimited usage", "Premium templates", "Captions as WebVTT and SRT"],
  },
];

export function PlanCard({
  plan,
  current,
  featured,
  action,
}: {
  plan: PlanInfo;
  current: boolean;
  featured?: boolean;
  action?: React.ReactNode;
}) {
  const headingId = `plan-${plan.id}`;
  return (
    <article
      className={`plan-card${featured ? " plan-featured" : ""}${current ? " plan-current" : ""}`}
      aria-labelledby={headingId}
      data-plan={plan.id}
    >
      {current ? <span className="badge badge-success plan-flag">Your plan</span> : null}
      {featured && !current ? <span className="badge badge-brand plan-flag">Most popular</span> : null}
      <h3 id={headingId}>{plan.name}</h3>
      <p className="plan-price">
        {plan.id === "free" ? (
          <>
            <span className="plan-amount">1×</span> <span className="plan-period">the quotas, no card needed</span>
          </>
        ) : (
          <>
            <span className="plan-amount">{plan.multiplier ? `${plan.multiplier}×` : "∞"}</span>{" "}
            <span className="plan-period">{plan.multiplier ? "the quotas, billed monthly" : "usage, billed monthly"}</span>
          </>
        )}
      </p>
      <p className="plan-blurb">{plan.blurb}</p>
      <ul className="plan-features">
        {plan.features.map((f) => (
          <li key={f}>{f}</li>
        ))}
      </ul>
      <div className="plan-action">{action}</div>
    </article>
  );
}
