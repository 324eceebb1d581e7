import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Batch, Template } from "../api/types";
import { App } from "../App";
import { setSignedInHint } from "../session";
import { BUILTIN, fakeFetch, json, problem } from "../test/http";

const ME = { user: { id: "u1", email: "ann@example.com", role: "owner" }, tenant: { id: "t1", name: "Ann", plan: "free" } };
const USAGE = { period: "2026-12", plan: "free", metrics: {}, near_limit: [] };
const TEMPLATES: Template[] = [
  { id: "explainer", name: "Explainer", description: "Wide", aspect: "16:9", width: 1920, height: 1080, fps: 30, premium: false, caption_style: "line", ...BUILTIN },
];
const COUNTS = { queued: 0, running: 1, completed: 1, partial: 0, failed: 0, cancelled: 0, draft: 0, deleted: 1 };
const BATCH: Batch = {
  id: "b1",
  template_id: "explainer",
  title: "Welcome, {{name}}",
  status: "running",
  row_count: 3,
  counts: COUNTS,
  rows: [
    { index: 0, project_id: "p1", title: "Welcome, Ada", status: "completed", video_url: "/api/v1/projects/p1/video", error: null },
    { index: 1, project_id: "p2", title: "Welcome, Grace", status: "running", video_url: null, error: null },
    { index: 2, project_id: null, title: null, status: "deleted", video_url: null, error: null },
  ],
  created_at: "2026-12-01T10:00:00Z",
  completed_at: null,
  zip_url: "/api/v1/batches/b1/videos.zip",
};

/** A part of a sent form as text (jsdom's Blob has no `text()`). */
function read(part: FormDataEntryValue | null): Promise<string> {
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.readAsText(part as Blob);
  });
}

function signedIn(routes: Parameters<typeof fakeFetch>[0] = {}) {
  setSignedInHint(true);
  return fakeFetch({
    "GET /api/auth/me": json(ME),
    "GET /api/usage": json(USAGE),
    "GET /api/v1/templates": json(TEMPLATES),
    "GET /api/v1/batches": json({ items: [{ ...BATCH, rows: undefined }], next_cursor: null }),
    "GET /api/v1/batches/b1": json(BATCH),
    ...routes,
  });
}

async function fillTheForm() {
  window.history.replaceState(null, "", "/batches");
  render(<App />);
  await screen.findByRole("link", { name: "Welcome, {{name}}" });
  expect(screen.getByText("2 of 3 finished")).toBeTruthy();
  const form = screen.getByRole("form", { name: "New batch from a spreadsheet" });
  const csv = new File(["name,city\nAda,Oslo\n"], "people.csv", { type: "text/csv" });
  fireEvent.change(within(form).getByLabelText("CSV file"), { target: { files: [csv] } });
  fireEvent.change(within(form).getByLabelText("Title"), { target: { value: "Welcome, {{name}}" } });
  fireEvent.change(within(form).getByLabelText("Script"), { target: { value: "Hello {{name}} in {{city}}." } });
  fireEvent.click(within(form).getByRole("button", { name: "Make the videos" }));
  return form;
}

describe("Batches", () => {
  it("lists the batches and makes one from a CSV file, sent with the script as JSON", async () => {
    const { calls } = signedIn({
      "POST /api/v1/batches": { status: 202, body: { id: "b1", rows: 1, status: "queued", eta_seconds: 5 } },
    });
    await fillTheForm();
    await waitFor(() => expect(window.location.pathname).toBe("/batches/b1"));
    const post = calls.find((c) => c.method === "POST" && c.path === "/api/v1/batches");
    const form = post?.init.body as FormData;
    expect(form).toBeInstanceOf(FormData);
    expect(post?.headers["Content-Type"]).toBeUndefined();
    const settings = JSON.parse(await read(form.get("batch"))) as unknown;
    expect(settings).toEqual({ template_id: "explainer", template_script: { title: "Welcome, {{name}}", script: "Hello {{name}} in {{city}}." } });
    expect(await read(form.get("rows"))).toBe("name,city\nAda,Oslo\n");
  });

  it("lists every row problem of a refused batch, by row number", async () => {
    signedIn({
      "POST /api/v1/batches": problem(422, "the batch has 2 problem(s)", {
        errors: [
          { row: 1, field: "city", message: "is missing or empty in this row; the template uses {{city}}" },
          { field: "template_id", message: "unknown template" },
        ],
        errors_total: 2,
      }),
    });
    const form = await fillTheForm();
    const alert = await within(form).findByRole("alert");
    expect(alert.textContent).toContain("2 problems");
    expect(alert.textContent).toContain("Row 2: city is missing or empty in this row");
    expect(alert.textContent).toContain("template_id unknown template");
  });

  it("shows each row's status and video, and the ZIP of the finished ones", async () => {
    signedIn();
    window.history.replaceState(null, "", "/batches/b1");
    render(<App />);
    const table = await screen.findByRole("region", { name: "Rows" });
    expect(within(table).getByRole("link", { name: "Welcome, Ada" }).getAttribute("href")).toBe("/projects/p1");
    expect(within(table).getByRole("link", { name: "Video" }).getAttribute("href")).toBe("/api/v1/projects/p1/video");
    expect(within(table).getAllByText("Deleted").length).toBe(2);
    expect(screen.getByRole("link", { name: "Download the finished video (ZIP)" }).getAttribute("href")).toBe(
      "/api/v1/batches/b1/videos.zip",
    );
  });
});
