import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { WebhookDelivery, WebhookEndpoint } from "../api/types";
import { App } from "../App";
import { setSignedInHint } from "../session";
import { fakeFetch, json, problem } from "../test/http";
import { LIBRARIES_URL } from "./WebhooksSection";

const ME = { user: { id: "u1", email: "ann@example.com", role: "owner" }, tenant: { id: "t1", name: "Ann", plan: "pro" } };
const ACCOUNT = {
  "GET /api/auth/me": json(ME),
  "GET /api/usage": json({ period: "2026-12", plan: "pro", metrics: {}, near_limit: [] }),
  "GET /api/account/api-keys": json({ items: [] }),
  "GET /api/account/members": json({ members: [{ user_id: "u1", email: "ann@example.com", role: "owner", joined_at: "2026-11-01T10:00:00Z", invited_by: null }], invites: [], seats: { used: 1, limit: 5 } }),
  "GET /api/usage/history": json({ days: 30, series: {} }),
  "GET /api/v1/brand": json({ logo_url: null, corner: "bottom_right", opacity: 0.85, available: false }),
  "GET /api/account/backup-status": json({ last_backup_at: null, next_backup_at: null, retention_days: 14, last_status: "never" }),
  "GET /api/account/audit": json({ items: [], next_cursor: null }),
};

function endpoint(over: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return {
    id: "ep_1",
    url: "https://hooks.example.com/reelforge",
    description: "Publish videos",
    events: ["project.completed", "project.failed"],
    enabled: true,
    disabled_reason: null,
    failing_since: null,
    created_at: "2026-11-30T10:00:00Z",
    updated_at: "2026-11-30T10:00:00Z",
    ...over,
  };
}

function delivery(id: string, over: Partial<WebhookDelivery> = {}): WebhookDelivery {
  return {
    id,
    event: "project.completed",
    message_id: `msg_${id}`,
    attempt: 1,
    status: "succeeded",
    status_code: 200,
    duration_ms: 84,
    error: null,
    next_attempt_at: null,
    created_at: "2026-12-01T09:00:00Z",
    updated_at: "2026-12-01T09:00:00Z",
    payload: { type: "project.completed", timestamp: "2026-12-01T09:00:00Z", data: { project_id: "p1" } },
    ...over,
  };
}

function account(routes: Parameters<typeof fakeFetch>[0]) {
  setSignedInHint(true);
  const fake = fakeFetch({ ...ACCOUNT, ...routes });
  window.history.replaceState(null, "", "/account");
  render(<App />);
  return fake;
}

/** The endpoint's list item, found by its URL heading. */
async function item(url: string) {
  const heading = await screen.findByRole("heading", { name: url });
  return heading.closest("li") as HTMLElement;
}

