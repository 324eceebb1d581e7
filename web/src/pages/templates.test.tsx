import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Template } from "../api/types";
import { App } from "../App";
import { setSignedInHint } from "../session";
import { BUILTIN, fakeFetch, json, problem } from "../test/http";
import { draftOf, inputOf, patchOf, PREVIEW_DEBOUNCE_MS } from "./TemplatesPage";

const ME = { user: { id: "u1", email: "ann@example.com", role: "owner" }, tenant: { id: "t1", name: "Ann", plan: "pro" } };
const USAGE = { period: "2026-11", plan: "pro", metrics: {}, near_limit: [] };
const EXPLAINER: Template = {
  id: "explainer", name: "Explainer", description: "Wide", aspect: "16:9", width: 1920, height: 1080, fps: 25, premium: false,
  caption_style: "line", ...BUILTIN, palette: ["#4c1d95", "#7c3aed"], motion: ["pan_right", "pan_left"],
};
const ACME: Template = {
  ...EXPLAINER, id: "tpl_1", name: "Acme", description: "", builtin: false, base_id: "explainer", palette: ["#ffd700"],
  caption_style: "karaoke", heading_font: "f1", logo: "none", music: { bundled: "calm-pad", volume: 0.2 }, motion: ["still"],
  transition_seconds: 0, created_at: "2026-12-01T10:00:00Z", updated_at: "2026-12-01T10:00:00Z",
};
const FONT = {
  id: "f1", kind: "font", content_type: "font/ttf", bytes: 1000, filename: "Brand.ttf", width: null, height: null,
  duration_seconds: null, thumbnail_url: "/api/v1/media/f1/thumbnail", file_url: "/api/v1/media/f1/file", created_at: "2026-12-01T10:00:00Z",
};
const PNG = () => new Response(new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: "image/png" }), { status: 200 });

function signedIn(routes: Parameters<typeof fakeFetch>[0]) {
  setSignedInHint(true);
  return fakeFetch({
    "GET /api/auth/me": json(ME),
    "GET /api/usage": json(USAGE),
    "GET /api/v1/music": json([{ id: "calm-pad", name: "Calm pad", description: "", duration_seconds: 16, preview_url: "", licence: "CC0-1.0" }]),
    "GET /api/v1/media": json({ items: [FONT], next_cursor: null }),
    "GET /api/v1/templates": json([EXPLAINER, ACME]),
    "POST /api/v1/templates/preview": () => PNG(),
    ...routes,
  });
}

beforeEach(() => {
  vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: vi.fn(() => "blob:preview"), revokeObjectURL: vi.fn() }));
});
afterEach(() => {
  vi.useRealTimers();
});

describe("template drafts", () => {
  it("start from the base, send only what is set, and clear the rest on save", () => {
    const draft = draftOf(EXPLAINER);
    expect(draft.palette).toEqual(EXPLAINER.palette);
    expect(inputOf(draft)).toEqual({
      base_id: "explainer", name: "Explainer (my brand)", palette: ["#4c1d95", "#7c3aed"], text_color: "#ffffff",
      motion: ["pan_right", "pan_left"], transition_seconds: 0.5,
    });
    const mine = draftOf(EXPLAINER, ACME);
    expect(inputOf(mine)).toMatchObject({ heading_font: "f1", caption_style: "karaoke", logo: "none", music: { bundled: "calm-pad", volume: 0.2 } });
    const patch = patchOf({ ...mine, heading_font: "", music: "" });
    expect(patch.heading_font).toBeNull();
    expect(patch.music).toBeNull();
    expect(patch.logo).toBe("none");
    expect(inputOf({ ...mine, logo: "image", logo_media: "p1", logo_corner: "top_left", logo_opacity: 1 }).logo).toEqual({
      media_id: "p1", corner: "top_left", opacity: 1,
    });
  });
});

describe("the templates page", () => {
  it("lists built-ins and own templates, edits with a debounced live preview and saves", async () => {
    const { calls } = signedIn({
      "POST /api/v1/templates": (call) => ({ status: 201, body: { ...ACME, id: "tpl_2", name: (call.body as { name: string }).name } }),
    });
    window.history.replaceState(null, "", "/templates");
    render(<App />);
    const own = await screen.findByRole("region", { name: "Your templates" });
    expect(within(own).getByRole("heading", { name: "Acme" })).toBeTruthy();
    const builtins = screen.getByRole("region", { name: "Built-in templates" });
    expect(within(builtins).queryByRole("button", { name: /Delete/ })).toBeNull();

    vi.useFakeTimers({ shouldAdvanceTime: true });
    fireEvent.click(within(builtins).getByRole("button", { name: /Use as base/ }));
    const colour = await screen.findByLabelText<HTMLInputElement>("Colour 1");
    fireEvent.change(colour, { target: { value: "#ff0000" } });
    fireEvent.change(colour, { target: { value: "#00ff00" } });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(PREVIEW_DEBOUNCE_MS + 50);
    });
    await waitFor(() => expect(screen.getByAltText(/Preview/).getAttribute("src")).toBe("blob:preview"));
    const previews = calls.filter((c) => c.path === "/api/v1/templates/preview");
    // One request after the pause, with the last colour (typing is not sent key by key).
    expect(previews.at(-1)?.body).toMatchObject({ base_id: "explainer", palette: ["#00ff00", "#7c3aed"] });
    expect(previews.filter((c) => (c.body as { palette: string[] }).palette[0] === "#ff0000")).toHaveLength(0);

    fireEvent.change(screen.getByLabelText("Title font"), { target: { value: "f1" } });
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Green" } });
    fireEvent.click(screen.getByRole("button", { name: "Create template" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/templates")).toBe(true));
    const created = calls.find((c) => c.method === "POST" && c.path === "/api/v1/templates");
    expect(created?.body).toMatchObject({ name: "Green", heading_font: "f1", palette: ["#00ff00", "#7c3aed"] });
    expect(await within(own).findByRole("heading", { name: "Green" })).toBeTruthy();
  });

  it("shows the fields the server refuses, and deletes after confirmation", async () => {
    const { calls } = signedIn({
      "PATCH /api/v1/templates/tpl_1": problem(422, "invalid", { errors: [{ field: "name", message: "must be 1 to 100 characters, one line" }] }),
      "DELETE /api/v1/templates/tpl_1": { status: 204 },
    });
    window.history.replaceState(null, "", "/templates");
    render(<App />);
    const own = await screen.findByRole("region", { name: "Your templates" });
    fireEvent.click(within(own).getByRole("button", { name: /Edit/ }));
    expect(screen.getByLabelText<HTMLSelectElement>("Title font").value).toBe("f1");
    fireEvent.click(screen.getByRole("button", { name: "Save changes" }));
    expect(await screen.findByText("must be 1 to 100 characters, one line")).toBeTruthy();
    const patch = calls.find((c) => c.method === "PATCH");
    expect(patch?.body).toMatchObject({ caption_font: null, logo: "none", palette: ["#ffd700"] });

    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    fireEvent.click(within(own).getByRole("button", { name: /Delete/ }));
    fireEvent.click(await screen.findByRole("button", { name: "Delete template" }));
    await waitFor(() => expect(within(own).queryByRole("heading", { name: "Acme" })).toBeNull());
    expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/v1/templates/tpl_1")).toBe(true);
  });
});
