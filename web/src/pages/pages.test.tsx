import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Project, Template } from "../api/types";
import { App } from "../App";
import { BUILTIN, FakeEventSource, fakeFetch, json, problem } from "../test/http";
import { isSignedInHint, setSignedInHint } from "../session";
import { applyStep } from "./ProjectPage";

vi.mock("../lib/redirect", () => ({ redirectTo: vi.fn() }));
import { redirectTo } from "../lib/redirect";

const ME = { user: { id: "u1", email: "ann@example.com", role: "owner" }, tenant: { id: "t1", name: "Ann", plan: "free" } };
const USAGE = {
  period: "2026-11",
  plan: "free",
  metrics: {
    images_generated: { used: 2, quota: 500, reserved: 0 },
    tts_seconds: { used: 10, quota: 60000, reserved: 0 },
    render_minutes: { used: 0.5, quota: 500, reserved: 0 },
    storage_mb: { used: 3, quota: 100000, reserved: 0 },
  },
  near_limit: [],
};
const TEMPLATES: Template[] = [
  { id: "explainer", name: "Explainer", description: "Wide", aspect: "16:9", width: 1920, height: 1080, fps: 30, premium: false, caption_style: "line", ...BUILTIN },
  { id: "short", name: "Vertical short", description: "Tall", aspect: "9:16", width: 1080, height: 1920, fps: 30, premium: false, caption_style: "pop", ...BUILTIN },
  { id: "cinematic", name: "Cinematic", description: "Film", aspect: "16:9", width: 1920, height: 1080, fps: 24, premium: true, caption_style: "line", ...BUILTIN },
];
const CAPTION_STYLES = ["line", "karaoke", "pop"].map((id) => ({
  id,
  name: id === "line" ? "Sentence" : id === "karaoke" ? "Karaoke" : "Pop",
  description: `${id} captions`,
  preview_url: `/api/v1/caption-styles/${id}/preview.png`,
}));

function signedIn(routes: Parameters<typeof fakeFetch>[0] = {}) {
  setSignedInHint(true);
  return fakeFetch({
    "GET /api/auth/me": json(ME),
    "GET /api/usage": json(USAGE),
    ...routes,
  });
}

function at(path: string) {
  window.history.replaceState(null, "", path);
  return render(<App />);
}

describe("routing", () => {
  it("/ goes to /login when signed out and to /projects when signed in", async () => {
    fakeFetch({});
    at("/");
    await waitFor(() => expect(window.location.pathname).toBe("/login"));
    expect(await screen.findByRole("heading", { name: "Sign in to Reelforge" })).toBeTruthy();
  });

  it("a refused session on a signed-in page goes to /login", async () => {
    setSignedInHint(true);
    fakeFetch({ "GET *": problem(401, "sign in"), "POST /api/auth/refresh": problem(401, "no") });
    at("/billing");
    await waitFor(() => expect(window.location.pathname).toBe("/login"));
    expect(isSignedInHint()).toBe(false);
    expect(await screen.findByText(/Your session has ended/)).toBeTruthy();
  });
});

