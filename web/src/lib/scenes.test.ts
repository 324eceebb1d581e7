import { describe, expect, it, vi } from "vitest";
import { ApiError, NetworkError } from "../api/client";
import type { MediaItem, StoryboardScene } from "../api/types";
import { bytes, percent } from "./format";
import { explain } from "./problems";
import {
  applyOrder,
  canAdd,
  canDelete,
  creditLine,
  mediaFacts,
  moveOrder,
  orientationOf,
  renderState,
  sceneVersion,
  versioned,
  visualLabel,
} from "./scenes";
import { upload } from "./upload";
import { FakeXhr } from "../test/http";

const scene = (over: Partial<StoryboardScene> = {}): StoryboardScene => ({
  index: 0,
  text: "Hello.",
  title: null,
  visual: { kind: "auto" },
  voice: null,
  status: "done",
  image_url: "/api/v1/projects/p1/scenes/0/image",
  audio_url: "/api/v1/projects/p1/scenes/0/audio",
  duration_seconds: 1.5,
  credit: null,
  suggested_query: "scene words",
  error: null,
  ...over,
});

describe("reorder maths", () => {
  it("moves one scene and lists the old indexes in their new order", () => {
    expect(moveOrder(4, 2, 1)).toEqual([0, 2, 1, 3]);
    expect(moveOrder(4, 0, 1)).toEqual([1, 0, 2, 3]);
    expect(moveOrder(4, 3, 0)).toEqual([3, 0, 1, 2]);
    expect(moveOrder(4, 0, 3)).toEqual([1, 2, 3, 0]);
  });

  it("refuses moves that go nowhere or off the ends", () => {
    expect(moveOrder(3, 1, 1)).toBeNull();
    expect(moveOrder(3, 0, -1)).toBeNull();
    expect(moveOrder(3, 2, 3)).toBeNull();
    expect(moveOrder(1, 0, 0)).toBeNull();
  });

  it("applies an order and reindexes", () => {
    const list = [scene({ index: 0, text: "a" }), scene({ index: 1, text: "b" }), scene({ index: 2, text: "c" })];
    expect(applyOrder(list, [2, 0, 1]).map((s) => [s.index, s.text])).toEqual([
      [0, "c"],
      [1, "a"],
      [2, "b"],
    ]);
  });

  it("keeps between 1 and 60 scenes", () => {
    expect(canAdd(59)).toBe(true);
    expect(canAdd(60)).toBe(false);
    expect(canDelete(2)).toBe(true);
    expect(canDelete(1)).toBe(false);
  });
});

describe("render button", () => {
  it("renders a draft, renders changes, and waits for a running render", () => {
    expect(renderState({ status: "draft", stale: false, video_url: null })).toEqual({ can: true, label: "Render the video" });
    expect(renderState({ status: "completed", stale: true, video_url: "/v" })).toEqual({ can: true, label: "Render the changes" });
    expect(renderState({ status: "completed", stale: false, video_url: "/v" })).toMatchObject({ can: false, reason: "Nothing changed since the last render." });
    expect(renderState({ status: "running", stale: true, video_url: "/v" })).toMatchObject({ can: false, label: "Rendering…" });
  });
});

describe("versioned media URLs", () => {
  it("change with anything that changes the scene's files, and not otherwise", () => {
    const a = sceneVersion(scene());
    expect(sceneVersion(scene())).toBe(a);
    expect(sceneVersion(scene({ text: "Hi." }))).not.toBe(a);
    expect(sceneVersion(scene({ status: "stale" }))).not.toBe(a);
    expect(sceneVersion(scene({ visual: { kind: "upload", media_id: "m1" } }))).not.toBe(a);
    expect(versioned("/x/image", "abc")).toBe("/x/image?v=abc");
    expect(versioned("/x/image?size=2", "abc")).toBe("/x/image?size=2&v=abc");
    expect(versioned(null, "abc")).toBeUndefined();
  });

  it("names how the picture is chosen", () => {
    expect(visualLabel({ kind: "auto" })).toBe("Picked automatically");
    expect(visualLabel({ kind: "upload", media_id: "m1" }, { filename: "teal.png" } as MediaItem)).toBe("Your file: teal.png");
    expect(visualLabel({ kind: "illustration" })).toBe("Illustration of its words");
  });

  it("names stock pictures by kind and query, or by the provider's id once one is picked", () => {
    expect(visualLabel({ kind: "stock", media: "photo", query: "storm" })).toBe("Stock photo: storm");
    expect(visualLabel({ kind: "stock", media: "video", query: " city at night " })).toBe("Stock video: city at night");
    expect(visualLabel({ kind: "stock", media: "video", query: "storm", provider: "pexels", pick: "123" })).toBe("Stock video (Pexels #123)");
    expect(visualLabel({ kind: "stock", media: "photo", provider: "pixabay", pick: "9" })).toBe("Stock photo (Pixabay #9)");
    // A pick needs its provider: without it, the query (or the scene's words) decides.
    expect(visualLabel({ kind: "stock", media: "photo", pick: "9" })).toBe("Stock photo matching its words");
    expect(visualLabel({ kind: "stock", media: "photo", query: null })).toBe("Stock photo matching its words");
  });

  it("writes credit lines as the server does, and a frame's orientation", () => {
    expect(creditLine({ media: "photo", author: "Jane Doe", provider: "pexels" })).toBe("Photo by Jane Doe on Pexels");
    expect(creditLine({ media: "video", author: "Kim", provider: "pixabay" })).toBe("Video by Kim on Pixabay");
    expect(orientationOf(1280, 720)).toBe("landscape");
    expect(orientationOf(720, 1280)).toBe("portrait");
    expect(orientationOf(1080, 1080)).toBe("square");
  });
});

