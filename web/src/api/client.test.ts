import { describe, expect, it, vi } from "vitest";
import { ApiError, NetworkError, createClient } from "./client";
import { fakeFetch, json, problem } from "../test/http";

describe("api client", () => {
  it("sends same-origin credentials, JSON bodies, and parses JSON", async () => {
    const { calls } = fakeFetch({
      "POST /api/v1/projects": { status: 202, body: { project_id: "p1", status: "queued", eta_seconds: 4 } },
    });
    const api = createClient();
    const created = await api.projects.create({ title: "T", script: "S", template_id: "explainer" });
    expect(created).toEqual({ project_id: "p1", status: "queued", eta_seconds: 4 });
    const [call] = calls;
    expect(call?.init.credentials).toBe("same-origin");
    expect(call?.init.referrerPolicy).toBe("same-origin");
    expect(call?.headers["Content-Type"]).toBe("application/json");
    expect(call?.headers.Accept).toBe("application/json");
    expect(call?.body).toEqual({ title: "T", script: "S", template_id: "explainer" });
  });

  it("on 401 refreshes once and repeats the request", async () => {
    let authorised = false;
    const { calls } = fakeFetch({
      "GET /api/usage": () => (authorised ? json({ plan: "free", metrics: {}, near_limit: [], period: "2026-11" }) : problem(401, "expired")),
      "POST /api/auth/refresh": () => {
        authorised = true;
        return json({ access_token: "new" });
      },
    });
    const onSignedOut = vi.fn();
    const api = createClient({ onSignedOut });
    const usage = await api.usage.current();
    expect(usage.plan).toBe("free");
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(["GET /api/usage", "POST /api/auth/refresh", "GET /api/usage"]);
    expect(calls[1]?.init.credentials).toBe("same-origin");
    expect(onSignedOut).not.toHaveBeenCalled();
  });

  it("shares one refresh between concurrent 401s (a refresh token is single use)", async () => {
    let authorised = false;
    let refreshes = 0;
    fakeFetch({
      "GET *": () => (authorised ? json({ ok: true }) : problem(401, "expired")),
      "POST /api/auth/refresh": async () => {
        refreshes += 1;
        await new Promise((r) => setTimeout(r, 10));
        authorised = true;
        return json({});
      },
    });
    const api = createClient();
    const results = await Promise.all([api.get("/api/a"), api.get("/api/b"), api.get("/api/c")]);
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(refreshes).toBe(1);
  });

  it("when the refresh is refused, signs out once and throws 401", async () => {
    const { calls } = fakeFetch({
      "GET *": problem(401, "sign in"),
      "POST /api/auth/refresh": problem(401, "reused"),
    });
    const onSignedOut = vi.fn();
    const api = createClient({ onSignedOut });
    const error = await api.auth.me().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(onSignedOut).toHaveBeenCalledTimes(1);
    expect(calls.filter((c) => c.path === "/api/auth/me")).toHaveLength(1);
  });

  it("never refreshes for the sign-in calls themselves", async () => {
    const { calls } = fakeFetch({ "POST /api/auth/magic-link/verify": problem(400, "invalid or expired link") });
    const api = createClient();
    await expect(api.auth.verify("t")).rejects.toMatchObject({ status: 400 });
    expect(calls).toHaveLength(1);
  });

  it("reads problem+json, Retry-After and field errors", async () => {
    fakeFetch({
      "POST /api/auth/magic-link/request": problem(429, "too many", { retry_after_seconds: 99 }, { "Retry-After": "120" }),
      "POST /api/v1/projects": problem(422, "invalid field(s): title", { errors: [{ field: "title", message: "must be 1 to 200 characters" }] }),
    });
    const api = createClient();
    const limited = (await api.auth.requestLink("a@b.co").catch((e: unknown) => e)) as ApiError;
    expect(limited.status).toBe(429);
    expect(limited.retryAfterSeconds).toBe(120);
    expect(limited.message).toBe("too many");
    const invalid = (await api.projects.create({ title: "", script: "x", template_id: "t" }).catch((e: unknown) => e)) as ApiError;
    expect(invalid.fieldError("title")).toBe("must be 1 to 200 characters");
  });

  it("turns a network failure into a NetworkError and 204 into undefined", async () => {
    fakeFetch({
      "POST /api/auth/logout": () => new Response(null, { status: 204 }),
      "GET *": () => {
        throw new TypeError("Failed to fetch");
      },
    });
    const api = createClient();
    await expect(api.auth.logout()).resolves.toBeUndefined();
    const error = await api.usage.current().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as ApiError).status).toBe(0);
  });

  it("builds the URLs of the API", () => {
    const api = createClient();
    expect(api.projects.eventsUrl("a/b")).toBe("/api/v1/projects/a%2Fb/events");
    expect(api.projects.fileUrl("p", "captions.srt")).toBe("/api/v1/projects/p/captions.srt");
  });
});
