import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { MediaItem, Project, StoryboardScene } from "../api/types";
import { App } from "../App";
import { setSignedInHint } from "../session";
import { FakeEventSource, FakeXhr, fakeFetch, json, problem } from "../test/http";
import { InUseMessage } from "./MediaPage";
import { sceneProgress } from "./StoryboardPage";

const ME = { user: { id: "u1", email: "ann@example.com", role: "owner" }, tenant: { id: "t1", name: "Ann", plan: "free" } };
const USAGE = {
  period: "2026-11",
  plan: "free",
  metrics: { images_generated: { used: 2, quota: 500, reserved: 0 }, storage_mb: { used: 3, quota: 100000, reserved: 0 } },
  near_limit: [],
};

const scene = (index: number, over: Partial<StoryboardScene> = {}): StoryboardScene => ({
  index,
  text: `Scene text ${index + 1}.`,
  title: null,
  visual: { kind: "auto" },
  voice: null,
  status: "done",
  image_url: `/api/v1/projects/p1/scenes/${index}/image`,
  audio_url: `/api/v1/projects/p1/scenes/${index}/audio`,
  duration_seconds: 2,
  credit: null,
  suggested_query: "scene words",
  error: null,
  ...over,
});

const DRAFT: Project = {
  id: "p1",
  title: "Launch video",
  status: "draft",
  template_id: "explainer",
  language: "en",
  caption_style: "line",
  width: 1280,
  height: 720,
  progress: { done: 6, total: 6, percent: 100 },
  scenes: [0, 1, 2].map((i) => ({ index: i, text: `Scene text ${i + 1}.`, status: "done", error: null })),
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

const MEDIA: MediaItem = {
  id: "m1",
  kind: "image",
  content_type: "image/png",
  bytes: 12_345,
  filename: "teal.png",
  width: 640,
  height: 360,
  duration_seconds: null,
  thumbnail_url: "/api/v1/media/m1/thumbnail",
  file_url: "/api/v1/media/m1/file",
  created_at: "2026-11-26T10:00:00Z",
};

function signedIn(routes: Parameters<typeof fakeFetch>[0] = {}) {
  setSignedInHint(true);
  return fakeFetch({ "GET /api/auth/me": json(ME), "GET /api/usage": json(USAGE), ...routes });
}

function at(path: string) {
  window.history.replaceState(null, "", path);
  return render(<App />);
}

beforeEach(() => {
  FakeEventSource.instances = [];
  FakeXhr.made = [];
  vi.stubGlobal("EventSource", FakeEventSource);
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
});

describe("StoryboardPage", () => {
  it("shows each scene's picture, text, title, narration and status, stale ones marked", async () => {
    signedIn({
      "GET /api/v1/projects/p1": json({ ...DRAFT, status: "completed", stale: true, video_url: "/api/v1/projects/p1/video" }),
      "GET /api/v1/projects/p1/scenes": json([
        scene(0, { title: "Welcome" }),
        scene(1, { status: "stale", text: "Edited words." }),
        scene(2),
      ]),
    });
    at("/projects/p1/storyboard");
    const first = await screen.findByRole("article", { name: /Scene 1/ });
    expect(within(first).getByRole("heading", { name: "Scene 1 Welcome" })).toBeTruthy();
    expect(within(first).getByText("Scene text 1.")).toBeTruthy();
    expect(within(first).getByRole<HTMLImageElement>("img", { name: "Picture of scene 1" }).getAttribute("src")).toMatch(
      /^\/api\/v1\/projects\/p1\/scenes\/0\/image\?v=/,
    );
    expect(within(first).getByLabelText<HTMLAudioElement>("Narration of scene 1").getAttribute("src")).toMatch(/scenes\/0\/audio\?v=/);
    expect(within(first).getByText("Done", { selector: ".badge" })).toBeTruthy();
    const second = screen.getByRole("article", { name: /Scene 2/ });
    expect(second.className).toContain("sb-scene-stale");
    expect(within(second).getByText("Edited, not rendered yet")).toBeTruthy();
    // The video stays, with a note that it does not show the edits; Render acts on the changes.
    expect(screen.getByLabelText("Video: Launch video")).toBeTruthy();
    expect(screen.getByText(/does not show the edited scenes yet/)).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Render the changes" }).disabled).toBe(false);
    // Ends of the list: no moving past them, and Up on the first is off.
    expect(within(first).getByRole<HTMLButtonElement>("button", { name: "Move scene 1 up" }).disabled).toBe(true);
    expect(within(screen.getByRole("article", { name: /Scene 3/ })).getByRole<HTMLButtonElement>("button", { name: "Move scene 3 down" }).disabled).toBe(true);
  });

  it("edits a scene's text and title inline, with cancel, and says what the server refused", async () => {
    let patches = 0;
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0), scene(1)]),
      "PATCH /api/v1/projects/p1/scenes/1": (call) => {
        patches += 1;
        if (patches === 1) return problem(422, "invalid", { errors: [{ field: "text", message: "is over 2,000 characters" }] });
        return json(scene(1, { ...(call.body as object), status: "stale" }));
      },
    });
    at("/projects/p1/storyboard");
    const card = await screen.findByRole("article", { name: /Scene 2/ });
    fireEvent.click(within(card).getByRole("button", { name: "Edit text of scene 2" }));
    fireEvent.change(within(card).getByLabelText("Narration"), { target: { value: "Something else." } });
    fireEvent.click(within(card).getByRole("button", { name: "Cancel" }));
    expect(within(card).getByText("Scene text 2.")).toBeTruthy();
    fireEvent.click(within(card).getByRole("button", { name: "Edit text of scene 2" }));
    fireEvent.change(within(card).getByLabelText("Narration"), { target: { value: "New words." } });
    fireEvent.change(within(card).getByLabelText("Title (optional)"), { target: { value: " Part two " } });
    fireEvent.click(within(card).getByRole("button", { name: "Save" }));
    expect(await within(card).findByText("is over 2,000 characters")).toBeTruthy();
    expect(within(card).getByLabelText("Narration").getAttribute("aria-invalid")).toBe("true");
    fireEvent.click(within(card).getByRole("button", { name: "Save" }));
    expect(await within(card).findByText("New words.", { selector: ".sb-text" })).toBeTruthy();
    expect(within(card).getByRole("heading", { name: "Scene 2 Part two" })).toBeTruthy();
    expect(within(card).getByText("Edited, not rendered yet")).toBeTruthy();
    expect(calls.filter((c) => c.method === "PATCH").map((c) => c.body)).toEqual([
      { text: "New words.", title: "Part two" },
      { text: "New words.", title: "Part two" },
    ]);
  });

  it("gives one scene its own voice (a dialogue), with a preview; the project's voice is the default", async () => {
    const played: string[] = [];
    vi.stubGlobal(
      "Audio",
      class {
        onended: (() => void) | null = null;
        onerror: (() => void) | null = null;
        constructor(public src: string) {
          played.push(src);
        }
        play() {
          return Promise.resolve();
        }
        pause() {}
      },
    );
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0), scene(1)]),
      "GET /api/v1/voices": json([
        { id: "piper:en_US-joe-medium", provider: "piper", language: "en-us", name: "en_US-joe-medium", gender: null, preview_url: "/api/v1/voices/piper:en_US-joe-medium/preview" },
        { id: "espeak:en-gb", provider: "espeak", language: "en-gb", name: "en-gb", gender: "male", preview_url: "/api/v1/voices/espeak:en-gb/preview" },
      ]),
      "PATCH /api/v1/projects/p1/scenes/1": (call) => json(scene(1, { ...(call.body as object), status: "stale" })),
    });
    at("/projects/p1/storyboard");
    const card = await screen.findByRole("article", { name: /Scene 2/ });
    fireEvent.click(within(card).getByRole("button", { name: "Edit text of scene 2" }));
    const voice = within(card).getByLabelText<HTMLSelectElement>("Voice");
    expect(voice.value).toBe("");
    expect(within(card).getByRole("option", { name: "The project's voice" })).toBeTruthy();
    await within(card).findByRole("option", { name: /en-gb/ });
    fireEvent.change(voice, { target: { value: "espeak:en-gb" } });
    fireEvent.click(within(card).getByRole("button", { name: "Preview the selected voice" }));
    expect(played).toEqual(["/api/v1/voices/espeak:en-gb/preview"]);
    fireEvent.click(within(card).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(calls.filter((c) => c.method === "PATCH").length).toBe(1));
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ text: "Scene text 2.", title: null, voice: "espeak:en-gb" });
    expect(calls.find((c) => c.path === "/api/v1/voices")?.url).toContain("language=en");
  });

  it("moves scenes with the keyboard-reachable buttons, adds after a card, and deletes after confirming", async () => {
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0), scene(1), scene(2)]),
      "POST /api/v1/projects/p1/scenes/reorder": json([scene(0, { text: "Scene text 2." }), scene(1, { text: "Scene text 1." }), scene(2)]),
      "POST /api/v1/projects/p1/scenes": json([scene(0), scene(1), scene(2, { text: "Inserted.", status: "stale" }), scene(3)]),
      "DELETE /api/v1/projects/p1/scenes/0": json([scene(0), scene(1)]),
    });
    at("/projects/p1/storyboard");
    const second = await screen.findByRole("article", { name: /Scene 2/ });
    fireEvent.click(within(second).getByRole("button", { name: "Move scene 2 up" }));
    await waitFor(() => expect(screen.getByRole("status", { hidden: true, name: "" }).textContent).toBe("Scene 2 moved to position 1."));
    expect(calls.find((c) => c.path.endsWith("/reorder"))?.body).toEqual({ order: [1, 0, 2] });
    // Focus follows the moved scene (now first: Up is off, so Down).
    await waitFor(() => expect(document.activeElement?.getAttribute("aria-label")).toBe("Move scene 1 down"));

    fireEvent.click(within(screen.getByRole("article", { name: /Scene 2/ })).getByRole("button", { name: "Add a scene after scene 2" }));
    const form = screen.getByRole("form", { name: "New scene after scene 2" });
    fireEvent.click(within(form).getByRole("button", { name: "Add the scene" }));
    expect(within(form).getByText("Write what the narrator says in this scene.")).toBeTruthy();
    fireEvent.change(within(form).getByLabelText("Narration"), { target: { value: "Inserted." } });
    fireEvent.click(within(form).getByRole("button", { name: "Add the scene" }));
    expect(await screen.findByText("Inserted.")).toBeTruthy();
    await waitFor(() => expect(screen.queryByRole("form", { name: "New scene after scene 2" })).toBeNull());
    expect(calls.find((c) => c.method === "POST" && c.path === "/api/v1/projects/p1/scenes")?.body).toEqual({ at: 2, text: "Inserted.", title: null });

    const first = screen.getByRole("article", { name: /Scene 1/ });
    fireEvent.click(within(first).getByRole("button", { name: "Delete scene 1" }));
    fireEvent.click(within(first).getByRole("button", { name: "Delete the scene" }));
    await waitFor(() => expect(screen.getAllByRole("article", { name: /^Scene \d/ })).toHaveLength(2));
    expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/v1/projects/p1/scenes/0")).toBe(true);
  });

  it("uploads a picture onto a card with progress, then uses it for the scene", async () => {
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0)]),
      "GET /api/v1/media/m1": json(MEDIA),
      "PATCH /api/v1/projects/p1/scenes/0": json(scene(0, { visual: { kind: "upload", media_id: "m1" }, status: "stale" })),
    });
    at("/projects/p1/storyboard");
    const card = await screen.findByRole("article", { name: /Scene 1/ });
    const file = new File([new Uint8Array(8)], "teal.png", { type: "image/png" });
    fireEvent.change(within(card).getByLabelText("Upload picture for scene 1"), { target: { files: [file] } });
    const xhr = FakeXhr.made[0]!;
    expect(xhr.url).toBe("/api/v1/media");
    act(() => xhr.progress(4, 8));
    expect(within(card).getByRole("progressbar", { name: "Uploading teal.png" }).getAttribute("aria-valuetext")).toBe("50% sent");
    act(() => xhr.answer(201, MEDIA));
    expect(await within(card).findByText(/^Your file: teal.png/)).toBeTruthy();
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ visual: { kind: "upload", media_id: "m1" } });
    expect(within(card).getByRole<HTMLImageElement>("img", { name: "Picture of scene 1" }).getAttribute("src")).toBe("/api/v1/media/m1/thumbnail");
    expect(within(card).getByText("New picture: used at the next render")).toBeTruthy();
  });

  it("chooses a picture from the library in a dialog", async () => {
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0), scene(1)]),
      "GET /api/v1/media": json({ items: [MEDIA, { ...MEDIA, id: "m2", kind: "audio", filename: "song.wav" }], next_cursor: null }),
      "PATCH /api/v1/projects/p1/scenes/1": json(scene(1, { visual: { kind: "upload", media_id: "m1" }, status: "stale" })),
    });
    at("/projects/p1/storyboard");
    const card = await screen.findByRole("article", { name: /Scene 2/ });
    fireEvent.click(within(card).getByRole("button", { name: "Picture of scene 2" }));
    fireEvent.click(within(card).getByRole("menuitem", { name: "From your library…" }));
    const dialog = await screen.findByRole("dialog", { name: "Choose a picture for scene 2" });
    const choice = await within(dialog).findByRole("button", { name: "Use teal.png (Image, 640×360, 12.3 kB)" });
    expect(within(dialog).queryByText("song.wav")).toBeNull();
    fireEvent.click(choice);
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ visual: { kind: "upload", media_id: "m1" } });
    expect(within(card).getByText(/^Your file: teal.png/)).toBeTruthy();
  });

  it("renders, follows per-scene progress live, keeps the previous video meanwhile, and locks editing", async () => {
    let state: Project = { ...DRAFT, status: "completed", stale: true, video_url: "/api/v1/projects/p1/video" };
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": () => json(state),
      "GET /api/v1/projects/p1/scenes": json([scene(0, { status: "stale" }), scene(1)]),
      "POST /api/v1/projects/p1/render": () => {
        state = { ...state, status: "running", progress: { done: 0, total: 4, percent: 0 } };
        return { status: 202, body: { project_id: "p1", status: "queued", eta_seconds: 10 } };
      },
    });
    at("/projects/p1/storyboard");
    fireEvent.click(await screen.findByRole("button", { name: "Render the changes" }));
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    expect(calls.filter((c) => c.path === "/api/v1/projects/p1/render")).toHaveLength(1);
    expect(screen.getByText(/This is the previous video/)).toBeTruthy();
    expect(screen.getByLabelText("Video: Launch video")).toBeTruthy();
    expect(screen.getByText("Editing is paused while the video renders.")).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Edit text of scene 1" }).disabled).toBe(true);
    const step = (kind: string, sceneIndex: number | null, status: string, done: number) => ({
      kind,
      scene: sceneIndex,
      status,
      error: null,
      warning: null,
      project_status: "running",
      progress: { done, total: 4, percent: (done / 4) * 100 },
      at: 0,
    });
    act(() => {
      FakeEventSource.instances[0]!.emit("step", step("speech", 0, "done", 1));
      FakeEventSource.instances[0]!.emit("step", step("segment", 0, "running", 1));
    });
    const bar = screen.getByRole("progressbar", { name: "Scene 1" });
    expect(bar.getAttribute("aria-valuetext")).toBe("2 of 3 steps: Making the video");
    expect(screen.getByRole("progressbar", { name: "New version" }).getAttribute("aria-valuenow")).toBe("1");
  });

  it("explains a refused render (409: nothing changed) in an alert", async () => {
    signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0)]),
      "POST /api/v1/projects/p1/render": problem(409, "nothing changed since the last render"),
    });
    at("/projects/p1/storyboard");
    fireEvent.click(await screen.findByRole("button", { name: "Render the video" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/Nothing changed since the last render\./);
  });

  it("counts a scene's progress from live steps and the files it already has", () => {
    const s = scene(0);
    expect(sceneProgress(s, {}, false)).toEqual({ done: 2, total: 2, running: [], failed: false });
    expect(sceneProgress({ ...s, status: "stale" }, { "image:0": "running" }, true)).toEqual({
      done: 0,
      total: 3,
      running: ["picture"],
      failed: false,
    });
    expect(sceneProgress({ ...s, image_url: null, audio_url: null, status: "queued" }, { "speech:0": "failed" }, false).failed).toBe(true);
  });
});

