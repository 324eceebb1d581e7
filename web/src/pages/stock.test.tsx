import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Project, StockResult, StoryboardScene } from "../api/types";
import { App } from "../App";
import { setSignedInHint } from "../session";
import { FakeEventSource, fakeFetch, json, problem, type Call } from "../test/http";

const ME = { user: { id: "u1", email: "ann@example.com", role: "owner" }, tenant: { id: "t1", name: "Ann", plan: "free" } };
const USAGE = { period: "2026-11", plan: "free", metrics: {}, near_limit: [] };

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
  suggested_query: `storm night ${index + 1}`,
  error: null,
  ...over,
});

/** A portrait (9:16) storyboard: stock searches ask for portrait results. */
const DRAFT: Project = {
  id: "p1",
  title: "Storm stories",
  status: "draft",
  template_id: "shorts",
  language: "en",
  caption_style: "pop",
  width: 720,
  height: 1280,
  progress: { done: 4, total: 4, percent: 100 },
  scenes: [0, 1].map((i) => ({ index: i, text: `Scene text ${i + 1}.`, status: "done", error: null })),
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

const result = (id: number, over: Partial<StockResult> = {}): StockResult => ({
  provider: "pexels",
  id: String(id),
  media: "photo",
  thumbnail_url: `/api/v1/stock/thumbnail?provider=pexels&src=https%3A%2F%2Fimages.pexels.com%2F${id}.jpeg`,
  width: 1080,
  height: 1920,
  duration_seconds: null,
  author: `Author ${id}`,
  author_url: `https://www.pexels.com/@author-${id}`,
  page_url: `https://www.pexels.com/photo/${id}/`,
  ...over,
});

const page = (ids: number[], over: Partial<StockResult> = {}) => ({
  query: "storm night 2",
  media: over.media ?? "photo",
  orientation: "portrait",
  page: 1,
  provider: "pexels",
  results: ids.map((id) => result(id, over)),
});

function signedIn(routes: Parameters<typeof fakeFetch>[0] = {}) {
  setSignedInHint(true);
  return fakeFetch({ "GET /api/auth/me": json(ME), "GET /api/usage": json(USAGE), ...routes });
}

function at(path: string) {
  window.history.replaceState(null, "", path);
  return render(<App />);
}

const params = (call: Call | undefined) => Object.fromEntries(new URL(call?.url ?? "/", "http://localhost").searchParams);
/** An item's text without its (aria-hidden) check mark. */
const itemText = (el: Element | null) => el?.textContent?.replace("✓", "") ?? null;
const searches = (calls: Call[]) => calls.filter((c) => c.path === "/api/v1/stock/search");

async function openMenu(n: number) {
  const card = await screen.findByRole("article", { name: new RegExp(`^Scene ${n}`) });
  fireEvent.click(within(card).getByRole("button", { name: `Picture of scene ${n}` }));
  return card;
}

beforeEach(() => {
  FakeEventSource.instances = [];
  vi.stubGlobal("EventSource", FakeEventSource);
});

describe("the storyboard's picture menu", () => {
  it("offers stock photo, stock video, AI image, illustration, the library, title card and automatic; keyboard works", async () => {
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0), scene(1)]),
      "PATCH /api/v1/projects/p1/scenes/0": json(scene(0, { visual: { kind: "illustration" }, status: "stale" })),
    });
    at("/projects/p1/storyboard");
    const card = await openMenu(1);
    const button = within(card).getByRole("button", { name: "Picture of scene 1" });
    expect(button.getAttribute("aria-expanded")).toBe("true");
    const menu = within(card).getByRole("menu");
    expect(within(menu).getAllByRole("menuitem").map(itemText)).toEqual([
      "Stock photo…",
      "Stock video…",
      "AI image",
      "Illustration",
      "From your library…",
      "Title card",
      "Automatic (in use)",
    ]);
    // Focus starts on the first item; arrows move it and wrap; Escape closes and returns to the button.
    expect(itemText(document.activeElement)).toBe("Stock photo…");
    fireEvent.keyDown(menu, { key: "ArrowUp" });
    expect(itemText(document.activeElement)).toBe("Automatic (in use)");
    fireEvent.keyDown(menu, { key: "Home" });
    fireEvent.keyDown(menu, { key: "ArrowDown" });
    expect(itemText(document.activeElement)).toBe("Stock video…");
    fireEvent.keyDown(menu, { key: "Escape" });
    expect(within(card).queryByRole("menu")).toBeNull();
    expect(document.activeElement).toBe(button);
    // Arrow Down on the button opens it again; type-ahead "i" reaches Illustration.
    fireEvent.keyDown(button, { key: "ArrowDown" });
    fireEvent.keyDown(within(card).getByRole("menu"), { key: "i" });
    expect(itemText(document.activeElement)).toBe("Illustration");
    fireEvent.click(document.activeElement!);
    await within(card).findByText(/^Illustration of its words/);
    expect(calls.filter((c) => c.method === "PATCH").map((c) => c.body)).toEqual([{ visual: { kind: "illustration" } }]);
  });

  it("Stock photo searches at once for the scene's suggested query, in the project's orientation, with More", async () => {
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0), scene(1)]),
      "GET /api/v1/stock/search": (call) =>
        params(call).page === "1"
          ? json(page(Array.from({ length: 15 }, (_, i) => 100 + i)))
          : json({ ...page([114, 200, 201]), page: 2 }),
    });
    at("/projects/p1/storyboard");
    const card = await openMenu(2);
    fireEvent.click(within(card).getByRole("menuitem", { name: "Stock photo…" }));
    const dialog = await screen.findByRole("dialog", { name: "Stock photo for scene 2" });
    expect(within(dialog).getByLabelText<HTMLInputElement>("Search stock photos").value).toBe("storm night 2");
    const first = await within(dialog).findByRole("button", { name: "Use the photo by Author 100" });
    expect(document.getElementById(first.getAttribute("aria-describedby")!)?.textContent).toBe("Pexels · 1080×1920");
    expect(params(searches(calls)[0])).toEqual({ q: "storm night 2", media: "photo", orientation: "portrait", page: "1" });
    const img = within(dialog).getByRole<HTMLImageElement>("img", { name: "Photo by Author 100" });
    expect(img.getAttribute("src")).toBe(result(100).thumbnail_url);
    expect(within(dialog).getAllByRole("img")).toHaveLength(15);
    expect(within(dialog).getByText("Portrait photos, the shape of this video.")).toBeTruthy();
    expect(within(dialog).getByRole("link", { name: /Pexels/ }).getAttribute("href")).toBe("https://www.pexels.com");

    // More: the next page from the same provider, appended without repeats; focus moves to the first new one.
    fireEvent.click(within(dialog).getByRole("button", { name: "More photos" }));
    await waitFor(() => expect(within(dialog).getAllByRole("img")).toHaveLength(17));
    expect(params(searches(calls)[1])).toEqual({ q: "storm night 2", media: "photo", orientation: "portrait", page: "2", provider: "pexels" });
    // Focus moves after the new results are drawn (an effect), so wait for it.
    await waitFor(() => expect(document.activeElement).toBe(within(dialog).getByRole("button", { name: "Use the photo by Author 200" })));
    // A short page is the last: no More.
    expect(within(dialog).queryByRole("button", { name: "More photos" })).toBeNull();

    // Another query, typed: page 1 again.
    fireEvent.change(within(dialog).getByLabelText("Search stock photos"), { target: { value: "lighthouse" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Search" }));
    await waitFor(() => expect(searches(calls)).toHaveLength(3));
    expect(params(searches(calls)[2])).toMatchObject({ q: "lighthouse", page: "1" });
    expect(params(searches(calls)[2]).provider).toBeUndefined();
  });

  it("picking a result PATCHes the scene with the result's provider and id; the card shows its preview", async () => {
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0), scene(1)]),
      "GET /api/v1/stock/search": json(page([7, 8])),
      "PATCH /api/v1/projects/p1/scenes/1": (call) =>
        json(scene(1, { ...(call.body as Partial<StoryboardScene>), status: "stale", image_url: null })),
    });
    at("/projects/p1/storyboard");
    const card = await openMenu(2);
    fireEvent.click(within(card).getByRole("menuitem", { name: "Stock photo…" }));
    const dialog = await screen.findByRole("dialog", { name: "Stock photo for scene 2" });
    fireEvent.click(await within(dialog).findByRole("button", { name: "Use the photo by Author 8" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({
      visual: { kind: "stock", media: "photo", query: "storm night 2", provider: "pexels", pick: "8" },
    });
    expect(within(card).getByText(/^Stock photo \(Pexels #8\)/)).toBeTruthy();
    expect(within(card).getByRole<HTMLImageElement>("img", { name: "Picture of scene 2" }).getAttribute("src")).toBe(result(8).thumbnail_url);
    expect(within(card).getByText("New picture: used at the next render")).toBeTruthy();
    // Focus is back on the menu button that opened the dialog.
    await waitFor(() => expect(document.activeElement).toBe(within(card).getByRole("button", { name: "Picture of scene 2" })));
  });

  it("Stock video shows clip lengths, and “Best match for this query” sends the query without a pick", async () => {
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0), scene(1)]),
      "GET /api/v1/stock/search": json(page([31], { media: "video", duration_seconds: 12.4, provider: "pixabay" })),
      "PATCH /api/v1/projects/p1/scenes/0": (call) => json(scene(0, { ...(call.body as Partial<StoryboardScene>), status: "stale" })),
    });
    at("/projects/p1/storyboard");
    const card = await openMenu(1);
    fireEvent.click(within(card).getByRole("menuitem", { name: "Stock video…" }));
    const dialog = await screen.findByRole("dialog", { name: "Stock video for scene 1" });
    const clip = await within(dialog).findByRole("button", { name: "Use the video by Author 31" });
    expect(document.getElementById(clip.getAttribute("aria-describedby")!)?.textContent).toBe("Pixabay · 1080×1920 · 0:12");
    expect(within(dialog).getByText("0:12", { selector: ".stock-length" })).toBeTruthy();
    expect(within(dialog).getByRole("img", { name: "Video by Author 31" })).toBeTruthy();
    expect(params(searches(calls)[0])).toMatchObject({ q: "storm night 1", media: "video", orientation: "portrait" });
    fireEvent.click(within(dialog).getByRole("button", { name: "Best match for this query" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ visual: { kind: "stock", media: "video", query: "storm night 1" } });
    expect(within(card).getByText(/^Stock video: storm night 1/)).toBeTruthy();
  });

  it("503 without a stock provider: says stock is not set up on this server, and offers nothing else", async () => {
    signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0)]),
      "GET /api/v1/stock/search": problem(503, "no stock provider is set up on this server (PEXELS_API_KEY or PIXABAY_API_KEY)", { reason: "not_configured" }),
    });
    at("/projects/p1/storyboard");
    const card = await openMenu(1);
    fireEvent.click(within(card).getByRole("menuitem", { name: "Stock photo…" }));
    const dialog = await screen.findByRole("dialog", { name: "Stock photo for scene 1" });
    const alert = await within(dialog).findByRole("alert");
    expect(alert.textContent).toMatch(/^Stock photos and videos are not set up on this server\./);
    expect(within(dialog).queryByRole("search")).toBeNull();
    expect(within(dialog).queryByRole("button", { name: /Best match|More|Use the/ })).toBeNull();
    expect(within(dialog).getAllByRole("button").map((b) => b.textContent)).toEqual(["Close"]);
    fireEvent.click(within(dialog).getByRole("button", { name: "Close" }));
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it.each([
    [problem(429, "too many stock searches; try again in 12 s", { retry_after_seconds: 12 }, { "Retry-After": "12" }), "Too many stock searches; try again in 12 s."],
    [problem(502, "Pexels answered 500 Internal Server Error; try again later"), "Pexels answered 500 Internal Server Error; try again later."],
    [problem(503, "Pexels is limiting our searches; try again in 30 s", { reason: "provider_busy", retry_after_seconds: 30 }), "Pexels is limiting our searches; try again in 30 s."],
  ])("a refused search (%#) says the problem's detail and keeps the search box", async (answer, message) => {
    signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0)]),
      "GET /api/v1/stock/search": answer,
    });
    at("/projects/p1/storyboard");
    const card = await openMenu(1);
    fireEvent.click(within(card).getByRole("menuitem", { name: "Stock photo…" }));
    const dialog = await screen.findByRole("dialog", { name: "Stock photo for scene 1" });
    expect((await within(dialog).findByRole("alert")).textContent).toBe(message);
    expect(within(dialog).getByRole("search")).toBeTruthy();
    expect(within(dialog).queryByRole("button", { name: "Best match for this query" })).toBeNull();
  });

  it("says so when nothing matches, and asks for words before searching", async () => {
    const { calls } = signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([scene(0)]),
      "GET /api/v1/stock/search": json({ ...page([]), provider: null }),
    });
    at("/projects/p1/storyboard");
    const card = await openMenu(1);
    fireEvent.click(within(card).getByRole("menuitem", { name: "Stock photo…" }));
    const dialog = await screen.findByRole("dialog", { name: "Stock photo for scene 1" });
    expect(await within(dialog).findByText("No photos match “storm night 1”. Try other or fewer words.")).toBeTruthy();
    expect(within(dialog).queryByRole("button", { name: "Best match for this query" })).toBeNull();
    fireEvent.change(within(dialog).getByLabelText("Search stock photos"), { target: { value: "  " } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Search" }));
    expect(within(dialog).getByText("Type what the photo should show.")).toBeTruthy();
    expect(within(dialog).getByLabelText("Search stock photos").getAttribute("aria-invalid")).toBe("true");
    expect(searches(calls)).toHaveLength(1);
  });

  it("a card with a stock picture credits its author under the picture, linking to the provider's page", async () => {
    signedIn({
      "GET /api/v1/projects/p1": json(DRAFT),
      "GET /api/v1/projects/p1/scenes": json([
        scene(0, {
          visual: { kind: "stock", media: "photo", query: "storm", provider: "pexels", pick: "42" },
          credit: {
            provider: "pexels",
            id: "42",
            media: "photo",
            author: "Jane Doe",
            author_url: "https://www.pexels.com/@jane",
            page_url: "https://www.pexels.com/photo/42/",
          },
        }),
        scene(1),
      ]),
    });
    at("/projects/p1/storyboard");
    const card = await screen.findByRole("article", { name: /^Scene 1/ });
    const link = within(card).getByRole("link", { name: "Photo by Jane Doe on Pexels (opens in a new tab)" });
    expect(link.getAttribute("href")).toBe("https://www.pexels.com/photo/42/");
    expect(link.getAttribute("target")).toBe("_blank");
    expect(link.getAttribute("rel")).toBe("noopener noreferrer");
    expect(within(card).getByText(/^Stock photo \(Pexels #42\)/)).toBeTruthy();
    expect(within(screen.getByRole("article", { name: /^Scene 2/ })).queryByRole("link")).toBeNull();
  });
});

describe("ProjectPage credits", () => {
  const DONE: Project = {
    ...DRAFT,
    status: "completed",
    video_url: "/api/v1/projects/p1/video",
    captions_url: "/api/v1/projects/p1/captions.vtt",
    credits: [
      {
        scene: 0,
        provider: "pexels",
        id: "42",
        media: "photo",
        author: "Jane Doe",
        author_url: "https://www.pexels.com/@jane",
        page_url: "https://www.pexels.com/photo/42/",
        text: "Photo by Jane Doe on Pexels",
      },
      {
        scene: 2,
        provider: "pixabay",
        id: "9",
        media: "video",
        author: "Kim",
        author_url: null,
        page_url: "https://pixabay.com/videos/id-9/",
        text: "Video by Kim on Pixabay",
      },
    ],
  };

  it("lists each stock credit under the player, with the author's page and credits.txt", async () => {
    signedIn({ "GET /api/v1/projects/p1": json(DONE) });
    at("/projects/p1");
    const section = (await screen.findByRole("heading", { name: "Credits", level: 3 })).closest("section")!;
    const items = within(section).getAllByRole("listitem");
    expect(items.map((li) => li.textContent)).toEqual([
      "Scene 1: Photo by Jane Doe on Pexels (opens in a new tab) · Jane Doe on Pexels (opens in a new tab)",
      "Scene 3: Video by Kim on Pixabay (opens in a new tab)",
    ]);
    const photo = within(items[0]!).getByRole("link", { name: "Photo by Jane Doe on Pexels (opens in a new tab)" });
    expect(photo.getAttribute("href")).toBe("https://www.pexels.com/photo/42/");
    expect(photo.getAttribute("rel")).toBe("noopener noreferrer");
    expect(within(items[0]!).getByRole("link", { name: "Jane Doe on Pexels (opens in a new tab)" }).getAttribute("href")).toBe(
      "https://www.pexels.com/@jane",
    );
    expect(within(items[1]!).getAllByRole("link")).toHaveLength(1);
    const file = within(section).getByRole("link", { name: "Download credits.txt" });
    expect(file.getAttribute("href")).toBe("/api/v1/projects/p1/credits.txt");
    expect(file.hasAttribute("download")).toBe(true);
    // Under the player, in the same card.
    expect(screen.getByLabelText("Video: Storm stories").closest("section")?.contains(section)).toBe(true);
  });

  it("shows no credits section when no scene shows stock", async () => {
    signedIn({ "GET /api/v1/projects/p1": json({ ...DONE, credits: [] }) });
    at("/projects/p1");
    await screen.findByLabelText("Video: Storm stories");
    expect(screen.queryByRole("heading", { name: "Credits" })).toBeNull();
    expect(screen.queryByRole("link", { name: "Download credits.txt" })).toBeNull();
  });
});
