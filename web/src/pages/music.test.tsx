import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Project, Template } from "../api/types";
import { App } from "../App";
import { musicChoice, musicInput, musicValue } from "../components/MusicPicker";
import { setSignedInHint } from "../session";
import { BUILTIN, FakeEventSource, fakeFetch, json, problem } from "../test/http";

const ME = { user: { id: "u1", email: "ann@example.com", role: "owner" }, tenant: { id: "t1", name: "Ann", plan: "pro" } };
const USAGE = { period: "2026-11", plan: "pro", metrics: {}, near_limit: [] };
const TEMPLATES: Template[] = [
  { id: "explainer", name: "Explainer", description: "Wide", aspect: "16:9", width: 1920, height: 1080, fps: 30, premium: false, caption_style: "line", ...BUILTIN },
];
const BEDS = [
  { id: "calm-pad", name: "Calm pad", description: "Slow chords.", duration_seconds: 16, preview_url: "/api/v1/music/calm-pad/preview", licence: "CC0-1.0" },
  { id: "steady-pulse", name: "Steady pulse", description: "A soft beat.", duration_seconds: 16, preview_url: "/api/v1/music/steady-pulse/preview", licence: "CC0-1.0" },
];
const SOUND = {
  id: "m1", kind: "audio", content_type: "audio/mpeg", bytes: 1000, filename: "my-song.mp3", width: null, height: null,
  duration_seconds: 120, thumbnail_url: "/api/v1/media/m1/thumbnail", file_url: "/api/v1/media/m1/file", created_at: "2026-11-26T10:00:00Z",
};
const PICTURE = { ...SOUND, id: "m2", kind: "image", content_type: "image/png", filename: "photo.png" };
const PROJECT: Project = {
  id: "p1", title: "Launch video", status: "completed", template_id: "explainer", language: "en", caption_style: "line", width: 1280, height: 720,
  progress: { done: 7, total: 7, percent: 100 }, scenes: [{ index: 0, text: "First scene.", status: "done", error: null }],
  warnings: [], error: null, video_url: "/api/v1/projects/p1/video", thumbnail_url: null, captions_url: null,
  duration_seconds: 4, created_at: "2026-11-26T10:00:00Z", updated_at: "2026-11-26T10:00:00Z", stale: false, credits: [],
  music: { bundled: "calm-pad", volume: 0.3 }, created_by: null,
};

function signedIn(routes: Parameters<typeof fakeFetch>[0]) {
  setSignedInHint(true);
  return fakeFetch({
    "GET /api/auth/me": json(ME),
    "GET /api/usage": json(USAGE),
    "GET /api/v1/music": json(BEDS),
    "GET /api/v1/media": json({ items: [SOUND, PICTURE], next_cursor: null }),
    ...routes,
  });
}

function at(path: string) {
  window.history.replaceState(null, "", path);
  return render(<App />);
}

describe("music choices", () => {
  it("round-trip through the select's value, keeping the volume", () => {
    expect(musicValue(null)).toBe("");
    expect(musicValue({ bundled: "calm-pad", volume: 0.3 })).toBe("bundled:calm-pad");
    expect(musicChoice("media:m1", 0.5)).toEqual({ media_id: "m1", volume: 0.5 });
    expect(musicChoice("bundled:calm-pad", 0.2)).toEqual({ bundled: "calm-pad", volume: 0.2 });
    expect(musicChoice("", 0.2)).toBeNull();
    expect(musicInput(null)).toBeNull();
  });
});

