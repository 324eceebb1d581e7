import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Template, Usage, WrittenScript } from "../api/types";
import { App } from "../App";
import { UsageBannerView } from "../components/UsageBanner";
import { setSignedInHint } from "../session";
import { BUILTIN, FakeEventSource, fakeFetch, json, problem } from "../test/http";

const ME = { user: { id: "u1", email: "ann@example.com", role: "owner" }, tenant: { id: "t1", name: "Ann", plan: "free" } };
const USAGE: Usage = {
  period: "2026-11",
  plan: "free",
  metrics: {
    images_generated: { used: 2, quota: 500, reserved: 0 },
    scripts_generated: { used: 46, quota: 50, reserved: 0 },
  },
  near_limit: ["scripts_generated"],
};
const TEMPLATES: Template[] = [
  { id: "explainer", name: "Explainer", description: "Wide", aspect: "16:9", width: 1920, height: 1080, fps: 30, premium: false, caption_style: "line", ...BUILTIN },
];
const WRITTEN: WrittenScript = {
  title: "Wie Gezeiten entstehen",
  language: "de",
  scenes: [
    { text: "Zweimal am Tag steigt das Meer.", visual: { kind: "stock", media: "photo", query: "ocean tide" }, prompt: "A beach at high tide" },
    { text: "Der Mond zieht am Wasser.", visual: { kind: "stock", media: "photo", query: "moon over sea" }, prompt: "The moon over the sea" },
  ],
};

function signedIn(routes: Parameters<typeof fakeFetch>[0] = {}) {
  setSignedInHint(true);
  return fakeFetch({
    "GET /api/auth/me": json(ME),
    "GET /api/usage": json(USAGE),
    "GET /api/v1/templates": json(TEMPLATES),
    "GET /api/v1/voices": json([]),
    "GET /api/v1/caption-styles": json([]),
    "GET /api/v1/projects": json({ items: [], next_cursor: null }),
    "POST /api/v1/projects/estimate": json({ scenes: 2, words: 11, reserve: { images_generated: 2, tts_seconds: 4.4, render_minutes: 0.1, storage_mb: 2 } }),
    ...routes,
  });
}

async function openWriter() {
  window.history.replaceState(null, "", "/projects");
  render(<App />);
  await screen.findByRole("group", { name: "Template" });
  fireEvent.click(screen.getByRole("button", { name: "Write it for me" }));
  return screen.getByRole("dialog", { name: "Write it for me" });
}

beforeEach(() => {
  vi.stubGlobal("EventSource", FakeEventSource);
});

describe("Write it for me", () => {
  it("writes a script from a topic into the form, and creates the video from its scenes", async () => {
    const { calls } = signedIn({
      "POST /api/v1/scripts": json(WRITTEN),
      "POST /api/v1/projects": { status: 202, body: { project_id: "new1", status: "queued", eta_seconds: 5 } },
      "GET /api/v1/projects/new1": problem(404, "no such resource"),
    });
    window.history.replaceState(null, "", "/projects");
    render(<App />);
    await screen.findByRole("group", { name: "Template" });
    fireEvent.change(screen.getByLabelText("Language"), { target: { value: "de" } });
    fireEvent.click(screen.getByRole("button", { name: "Write it for me" }));
    const dialog = screen.getByRole("dialog", { name: "Write it for me" });
    // No topic: said so, nothing asked.
    fireEvent.click(within(dialog).getByRole("button", { name: "Write the script" }));
    expect(within(dialog).getByText("Say what the video is about.")).toBeTruthy();
    expect(calls.some((c) => c.path === "/api/v1/scripts")).toBe(false);

    fireEvent.change(within(dialog).getByLabelText("Topic"), { target: { value: " How tides work " } });
    fireEvent.change(within(dialog).getByLabelText("Tone (optional)"), { target: { value: "playful" } });
    fireEvent.change(within(dialog).getByLabelText("Length"), { target: { value: "120" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Write the script" }));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Write it for me" })).toBeNull());
    expect(calls.find((c) => c.path === "/api/v1/scripts")?.body).toEqual({
      topic: "How tides work",
      language: "de",
      duration_seconds: 120,
      tone: "playful",
    });
    expect(screen.getByLabelText<HTMLInputElement>("Title").value).toBe("Wie Gezeiten entstehen");
    expect(screen.getByLabelText<HTMLTextAreaElement>("Script").value).toBe(
      "Zweimal am Tag steigt das Meer.\n\nDer Mond zieht am Wasser.",
    );
    expect(screen.getByText(/Written for you/)).toBeTruthy();

    fireEvent.click(screen.getByRole("button", { name: "Create video" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/projects")).toBe(true));
    expect(calls.find((c) => c.method === "POST" && c.path === "/api/v1/projects")?.body).toEqual({
      title: "Wie Gezeiten entstehen",
      scenes: WRITTEN.scenes,
      template_id: "explainer",
      language: "de",
    });
  });

  it("sends the words as a script once they are edited", async () => {
    const { calls } = signedIn({
      "POST /api/v1/scripts": json(WRITTEN),
      "POST /api/v1/projects": { status: 202, body: { project_id: "new1", status: "queued", eta_seconds: 5 } },
      "GET /api/v1/projects/new1": problem(404, "no such resource"),
    });
    const dialog = await openWriter();
    fireEvent.change(within(dialog).getByLabelText("Topic"), { target: { value: "Tides" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Write the script" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    fireEvent.change(screen.getByLabelText("Script"), { target: { value: "Zweimal am Tag steigt das Meer." } });
    expect(screen.queryByText(/Written for you/)).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Create video" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/projects")).toBe(true));
    const body = calls.find((c) => c.method === "POST" && c.path === "/api/v1/projects")?.body as Record<string, unknown>;
    expect(body.script).toBe("Zweimal am Tag steigt das Meer.");
    expect(body.scenes).toBeUndefined();
  });

  it.each([
    [problem(503, "no language model is set up", { reason: "not_configured" }), /not set up on this server/],
    [problem(402, "quota", { metric: "scripts_generated", used: 50, reserved: 0, quota: 50, needed: 1, upgrade_url: "/billing" }), /used the 50 written scripts/],
    [problem(502, "no usable script", { reason: "refused" }), /declined this topic/],
    [problem(504, "too slow", { reason: "timeout" }), /took too long/],
    [problem(429, "busy", { reason: "provider_busy", retry_after_seconds: 20 }, { "retry-after": "20" }), /busy. Try again in 20 seconds/],
  ])("explains a refusal in plain words in the dialog (%#)", async (answer, message) => {
    signedIn({ "POST /api/v1/scripts": answer });
    const dialog = await openWriter();
    fireEvent.change(within(dialog).getByLabelText("Topic"), { target: { value: "Tides" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Write the script" }));
    expect((await within(dialog).findByRole("alert")).textContent).toMatch(message);
    expect(screen.getByLabelText<HTMLTextAreaElement>("Script").value).toBe("");
  });

  it("shows written scripts among the usage bars", () => {
    render(<UsageBannerView usage={USAGE} />);
    const bar = screen.getByRole("progressbar", { name: "Written scripts" });
    expect(bar.getAttribute("aria-valuetext")).toBe("46 of 50 used, near the limit");
  });
});