describe("StoryboardPage music", () => {
  const BEDS = [
    { id: "calm-pad", name: "Calm pad", description: "Slow chords.", duration_seconds: 16, preview_url: "/api/v1/music/calm-pad/preview", licence: "CC0-1.0" },
    { id: "steady-pulse", name: "Steady pulse", description: "A soft beat.", duration_seconds: 16, preview_url: "/api/v1/music/steady-pulse/preview", licence: "CC0-1.0" },
  ];
  const SOUND: MediaItem = { ...MEDIA, id: "m2", kind: "audio", content_type: "audio/mpeg", filename: "my-song.mp3", width: null, height: null, duration_seconds: 90 };
  const RENDERED: Project = { ...DRAFT, status: "completed", video_url: "/api/v1/projects/p1/video" };

  /** The storyboard of `project` (read again on every GET), with the beds and the library's sounds. */
  function withMusic(project: () => Project, routes: Parameters<typeof fakeFetch>[0] = {}) {
    return signedIn({
      "GET /api/v1/projects/p1": () => json(project()),
      "GET /api/v1/projects/p1/scenes": json([scene(0), scene(1)]),
      "GET /api/v1/music": json(BEDS),
      "GET /api/v1/media": json({ items: [MEDIA, SOUND], next_cursor: null }),
      ...routes,
    });
  }

  async function musicSection() {
    const section = await screen.findByRole("region", { name: "Music" });
    const select = within(section).getByLabelText<HTMLSelectElement>("Background music");
    await waitFor(() => expect(select.querySelectorAll("option")).toHaveLength(4));
    return { section, select };
  }

  it("picks a bundled bed with a volume and saves it; the page's Render button then renders the changes", async () => {
    let state: Project = RENDERED;
    const { calls } = withMusic(() => state, {
      "PATCH /api/v1/projects/p1": (call) => {
        state = { ...state, music: (call.body as { music: Project["music"] }).music, stale: true, updated_at: "2026-11-26T11:00:00Z" };
        return json(state);
      },
    });
    at("/projects/p1/storyboard");
    const { section, select } = await musicSection();
    // Between the render card and the scenes, with ids of its own.
    const render = screen.getByRole("region", { name: "Video" });
    const scenes = screen.getByRole("region", { name: "Scenes" });
    expect(render.compareDocumentPosition(section) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(section.compareDocumentPosition(scenes) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(select.id).toBe("storyboard-music-source");
    const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect([...select.querySelectorAll("option")].map((o) => o.textContent)).toEqual([
      "No music",
      "Calm pad: Slow chords.",
      "Steady pulse: A soft beat.",
      "my-song.mp3",
    ]);
    expect(select.value).toBe("");
    const saveMusic = within(section).getByRole<HTMLButtonElement>("button", { name: "Save music" });
    expect(saveMusic.disabled).toBe(true);
    // The page's own Render button renders: no second one here.
    expect(within(section).queryByRole("button", { name: "Save and render" })).toBeNull();
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Render the changes" }).disabled).toBe(true);

    fireEvent.change(select, { target: { value: "bundled:steady-pulse" } });
    expect(within(section).getByLabelText<HTMLAudioElement>("Preview of the music").getAttribute("src")).toBe("/api/v1/music/steady-pulse/preview");
    fireEvent.change(within(section).getByLabelText("Music volume"), { target: { value: "45" } });
    fireEvent.click(saveMusic);
    expect(await within(section).findByText("Music saved. Render to hear it in the video.")).toBeTruthy();
    expect(calls.filter((c) => c.method === "PATCH").map((c) => ({ path: c.path, body: c.body }))).toEqual([
      { path: "/api/v1/projects/p1", body: { music: { bundled: "steady-pulse", volume: 0.45 } } },
    ]);
    // The project is read again: the new music is what is stored, and Render acts on it.
    await waitFor(() => expect(screen.getByRole<HTMLButtonElement>("button", { name: "Render the changes" }).disabled).toBe(false));
    expect(saveMusic.disabled).toBe(true);
    expect(select.value).toBe("bundled:steady-pulse");
    expect(screen.getByText(/does not show the latest changes yet/)).toBeTruthy();
    expect(calls.some((c) => c.path === "/api/v1/projects/p1/render")).toBe(false);
  });

  it("clears the music (none)", async () => {
    let state: Project = { ...RENDERED, music: { media_id: "m2", volume: 0.5 } };
    const { calls } = withMusic(() => state, {
      "PATCH /api/v1/projects/p1": () => {
        state = { ...state, music: null, stale: true };
        return json(state);
      },
    });
    at("/projects/p1/storyboard");
    const { section, select } = await musicSection();
    await waitFor(() => expect(select.value).toBe("media:m2"));
    expect(within(section).getByLabelText<HTMLInputElement>("Music volume").value).toBe("50");
    fireEvent.change(select, { target: { value: "" } });
    expect(within(section).queryByLabelText("Music volume")).toBeNull();
    fireEvent.click(within(section).getByRole("button", { name: "Save music" }));
    expect(await within(section).findByText("Music saved. Render to hear it in the video.")).toBeTruthy();
    expect(calls.filter((c) => c.method === "PATCH").map((c) => c.body)).toEqual([{ music: null }]);
  });

  it("is locked while a render runs, and open again when it ends", async () => {
    let state: Project = { ...RENDERED, status: "running", music: { bundled: "calm-pad", volume: 0.3 }, progress: { done: 1, total: 4, percent: 25 } };
    const { calls } = withMusic(() => state);
    at("/projects/p1/storyboard");
    const { section, select } = await musicSection();
    await waitFor(() => expect(select.value).toBe("bundled:calm-pad"));
    // Disabled by their fieldset.
    expect(select.matches(":disabled")).toBe(true);
    expect(within(section).getByLabelText("Music volume").matches(":disabled")).toBe(true);
    expect(within(section).getByRole<HTMLButtonElement>("button", { name: "Save music" }).disabled).toBe(true);
    expect(within(section).getByText("The music can be changed when the current render has finished.")).toBeTruthy();
    // The preview still plays.
    expect(within(section).getByLabelText("Preview of the music").getAttribute("src")).toBe("/api/v1/music/calm-pad/preview");

    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    state = { ...state, status: "completed", progress: { done: 4, total: 4, percent: 100 } };
    act(() => FakeEventSource.instances[0]!.emit("done", { status: "completed", error: null }));
    await waitFor(() => expect(select.matches(":disabled")).toBe(false));
    expect(within(section).queryByText(/can be changed when the current render has finished/)).toBeNull();
    fireEvent.change(within(section).getByLabelText("Music volume"), { target: { value: "20" } });
    expect(within(section).getByRole<HTMLButtonElement>("button", { name: "Save music" }).disabled).toBe(false);
    expect(calls.some((c) => c.method === "PATCH")).toBe(false);
  });
});

describe("ProjectPage with storyboards", () => {
  it("keeps the previous video playable while a new version renders, and links to the storyboard", async () => {
    signedIn({
      "GET /api/v1/projects/p1": json({ ...DRAFT, status: "running", video_url: "/api/v1/projects/p1/video", progress: { done: 1, total: 4, percent: 25 } }),
    });
    at("/projects/p1");
    expect(await screen.findByLabelText("Video: Launch video")).toBeTruthy();
    expect(screen.getByText(/A new version is rendering\./)).toBeTruthy();
    expect(screen.getByRole("progressbar", { name: "Whole video" }).getAttribute("aria-valuenow")).toBe("1");
    expect(screen.getByRole("link", { name: "Edit the scenes (storyboard)" }).getAttribute("href")).toBe("/projects/p1/storyboard");
  });

  it("offers the storyboard of a draft instead of a progress bar", async () => {
    signedIn({ "GET /api/v1/projects/p1": json(DRAFT) });
    at("/projects/p1");
    expect(await screen.findByRole("heading", { name: "Storyboard ready", level: 2 })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Open the storyboard" }).getAttribute("href")).toBe("/projects/p1/storyboard");
    expect(screen.queryByRole("progressbar", { name: "Whole video" })).toBeNull();
  });
});

describe("MediaPage", () => {
  it("lists files with kind, size, pixels and length in a grid, and is in the navigation", async () => {
    signedIn({
      "GET /api/v1/media": json({
        items: [MEDIA, { ...MEDIA, id: "m2", kind: "video", filename: "clip.mp4", duration_seconds: 12.4, bytes: 3_400_000 }],
        next_cursor: null,
      }),
    });
    at("/media");
    expect(await screen.findByRole("heading", { name: "Media library", level: 1 })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Media" }).className).toBe("nav-active");
    const clip = (await screen.findByRole("heading", { name: /clip\.mp4/ })).closest("li")!;
    expect(within(clip).getByText("Video")).toBeTruthy();
    expect(within(clip).getAllByText("0:12")).toHaveLength(2);
    expect(within(clip).getByText("3.4 MB")).toBeTruthy();
    expect(within(clip).getByText("640×360")).toBeTruthy();
  });

  it("uploads with a progress bar and puts the new file first; a refusal is an alert with the problem's detail", async () => {
    signedIn({ "GET /api/v1/media": json({ items: [], next_cursor: null }) });
    at("/media");
    await screen.findByText(/No files yet/);
    const input = screen.getByLabelText("Choose a file");
    fireEvent.change(input, { target: { files: [new File([new Uint8Array(10)], "huge.png", { type: "image/png" })] } });
    act(() => FakeXhr.made[0]!.progress(3, 10));
    expect(screen.getByRole("progressbar", { name: "Uploading huge.png" }).getAttribute("aria-valuenow")).toBe("3");
    act(() => FakeXhr.made[0]!.answer(413, { title: "Payload Too Large", status: 413, detail: "files may be up to 200 MB" }, "application/problem+json"));
    expect((await screen.findByRole("alert")).textContent).toMatch(/That file is too big: files may be up to 200 MB\./);
    fireEvent.change(input, { target: { files: [new File([new Uint8Array(10)], "teal.png", { type: "image/png" })] } });
    act(() => FakeXhr.made[1]!.answer(201, MEDIA));
    expect(await screen.findByText(/“teal.png” was added \(Image, 640×360, 12.3 kB\)/)).toBeTruthy();
    expect(screen.getByRole("heading", { name: /teal\.png/ })).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("deletes after confirming; a file in use names the projects instead", async () => {
    let inUse = true;
    signedIn({
      "GET /api/v1/media": json({ items: [MEDIA], next_cursor: null }),
      "DELETE /api/v1/media/m1": () =>
        inUse
          ? problem(409, "the file is used by scenes", { projects: [{ id: "p1", title: "Launch video" }, { id: "p2", title: "Recap" }] })
          : json(null, 204),
    });
    at("/media");
    fireEvent.click(await screen.findByRole("button", { name: "Delete teal.png" }));
    fireEvent.click(screen.getByRole("button", { name: "Delete the file" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe(
      "“teal.png” is still in use, so it was not deleted. Scenes of these 2 projects show it: Launch video and Recap. Choose another picture for those scenes, then delete the file.",
    );
    expect(within(alert).getByRole("link", { name: "Launch video" }).getAttribute("href")).toBe("/projects/p1/storyboard");
    inUse = false;
    fireEvent.click(screen.getByRole("button", { name: "Delete teal.png" }));
    fireEvent.click(screen.getByRole("button", { name: "Delete the file" }));
    await waitFor(() => expect(screen.queryByRole("heading", { name: /teal\.png/ })).toBeNull());
  });

  it("InUseMessage names one project plainly", () => {
    render(<InUseMessage filename="a.png" projects={[{ id: "p1", title: "Launch video" }]} />);
    expect(screen.getByRole("alert").textContent).toMatch(/Scenes of this project show it: Launch video\./);
  });
});