describe("LoginPage", () => {
  it("checks the address, sends the link, shows 'check your e-mail'", async () => {
    const { calls } = fakeFetch({ "POST /api/auth/magic-link/request": { status: 202, body: { status: "sent", detail: "" } } });
    at("/login");
    const input = screen.getByLabelText("E-mail address");
    fireEvent.change(input, { target: { value: "nope" } });
    fireEvent.click(screen.getByRole("button", { name: "Send me a sign-in link" }));
    expect(screen.getByRole("alert").textContent).toMatch(/Enter your e-mail address/);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    fireEvent.change(input, { target: { value: "ann@example.com" } });
    fireEvent.click(screen.getByRole("button", { name: "Send me a sign-in link" }));
    expect(await screen.findByRole("heading", { name: "Check your e-mail" })).toBeTruthy();
    expect(calls[0]?.body).toEqual({ email: "ann@example.com" });
  });

  it("explains the sign-in rate limit with the wait", async () => {
    fakeFetch({ "POST /api/auth/magic-link/request": problem(429, "too many", {}, { "Retry-After": "300" }) });
    at("/login");
    fireEvent.change(screen.getByLabelText("E-mail address"), { target: { value: "ann@example.com" } });
    fireEvent.click(screen.getByRole("button", { name: "Send me a sign-in link" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/Wait 5 minutes and try again/);
  });
});

describe("VerifyPage", () => {
  it("posts the token once, removes it from the address and lands on /projects", async () => {
    const { calls } = signedIn({
      "POST /api/auth/magic-link/verify": json({ access_token: "a", token_type: "bearer", expires_in: 900, refresh_token: "r", ...ME }),
      "GET /api/v1/templates": json(TEMPLATES),
      "GET /api/v1/voices": json([]),
      "GET /api/v1/projects": json({ items: [], next_cursor: null }),
    });
    setSignedInHint(false);
    at("/auth/verify?token=tok123");
    await waitFor(() => expect(window.location.pathname).toBe("/projects"));
    expect(calls.filter((c) => c.path === "/api/auth/magic-link/verify").map((c) => c.body)).toEqual([{ token: "tok123" }]);
    expect(isSignedInHint()).toBe(true);
    expect(await screen.findByRole("heading", { name: "Projects", level: 1 })).toBeTruthy();
  });

  it("says an expired or used link is so, and offers a new one", async () => {
    fakeFetch({
      "POST /api/auth/magic-link/verify": problem(400, "invalid or expired link"),
      "POST /api/auth/magic-link/request": { status: 202, body: {} },
    });
    window.localStorage.setItem("rf_last_email", "ann@example.com");
    at("/auth/verify?token=used");
    expect((await screen.findByRole("alert")).textContent).toMatch(/expired or was already used/);
    expect(window.location.search).toBe("");
    expect(screen.getByLabelText<HTMLInputElement>("E-mail address").value).toBe("ann@example.com");
    fireEvent.click(screen.getByRole("button", { name: "Send me a new link" }));
    expect(await screen.findByRole("heading", { name: "Check your e-mail" })).toBeTruthy();
  });
});

describe("ProjectsPage", () => {
  const routes = {
    "GET /api/v1/templates": json(TEMPLATES),
    "GET /api/v1/voices": json([{ id: "espeak:en", provider: "espeak", language: "en", name: "English", preview_url: "/p" }]),
    "GET /api/v1/caption-styles": json(CAPTION_STYLES),
    "GET /api/v1/projects": json({
      items: [
        {
          id: "p1",
          title: "Launch video",
          status: "running",
          template_id: "explainer",
          progress: { done: 3, total: 7, percent: 42.9 },
          thumbnail_url: null,
          duration_seconds: null,
          created_at: "2026-11-26T10:00:00Z",
        },
      ],
      next_cursor: null,
    }),
    "POST /api/v1/projects/estimate": json({
      scenes: 3,
      words: 6,
      reserve: { images_generated: 3, tts_seconds: 2.4, render_minutes: 0.1, storage_mb: 2.35 },
    }),
  };

  it("lists projects with status and progress; the form shows the server's live scene count and estimate", async () => {
    const { calls } = signedIn(routes);
    at("/projects");
    expect(await screen.findByRole("link", { name: "Launch video" })).toBeTruthy();
    expect(screen.getByText("Rendering", { selector: ".badge" })).toBeTruthy();
    expect(screen.getByRole("progressbar", { name: "Progress of Launch video" }).getAttribute("aria-valuenow")).toBe("3");
    await screen.findByRole("group", { name: "Template" });
    const script = screen.getByLabelText("Script");
    fireEvent.change(script, { target: { value: "One two three.\n\nFour five.\n\nSix." } });
    await waitFor(() => expect(screen.getByText(/scenes ·/).textContent).toMatch(/3\s*scenes · 6 words/));
    expect(screen.getByText("Estimate")).toBeTruthy();
    expect(screen.getByText("3 images · 2.4 s of narration · 6 s of video")).toBeTruthy();
    expect(calls.filter((c) => c.path === "/api/v1/projects/estimate").map((c) => c.body)).toEqual([
      { script: "One two three.\n\nFour five.\n\nSix.", template_id: "explainer", language: "en" },
    ]);
    // Templates: aspect, size on Free, premium badge.
    const picker = await screen.findByRole("group", { name: "Template" });
    expect(within(picker).getAllByRole("radio")).toHaveLength(3);
    expect(within(picker).getByText("Premium")).toBeTruthy();
    expect(within(picker).getByText(/16:9 · 1280×720 on Free/, { selector: ".template-meta" })).toBeTruthy();
    expect(within(picker).getByText(/16:9 · 1920×1080 · needs Pro/, { selector: ".template-meta" })).toBeTruthy();
  });

  it("creates a project and opens it", async () => {
    const { calls } = signedIn({
      ...routes,
      "POST /api/v1/projects": { status: 202, body: { project_id: "new1", status: "queued", eta_seconds: 5 } },
      "GET /api/v1/projects/new1": json({ ...PROJECT, id: "new1" }),
    });
    vi.stubGlobal("EventSource", FakeEventSource);
    at("/projects");
    await screen.findByRole("group", { name: "Template" });
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "My video" } });
    fireEvent.change(screen.getByLabelText("Script"), { target: { value: "Hello there." } });
    fireEvent.click(screen.getByLabelText(/Vertical short/));
    fireEvent.change(screen.getByLabelText("Language"), { target: { value: "de" } });
    // The vertical short's own style is pop: shown chosen, with each style's still.
    const captions = await screen.findByRole("group", { name: "Captions" });
    expect(within(captions).getByRole<HTMLInputElement>("radio", { name: /Pop/ }).checked).toBe(true);
    expect(within(captions).getByText("Template's")).toBeTruthy();
    expect(within(captions).getByRole<HTMLImageElement>("img", { name: "Karaoke captions" }).getAttribute("src")).toBe(
      "/api/v1/caption-styles/karaoke/preview.png",
    );
    fireEvent.click(within(captions).getByRole("radio", { name: /Karaoke/ }));
    fireEvent.click(screen.getByRole("button", { name: "Create video" }));
    await waitFor(() => expect(window.location.pathname).toBe("/projects/new1"));
    expect(calls.find((c) => c.method === "POST" && c.path === "/api/v1/projects")?.body).toEqual({
      title: "My video",
      script: "Hello there.",
      template_id: "short",
      language: "de",
      caption_style: "karaoke",
    });
  });

  it("creates a storyboard first (render: false) and opens its storyboard; drafts link there from the list", async () => {
    const { calls } = signedIn({
      ...routes,
      "GET /api/v1/projects": json({
        items: [{ id: "d1", title: "Draft one", status: "draft", template_id: "explainer", progress: { done: 4, total: 4, percent: 100 }, thumbnail_url: null, duration_seconds: null, created_at: "2026-11-26T10:00:00Z" }],
        next_cursor: null,
      }),
      "POST /api/v1/projects": { status: 202, body: { project_id: "new1", status: "queued", eta_seconds: 5 } },
      "GET /api/v1/projects/new1": json({ ...PROJECT, id: "new1" }),
      "GET /api/v1/projects/new1/scenes": json([]),
    });
    vi.stubGlobal("EventSource", FakeEventSource);
    at("/projects");
    expect((await screen.findByRole("link", { name: "Draft one" })).getAttribute("href")).toBe("/projects/d1/storyboard");
    expect(screen.getByText("Storyboard ready", { selector: ".badge" })).toBeTruthy();
    await screen.findByRole("group", { name: "Template" });
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "My video" } });
    fireEvent.change(screen.getByLabelText("Script"), { target: { value: "Hello there." } });
    fireEvent.click(screen.getByRole("checkbox", { name: "Storyboard first" }));
    fireEvent.click(screen.getByRole("button", { name: "Create storyboard" }));
    await waitFor(() => expect(window.location.pathname).toBe("/projects/new1/storyboard"));
    expect(calls.find((c) => c.method === "POST" && c.path === "/api/v1/projects")?.body).toEqual({
      title: "My video",
      script: "Hello there.",
      template_id: "explainer",
      language: "en",
      render: false,
    });
    expect(await screen.findByRole("heading", { name: "Storyboard Launch video", level: 1 })).toBeTruthy();
  });

  it("shows why the server would refuse the script, and warns before a quota is passed", async () => {
    const { calls } = signedIn({
      ...routes,
      "POST /api/v1/projects/estimate": (call) =>
        (call.body as { script: string }).script === "?!"
          ? problem(422, "invalid field(s): script", {
              errors: [{ field: "script", message: "has no words to narrate (only punctuation or symbols)" }],
            })
          : json({ scenes: 1, words: 900, reserve: { images_generated: 1, tts_seconds: 360, render_minutes: 499.9, storage_mb: 4 } }),
    });
    at("/projects");
    await screen.findByRole("group", { name: "Template" });
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "My video" } });
    fireEvent.change(screen.getByLabelText("Script"), { target: { value: "?!" } });
    expect(await screen.findByText("The script has no words to narrate (only punctuation or symbols).")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Create video" }));
    expect(screen.getByLabelText("Script").getAttribute("aria-invalid")).toBe("true");
    expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/projects")).toBe(false);
    // render_minutes: 0.5 used + 499.9 > 500.
    fireEvent.change(screen.getByLabelText("Script"), { target: { value: "A long one." } });
    expect(await screen.findByText(/more rendering than your plan has left/)).toBeTruthy();
  });

  it.each([
    [problem(402, "quota", { metric: "render_minutes", used: 499, reserved: 0, quota: 500, needed: 2 }), /needs 2 min of rendering.*Upgrade/],
    [problem(429, "queue full", { eta_seconds: 45 }, { "Retry-After": "45" }), /render queue is full.*about 45 seconds/],
    [problem(507, "storage full"), /storage is full.*Delete old projects/],
  ])("explains a refused create in plain words (%#)", async (answer, message) => {
    signedIn({ ...routes, "POST /api/v1/projects": answer });
    at("/projects");
    await screen.findByRole("group", { name: "Template" });
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "My video" } });
    fireEvent.change(screen.getByLabelText("Script"), { target: { value: "Hello there." } });
    fireEvent.click(screen.getByRole("button", { name: "Create video" }));
    const alert = await screen.findByText(message);
    expect(alert.closest('[role="alert"]')).toBeTruthy();
  });
});

