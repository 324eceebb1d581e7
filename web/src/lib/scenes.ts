// Pure helpers of the storyboard and the media library: reordering, what the
// Render button may do, versioned media URLs, and how a file is described.

import type { Credit, MediaItem, Orientation, Project, StoryboardScene, Visual } from "../api/types";
import { bytes, clock } from "./format";

/** The most scenes a project can have (and the least). */
export const MAX_SCENES = 60;
export const MIN_SCENES = 1;

/**
 * The body of a reorder call moving the scene at `from` to `to` among `count`
 * scenes: the old indexes in their new order. Null when nothing moves.
 */
export function moveOrder(count: number, from: number, to: number): number[] | null {
  if (from === to || from < 0 || to < 0 || from >= count || to >= count) return null;
  const order = Array.from({ length: count }, (_, i) => i);
  const [moved] = order.splice(from, 1);
  order.splice(to, 0, moved as number);
  return order;
}

/** `items` rearranged by `order` (old indexes in their new order), reindexed. */
export function applyOrder<T extends { index: number }>(items: T[], order: number[]): T[] {
  const byIndex = new Map(items.map((item) => [item.index, item]));
  return order.flatMap((old, i) => {
    const item = byIndex.get(old);
    return item ? [{ ...item, index: i }] : [];
  });
}

export type RenderState =
  | { can: true; label: string }
  | { can: false; label: string; reason: string };

/** Whether the Render button acts, and what it says. */
export function renderState(project: Pick<Project, "status" | "stale" | "video_url">): RenderState {
  if (project.status === "queued" || project.status === "running") {
    return { can: false, label: "Rendering…", reason: "A render is running." };
  }
  if (project.status === "draft" || project.video_url === null) return { can: true, label: "Render the video" };
  if (project.stale) return { can: true, label: "Render the changes" };
  return { can: false, label: "Render the changes", reason: "Nothing changed since the last render." };
}

/** A short text that changes whenever a scene's picture or narration may have. */
export function sceneVersion(scene: Pick<StoryboardScene, "text" | "title" | "visual" | "voice" | "status" | "duration_seconds">): string {
  const key = JSON.stringify([scene.text, scene.title, scene.visual, scene.voice, scene.status, scene.duration_seconds]);
  // FNV-1a, 32 bits: the server caches media at a fixed URL for an hour.
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

/** `url` with `v=version` added, so a changed file is fetched again. */
export function versioned(url: string | null, version: string): string | undefined {
  if (!url) return undefined;
  return `${url}${url.includes("?") ? "&" : "?"}v=${encodeURIComponent(version)}`;
}

const PROVIDER_NAMES: Record<string, string> = { pexels: "Pexels", pixabay: "Pixabay" };

/** "Pexels", "Pixabay" (or the id of a provider this page does not know). */
export function providerName(provider: string): string {
  return PROVIDER_NAMES[provider] ?? provider;
}

/** The provider's own site, for "Photos provided by …" lines. */
export function providerSite(provider: string): string | null {
  return provider === "pexels" ? "https://www.pexels.com" : provider === "pixabay" ? "https://pixabay.com" : null;
}

/** "Photo" or "Video". */
export function mediaNoun(media: string): string {
  return media === "video" ? "Video" : "Photo";
}

/** The credit line of a stock photo or clip, as the server writes it: "Photo by Jane Doe on Pexels". */
export function creditLine(credit: Pick<Credit, "media" | "author" | "provider">): string {
  return `${mediaNoun(credit.media)} by ${credit.author} on ${providerName(credit.provider)}`;
}

/** The shape of a video of `width` x `height`, as stock searches name it. */
export function orientationOf(width: number, height: number): Orientation {
  if (width > height) return "landscape";
  if (width < height) return "portrait";
  return "square";
}

/** How a scene's picture is chosen, in words. */
export function visualLabel(visual: Visual, media?: MediaItem | null): string {
  switch (visual.kind) {
    case "auto":
      return "Picked automatically";
    case "card":
      return "Title card";
    case "upload":
      return media ? `Your file: ${media.filename}` : "Your file from the library";
    case "ai":
      return "AI picture";
    case "illustration":
      return "Illustration of its words";
    case "stock": {
      const kind = `Stock ${visual.media === "video" ? "video" : "photo"}`;
      if (visual.pick && visual.provider) return `${kind} (${providerName(visual.provider)} #${visual.pick})`;
      if (visual.query?.trim()) return `${kind}: ${visual.query.trim()}`;
      return `${kind} matching its words`;
    }
    default:
      // A kind this page does not know yet (a newer server).
      return "Chosen picture";
  }
}

/** "640×360", or null without both sides. */
export function dimensions(width: number | null, height: number | null): string | null {
  return width && height ? `${width}×${height}` : null;
}

const KIND_NAMES: Record<string, string> = { image: "Image", video: "Video", audio: "Audio", font: "Font" };

export function kindName(kind: string): string {
  return KIND_NAMES[kind] ?? kind;
}

/** The facts of a media file, in order: kind, size in pixels, length, bytes. */
export function mediaFacts(item: Pick<MediaItem, "kind" | "width" | "height" | "duration_seconds" | "bytes">): string[] {
  const facts = [kindName(item.kind)];
  const size = dimensions(item.width, item.height);
  if (size) facts.push(size);
  if (item.duration_seconds !== null && item.duration_seconds > 0) facts.push(clock(item.duration_seconds));
  facts.push(bytes(item.bytes));
  return facts;
}

/** The scene count a change would leave: an add needs room, a delete needs another scene. */
export function canAdd(count: number): boolean {
  return count < MAX_SCENES;
}

export function canDelete(count: number): boolean {
  return count > MIN_SCENES;
}