describe("Account page: webhooks", () => {
  it("lists endpoints with their events and state (on, off with the reason, failing since)", async () => {
    account({
      "GET /api/v1/webhooks": json({
        items: [
          endpoint(),
          endpoint({ id: "ep_2", url: "https://b.example.com/all", description: "", events: [], enabled: false, disabled_reason: "every delivery failed for 5 days" }),
          endpoint({ id: "ep_3", url: "https://c.example.com/x", description: "Exports", events: ["export.ready"], failing_since: "2026-11-29T08:00:00Z" }),
        ],
      }),
    });
    const list = await screen.findByRole("list", { name: "Webhooks" });
    expect(within(list).getAllByRole("listitem")).toHaveLength(3);

    const first = await item("https://hooks.example.com/reelforge");
    expect(within(first).getByText("Publish videos")).toBeTruthy();
    expect(within(first).getByText("Video ready")).toBeTruthy();
    expect(within(first).getByText("Project failed")).toBeTruthy();
    expect(within(first).getByText("On")).toBeTruthy();
    expect(within(first).getByRole("button", { name: "Turn off Publish videos" })).toBeTruthy();

    const off = await item("https://b.example.com/all");
    expect(within(off).getByText("All events")).toBeTruthy();
    expect(within(off).getByText("Off")).toBeTruthy();
    expect(within(off).getByText(/Every delivery failed for 5 days\. Turn it on/)).toBeTruthy();
    // Without a description the URL names it.
    expect(within(off).getByRole("button", { name: "Turn on https://b.example.com/all" })).toBeTruthy();

    const failing = await item("https://c.example.com/x");
    expect(within(failing).getByText("Failing")).toBeTruthy();
    expect(within(failing).getByText(/failed since 29 Nov 2026/)).toBeTruthy();
  });

  it("adds an endpoint with the chosen events and shows its secret once, with the verification hint", async () => {
    let listed: WebhookEndpoint[] = [];
    const made = endpoint({ id: "ep_9", url: "https://hooks.example.com/new", description: "CI", events: ["project.completed", "project.failed"] });
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const { calls } = account({
      "GET /api/v1/webhooks": () => json({ items: listed }),
      "POST /api/v1/webhooks": () => {
        listed = [made];
        return { status: 201, body: { ...made, secret: "whsec_c2VjcmV0" } };
      },
    });
    expect(await screen.findByText("No webhook endpoints yet.")).toBeTruthy();
    const form = screen.getByRole("form", { name: "New endpoint" });
    fireEvent.change(within(form).getByLabelText("Endpoint URL"), { target: { value: " https://hooks.example.com/new " } });
    fireEvent.change(within(form).getByLabelText(/Description/), { target: { value: "CI" } });
    // All events to start with; choosing some shows the checkboxes.
    expect(within(form).getByLabelText<HTMLInputElement>("All events").checked).toBe(true);
    expect(within(form).queryByLabelText("Video ready")).toBeNull();
    fireEvent.click(within(form).getByLabelText("Only the events chosen here"));
    const add = within(form).getByRole<HTMLButtonElement>("button", { name: "Add endpoint" });
    expect(within(form).getByText("Choose at least one event, or All events.")).toBeTruthy();
    expect(add.disabled).toBe(true);
    fireEvent.click(within(form).getByLabelText("Project failed"));
    fireEvent.click(within(form).getByLabelText("Video ready"));
    fireEvent.click(add);

    const secret = await screen.findByLabelText<HTMLInputElement>("Signing secret of https://hooks.example.com/new");
    expect(calls.filter((c) => c.method === "POST").map((c) => [c.path, c.body])).toEqual([
      ["/api/v1/webhooks", { url: "https://hooks.example.com/new", description: "CI", events: ["project.completed", "project.failed"] }],
    ]);
    expect(secret.value).toBe("whsec_c2VjcmV0");
    expect(secret.type).toBe("password");
    // SecretBox focuses in an effect, which may run after the box is found.
    await waitFor(() => expect(document.activeElement).toBe(secret));
    const libraries = screen.getByRole("link", { name: /Standard Webhooks libraries/ });
    expect(libraries.getAttribute("href")).toBe(LIBRARIES_URL);
    expect(libraries.getAttribute("target")).toBe("_blank");
    fireEvent.click(screen.getByRole("button", { name: "Copy" }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith("whsec_c2VjcmV0"));
    // The list is read again: the new endpoint, never its secret.
    const added = await item("https://hooks.example.com/new");
    expect(within(added).getByText("Video ready")).toBeTruthy();
    // The form is empty again.
    expect(within(screen.getByRole("form", { name: "New endpoint" })).getByLabelText<HTMLInputElement>("Endpoint URL").value).toBe("");

    fireEvent.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByDisplayValue("whsec_c2VjcmV0")).toBeNull();
    expect(screen.queryByText(/whsec_/)).toBeNull();
  });

  it("sends every event as no list, and shows the server's refusal of a private URL next to the field", async () => {
    const { calls } = account({
      "GET /api/v1/webhooks": json({ items: [] }),
      "POST /api/v1/webhooks": () =>
        problem(422, "validation failed", {
          errors: [{ field: "url", message: "must be a public address: loopback, private, link-local and metadata addresses are refused" }],
        }),
    });
    const form = await screen.findByRole("form", { name: "New endpoint" });
    const url = within(form).getByLabelText("Endpoint URL");
    // Caught here first: not a URL at all.
    fireEvent.change(url, { target: { value: "hooks.example.com" } });
    fireEvent.click(within(form).getByRole("button", { name: "Add endpoint" }));
    expect(within(form).getByText("Enter a full URL, starting with https://.")).toBeTruthy();
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    fireEvent.change(url, { target: { value: "http://127.0.0.1:9000/hook" } });
    fireEvent.click(within(form).getByRole("button", { name: "Add endpoint" }));
    await waitFor(() => expect(url.getAttribute("aria-invalid")).toBe("true"));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ url: "http://127.0.0.1:9000/hook" });
    const described = (url.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent);
    expect(described).toContain("The URL must be a public address: loopback, private, link-local and metadata addresses are refused.");
    expect(document.activeElement).toBe(url);
    // Said by the field, not again in an alert; no secret.
    expect(within(form).queryByRole("alert")).toBeNull();
    expect(screen.queryByLabelText(/Signing secret/)).toBeNull();
    // Changing the URL clears its error.
    fireEvent.change(url, { target: { value: "https://hooks.example.com/x" } });
    expect(url.getAttribute("aria-invalid")).toBeNull();
    expect(within(form).queryByText(/must be a public address/)).toBeNull();
  });

  it("says a refusal that names no form field in an alert", async () => {
    account({
      "GET /api/v1/webhooks": json({ items: [] }),
      "POST /api/v1/webhooks": () => problem(409, "the same Idempotency-Key is still being processed"),
    });
    const form = await screen.findByRole("form", { name: "New endpoint" });
    fireEvent.change(within(form).getByLabelText("Endpoint URL"), { target: { value: "https://hooks.example.com/x" } });
    fireEvent.click(within(form).getByRole("button", { name: "Add endpoint" }));
    expect((await within(form).findByRole("alert")).textContent).toMatch(/still being processed/);
  });

  it("at 10 endpoints offers no form", async () => {
    const items = Array.from({ length: 10 }, (_, i) => endpoint({ id: `ep_${i}`, url: `https://hooks.example.com/${i}`, description: "" }));
    account({ "GET /api/v1/webhooks": json({ items }) });
    expect(await screen.findByText(/has 10 endpoints, the most it may have/)).toBeTruthy();
    expect(screen.queryByRole("form", { name: "New endpoint" })).toBeNull();
  });

  it("turns an endpoint off with PATCH {enabled: false}, and on again", async () => {
    const { calls } = account({
      "GET /api/v1/webhooks": json({ items: [endpoint()] }),
      "PATCH /api/v1/webhooks/ep_1": (call) =>
        json(
          (call.body as { enabled: boolean }).enabled
            ? endpoint()
            : endpoint({ enabled: false, disabled_reason: "turned off by its owner" }),
        ),
    });
    const hook = await item("https://hooks.example.com/reelforge");
    fireEvent.click(within(hook).getByRole("button", { name: "Turn off Publish videos" }));
    expect(await within(hook).findByText(/Turned off by its owner\. Turn it on/)).toBeTruthy();
    expect(within(hook).getByRole("status").textContent).toMatch(/Turned off/);
    fireEvent.click(within(hook).getByRole("button", { name: "Turn on Publish videos" }));
    expect(await within(hook).findByText("On")).toBeTruthy();
    expect(calls.filter((c) => c.method === "PATCH").map((c) => [c.path, c.body])).toEqual([
      ["/api/v1/webhooks/ep_1", { enabled: false }],
      ["/api/v1/webhooks/ep_1", { enabled: true }],
    ]);
  });

  it("edits the events only (PATCH sends what changed), and Cancel leaves it as it was", async () => {
    const { calls } = account({
      "GET /api/v1/webhooks": json({ items: [endpoint()] }),
      "PATCH /api/v1/webhooks/ep_1": json(endpoint({ events: [] })),
    });
    const hook = await item("https://hooks.example.com/reelforge");
    fireEvent.click(within(hook).getByRole("button", { name: "Edit Publish videos" }));
    const form = within(hook).getByRole("form", { name: "Edit Publish videos" });
    expect(within(form).getByLabelText<HTMLInputElement>("Video ready").checked).toBe(true);
    expect(within(form).getByLabelText<HTMLInputElement>("Data export ready").checked).toBe(false);
    fireEvent.click(within(form).getByRole("button", { name: "Cancel" }));
    expect(within(hook).queryByRole("form")).toBeNull();
    expect(document.activeElement).toBe(within(hook).getByRole("button", { name: "Edit Publish videos" }));

    fireEvent.click(within(hook).getByRole("button", { name: "Edit Publish videos" }));
    fireEvent.click(within(hook).getByLabelText("All events"));
    fireEvent.click(within(hook).getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(within(hook).queryByRole("form")).toBeNull());
    expect(within(hook).getByText("All events")).toBeTruthy();
    expect(document.activeElement).toBe(within(hook).getByRole("button", { name: "Edit Publish videos" }));
    expect(calls.filter((c) => c.method === "PATCH").map((c) => c.body)).toEqual([{ events: [] }]);
    expect(within(hook).getByRole("status").textContent).toBe("Saved.");
  });

  it("sends a test event and opens the delivery log; a turned-off endpoint explains the 409", async () => {
    let tested = false;
    const test = delivery("dlv_t", { event: "webhook.test", attempt: 0, status: "pending", status_code: null, duration_ms: null, next_attempt_at: "2026-12-01T10:00:05Z" });
    const { calls } = account({
      "GET /api/v1/webhooks": json({ items: [endpoint(), endpoint({ id: "ep_2", url: "https://b.example.com/off", description: "", enabled: false, disabled_reason: "turned off by its owner" })] }),
      "POST /api/v1/webhooks/ep_1/test": () => {
        tested = true;
        return { status: 202, body: test };
      },
      "GET /api/v1/webhooks/ep_1/deliveries": () => json({ items: tested ? [test] : [], next_cursor: null }),
      "POST /api/v1/webhooks/ep_2/test": () => problem(409, "the endpoint is turned off; turn it on first"),
    });
    const hook = await item("https://hooks.example.com/reelforge");
    const toggle = within(hook).getByRole("button", { name: "Deliveries to Publish videos" });
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    fireEvent.click(within(hook).getByRole("button", { name: "Send test event to Publish videos" }));
    const log = await within(hook).findByRole("region", { name: "Deliveries to Publish videos" });
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    expect(toggle.getAttribute("aria-controls")).toBe(log.closest("[id^=webhook-]")?.id);
    expect(await within(log).findByText("Test event")).toBeTruthy();
    expect(within(log).getByText("Queued")).toBeTruthy();
    expect(calls.filter((c) => c.method === "POST").map((c) => c.path)).toEqual(["/api/v1/webhooks/ep_1/test"]);
    expect(within(hook).getAllByRole("status")[0]?.textContent).toMatch(/Test event queued/);

    const off = await item("https://b.example.com/off");
    fireEvent.click(within(off).getByRole("button", { name: "Send test event to https://b.example.com/off" }));
    expect((await within(off).findByRole("alert")).textContent).toMatch(/The endpoint is turned off; turn it on first/);
  });

  it("shows the delivery log (status, HTTP code, time, attempts, next attempt), pages it and sends one again", async () => {
    const ok = delivery("dlv_3");
    const retrying = delivery("dlv_2", {
      event: "project.failed",
      attempt: 3,
      status: "pending",
      status_code: 503,
      duration_ms: 1200,
      error: "HTTP 503",
      next_attempt_at: "2026-12-01T11:30:00Z",
    });
    const old = delivery("dlv_1", { event: "export.ready", attempt: 8, status: "failed", status_code: null, duration_ms: null, error: "connection refused" });
    const again = delivery("dlv_4", { event: "project.failed", attempt: 0, status: "pending", status_code: null, duration_ms: null, message_id: "msg_dlv_2" });
    const { calls } = account({
      "GET /api/v1/webhooks": json({ items: [endpoint()] }),
      "GET /api/v1/webhooks/ep_1/deliveries": (call) =>
        json(call.url.includes("cursor=dlv_2") ? { items: [old], next_cursor: null } : { items: [ok, retrying], next_cursor: "dlv_2" }),
      "POST /api/v1/webhooks/ep_1/deliveries/dlv_2/resend": { status: 202, body: again },
    });
    const hook = await item("https://hooks.example.com/reelforge");
    fireEvent.click(within(hook).getByRole("button", { name: "Deliveries to Publish videos" }));
    const table = await within(hook).findByRole("region", { name: "Deliveries to Publish videos" });
    const rows = () => within(table).getAllByRole("row").slice(1);
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(within(rows()[0]!).getByText("Delivered")).toBeTruthy();
    expect(within(rows()[0]!).getByText("200")).toBeTruthy();
    expect(within(rows()[0]!).getByText("84 ms")).toBeTruthy();
    expect(within(rows()[1]!).getByText("Retrying")).toBeTruthy();
    expect(within(rows()[1]!).getByText("HTTP 503")).toBeTruthy();
    expect(within(rows()[1]!).getByText("1200 ms")).toBeTruthy();
    expect(within(rows()[1]!).getByText("3")).toBeTruthy();
    expect(within(rows()[1]!).getByText(/1 Dec 2026/, { selector: "td:nth-child(7)" })).toBeTruthy();
    expect(calls.find((c) => c.path === "/api/v1/webhooks/ep_1/deliveries")?.url).toBe("/api/v1/webhooks/ep_1/deliveries?limit=10");

    fireEvent.click(within(hook).getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(calls.filter((c) => c.path === "/api/v1/webhooks/ep_1/deliveries").map((c) => c.url)[1]).toBe(
      "/api/v1/webhooks/ep_1/deliveries?limit=10&cursor=dlv_2",
    );
    expect(within(rows()[2]!).getByText("Failed")).toBeTruthy();
    expect(within(rows()[2]!).getByText("connection refused")).toBeTruthy();
    expect(within(hook).queryByRole("button", { name: "Load more" })).toBeNull();

    fireEvent.click(within(rows()[1]!).getByRole("button", { name: /^Send again: Project failed/ }));
    await waitFor(() => expect(rows()).toHaveLength(4));
    expect(calls.filter((c) => c.method === "POST").map((c) => c.path)).toEqual(["/api/v1/webhooks/ep_1/deliveries/dlv_2/resend"]);
    expect(within(rows()[0]!).getByText("Queued")).toBeTruthy();
    expect(within(hook).getByText(/queued again as a new delivery/)).toBeTruthy();

    // The payload opens in a row of its own under its delivery.
    const payload = within(rows()[1]!).getByRole("button", { name: /^Payload: Video ready/ });
    expect(payload.getAttribute("aria-expanded")).toBe("false");
    fireEvent.click(payload);
    expect(payload.getAttribute("aria-expanded")).toBe("true");
    const shown = document.getElementById(payload.getAttribute("aria-controls") ?? "");
    expect(shown?.textContent).toMatch(/webhook-id msg_dlv_3/);
    expect(shown?.textContent).toMatch(/"project_id": "p1"/);
  });

  it("deletes an endpoint only after confirming", async () => {
    const { calls } = account({
      "GET /api/v1/webhooks": json({ items: [endpoint(), endpoint({ id: "ep_2", url: "https://b.example.com/keep", description: "" })] }),
      "DELETE /api/v1/webhooks/ep_1": json(null, 204),
    });
    const hook = await item("https://hooks.example.com/reelforge");
    fireEvent.click(within(hook).getByRole("button", { name: "Delete Publish videos" }));
    expect(within(hook).getByText(/delivery log is erased/)).toBeTruthy();
    fireEvent.click(within(hook).getByRole("button", { name: "Keep the endpoint" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    expect(document.activeElement).toBe(within(hook).getByRole("button", { name: "Delete Publish videos" }));

    fireEvent.click(within(hook).getByRole("button", { name: "Delete Publish videos" }));
    fireEvent.click(within(hook).getByRole("button", { name: "Delete the endpoint" }));
    await waitFor(() => expect(screen.queryByRole("heading", { name: "https://hooks.example.com/reelforge" })).toBeNull());
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/api/v1/webhooks/ep_1"]);
    expect(screen.getByRole("heading", { name: "https://b.example.com/keep" })).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByRole("heading", { name: "Webhooks" }));
  });
});
