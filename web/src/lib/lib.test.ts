import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { METRICS, clock, duration, megabytes } from "./format";
import { explain } from "./problems";
import { MAX_SCENES, estimate, splitScenes, wordCount } from "./script";
import { match } from "../router";

describe("script estimate (mirrors the server's scene rules)", () => {
  it("makes one scene per paragraph; blank lines and CRLF do not make scenes", () => {
    const script = "\n\nFirst paragraph,\nstill first.\n\n\n   \nSecond one.\r\n\r\nThird.\n\n";
    expect(splitScenes(script)).toEqual(["First paragraph, still first.", "Second one.", "Third."]);
  });

  it("splits a long paragraph at sentence ends into scenes of at most 320 characters", () => {
    const script = "This sentence is about fifty characters long, ok. ".repeat(40);
    const scenes = splitScenes(script);
    expect(scenes.length).toBeGreaterThan(1);
    for (const scene of scenes) {
      expect(scene.length).toBeLessThanOrEqual(320);
      expect(scene.endsWith("ok.")).toBe(true);
    }
    expect(scenes.reduce((n, s) => n + wordCount(s), 0)).toBe(wordCount(script));
  });

  it("caps at 60 scenes and merges punctuation-only paragraphs", () => {
    const script = Array.from({ length: 80 }, (_, i) => `Scene ${i}.`).join("\n\n");
    expect(splitScenes(script)).toHaveLength(MAX_SCENES);
    expect(splitScenes("Hello.\n\n...\n\nWorld.")).toEqual(["Hello. ...", "World."]);
  });

  it("refuses empty, symbol-only and over-long scripts", () => {
    expect(splitScenes("   ")).toEqual([]);
    expect(estimate("!!! ???").problem).toMatch(/no words/);
    expect(estimate("a".repeat(20_001)).problem).toMatch(/20,000/);
  });

  it("counts CJK characters as words", () => {
    expect(wordCount("你好世界")).toBe(4);
    expect(wordCount("hello 你好")).toBe(3);
  });

  it("estimates images, speech (150 words a minute) and render time", () => {
    const e = estimate("one two three four five\n\nsix seven");
    expect(e.scenes).toBe(2);
    expect(e.images).toBe(2);
    expect(e.words).toBe(7);
    expect(e.speechSeconds).toBeCloseTo(2.8, 5); // 5/2.5 + 2/2.5
    expect(e.renderMinutes * 60).toBeCloseTo(2.6 + 2.0, 5); // max(2+0.6, 2) + max(0.8+0.6, 2)
  });
});

describe("formatting", () => {
  it("shows usage in human units", () => {
    expect(METRICS.tts_seconds.format(60000)).toBe("1,000 min");
    expect(METRICS.tts_seconds.format(6)).toBe("0.1 min");
    expect(METRICS.storage_mb.format(100000)).toBe("100 GB");
    expect(megabytes(1.345)).toBe("1.35 MB");
    expect(METRICS.images_generated.format(1234)).toBe("1,234");
    expect(duration(45)).toBe("45 s");
    expect(duration(150)).toBe("2.5 min");
    expect(clock(65.4)).toBe("1:05");
  });
});

describe("errors as plain sentences", () => {
  const err = (status: number, problem: Record<string, unknown> = {}, retry: number | null = null) =>
    new ApiError(status, { title: "x", status, detail: "", ...problem }, retry);

  it("402 quota says what is needed, what is left and what to do", () => {
    const e = explain(err(402, { metric: "images_generated", used: 498, reserved: 0, quota: 500, needed: 3 }), "create");
    expect(e.message).toBe(
      "This video needs 3 images, but your plan has only 2 images left this month (of 500). Upgrade your plan, shorten the script, or wait until next month.",
    );
    expect(e.action?.href).toBe("/billing");
  });

  it("402 premium template points to the plans", () => {
    const e = explain(err(402, { required_plan: "pro", detail: "The Cinematic template needs a paid plan; upgrade to Pro or Enterprise" }));
    expect(e.message).toMatch(/^The Cinematic template needs a paid plan/);
    expect(e.message).toMatch(/choose a template without the Premium badge/);
  });

  it("429 queue full gives the ETA; sign-in limit gives the wait", () => {
    expect(explain(err(429, { eta_seconds: 90 }, 90), "create").message).toBe(
      "The render queue is full right now. Try again in about 2 minutes; nothing was charged.",
    );
    expect(explain(err(429, {}, 30), "login").message).toBe("Too many sign-in links were asked for. Wait 30 seconds and try again.");
  });

  it("507 and 503 are explained", () => {
    expect(explain(err(507)).message).toMatch(/storage is full.*Delete old projects/);
    expect(explain(err(503), "billing").message).toMatch(/Billing is not configured/);
  });
});

describe("router", () => {
  it("matches patterns with params", () => {
    expect(match("/projects/:id", "/projects/abc")).toEqual({ id: "abc" });
    expect(match("/projects/:id", "/projects")).toBeNull();
    expect(match("/projects", "/projects/")).toEqual({});
    expect(match("/billing", "/account")).toBeNull();
  });
});