describe("file facts", () => {
  const item = { kind: "image" as const, width: 640, height: 360, duration_seconds: null, bytes: 12_345 };

  it("formats bytes, pixels and length", () => {
    expect(bytes(999)).toBe("999 B");
    expect(bytes(12_345)).toBe("12.3 kB");
    expect(bytes(3_400_000)).toBe("3.4 MB");
    expect(bytes(1_250_000_000)).toBe("1.25 GB");
    expect(mediaFacts(item)).toEqual(["Image", "640×360", "12.3 kB"]);
    expect(mediaFacts({ ...item, kind: "video", duration_seconds: 75.2, bytes: 25_000_000 })).toEqual(["Video", "640×360", "1:15", "25 MB"]);
    expect(mediaFacts({ ...item, width: null, height: null })).toEqual(["Image", "12.3 kB"]);
    expect(percent(1, 3)).toBe("33%");
    expect(percent(5, 0)).toBe("0%");
  });
});

const MEDIA: MediaItem = {
  id: "m1",
  kind: "image",
  content_type: "image/png",
  bytes: 4,
  filename: "teal.png",
  width: 640,
  height: 360,
  duration_seconds: null,
  thumbnail_url: "/api/v1/media/m1/thumbnail",
  file_url: "/api/v1/media/m1/file",
  created_at: "2026-11-26T10:00:00Z",
};

describe("upload", () => {
  const file = () => new File([new Uint8Array([1, 2, 3, 4])], "teal.png", { type: "image/png" });
  const createXhr = () => new FakeXhr() as unknown as XMLHttpRequest;
  const tick = () => new Promise((r) => setTimeout(r, 0));

  it("posts the file as multipart field `file`, reports progress, and answers the item", async () => {
    FakeXhr.made = [];
    const seen: number[] = [];
    const done = upload(file(), { createXhr, onProgress: (p) => seen.push(p.loaded / p.total) });
    const xhr = FakeXhr.made[0]!;
    expect([xhr.method, xhr.url]).toEqual(["POST", "/api/v1/media"]);
    expect((xhr.body?.get("file") as File).name).toBe("teal.png");
    xhr.progress(1, 4);
    xhr.progress(4, 4);
    xhr.answer(201, MEDIA);
    expect(await done).toEqual(MEDIA);
    expect(seen).toEqual([0.25, 1]);
  });

  it("turns a refusal into an ApiError with the problem's detail", async () => {
    FakeXhr.made = [];
    const done = upload(file(), { createXhr });
    FakeXhr.made[0]!.answer(415, { title: "Unsupported Media Type", status: 415, detail: "a playlist is not a video" }, "application/problem+json");
    const err = await done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(415);
    expect((err as ApiError).retryAfterSeconds).toBe(7);
    expect(explain(err, "upload").message).toBe("A playlist is not a video. Choose a picture or a video file.");
  });

  it("refreshes the session once on a 401 and sends again", async () => {
    FakeXhr.made = [];
    const refresh = vi.fn(() => Promise.resolve(true));
    const done = upload(file(), { createXhr, refresh });
    FakeXhr.made[0]!.answer(401, { title: "Unauthorized", status: 401, detail: "" }, "application/problem+json");
    await tick();
    await tick();
    expect(refresh).toHaveBeenCalledTimes(1);
    FakeXhr.made[1]!.answer(201, MEDIA);
    expect((await done).id).toBe("m1");
  });

  it("is a NetworkError when the connection breaks, and stops when aborted", async () => {
    FakeXhr.made = [];
    const broken = upload(file(), { createXhr });
    FakeXhr.made[0]!.onerror?.();
    expect(await broken.catch((e: unknown) => e)).toBeInstanceOf(NetworkError);
    const controller = new AbortController();
    const stopped = upload(file(), { createXhr, signal: controller.signal });
    controller.abort();
    expect(FakeXhr.made[1]!.aborted).toBe(true);
    expect(((await stopped.catch((e: unknown) => e)) as Error).name).toBe("AbortError");
  });

  it("explains 413, 422 and a storage quota in plain words", () => {
    const err = (status: number, extra: Record<string, unknown> = {}) => new ApiError(status, { title: "x", status, detail: "", ...extra }, null);
    expect(explain(err(413, { detail: "Files may be up to 200 MB" }), "upload").message).toBe("That file is too big: files may be up to 200 MB.");
    expect(explain(err(422, { detail: "The picture has more than 40 million pixels" }), "upload").message).toBe(
      "That file cannot be used: the picture has more than 40 million pixels.",
    );
    expect(explain(err(402, { metric: "storage_mb", used: 99, reserved: 0, quota: 100, needed: 5 }), "upload").message).toMatch(
      /^This file needs 5 MB of storage, but your plan has only 1 MB of storage left \(of 100 MB\)\. Delete files/,
    );
  });
});