describe("the create form's music", () => {
  it("offers none, the bundled beds and the library's sounds (not its pictures), with a volume and a preview", async () => {
    const { calls } = signedIn({
      "GET /api/v1/templates": json(TEMPLATES),
      "GET /api/v1/voices": json([]),
      "GET /api/v1/projects": json({ items: [], next_cursor: null }),
      "POST /api/v1/projects/estimate": json({ scenes: 1, words: 2, reserve: { images_generated: 1, tts_seconds: 1, render_minutes: 0.1, storage_mb: 1 } }),
      "POST /api/v1/projects": { status: 202, body: { project_id: "new1", status: "queued", eta_seconds: 5 } },
      "GET /api/v1/projects/new1": json({ ...PROJECT, id: "new1", status: "queued", video_url: null }),
    });
    vi.stubGlobal("EventSource", FakeEventSource);
    at("/projects");
    await screen.findByRole("group", { name: "Template" });
    const select = screen.getByLabelText<HTMLSelectElement>("Background music");
    await waitFor(() => expect(select.querySelectorAll("option")).toHaveLength(4));
    expect([...select.querySelectorAll("option")].map((o) => o.textContent)).toEqual([
      "No music",
      "Calm pad: Slow chords.",
      "Steady pulse: A soft beat.",
      "my-song.mp3",
    ]);
    expect(screen.queryByLabelText("Music volume")).toBeNull();
    fireEvent.change(select, { target: { value: "bundled:steady-pulse" } });
    const preview = screen.getByLabelText<HTMLAudioElement>("Preview of the music");
    expect(preview.getAttribute("src")).toBe("/api/v1/music/steady-pulse/preview");
    fireEvent.change(screen.getByLabelText("Music volume"), { target: { value: "50" } });
    fireEvent.change(select, { target: { value: "media:m1" } });
    expect(screen.getByLabelText("Preview of the music").getAttribute("src")).toBe("/api/v1/media/m1/file");
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "My video" } });
    fireEvent.change(screen.getByLabelText("Script"), { target: { value: "Hello there." } });
    fireEvent.click(screen.getByRole("button", { name: "Create video" }));
    await waitFor(() => expect(window.location.pathname).toBe("/projects/new1"));
    expect(calls.find((c) => c.method === "POST" && c.path === "/api/v1/projects")?.body).toEqual({
      title: "My video",
      script: "Hello there.",
      template_id: "explainer",
      language: "en",
      music: { media_id: "m1", volume: 0.5 },
    });
  });

  it("shows the server's refusal of the music under the picker", async () => {
    signedIn({
      "GET /api/v1/templates": json(TEMPLATES),
      "GET /api/v1/voices": json([]),
      "GET /api/v1/projects": json({ items: [], next_cursor: null }),
      "POST /api/v1/projects/estimate": json({ scenes: 1, words: 2, reserve: { images_generated: 1, tts_seconds: 1, render_minutes: 0.1, storage_mb: 1 } }),
      "POST /api/v1/projects": problem(422, "invalid field(s): music.media_id", {
        errors: [{ field: "music.media_id", message: "must be an audio file of your media library" }],
      }),
    });
    at("/projects");
    await screen.findByRole("group", { name: "Template" });
    const select = screen.getByLabelText<HTMLSelectElement>("Background music");
    await waitFor(() => expect(select.querySelectorAll("option")).toHaveLength(4));
    fireEvent.change(select, { target: { value: "media:m1" } });
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "My video" } });
    fireEvent.change(screen.getByLabelText("Script"), { target: { value: "Hello there." } });
    fireEvent.click(screen.getByRole("button", { name: "Create video" }));
    expect(await screen.findByText("must be an audio file of your media library", { selector: ".field-error" })).toBeTruthy();
    expect(select.getAttribute("aria-invalid")).toBe("true");
  });
});

describe("the project page's music", () => {
  it("shows the project's music, saves a change and renders only the mix again", async () => {
    let current: Project = PROJECT;
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": () => json(current),
      "PATCH /api/v1/projects/p1": (call) => {
        current = { ...current, music: (call.body as { music: Project["music"] }).music, stale: true };
        return json(current);
      },
      "POST /api/v1/projects/p1/render": { status: 202, body: { project_id: "p1", status: "queued", eta_seconds: 3 } },
    });
    vi.stubGlobal("EventSource", FakeEventSource);
    at("/projects/p1");
    const select = await screen.findByLabelText<HTMLSelectElement>("Background music");
    await waitFor(() => expect(select.value).toBe("bundled:calm-pad"));
    expect(screen.getByLabelText<HTMLInputElement>("Music volume").value).toBe("30");
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Save music" }).disabled).toBe(true);
    fireEvent.change(select, { target: { value: "bundled:steady-pulse" } });
    fireEvent.change(screen.getByLabelText("Music volume"), { target: { value: "60" } });
    fireEvent.click(screen.getByRole("button", { name: "Save and render" }));
    expect(await screen.findByText(/Rendering with the new music/)).toBeTruthy();
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ music: { bundled: "steady-pulse", volume: 0.6 } });
    expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/projects/p1/render")).toBe(true);
  });

  it("removes the music", async () => {
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(PROJECT),
      "PATCH /api/v1/projects/p1": json({ ...PROJECT, music: null, stale: true }),
    });
    vi.stubGlobal("EventSource", FakeEventSource);
    at("/projects/p1");
    const select = await screen.findByLabelText<HTMLSelectElement>("Background music");
    await waitFor(() => expect(select.value).toBe("bundled:calm-pad"));
    fireEvent.change(select, { target: { value: "" } });
    fireEvent.click(screen.getByRole("button", { name: "Save music" }));
    await waitFor(() => expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ music: null }));
  });
});