const PROJECT: Project = {
  id: "p1",
  title: "Launch video",
  status: "running",
  template_id: "explainer",
  language: "en",
  caption_style: "line",
  width: 1280,
  height: 720,
  progress: { done: 0, total: 7, percent: 0 },
  scenes: [
    { index: 0, text: "First scene.", status: "queued", error: null },
    { index: 1, text: "Second scene.", status: "queued", error: null },
  ],
  warnings: [],
  error: null,
  video_url: null,
  thumbnail_url: null,
  captions_url: null,
  duration_seconds: null,
  created_at: "2026-11-26T10:00:00Z",
  updated_at: "2026-11-26T10:00:00Z",
  stale: false,
  credits: [],
  created_by: null,
  music: null,
};

describe("ProjectPage", () => {
  beforeEach(() => {
    FakeEventSource.instances = [];
    vi.stubGlobal("EventSource", FakeEventSource);
  });

  const step = (kind: string, scene: number | null, status: string, done: number) => ({
    kind,
    scene,
    status,
    error: null,
    warning: null,
    project_status: "running",
    progress: { done, total: 7, percent: Math.round((done / 7) * 1000) / 10 },
    at: 0,
  });

  it("follows live progress per project and per scene, then shows the video and downloads", async () => {
    let finished = false;
    signedIn({
      "GET /api/v1/projects/p1": () =>
        json(
          finished
            ? {
                ...PROJECT,
                status: "completed",
                progress: { done: 7, total: 7, percent: 100 },
                scenes: PROJECT.scenes.map((s) => ({ ...s, status: "done" })),
                video_url: "/api/v1/projects/p1/video",
                thumbnail_url: "/api/v1/projects/p1/thumbnail",
                captions_url: "/api/v1/projects/p1/captions.vtt",
                duration_seconds: 5.6,
              }
            : PROJECT,
        ),
    });
    at("/projects/p1");
    await screen.findByRole("heading", { name: "Launch video", level: 1 });
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    const source = FakeEventSource.instances[0]!;
    expect(source.url).toBe("/api/v1/projects/p1/events");
    act(() => {
      source.emit("step", step("image", 0, "done", 1));
      source.emit("step", step("speech", 0, "done", 2));
      source.emit("step", step("segment", 0, "running", 2));
    });
    expect(screen.getByRole("progressbar", { name: "Whole video" }).getAttribute("aria-valuenow")).toBe("2");
    expect(screen.getByRole("progressbar", { name: "Scene 1" }).getAttribute("aria-valuenow")).toBe("2");
    expect(screen.getByRole("progressbar", { name: "Scene 1" }).getAttribute("aria-valuetext")).toMatch(/Making the video/);
    expect(screen.getByRole("progressbar", { name: "Scene 2" }).getAttribute("aria-valuenow")).toBe("0");
    finished = true;
    act(() => source.emit("done", { status: "completed", error: null }));
    const video = await screen.findByLabelText<HTMLVideoElement>("Video: Launch video");
    expect(video.getAttribute("src")).toBe("/api/v1/projects/p1/video?v=2026-11-26T10%3A00%3A00Z");
    expect(source.closed).toBe(true);
    expect(screen.getByRole("link", { name: "Download video (MP4)" }).getAttribute("href")).toBe("/api/v1/projects/p1/video");
    expect(screen.getByRole("link", { name: "Captions (WebVTT)" }).getAttribute("href")).toBe("/api/v1/projects/p1/captions.vtt");
    expect(screen.getByRole("link", { name: "Captions (SRT)" }).getAttribute("href")).toBe("/api/v1/projects/p1/captions.srt");
  });

  it("warns about a partial video and retries; cancel and delete ask first", async () => {
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json({
        ...PROJECT,
        status: "partial",
        warnings: ["scene 2: the image provider failed; a title card was used"],
        video_url: "/api/v1/projects/p1/video",
      }),
      "POST /api/v1/projects/p1/retry": { status: 202, body: { project_id: "p1", status: "queued" } },
      "DELETE /api/v1/projects/p1": () => new Response(null, { status: 204 }),
      "GET /api/v1/projects": json({ items: [], next_cursor: null }),
      "GET /api/v1/templates": json([]),
      "GET /api/v1/voices": json([]),
    });
    at("/projects/p1");
    const warning = await screen.findByText(/some scenes used a fallback/);
    expect(warning.closest('[role="alert"]')?.textContent).toMatch(/title card was used/);
    fireEvent.click(screen.getByRole("button", { name: "Retry the fallback scenes" }));
    expect(await screen.findByText("The failed steps are queued again.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Delete video…" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Delete the video" }));
    await waitFor(() => expect(window.location.pathname).toBe("/projects"));
    expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/v1/projects/p1")).toBe(true);
  });

  it("applyStep derives scene status from its three steps", () => {
    let state = { project: PROJECT, steps: {} as Record<string, string> };
    for (const kind of ["image", "speech", "segment"]) state = applyStep(state.project, state.steps, step(kind, 1, "done", 3) as never);
    expect(state.project.scenes[1]?.status).toBe("done");
    expect(state.project.scenes[0]?.status).toBe("queued");
    state = applyStep(state.project, state.steps, { ...step("image", 0, "failed", 3), error: "boom" } as never);
    expect(state.project.scenes[0]).toMatchObject({ status: "failed", error: "boom" });
  });
});

