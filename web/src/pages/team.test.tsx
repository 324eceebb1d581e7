import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import axe from "axe-core";
import { describe, expect, it, vi } from "vitest";
import type { InviteView, Me, MemberView, Project, Team } from "../api/types";
import { App } from "../App";
import { setSignedInHint } from "../session";
import { BUILTIN, FakeEventSource, fakeFetch, json, problem } from "../test/http";
import { actionText } from "./AccountPage";
import { madeBy } from "./ProjectPage";

vi.mock("../lib/redirect", () => ({ redirectTo: vi.fn() }));
import { redirectTo } from "../lib/redirect";

function me(role: "owner" | "admin" | "member", tenants?: Me["tenants"]): Me {
  const email = role === "owner" ? "ann@example.com" : role === "admin" ? "bob@example.com" : "cara@example.com";
  const id = role === "owner" ? "u1" : role === "admin" ? "u2" : "u3";
  return {
    user: { id, email, role },
    tenant: { id: "t1", name: "Ann's studio", plan: "pro" },
    tenants: tenants ?? [{ id: "t1", name: "Ann's studio", role }],
  };
}

const ANN: MemberView = { user_id: "u1", email: "ann@example.com", role: "owner", joined_at: "2026-10-01T09:00:00Z", invited_by: null };
const BOB: MemberView = { user_id: "u2", email: "bob@example.com", role: "admin", joined_at: "2026-10-05T09:00:00Z", invited_by: "ann@example.com" };
const CARA: MemberView = { user_id: "u3", email: "cara@example.com", role: "member", joined_at: "2026-11-02T09:00:00Z", invited_by: "bob@example.com" };
const DAN: InviteView = {
  id: "inv_1",
  email: "dan@example.com",
  role: "member",
  created_at: "2026-12-01T09:00:00Z",
  expires_at: "2026-12-04T09:00:00Z",
  expired: false,
  invited_by: "ann@example.com",
};
const EVE: InviteView = {
  id: "inv_2",
  email: "eve@example.com",
  role: "admin",
  created_at: "2026-11-20T09:00:00Z",
  expires_at: "2026-11-23T09:00:00Z",
  expired: true,
  invited_by: "bob@example.com",
};
const TEAM: Team = { members: [ANN, BOB, CARA], invites: [DAN, EVE], seats: { used: 4, limit: 5 } };

const ACCOUNT = {
  "GET /api/usage": json({ period: "2026-12", plan: "pro", metrics: {}, near_limit: [] }),
  "GET /api/usage/history": json({ days: 30, series: {} }),
  "GET /api/v1/brand": json({ logo_url: "/api/v1/brand/logo?v=1", corner: "top_left", opacity: 0.8, available: true }),
  "GET /api/account/api-keys": json({ items: [] }),
  "GET /api/v1/webhooks": json({ items: [] }),
  "GET /api/account/backup-status": json({ last_backup_at: null, next_backup_at: null, retention_days: 14, last_status: "never" }),
  "GET /api/account/audit": json({ items: [], next_cursor: null }),
};

function at(path: string, who: Me | (() => Me), routes: Parameters<typeof fakeFetch>[0] = {}) {
  setSignedInHint(true);
  const fake = fakeFetch({ "GET /api/auth/me": () => json(typeof who === "function" ? who() : who), ...ACCOUNT, ...routes });
  window.history.replaceState(null, "", path);
  render(<App />);
  return fake;
}

const members = () => screen.findByRole("region", { name: "Members" });
/** A row of a table, by the text of its first cell. */
function row(table: HTMLElement, first: string): HTMLElement {
  const found = within(table)
    .getAllByRole("row")
    .find((r) => r.querySelector("td")?.textContent?.startsWith(first));
  if (!found) throw new Error(`no row for ${first}`);
  return found;
}

