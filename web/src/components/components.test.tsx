import { render, screen, fireEvent, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Usage, UsageHistory } from "../api/types";
import { ProgressBar } from "./ProgressBar";
import { UsageBannerView } from "./UsageBanner";
import { UsageChart, niceMax } from "./UsageChart";
import { PLANS, PlanCard } from "./PlanCard";
import { StatusBadge } from "./StatusBadge";

const usage = (over: Partial<Usage> = {}): Usage => ({
  period: "2026-11",
  plan: "free",
  metrics: {
    images_generated: { used: 460, quota: 500, reserved: 0 },
    tts_seconds: { used: 1200, quota: 60000, reserved: 0 },
    render_minutes: { used: 12.5, quota: 500, reserved: 1 },
    storage_mb: { used: 2048, quota: 100000, reserved: 0 },
  },
  near_limit: ["images_generated"],
  ...over,
});

describe("ProgressBar", () => {
  it("is a labelled progressbar with values", () => {
    render(<ProgressBar label="Scene 1" value={2} max={3} valueText="2 of 3 steps" />);
    const bar = screen.getByRole("progressbar", { name: "Scene 1" });
    expect(bar.getAttribute("aria-valuenow")).toBe("2");
    expect(bar.getAttribute("aria-valuemax")).toBe("3");
    expect(bar.getAttribute("aria-valuetext")).toBe("2 of 3 steps");
  });

  it("clamps and survives a zero maximum", () => {
    render(<ProgressBar label="x" value={5} max={0} />);
    expect(screen.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("1");
  });
});

describe("UsageBanner", () => {
  it("shows one bar per metric in human units, orange at 90%, and an upgrade link", () => {
    render(<UsageBannerView usage={usage()} />);
    const images = screen.getByRole("progressbar", { name: "Images" });
    expect(images.getAttribute("aria-valuetext")).toBe("460 of 500 used, near the limit");
    expect(images.className).toContain("progress-warn");
    const narration = screen.getByRole("progressbar", { name: "Narration" });
    expect(narration.getAttribute("aria-valuetext")).toBe("20 min of 1,000 min used");
    expect(narration.className).not.toContain("progress-warn");
    expect(screen.getByRole("progressbar", { name: "Storage" }).getAttribute("aria-valuetext")).toBe("2.05 GB of 100 GB used");
    expect(screen.getByRole("status").textContent).toMatch(/90% or more of your images quota/);
    expect(screen.getByRole("link", { name: "Upgrade for more" }).getAttribute("href")).toBe("/billing");
  });

  it("turns orange from the numbers even when near_limit is empty", () => {
    render(<UsageBannerView usage={usage({ near_limit: [] })} />);
    expect(screen.getByRole("progressbar", { name: "Images" }).className).toContain("progress-warn");
  });

  it("turns the upgrade prompt into the overage so far when overages are on", () => {
    const overage = {
      enabled: true,
      active: true,
      cap_usd: 50,
      spent_usd: 12.4,
      metrics: { images_generated: 310, tts_seconds: 0, render_minutes: 0 },
      cost_usd: { images_generated: 12.4, tts_seconds: 0, render_minutes: 0 },
    };
    render(<UsageBannerView usage={usage({ plan: "pro", overage })} />);
    expect(screen.getByTestId("overage-status").textContent).toBe("Overage on: $12.40 so far of your $50.00 cap");
    expect(screen.getByTestId("overage-status").getAttribute("href")).toBe("/billing");
    expect(screen.queryByRole("link", { name: "Upgrade for more" })).toBeNull();
    expect(screen.getByRole("status").textContent).toMatch(/Overage is on/);
  });

  it("keeps the upgrade prompt while overages are set but not active (a failed payment)", () => {
    const overage = { enabled: true, active: false, cap_usd: 50, spent_usd: 0, metrics: {}, cost_usd: {} };
    render(<UsageBannerView usage={usage({ plan: "pro", overage })} />);
    expect(screen.queryByTestId("overage-status")).toBeNull();
    expect(screen.getByRole("link", { name: "Upgrade for more" })).toBeTruthy();
  });

  it("tells someone other than the owner to ask the owner, with no link to billing", () => {
    render(<UsageBannerView usage={usage()} reader="other" />);
    expect(screen.queryByRole("link")).toBeNull();
    expect(screen.getByText("For more, ask the team’s owner to upgrade")).toBeTruthy();
    expect(screen.getByRole("status").textContent).toMatch(/Ask the team’s owner to upgrade to keep making videos this month\./);
  });

  it("shows the overage to others as text, and no prompt while the reader is not known", () => {
    const overage = { enabled: true, active: true, cap_usd: 50, spent_usd: 2, metrics: {}, cost_usd: {} };
    const { unmount } = render(<UsageBannerView usage={usage({ plan: "pro", overage })} reader="other" />);
    expect(screen.getByTestId("overage-status").tagName).toBe("SPAN");
    expect(screen.queryByRole("link")).toBeNull();
    unmount();
    render(<UsageBannerView usage={usage()} reader="unknown" />);
    expect(screen.queryByRole("link")).toBeNull();
    expect(screen.queryByText(/ask the team’s owner/i)).toBeNull();
    expect(screen.getByRole("status").textContent).toBe("You have used 90% or more of your images quota.");
  });

  it("shows unlimited quotas without an upgrade link on Enterprise", () => {
    const u = usage({ plan: "enterprise", near_limit: [] });
    for (const m of Object.values(u.metrics)) if (m) m.quota = null;
    render(<UsageBannerView usage={u} />);
    expect(screen.getAllByText(/unlimited/).length).toBe(4);
    expect(screen.queryByRole("link", { name: /upgrade/i })).toBeNull();
  });
});

describe("UsageChart", () => {
  const history: UsageHistory = {
    days: 3,
    series: {
      images_generated: [
        { date: "2026-11-24", amount: 0 },
        { date: "2026-11-25", amount: 4 },
        { date: "2026-11-26", amount: 2 },
      ],
      tts_seconds: [
        { date: "2026-11-24", amount: 60 },
        { date: "2026-11-25", amount: 0 },
        { date: "2026-11-26", amount: 120 },
      ],
      render_minutes: [],
    },
  };

  it("draws one bar per day with a described SVG, and switches metric", () => {
    const { container } = render(<UsageChart history={history} />);
    expect(screen.getByRole("img", { name: /Images per day, last 3 days.*6 images/ })).toBeTruthy();
    expect(container.querySelectorAll("rect.chart-bar")).toHaveLength(3);
    fireEvent.click(screen.getByLabelText("Narration"));
    expect(screen.getByRole("img", { name: /Narration per day.*3 min/ })).toBeTruthy();
  });

  it("rounds the axis to a nice maximum", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(3)).toBe(5);
    expect(niceMax(17)).toBe(20);
    expect(niceMax(0.4)).toBe(0.5);
  });
});

describe("PlanCard and StatusBadge", () => {
  it("marks the current plan and shows the action", () => {
    render(<PlanCard plan={PLANS[1]!} current action={<button type="button">Current plan</button>} />);
    const card = screen.getByRole("article", { name: "Pro" });
    expect(within(card).getByText("Your plan")).toBeTruthy();
    expect(within(card).getByText("5× the monthly quotas")).toBeTruthy();
  });

  it("labels statuses in words", () => {
    render(<StatusBadge status="partial" />);
    expect(screen.getByText("Ready with warnings").className).toContain("badge-warning");
  });
});