describe("BillingPage", () => {
  it("says up front when this server takes no payments", async () => {
    signedIn({
      "GET /api/billing/subscription": json({
        plan: "free",
        status: "none",
        current_period_end: null,
        cancel_at_period_end: false,
        billing_enabled: false,
      }),
    });
    at("/billing");
    expect((await screen.findByRole("alert")).textContent).toMatch(/Billing is not configured on this server/);
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Upgrade to Pro" }).disabled).toBe(true);
  });

  it("shows the plan, cards and matrix; a 503 means billing is not configured", async () => {
    signedIn({
      "GET /api/billing/subscription": json({
        plan: "free",
        status: "none",
        current_period_end: null,
        cancel_at_period_end: false,
        billing_enabled: true,
      }),
      "POST /api/billing/checkout": problem(503, "billing is not configured on this server"),
    });
    at("/billing");
    expect(await screen.findByTestId("current-plan")).toBeTruthy();
    expect(screen.getByRole("table", { name: "Compare the plans" })).toBeTruthy();
    expect(await screen.findByRole("cell", { name: "2,500" })).toBeTruthy(); // Pro images = 5 × 500
    fireEvent.click(screen.getByRole("button", { name: "Upgrade to Pro" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/Billing is not configured on this server/);
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Upgrade to Enterprise" }).disabled).toBe(true);
    expect(redirectTo).not.toHaveBeenCalled();
  });

  it("sends the person to Stripe Checkout, and confirms the plan on return", async () => {
    let paid = false;
    signedIn({
      "GET /api/billing/subscription": () =>
        json({
          plan: paid ? "pro" : "free",
          status: paid ? "active" : "none",
          current_period_end: null,
          cancel_at_period_end: false,
          billing_enabled: true,
        }),
      "POST /api/billing/checkout": json({ checkout_url: "https://checkout.example/cs_1", session_id: "cs_1" }),
    });
    at("/billing");
    fireEvent.click(await screen.findByRole("button", { name: "Upgrade to Pro" }));
    await waitFor(() => expect(redirectTo).toHaveBeenCalledWith("https://checkout.example/cs_1"));
    paid = true;
    window.history.replaceState(null, "", "/billing?checkout=success&session_id=cs_1");
    act(() => {
      window.dispatchEvent(new PopStateEvent("popstate"));
    });
    expect(await screen.findByText(/Payment confirmed/)).toBeTruthy();
    expect(within(screen.getByTestId("current-plan")).getByText("Active")).toBeTruthy();
  });
});

describe("BillingPage overages", () => {
  const PRO = { plan: "pro", status: "active", current_period_end: null, cancel_at_period_end: false, billing_enabled: true };
  const OVERAGE = {
    enabled: false,
    active: false,
    cap_usd: null,
    spent_usd: 0,
    metrics: { images_generated: 0, tts_seconds: 0, render_minutes: 0 },
    cost_usd: { images_generated: 0, tts_seconds: 0, render_minutes: 0 },
  };

  it("Free: explains overages without controls", async () => {
    signedIn({
      "GET /api/billing/subscription": json({ ...PRO, plan: "free", status: "none" }),
      "GET /api/usage": json({ ...USAGE, overage: OVERAGE }),
    });
    at("/billing");
    const section = await screen.findByRole("region", { name: "Overages" });
    expect(within(section).getByText(/On Pro and Enterprise you can keep making videos/)).toBeTruthy();
    expect(within(section).queryByLabelText("Allow usage past the quota")).toBeNull();
  });

  it("Pro: the owner turns overages on with a cap; a refusal is shown", async () => {
    const { calls } = signedIn({
      "GET /api/billing/subscription": json(PRO),
      "GET /api/usage": json({ ...USAGE, plan: "pro", overage: OVERAGE }),
      "PATCH /api/billing/overage": (call) => {
        const body = call.body as { enabled: boolean; cap_usd?: number };
        if (body.cap_usd === 77) return problem(409, "overages need a paid plan; upgrade to Pro or Enterprise first");
        return json({ ...OVERAGE, enabled: body.enabled, active: body.enabled, cap_usd: body.cap_usd ?? null, spent_usd: 1.5 });
      },
    });
    at("/billing");
    const section = await screen.findByRole("region", { name: "Overages" });
    fireEvent.click(await within(section).findByLabelText("Allow usage past the quota"));
    fireEvent.change(within(section).getByLabelText("Monthly cap (US dollars)"), { target: { value: "40" } });
    fireEvent.click(within(section).getByRole("button", { name: "Save overage settings" }));
    expect(await within(section).findByText("Saved.")).toBeTruthy();
    const patch = calls.find((c) => c.method === "PATCH");
    expect(patch?.path).toBe("/api/billing/overage");
    expect(patch?.body).toEqual({ enabled: true, cap_usd: 40 });
    expect(within(section).getByTestId("overage-usage").textContent).toMatch(/Overage on: \$1\.50 this month of your \$40\.00 cap/);

    // The plan changed meanwhile (a downgrade): the server's refusal is shown.
    fireEvent.change(within(section).getByLabelText("Monthly cap (US dollars)"), { target: { value: "77" } });
    fireEvent.click(within(section).getByRole("button", { name: "Save overage settings" }));
    expect((await within(section).findByRole("alert")).textContent).toMatch(/paid plan/i);
  });
});

describe("AccountPage", () => {
  const routes = {
    "GET /api/account/api-keys": json({ items: [] }),
    "GET /api/v1/webhooks": json({ items: [] }),
    "GET /api/account/members": json({ members: [{ user_id: "u1", email: "ann@example.com", role: "owner", joined_at: "2026-11-01T10:00:00Z", invited_by: null }], invites: [], seats: { used: 1, limit: 5 } }),
    "GET /api/usage/history": json({ days: 30, series: { images_generated: [{ date: "2026-11-26", amount: 2 }] } }),
    "GET /api/v1/brand": json({ logo_url: null, corner: "bottom_right", opacity: 0.85, available: false }),
    "GET /api/account/backup-status": json({ last_backup_at: null, next_backup_at: "2026-11-27T03:00:00Z", retention_days: 14, last_status: "never" }),
    "GET /api/account/audit": json({
      items: [{ id: "a1", action: "auth.sign_in", actor: "user", user_id: "u1", ip: "127.0.0.1", detail: {}, created_at: "2026-11-26T10:00:00Z" }],
      next_cursor: null,
    }),
  };

  it("Free: the brand section offers the upgrade instead of a logo", async () => {
    signedIn({ ...routes, "GET /api/v1/brand": json({ logo_url: null, corner: "bottom_right", opacity: 0.85, available: false }) });
    at("/account");
    const brand = await screen.findByRole("region", { name: "Brand" });
    expect(await within(brand).findByText(/carry the Reelforge watermark/)).toBeTruthy();
    expect(within(brand).getByRole("link", { name: "Upgrade to Pro" }).getAttribute("href")).toBe("/billing");
    expect(within(brand).queryByLabelText(/Upload a logo/)).toBeNull();
  });

  it("Pro: uploads the logo file as the body, moves it to a corner, shows the server's refusal", async () => {
    const placed = { logo_url: "/api/v1/brand/logo?v=abc", corner: "bottom_right", opacity: 0.85, available: true };
    let uploads = 0;
    const { calls } = signedIn({
      ...routes,
      "GET /api/v1/brand": json({ ...placed, logo_url: null }),
      "PUT /api/v1/brand/logo": () => {
        uploads += 1;
        return uploads === 1 ? { status: 200, body: placed } : problem(422, "the logo must be a PNG or an SVG file");
      },
      "PATCH /api/v1/brand": json({ ...placed, corner: "top_left" }),
    });
    at("/account");
    const brand = await screen.findByRole("region", { name: "Brand" });
    const input = await within(brand).findByLabelText<HTMLInputElement>("Upload a logo");
    const svg = new File(["<svg xmlns='http://www.w3.org/2000/svg'/>"], "logo.svg", { type: "image/svg+xml" });
    fireEvent.change(input, { target: { files: [svg] } });
    expect(await within(brand).findByRole("img", { name: "Your logo" })).toBeTruthy();
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.path).toBe("/api/v1/brand/logo");
    expect(put?.init.body).toBe(svg);
    expect(put?.headers["Content-Type"]).toBe("image/svg+xml");
    fireEvent.change(within(brand).getByLabelText("Corner"), { target: { value: "top_left" } });
    await waitFor(() => expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ corner: "top_left" }));
    expect(await within(brand).findByDisplayValue("Top left")).toBeTruthy();
    fireEvent.change(within(brand).getByLabelText("Replace the logo"), { target: { files: [new File(["x"], "x.gif")] } });
    expect((await within(brand).findByRole("alert")).textContent).toMatch(/PNG or an SVG/);
  });

  it("lists named keys, creates one with chosen scopes (shown once, copied), and revokes after confirming", async () => {
    const existing = {
      id: "k1",
      name: "Dashboard",
      scopes: ["projects:read"],
      prefix: "rf_AbCdEf",
      created_at: "2026-11-20T10:00:00Z",
      last_used_at: "2026-11-26T09:00:00Z",
    };
    const made = { id: "k2", name: "CI uploader", scopes: ["projects:read", "media:write"], prefix: "rf_XyZ123", created_at: "2026-11-26T11:00:00Z", last_used_at: null };
    let listed: unknown[] = [existing];
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const { calls } = signedIn({
      ...routes,
      "GET /api/account/api-keys": () => json({ items: listed }),
      "POST /api/account/api-keys": () => {
        listed = [existing, made];
        return { status: 201, body: { ...made, api_key: "rf_secretkey" } };
      },
      "DELETE /api/account/api-keys/k1": () => {
        listed = [made];
        return json(null, 204);
      },
    });
    at("/account");
    const table = await screen.findByRole("region", { name: "API keys" });
    expect(within(table).getByText("Dashboard")).toBeTruthy();
    expect(within(table).getByText("rf_AbCdEf…")).toBeTruthy();
    expect(within(table).getByText("projects:read")).toBeTruthy();

    // Create: a name, scopes by checkbox (projects:read is ticked to start with).
    const create = screen.getByRole<HTMLButtonElement>("button", { name: "Create key" });
    expect(create.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "  CI uploader " } });
    fireEvent.click(screen.getByLabelText("Upload media"));
    fireEvent.click(create);
    const input = await screen.findByLabelText<HTMLInputElement>(/Your new API key/);
    expect(calls.find((c) => c.method === "POST" && c.path === "/api/account/api-keys")?.body).toEqual({
      name: "CI uploader",
      scopes: ["projects:read", "media:write"],
    });
    expect(input.type).toBe("password");
    expect(input.value).toBe("rf_secretkey");
    fireEvent.click(screen.getByRole("button", { name: "Show" }));
    expect(input.type).toBe("text");
    fireEvent.click(screen.getByRole("button", { name: "Copy" }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith("rf_secretkey"));
    expect(await screen.findByText("Copied to the clipboard.")).toBeTruthy();
    expect(await within(table).findByText("CI uploader")).toBeTruthy();
    expect(within(table).getByText("Never")).toBeTruthy();
    // Done: the key is gone from the page for good.
    fireEvent.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByDisplayValue("rf_secretkey")).toBeNull();

    // Revoke asks first; keeping the key changes nothing.
    fireEvent.click(within(table).getByRole("button", { name: "Revoke Dashboard" }));
    fireEvent.click(screen.getByRole("button", { name: "Keep the key" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    fireEvent.click(within(table).getByRole("button", { name: "Revoke Dashboard" }));
    expect(screen.getByText(/stops working at once/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Revoke the key" }));
    await waitFor(() => expect(within(table).queryByText("Dashboard")).toBeNull());
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/api/account/api-keys/k1"]);
  });

  it("keeps the key form from sending without a scope and shows the server's refusal", async () => {
    const { calls } = signedIn({
      ...routes,
      "GET /api/account/api-keys": json({ items: [] }),
      "POST /api/account/api-keys": () =>
        problem(409, "the account already has 25 active API keys; revoke one first"),
    });
    at("/account");
    expect(await screen.findByText("No API keys yet.")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "deploy" } });
    fireEvent.click(screen.getByLabelText("Read projects"));
    expect(screen.getByText("Choose at least one.")).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Create key" }).disabled).toBe(true);
    fireEvent.click(screen.getByLabelText("Read the account"));
    fireEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/25 active API keys/);
    expect(calls.find((c) => c.method === "POST" && c.path === "/api/account/api-keys")?.body).toEqual({
      name: "deploy",
      scopes: ["account:read"],
    });
    expect(screen.queryByLabelText(/Your new API key/)).toBeNull();
  });

  it("exports: start, progress, then the download link", async () => {
    let polls = 0;
    signedIn({
      ...routes,
      "POST /api/account/export": { status: 202, body: { export_id: "e1", status: "queued", download_url: null, size_bytes: 0, expires_at: null, error: null } },
      "GET /api/account/exports/e1": () => {
        polls += 1;
        return json(
          polls < 2
            ? { export_id: "e1", status: "running", download_url: null, size_bytes: 0, expires_at: null, error: null }
            : { export_id: "e1", status: "ready", download_url: "/api/account/download-export/x.zip", size_bytes: 2_500_000, expires_at: "2026-12-03T10:00:00Z", error: null },
        );
      },
    });
    at("/account");
    fireEvent.click(await screen.findByRole("button", { name: "Export my data" }));
    expect(await screen.findByRole("progressbar", { name: "Preparing your export" })).toBeTruthy();
    const link = await screen.findByRole("link", { name: "Download the ZIP" }, { timeout: 4000 });
    expect(link.getAttribute("href")).toBe("/api/account/download-export/x.zip");
    expect(screen.getByText(/2.5 MB/)).toBeTruthy();
  });

  it("follows the export already running instead of showing an error", async () => {
    signedIn({
      ...routes,
      "POST /api/account/export": () =>
        problem(429, "an export is already running; wait for it to finish", { export_id: "e0" }, { "retry-after": "30" }),
      "GET /api/account/exports/e0": json({ export_id: "e0", status: "running", download_url: null, size_bytes: 0, expires_at: null, error: null }),
    });
    at("/account");
    fireEvent.click(await screen.findByRole("button", { name: "Export my data" }));
    expect(await screen.findByRole("progressbar", { name: "Preparing your export" })).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("deletes the account only when the e-mail is typed", async () => {
    const { calls } = signedIn({ ...routes, "POST /api/account/delete": { status: 202, body: { status: "deleting" } } });
    at("/account");
    const button = await screen.findByRole<HTMLButtonElement>("button", { name: "Delete my account and all data" });
    expect(button.disabled).toBe(true);
    await screen.findAllByText("ann@example.com");
    fireEvent.change(screen.getByLabelText(/Type your e-mail address/), { target: { value: "ANN@example.com " } });
    expect(button.disabled).toBe(false);
    fireEvent.click(button);
    await waitFor(() => expect(window.location.pathname).toBe("/login"));
    expect(calls.find((c) => c.path === "/api/account/delete")?.body).toEqual({ confirm: "ANN@example.com" });
    expect(isSignedInHint()).toBe(false);
  });
});
