import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import { METRICS, clock, duration, megabytes } from "./format";
import { explain } from "./problems";
import type { EstimateProject } from "../api/types";
import { useEstimate } from "./script";
import { fakeFetch, json, problem } from "../test/http";
import { match } from "../router";

describe("useEstimate (the create form's live estimate, from the server)", () => {
  const ANSWER = {
    scenes: 2,
    words: 7,
    reserve: { images_generated: 2, tts_seconds: 2.8, render_minutes: 0.08, storage_mb: 1.89 },
  };
  const draft = (script: string) => ({ script, template_id: "explainer", language: "en" });

  it("asks the server once, 300 ms after the last change, with the latest draft", async () => {
    vi.useFakeTimers();
    const { calls } = fakeFetch({ "POST /api/v1/projects/estimate": json(ANSWER) });
    const { result, rerender } = renderHook(({ d }) => useEstimate(d), { initialProps: { d: draft("One") } });
    expect(result.current).toMatchObject({ estimate: null, pending: true });
    await act(() => vi.advanceTimersByTimeAsync(200));
    rerender({ d: draft("One two") });
    await act(() => vi.advanceTimersByTimeAsync(200));
    rerender({ d: draft("One two three") });
    // A new object with the same fields is the same draft: no new wait.
    await act(() => vi.advanceTimersByTimeAsync(200));
    rerender({ d: draft("One two three") });
    expect(calls).toHaveLength(0);
    await act(() => vi.advanceTimersByTimeAsync(100));
    expect(calls.map((c) => [c.method, c.path, c.body])).toEqual([
      ["POST", "/api/v1/projects/estimate", draft("One two three")],
    ]);
    expect(result.current).toEqual({ estimate: ANSWER, problems: {}, error: null, pending: false });
  });

  it("keeps showing the last figures while the next draft is on its way", async () => {
    vi.useFakeTimers();
    fakeFetch({ "POST /api/v1/projects/estimate": json(ANSWER) });
    const { result, rerender } = renderHook(({ d }) => useEstimate(d), { initialProps: { d: draft("One") } });
    await act(() => vi.advanceTimersByTimeAsync(300));
    rerender({ d: draft("One more") });
    expect(result.current).toMatchObject({ estimate: ANSWER, pending: true });
  });

  it("reports the server's field problems (422) and asks nothing for an empty draft", async () => {
    const { calls } = fakeFetch({
      "POST /api/v1/projects/estimate": problem(422, "invalid field(s): script", {
        errors: [{ field: "script", message: "has no words to narrate (only punctuation or symbols)" }],
      }),
    });
    const initialProps: { d: EstimateProject | null } = { d: draft("?!") };
    const { result, rerender } = renderHook(({ d }) => useEstimate(d), { initialProps });
    await waitFor(() => expect(result.current.pending).toBe(false));
    expect(result.current.problems).toEqual({ script: "has no words to narrate (only punctuation or symbols)" });
    expect(result.current.estimate).toBeNull();
    rerender({ d: null });
    expect(result.current).toEqual({ estimate: null, problems: {}, error: null, pending: false });
    expect(calls).toHaveLength(1);
  });

  it("says when the estimate failed for another reason", async () => {
    fakeFetch({ "POST /api/v1/projects/estimate": problem(500, "internal error") });
    const { result } = renderHook(() => useEstimate(draft("Hello.")));
    await waitFor(() => expect(result.current.pending).toBe(false));
    expect(result.current.error).toBeInstanceOf(ApiError);
    expect(result.current.problems).toEqual({});
  });
});

describe("formatting", () => {
  it("shows usage in human units", () => {
    expect(METRICS.tts_seconds.format(60000)).toBe("1,000 min");
    expect(METRICS.tts_seconds.format(6)).toBe("0.1 min");
    expect(METRICS.storage_mb.format(100000)).toBe("100 GB");
    expect(megabytes(1.345)).toBe("1.35 MB");
    expect(METRICS.images_generated.format(1234)).toBe("1,234");
    expect(duration(45)).toBe("45 s");
    expect(duration(150)).toBe("2.5 min");
    expect(clock(65.4)).toBe("1:05");
  });
});

describe("errors as plain sentences", () => {
  const err = (status: number, problem: Record<string, unknown> = {}, retry: number | null = null) =>
    new ApiError(status, { title: "x", status, detail: "", ...problem }, retry);

  it("402 quota says what is needed, what is left and what to do", () => {
    const e = explain(err(402, { metric: "images_generated", used: 498, reserved: 0, quota: 500, needed: 3 }), "create");
    expect(e.message).toBe(
      "This video needs 3 images, but your plan has only 2 images left this month (of 500). Upgrade your plan, shorten the script, or wait until next month.",
    );
    expect(e.action?.href).toBe("/billing");
  });

  it("402 at the overage cap names the cap and what was spent", () => {
    const e = explain(
      err(402, { metric: "images_generated", used: 2600, reserved: 0, quota: 2500, needed: 3, cap_usd: 50, spent_usd: 49.9, projected_usd: 50.02 }),
      "create",
    );
    expect(e.message).toBe("This would pass your monthly overage cap of $50.00 ($49.90 spent so far). Raise the cap, or wait until next month.");
    expect(e.action).toEqual({ href: "/billing", label: "Change the cap" });
  });

  it("402 premium template points to the plans", () => {
    const e = explain(err(402, { required_plan: "pro", detail: "The Cinematic template needs a paid plan; upgrade to Pro or Enterprise" }));
    expect(e.message).toMatch(/^The Cinematic template needs a paid plan/);
    expect(e.message).toMatch(/choose a template without the Premium badge/);
  });

  it("429 queue full gives the ETA; sign-in limit gives the wait", () => {
    expect(explain(err(429, { eta_seconds: 90 }, 90), "create").message).toBe(
      "The render queue is full right now. Try again in about 2 minutes; nothing was charged.",
    );
    expect(explain(err(429, {}, 30), "login").message).toBe("Too many sign-in links were asked for. Wait 30 seconds and try again.");
  });

  it("507 and 503 are explained", () => {
    expect(explain(err(507)).message).toMatch(/storage is full.*Delete old projects/);
    expect(explain(err(503), "billing").message).toMatch(/Billing is not configured/);
  });
});

describe("router", () => {
  it("matches patterns with params", () => {
    expect(match("/projects/:id", "/projects/abc")).toEqual({ id: "abc" });
    expect(match("/projects/:id", "/projects")).toBeNull();
    expect(match("/projects", "/projects/")).toEqual({});
    expect(match("/billing", "/account")).toBeNull();
  });
});