describe("Members section", () => {
  it("lists the members with their roles, the seats, and the pending invitations with their expiry", async () => {
    at("/account", me("owner"), { "GET /api/account/members": json(TEAM) });
    const section = await members();
    const table = await within(section).findByRole("region", { name: "Team members" });
    expect(within(section).getByText("4 of 5 seats used")).toBeTruthy();

    // The owner (you): "Owner", no role select, nothing to remove.
    const ann = row(table, "ann@example.com");
    expect(within(ann).getByText("(you)")).toBeTruthy();
    expect(within(ann).getByText("Owner")).toBeTruthy();
    expect(within(ann).queryByRole("combobox")).toBeNull();
    expect(within(ann).queryByRole("button")).toBeNull();
    // The others: a role select each, invited by whom.
    expect(within(row(table, "bob@example.com")).getByRole<HTMLSelectElement>("combobox", { name: "Role of bob@example.com" }).value).toBe("admin");
    const cara = row(table, "cara@example.com");
    expect(within(cara).getByRole<HTMLSelectElement>("combobox", { name: "Role of cara@example.com" }).value).toBe("member");
    expect(within(cara).getByText("bob@example.com")).toBeTruthy();
    expect(within(cara).getByRole("button", { name: "Remove cara@example.com" })).toBeTruthy();

    const invites = within(section).getByRole("region", { name: "Pending invitations" });
    const dan = row(invites, "dan@example.com");
    expect(within(dan).getByText(/4 Dec 2026/)).toBeTruthy();
    expect(within(dan).queryByText("Expired")).toBeNull();
    const eve = row(invites, "eve@example.com");
    expect(within(eve).getByText("Admin")).toBeTruthy();
    expect(within(eve).getByText("Expired")).toBeTruthy();
  });

  it("says unlimited seats when the plan has no limit", async () => {
    at("/account", me("owner"), { "GET /api/account/members": json({ ...TEAM, invites: [], seats: { used: 3, limit: null } }) });
    const section = await members();
    expect(await within(section).findByText("3 seats used, unlimited")).toBeTruthy();
    expect(within(section).getByText("No pending invitations.")).toBeTruthy();
  });

  it("invites by e-mail (member by default, or admin) and shows the new pending invitation", async () => {
    let team: Team = { ...TEAM, invites: [] , seats: { used: 3, limit: 5 } };
    const made: InviteView = { ...DAN, id: "inv_9", email: "fay@example.com", role: "admin", created_at: "2026-12-02T09:00:00Z", expires_at: "2026-12-05T09:00:00Z" };
    const { calls } = at("/account", me("owner"), {
      "GET /api/account/members": () => json(team),
      "POST /api/account/members": () => {
        team = { ...team, invites: [made], seats: { used: 4, limit: 5 } };
        return { status: 201, body: made };
      },
    });
    const section = await members();
    const form = await within(section).findByRole("form", { name: "Invite someone" });
    const email = within(form).getByLabelText("E-mail address");
    const role = within(form).getByLabelText<HTMLSelectElement>("Role");
    expect(role.value).toBe("member");

    // Checked here first.
    fireEvent.click(within(form).getByRole("button", { name: "Send invitation" }));
    expect(within(form).getByText("Enter the e-mail address of the person to invite.")).toBeTruthy();
    expect(email.getAttribute("aria-invalid")).toBe("true");
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    fireEvent.change(email, { target: { value: " fay@example.com " } });
    fireEvent.change(role, { target: { value: "admin" } });
    fireEvent.click(within(form).getByRole("button", { name: "Send invitation" }));
    const invites = await within(section).findByRole("region", { name: "Pending invitations" });
    expect(within(row(invites, "fay@example.com")).getByText("Admin")).toBeTruthy();
    expect(calls.filter((c) => c.method === "POST").map((c) => [c.path, c.body])).toEqual([
      ["/api/account/members", { email: "fay@example.com", role: "admin" }],
    ]);
    expect(within(section).getAllByRole("status").some((s) => /Invitation sent to fay@example\.com/.test(s.textContent ?? ""))).toBe(true);
    expect(await within(section).findByText("4 of 5 seats used")).toBeTruthy();
    // The form is ready for the next one.
    expect((email as HTMLInputElement).value).toBe("");
    expect(role.value).toBe("member");
  });

  it("puts the server's 422 by its field and a 409 (already invited) in an alert", async () => {
    const { calls } = at("/account", me("admin"), {
      "GET /api/account/members": json(TEAM),
      "POST /api/account/members": (call) =>
        (call.body as { email: string }).email === "x@y"
          ? problem(422, "invalid field(s): email", { errors: [{ field: "email", message: "e-mail address has no domain" }] })
          : problem(409, "dan@example.com has an invitation already: resend it or revoke it", { invite_id: "inv_1" }),
    });
    const form = await within(await members()).findByRole("form", { name: "Invite someone" });
    const email = within(form).getByLabelText("E-mail address");
    fireEvent.change(email, { target: { value: "x@y" } });
    fireEvent.click(within(form).getByRole("button", { name: "Send invitation" }));
    await waitFor(() => expect(email.getAttribute("aria-invalid")).toBe("true"));
    expect(within(form).getByText("E-mail address has no domain.")).toBeTruthy();
    expect(within(form).queryByRole("alert")).toBeNull();
    expect(document.activeElement).toBe(email);

    fireEvent.change(email, { target: { value: "dan@example.com" } });
    fireEvent.click(within(form).getByRole("button", { name: "Send invitation" }));
    expect((await within(form).findByRole("alert")).textContent).toMatch(/Dan@example\.com has an invitation already: resend it or revoke it/i);
    expect(calls.filter((c) => c.method === "POST").map((c) => c.body)).toEqual([
      { email: "x@y", role: "member" },
      { email: "dan@example.com", role: "member" },
    ]);
  });

  it.each([
    ["owner", /Upgrade for more seats/, "/billing"],
    ["admin", /Ask the team’s owner \(ann@example\.com\) to upgrade/, null],
  ] as const)("a full team (402): the %s is told what to do", async (who, says, link) => {
    at("/account", me(who), {
      "GET /api/account/members": json({ ...TEAM, seats: { used: 5, limit: 5 } }),
      "POST /api/account/members": problem(
        402,
        "this team uses all 5 seats of the pro plan (members and pending invitations); upgrade, remove a member or revoke an invitation",
        { seats_used: 5, seats_limit: 5, upgrade_url: "https://reelforge.example/billing" },
      ),
    });
    const section = await members();
    // Said before anyone tries.
    expect((await within(section).findByText(/Every seat is taken\./)).textContent).toMatch(says);
    const form = within(section).getByRole("form", { name: "Invite someone" });
    fireEvent.change(within(form).getByLabelText("E-mail address"), { target: { value: "gus@example.com" } });
    fireEvent.click(within(form).getByRole("button", { name: "Send invitation" }));
    const alert = await within(form).findByRole("alert");
    expect(alert.textContent).toMatch(/Every seat of your plan is taken \(5 of 5 seats used\)/);
    expect(alert.textContent).toMatch(says);
    const upgrade = within(alert).queryByRole("link", { name: "Upgrade for more seats" });
    expect(upgrade?.getAttribute("href") ?? null).toBe(link);
  });

  it("changes a member's role with PATCH {role}", async () => {
    const { calls } = at("/account", me("owner"), {
      "GET /api/account/members": json(TEAM),
      "PATCH /api/account/members/u3": json({ ...CARA, role: "admin" }),
    });
    const table = await within(await members()).findByRole("region", { name: "Team members" });
    fireEvent.change(within(table).getByRole("combobox", { name: "Role of cara@example.com" }), { target: { value: "admin" } });
    await waitFor(() => expect(calls.filter((c) => c.method === "PATCH").map((c) => [c.path, c.body])).toEqual([["/api/account/members/u3", { role: "admin" }]]));
    expect(await screen.findByText("cara@example.com is now an admin.")).toBeTruthy();
  });

  it("removes a member only after confirming", async () => {
    let team = TEAM;
    const { calls } = at("/account", me("owner"), {
      "GET /api/account/members": () => json(team),
      "DELETE /api/account/members/u3": () => {
        team = { ...TEAM, members: [ANN, BOB], seats: { used: 3, limit: 5 } };
        return json(null, 204);
      },
    });
    const section = await members();
    const table = await within(section).findByRole("region", { name: "Team members" });
    const remove = within(table).getByRole("button", { name: "Remove cara@example.com" });
    fireEvent.click(remove);
    expect(within(section).getByText(/They lose access to Ann's studio at once; the projects they made stay\./)).toBeTruthy();
    fireEvent.click(within(section).getByRole("button", { name: "Keep them" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await waitFor(() => expect(document.activeElement).toBe(within(table).getByRole("button", { name: "Remove cara@example.com" })));

    fireEvent.click(within(table).getByRole("button", { name: "Remove cara@example.com" }));
    fireEvent.click(within(section).getByRole("button", { name: "Remove from the team" }));
    await waitFor(() => expect(within(table).queryByText("cara@example.com")).toBeNull());
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/api/account/members/u3"]);
    expect(within(section).getByText("cara@example.com was removed from the team.")).toBeTruthy();
    expect(await within(section).findByText("3 of 5 seats used")).toBeTruthy();
    await waitFor(() => expect(document.activeElement).toBe(within(section).getByRole("heading", { name: "Members" })));
  });

  it("shows a refusal of a change (409) in an alert", async () => {
    at("/account", me("admin"), {
      "GET /api/account/members": json(TEAM),
      "DELETE /api/account/members/u3": problem(409, "the owner cannot be removed: hand ownership to an admin first"),
    });
    const section = await members();
    fireEvent.click(await within(section).findByRole("button", { name: "Remove cara@example.com" }));
    fireEvent.click(within(section).getByRole("button", { name: "Remove from the team" }));
    expect((await within(section).findByRole("alert")).textContent).toMatch(/The owner cannot be removed/);
  });

  it("offers Make owner only to the owner and only on admins; confirming hands ownership over and the owner becomes an admin", async () => {
    let role: "owner" | "admin" = "owner";
    let team = TEAM;
    const { calls } = at("/account", () => ({ ...me("owner"), user: { id: "u1", email: "ann@example.com", role } }), {
      "GET /api/account/members": () => json(team),
      "PATCH /api/account/members/u2": () => {
        role = "admin";
        team = { ...TEAM, members: [{ ...BOB, role: "owner" }, { ...ANN, role: "admin" }, CARA] };
        return json({ ...BOB, role: "owner" });
      },
    });
    const section = await members();
    const table = await within(section).findByRole("region", { name: "Team members" });
    expect(within(table).queryByRole("button", { name: "Make cara@example.com the owner" })).toBeNull();
    expect(screen.getByRole("region", { name: "Delete account" })).toBeTruthy();

    fireEvent.click(within(table).getByRole("button", { name: "Make bob@example.com the owner" }));
    const question = within(section).getByRole("group", { name: /Make bob@example.com the owner\?/ });
    expect(question.textContent).toMatch(/You become an admin/);
    fireEvent.click(within(question).getByRole("button", { name: "Make them the owner" }));

    expect(await within(section).findByText("bob@example.com is now the owner, and you are an admin.")).toBeTruthy();
    expect(calls.filter((c) => c.method === "PATCH").map((c) => [c.path, c.body])).toEqual([["/api/account/members/u2", { role: "owner" }]]);
    // The session is read again: an admin now, without Delete account or Billing.
    await waitFor(() => expect(screen.queryByRole("region", { name: "Delete account" })).toBeNull());
    expect(within(screen.getByRole("navigation", { name: "Main" })).queryByRole("link", { name: "Billing" })).toBeNull();
    await waitFor(() => expect(within(row(table, "bob@example.com")).getByText("Owner")).toBeTruthy());
    expect(within(table).queryByRole("button", { name: /the owner$/ })).toBeNull();
  });

  it("an admin sees no Make owner", async () => {
    at("/account", me("admin"), { "GET /api/account/members": json(TEAM) });
    const table = await within(await members()).findByRole("region", { name: "Team members" });
    expect(within(table).getByRole("button", { name: "Remove cara@example.com" })).toBeTruthy();
    expect(within(table).queryByRole("button", { name: /Make .* the owner/ })).toBeNull();
    // Their own row is theirs to keep: no select, no Remove.
    const bob = row(table, "bob@example.com");
    expect(within(bob).queryByRole("combobox")).toBeNull();
    expect(within(bob).queryByRole("button")).toBeNull();
  });

  it("resends an expired invitation and revokes another", async () => {
    const renewed: InviteView = { ...EVE, expired: false, expires_at: "2026-12-06T09:00:00Z" };
    let team = TEAM;
    const { calls } = at("/account", me("owner"), {
      "GET /api/account/members": () => json(team),
      "POST /api/account/invites/inv_2/resend": () => {
        team = { ...TEAM, invites: [DAN, renewed] };
        return json(renewed);
      },
      "DELETE /api/account/invites/inv_1": () => {
        team = { ...TEAM, invites: [renewed], seats: { used: 3, limit: 5 } };
        return json(null, 204);
      },
    });
    const section = await members();
    const invites = await within(section).findByRole("region", { name: "Pending invitations" });
    fireEvent.click(within(invites).getByRole("button", { name: "Resend the invitation to eve@example.com" }));
    await waitFor(() => expect(within(row(invites, "eve@example.com")).queryByText("Expired")).toBeNull());
    expect(within(row(invites, "eve@example.com")).getByText(/6 Dec 2026/)).toBeTruthy();
    expect(within(section).getByText(/The invitation to eve@example\.com was sent again/)).toBeTruthy();
    // The keyboard's place is kept (the button was disabled while it ran).
    await waitFor(() => expect(document.activeElement).toBe(within(invites).getByRole("button", { name: "Resend the invitation to eve@example.com" })));

    fireEvent.click(within(invites).getByRole("button", { name: "Revoke the invitation to dan@example.com" }));
    await waitFor(() => expect(within(invites).queryByText("dan@example.com")).toBeNull());
    expect(within(section).getByText(/The invitation to dan@example\.com was revoked/)).toBeTruthy();
    expect(calls.filter((c) => c.method !== "GET").map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /api/account/invites/inv_2/resend",
      "DELETE /api/account/invites/inv_1",
    ]);
    await waitFor(() => expect(document.activeElement).toBe(within(section).getByRole("heading", { name: "Pending invitations" })));
  });

  it("a resend refused for want of a seat (402) says so", async () => {
    at("/account", me("admin"), {
      "GET /api/account/members": json({ ...TEAM, seats: { used: 5, limit: 5 } }),
      "POST /api/account/invites/inv_2/resend": problem(402, "this team uses all 5 seats", { seats_used: 5, seats_limit: 5 }),
    });
    const section = await members();
    fireEvent.click(await within(section).findByRole("button", { name: "Resend the invitation to eve@example.com" }));
    const alerts = await within(section).findAllByRole("alert");
    expect(alerts.map((a) => a.textContent).join(" ")).toMatch(/Every seat of your plan is taken \(5 of 5 seats used\).*Ask the team’s owner/);
  });
});

describe("role-aware pages", () => {
  it("a member sees no Members, API keys, webhooks, export, backups, activity or Delete account, and no Billing link", async () => {
    const { calls } = at("/account", me("member"));
    expect(await screen.findByText("Member", { selector: "dd" })).toBeTruthy();
    await screen.findByRole("region", { name: "Brand" });
    for (const name of ["Members", "Data and privacy", "API and security", "Recent activity", "Delete account"]) {
      expect(screen.queryByRole("region", { name })).toBeNull();
    }
    expect(screen.queryByRole("heading", { name: "API keys" })).toBeNull();
    expect(screen.queryByRole("heading", { name: "Webhooks" })).toBeNull();
    expect(screen.getByRole("region", { name: "Session" })).toBeTruthy();
    // The brand is shown, not offered for change.
    const brand = screen.getByRole("region", { name: "Brand" });
    expect(await within(brand).findByRole("img", { name: "The team's logo" })).toBeTruthy();
    expect(within(brand).getByText("Top left corner, 80% opacity.")).toBeTruthy();
    expect(within(brand).queryByRole("combobox")).toBeNull();
    // The header: no Billing; the banner asks the owner instead of linking to billing.
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).getByRole("link", { name: "Account" })).toBeTruthy();
    expect(within(nav).queryByRole("link", { name: "Billing" })).toBeNull();
    expect(await screen.findByText(/ask the team’s owner to upgrade/)).toBeTruthy();
    expect(screen.queryByRole("link", { name: "Upgrade for more" })).toBeNull();
    // Nothing was asked that a member would be refused.
    const asked = calls.map((c) => c.path);
    for (const path of ["/api/account/members", "/api/account/api-keys", "/api/v1/webhooks", "/api/account/audit", "/api/account/backup-status"]) {
      expect(asked).not.toContain(path);
    }
  });

  it("an admin sees Members, API keys and activity, but not Delete account nor Billing", async () => {
    at("/account", me("admin"), { "GET /api/account/members": json(TEAM) });
    expect(await members()).toBeTruthy();
    expect(screen.getByRole("region", { name: "API and security" })).toBeTruthy();
    expect(await screen.findByRole("region", { name: "Recent activity" })).toBeTruthy();
    expect(screen.queryByRole("region", { name: "Delete account" })).toBeNull();
    expect(within(screen.getByRole("navigation", { name: "Main" })).queryByRole("link", { name: "Billing" })).toBeNull();
  });

  it("/billing tells a non-owner that the owner manages billing, without asking billing's routes", async () => {
    const { calls } = at("/billing", me("admin"));
    expect(await screen.findByRole("heading", { name: "Only the team’s owner manages billing" })).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
    expect(calls.some((c) => c.path.startsWith("/api/billing/"))).toBe(false);
  });

  it("the owner keeps the Billing link and the upgrade link", async () => {
    at("/projects", me("owner"), {
      "GET /api/usage": json({ period: "2026-12", plan: "free", metrics: {}, near_limit: [] }),
      "GET /api/v1/projects": json({ items: [], next_cursor: null }),
      "GET /api/v1/templates": json([]),
      "GET /api/v1/voices": json([]),
      "GET /api/v1/caption-styles": json([]),
    });
    expect(await screen.findByRole("link", { name: "Upgrade for more" })).toBeTruthy();
    expect(within(screen.getByRole("navigation", { name: "Main" })).getByRole("link", { name: "Billing" })).toBeTruthy();
  });

  it("Templates: a member can look but not make, edit or delete templates", async () => {
    const explainer = { id: "explainer", name: "Explainer", description: "Wide", aspect: "16:9", width: 1920, height: 1080, fps: 25, premium: false, caption_style: "line", ...BUILTIN };
    const acme = { ...explainer, id: "tpl_1", name: "Acme", builtin: false, base_id: "explainer", created_at: "2026-12-01T10:00:00Z", updated_at: "2026-12-01T10:00:00Z" };
    at("/templates", me("member"), {
      "GET /api/v1/templates": json([explainer, acme]),
      "GET /api/v1/media": json({ items: [], next_cursor: null }),
      "GET /api/v1/music": json([]),
    });
    const own = await screen.findByRole("region", { name: "Your templates" });
    expect(within(own).getByRole("heading", { name: "Acme" })).toBeTruthy();
    expect(await screen.findByText(/Admins and the team’s owner make and change brand templates/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: /Use as base/ })).toBeNull();
    expect(screen.queryByRole("button", { name: /Edit/ })).toBeNull();
    expect(screen.queryByRole("button", { name: /Delete/ })).toBeNull();
  });
});

describe("the team switcher", () => {
  const TWO: Me["tenants"] = [
    { id: "t1", name: "Ann's studio", role: "owner" },
    { id: "t2", name: "Acme Marketing", role: "member" },
  ];
  const routes = {
    "GET /api/v1/projects": json({ items: [], next_cursor: null }),
    "GET /api/v1/templates": json([]),
    "GET /api/v1/voices": json([]),
    "GET /api/v1/caption-styles": json([]),
  };

  it("lists the teams with the role, the current one marked, and opens another with switch-tenant", async () => {
    window.sessionStorage.setItem("rf_export_id", "exp_of_t1");
    const { calls } = at("/projects", me("owner", TWO), {
      ...routes,
      "POST /api/auth/switch-tenant": json({ access_token: "a", token_type: "bearer", expires_in: 900, refresh_token: "r", user: { id: "u1", email: "ann@example.com", role: "member" }, tenant: { id: "t2", name: "Acme Marketing", plan: "pro" } }),
    });
    const button = await screen.findByRole("button", { name: "Team: Ann's studio" });
    expect(button.getAttribute("aria-haspopup")).toBe("menu");
    fireEvent.click(button);
    const menu = screen.getByRole("menu");
    const items = within(menu).getAllByRole("menuitem");
    expect(items.map((i) => i.textContent)).toEqual(["✓Ann's studio · Owner (in use)", "Acme Marketing · Member"]);
    fireEvent.click(within(menu).getByRole("menuitem", { name: "Acme Marketing · Member" }));
    await waitFor(() => expect(redirectTo).toHaveBeenCalledWith("/projects"));
    expect(calls.filter((c) => c.path === "/api/auth/switch-tenant").map((c) => [c.method, c.body])).toEqual([["POST", { tenant_id: "t2" }]]);
    // What this tab kept of the old team is dropped.
    expect(window.sessionStorage.getItem("rf_export_id")).toBeNull();
  });

  it("choosing the current team does nothing; a refused switch is explained", async () => {
    vi.mocked(redirectTo).mockClear();
    const { calls } = at("/projects", me("owner", TWO), { ...routes, "POST /api/auth/switch-tenant": problem(404, "not found") });
    fireEvent.click(await screen.findByRole("button", { name: "Team: Ann's studio" }));
    fireEvent.click(screen.getByRole("menuitem", { name: /Ann's studio/ }));
    expect(calls.some((c) => c.path === "/api/auth/switch-tenant")).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Team: Ann's studio" }));
    fireEvent.click(screen.getByRole("menuitem", { name: /Acme Marketing/ }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/no longer a member of that team/);
    expect(redirectTo).not.toHaveBeenCalled();
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Team: Ann's studio" }).disabled).toBe(false);
  });

  it("with one team shows its name beside the e-mail, and no switcher", async () => {
    at("/projects", me("owner"), routes);
    const header = screen.getByRole("banner");
    expect(await within(header).findByText("ann@example.com")).toBeTruthy();
    expect(within(header).getByText("Ann's studio")).toBeTruthy();
    expect(within(header).queryByRole("button", { name: /Team:/ })).toBeNull();
  });
});

describe("who made a project", () => {
  const PROJECT: Project = {
    id: "p1", title: "Launch video", status: "completed", template_id: "explainer", language: "en", caption_style: "line", width: 1280, height: 720,
    progress: { done: 3, total: 3, percent: 100 }, scenes: [{ index: 0, text: "One.", status: "done", error: null }], warnings: [], error: null,
    video_url: null, thumbnail_url: null, captions_url: null, duration_seconds: null, created_at: "2026-11-26T10:00:00Z",
    updated_at: "2026-11-26T10:00:00Z", stale: false, credits: [], music: null,
    created_by: { kind: "member", user_id: "u4", email: "alice@example.com", api_key_id: null, api_key_name: null },
  };

  it("shows the member or the API key under the project's facts", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    at("/projects/p1", me("member"), { "GET /api/v1/projects/p1": json(PROJECT) });
    expect(await screen.findByText("Made by alice@example.com")).toBeTruthy();
  });

  it("says who in words for every case, and nothing when unknown", async () => {
    expect(madeBy({ kind: "api_key", user_id: null, email: null, api_key_id: "k1", api_key_name: "CI" })).toBe("Made by API key “CI”");
    expect(madeBy({ kind: "api_key", user_id: null, email: null, api_key_id: "k1", api_key_name: null })).toBe("Made by an API key since deleted");
    expect(madeBy({ kind: "member", user_id: "u9", email: null, api_key_id: null, api_key_name: null })).toBe("Made by a former member of the team");
    vi.stubGlobal("EventSource", FakeEventSource);
    at("/projects/p1", me("member"), { "GET /api/v1/projects/p1": json({ ...PROJECT, created_by: null }) });
    await screen.findByRole("heading", { name: "Launch video", level: 1 });
    expect(screen.queryByText(/^Made by/)).toBeNull();
  });
});

describe("an invitation's link", () => {
  it("to a team with no free seat (402) says the link still works once a seat is free", async () => {
    fakeFetch({
      "POST /api/auth/magic-link/verify": problem(402, "this team uses all 5 seats of the pro plan", { seats_used: 5, seats_limit: 5 }),
    });
    window.history.replaceState(null, "", "/auth/verify?token=inv_tok");
    render(<App />);
    expect(await screen.findByRole("heading", { name: "The team has no free seat" })).toBeTruthy();
    expect(screen.getByRole("alert").textContent).toMatch(/Your invitation still works: open its link again once a seat is free/);
    expect(window.location.search).toBe("");
  });
});

describe("the activity log", () => {
  it("labels the team's events, with whom they were about", () => {
    expect(actionText({ action: "member.invited", detail: { email: "dan@example.com", role: "member" } })).toBe("Member invited: dan@example.com");
    expect(actionText({ action: "member.role_changed", detail: { email: "cara@example.com", from: "member", to: "admin" } })).toBe(
      "Role changed: cara@example.com, member to admin",
    );
    expect(actionText({ action: "member.ownership_transferred", detail: { from: "ann@example.com", to: "bob@example.com" } })).toBe(
      "Ownership handed over to bob@example.com",
    );
    expect(actionText({ action: "auth.switch_tenant", detail: {} })).toBe("Switched to this team");
    expect(actionText({ action: "member.invite_revoked", detail: {} })).toBe("Invitation revoked");
  });

  it("names who did what: you, a teammate by e-mail, an API key", async () => {
    at("/account", me("owner"), {
      "GET /api/account/members": json(TEAM),
      "GET /api/account/audit": json({
        items: [
          { id: "a3", action: "member.removed", actor: "user", user_id: "u2", ip: null, detail: { email: "gil@example.com" }, created_at: "2026-12-01T10:02:00Z" },
          { id: "a2", action: "member.invited", actor: "user", user_id: "u1", ip: null, detail: { email: "dan@example.com" }, created_at: "2026-12-01T10:01:00Z" },
          { id: "a1", action: "account.export_started", actor: "api_key", user_id: null, ip: null, detail: {}, created_at: "2026-12-01T10:00:00Z" },
        ],
        next_cursor: null,
      }),
    });
    const log = await screen.findByRole("region", { name: "Activity log" });
    await waitFor(() => expect(within(row(log, "1 Dec 2026, 10:02")).getByText("bob@example.com")).toBeTruthy());
    expect(within(row(log, "1 Dec 2026, 10:02")).getByText("Member removed: gil@example.com")).toBeTruthy();
    expect(within(row(log, "1 Dec 2026, 10:01")).getByText("You")).toBeTruthy();
    expect(within(row(log, "1 Dec 2026, 10:00")).getByText("API key")).toBeTruthy();
  });
});

describe("accessibility (axe-core in jsdom: structure, names, ARIA; contrast is checked in the browser by the e2e run)", () => {
  async function violations() {
    // jsdom has no canvas (axe asks one whether a glyph is an icon font's): say so quietly.
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockImplementation(() => null);
    const results = await axe.run(document.body, { rules: { "color-contrast": { enabled: false } } });
    return results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }

  it("the owner's Account page with the Members section and an open confirmation", async () => {
    at("/account", me("owner", [{ id: "t1", name: "Ann's studio", role: "owner" }, { id: "t2", name: "Acme", role: "admin" }]), {
      "GET /api/account/members": json(TEAM),
    });
    const section = await members();
    fireEvent.click(await within(section).findByRole("button", { name: "Remove cara@example.com" }));
    await screen.findByRole("region", { name: "Recent activity" });
    let found: string[] = [];
    await act(async () => {
      found = await violations();
    });
    expect(found).toEqual([]);
  });

  it("a member's Account page and the open team menu", async () => {
    at("/account", me("member", [{ id: "t1", name: "Ann's studio", role: "member" }, { id: "t2", name: "Acme", role: "owner" }]));
    fireEvent.click(await screen.findByRole("button", { name: "Team: Ann's studio" }));
    await screen.findByRole("menu");
    let found: string[] = [];
    await act(async () => {
      found = await violations();
    });
    expect(found).toEqual([]);
  });
});
