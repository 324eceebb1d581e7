// End-to-end test of the web app through the real server, in Debian's
// headless Chromium driven by playwright-core (no browser is downloaded).
//
// It starts a Stripe stand-in, a Pexels stand-in (pexels-standin.mjs: every
// `auto` scene becomes a stock photo) and `reelforge serve` (serving web/dist)
// on loopback with a fresh DATA_DIR, then, as a person would: signs in through
// the .eml outbox, creates a project, watches its live progress, plays the
// video, sees usage move, uploads a picture to the media library, makes a
// storyboard first, puts the upload on a scene from the library, edits a
// scene, renders and re-renders one edit, picks a stock photo for a scene in
// the stock search and sees it in the video and credited (page and
// credits.txt), makes a brand template on a built-in one (its live preview
// redrawn after a colour change) and finds it in the project form, pays for
// Pro through Checkout, makes a batch of videos from a CSV file, makes, uses
// and revokes a named API key, adds a webhook endpoint (pointed at a receiver
// started here) and sends it a test event, exports the data and signs out. On every page it runs axe-core (no serious
// or critical violation allowed), checks for console errors and sideways
// scrolling at 360 px, and saves desktop and phone screenshots to
// test-output/screenshots/. It prints the gzipped size of the initial
// JavaScript and the first render time of /login.
//
// Environment: REELFORGE_BIN (default: cargo's target dir + /debug/reelforge),
// CHROMIUM (default /usr/bin/chromium), E2E_KEEP=1 keeps the data directory,
// E2E_VERBOSE=1 logs every request the Pexels stand-in answers.

import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { deflateSync, gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { signInLink, headerOf } from "./eml.mjs";
import { startPexels } from "./pexels-standin.mjs";
import { startStripe } from "./stripe-standin.mjs";

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(WEB, "..");
const DIST = join(WEB, "dist");
const OUT = join(ROOT, "test-output");
const SHOTS = join(OUT, "screenshots");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const EMAIL = "e2e.person@example.com";
const STRIPE_KEY = "sk_test_x";
const WEBHOOK_SECRET = "whsec_e2e_reelforge_test_secret";
const PEXELS_KEY = "pexels-e2e-key";
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 360, height: 740 };
const SCRIPT = "Reelforge turns a script into a video.\n\nEvery paragraph becomes a scene with narration.";

const started = Date.now();
const results = [];
let passed = 0;
let failed = 0;
const figures = {};

function log(message) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  console.log(`[${seconds}s] ${message}`);
}

async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
    passed += 1;
    results.push({ name, ok: true, ms: Date.now() - t });
    log(`ok   ${name} (${Date.now() - t} ms)`);
  } catch (err) {
    failed += 1;
    results.push({ name, ok: false, ms: Date.now() - t, error: String(err?.stack ?? err) });
    log(`FAIL ${name}: ${err?.stack ?? err}`);
    throw err;
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A solid-colour RGB PNG (8 bits per channel), encoded here: no image tool needed. */
function solidPng(width, height, [r, g, b]) {
  const chunk = (type, body) => {
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    out.write(type, 4, "ascii");
    body.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set([r, g, b], 1 + x * 3);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(pixels)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * A webhook receiver on loopback: keeps every POST (headers and raw body) and
 * answers 200, as a customer's endpoint would.
 */
function startReceiver() {
  const received = [];
  const server = createHttpServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  return new Promise((resolveReceiver, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () =>
      resolveReceiver({
        url: `http://127.0.0.1:${server.address().port}/hooks/reelforge`,
        received,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    );
  });
}

/** Whether a delivery carries a Standard Webhooks signature made with `secret` (`whsec_` + base64). */
function signedWith(delivery, secret) {
  const id = delivery.headers["webhook-id"];
  const timestamp = delivery.headers["webhook-timestamp"];
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${delivery.body}`).digest("base64");
  return (delivery.headers["webhook-signature"] ?? "").split(" ").includes(`v1,${expected}`);
}

function findBinary() {
  if (process.env.REELFORGE_BIN) return process.env.REELFORGE_BIN;
  const meta = JSON.parse(
    execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 }),
  );
  return join(meta.target_directory, "debug", "reelforge");
}

async function waitFor(what, fn, { timeout = 30_000, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** The gzipped size of the JavaScript that /login loads before any route chunk. */
function initialJs() {
  const html = readFileSync(join(DIST, "index.html"), "utf8");
  const files = new Set();
  for (const m of html.matchAll(/<script[^>]+src="([^"]+\.js)"/g)) files.add(m[1]);
  for (const m of html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+\.js)"/g)) files.add(m[1]);
  let raw = 0;
  let gz = 0;
  for (const file of files) {
    const bytes = readFileSync(join(DIST, file.replace(/^\//, "")));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  let all = 0;
  for (const f of readdirSync(join(DIST, "assets")).filter((f) => f.endsWith(".js"))) {
    all += gzipSync(readFileSync(join(DIST, "assets", f)), { level: 9 }).length;
  }
  return { files: [...files], raw, gz, all };
}

async function main() {
  check(existsSync(join(DIST, "index.html")), `${DIST}/index.html is missing: run npm run build first`);
  check(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  const bin = findBinary();
  check(existsSync(bin), `${bin} is missing: cargo build --bin reelforge`);
  mkdirSync(SHOTS, { recursive: true });
  const data = mkdtempSync(join(tmpdir(), "reelforge-e2e-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const stripe = await startStripe({ apiKey: STRIPE_KEY, webhookSecret: WEBHOOK_SECRET, log: (m) => log(`stripe: ${m}`) });
  stripe.setWebhookUrl(`${base}/api/billing/webhook`);
  // With a stock key set, every `auto` scene becomes a stock photo: the stand-in answers any query.
  const pexels = await startPexels({ key: PEXELS_KEY, log: (m) => log(`pexels: ${m}`), verbose: !!process.env.E2E_VERBOSE });
  const receiver = await startReceiver();

  const js = initialJs();
  figures.initialJsGzipKb = (js.gz / 1024).toFixed(1);
  figures.allJsGzipKb = (js.all / 1024).toFixed(1);
  log(`initial JS: ${js.files.join(", ")}: ${(js.raw / 1024).toFixed(1)} KB raw, ${figures.initialJsGzipKb} KB gzipped (all chunks ${figures.allJsGzipKb} KB gzipped)`);

  const serverLog = [];
  const server = spawn(bin, ["serve"], {
    cwd: data,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? data,
      DATA_DIR: data,
      BIND: `127.0.0.1:${port}`,
      PUBLIC_URL: base,
      SECURE_COOKIES: "false",
      WEB_DIST_DIR: DIST,
      RUST_LOG: process.env.RUST_LOG ?? "info",
      STRIPE_API_KEY: STRIPE_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_PRICE_PRO: "price_pro",
      STRIPE_PRICE_ENTERPRISE: "price_ent",
      STRIPE_API_BASE: stripe.base,
      PEXELS_API_KEY: PEXELS_KEY,
      STOCK_API_BASE_PEXELS: pexels.base,
      // The webhook receiver is on loopback, which the server refuses without this.
      WEBHOOK_ALLOW_PRIVATE: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk) => {
    serverLog.push(chunk.toString());
    if (serverLog.length > 2000) serverLog.splice(0, serverLog.length - 2000);
  };
  server.stdout.on("data", keep);
  server.stderr.on("data", keep);
  let serverExited = null;
  server.on("exit", (code, signal) => (serverExited = { code, signal }));

  let browser;
  try {
    await step("the server starts and is ready", async () => {
      await waitFor("GET /readyz 200", async () => {
        check(!serverExited, `the server exited: ${JSON.stringify(serverExited)}`);
        return (await fetch(`${base}/readyz`)).status === 200;
      }, { timeout: 60_000 });
    });

    await step("/api/openapi.json is the description the client's types are generated from", async () => {
      // scripts/check-openapi.sh generates src/api/schema.d.ts from `reelforge openapi`.
      const served = await (await fetch(`${base}/api/openapi.json`)).json();
      const printed = JSON.parse(execFileSync(bin, ["openapi"], { encoding: "utf8", maxBuffer: 64 << 20 }));
      check(isDeepStrictEqual(served, printed), "the served description differs from `reelforge openapi`");
    });

    await step("the server serves the app: shell, hashed assets, no HTML for /api", async () => {
      const shell = await fetch(`${base}/projects/some-client-route`);
      check(shell.status === 200 && (await shell.text()).includes('<div id="root">'), "client routes get index.html");
      const asset = js.files[0];
      const cached = await fetch(`${base}${asset}`);
      check(cached.status === 200, `${asset}: ${cached.status}`);
      check(/max-age=31536000/.test(cached.headers.get("cache-control") ?? ""), `long cache on ${asset}: ${cached.headers.get("cache-control")}`);
      const api = await fetch(`${base}/api/nope`);
      check(api.status === 404 && (api.headers.get("content-type") ?? "").includes("problem+json"), "/api/* 404 is problem+json");
      // Pages carry a CSP (whose violations the browser steps below would report), and nothing is sniffed.
      const csp = shell.headers.get("content-security-policy") ?? "";
      check(/frame-ancestors 'none'/.test(csp) && /script-src 'self'(;|$)/.test(csp), `the shell's CSP: ${csp}`);
      for (const response of [shell, cached, api]) {
        check(response.headers.get("x-content-type-options") === "nosniff", `nosniff on ${response.url}`);
      }
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
      ],
    });

    await step("first render of /login", async () => {
      const times = [];
      for (let i = 0; i < 5; i++) {
        const context = await browser.newContext({ viewport: DESKTOP });
        const page = await context.newPage();
        await page.addInitScript(() => {
          const seen = () => {
            const input = document.getElementById("login-email");
            if (input && input.getBoundingClientRect().height > 0) {
              requestAnimationFrame(() => (window.__loginVisibleAt = performance.now()));
              return true;
            }
            return false;
          };
          new MutationObserver((_, observer) => seen() && observer.disconnect()).observe(document, { childList: true, subtree: true });
        });
        await page.goto(`${base}/login`);
        await page.waitForFunction(() => typeof window.__loginVisibleAt === "number", null, { timeout: 10_000 });
        times.push(await page.evaluate(() => window.__loginVisibleAt));
        await context.close();
      }
      const sorted = [...times].sort((a, b) => a - b);
      figures.loginFirstRenderColdMs = Math.round(times[0]);
      figures.loginFirstRenderMedianMs = Math.round(sorted[2]);
      log(`/login first render (navigation start -> form visible): first ${figures.loginFirstRenderColdMs} ms, median of 5 fresh browser contexts ${figures.loginFirstRenderMedianMs} ms (${times.map(Math.round).join(", ")})`);
      check(sorted[2] < 1000, `median first render ${sorted[2]} ms >= 1000 ms`);
    });

    const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    // A CSP violation is a console error too, but say which directive.
    await context.addInitScript(() =>
      document.addEventListener("securitypolicyviolation", (e) =>
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline code"}`),
      ),
    );
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const consoleErrors = [];
    let allowedErrors = [];
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const text = `${message.text()} @ ${message.location()?.url ?? ""}`;
      if (allowedErrors.some((pattern) => pattern.test(text))) return;
      consoleErrors.push(`${page.url()}: ${text}`);
    });
    page.on("pageerror", (error) => consoleErrors.push(`${page.url()}: uncaught ${error.message}`));
    const axeSource = readFileSync(join(WEB, "node_modules", "axe-core", "axe.min.js"), "utf8");
    const axeReport = [];

    async function audit(name) {
      // Through the DevTools protocol, not addScriptTag: that injects an
      // inline <script>, which the page's CSP (rightly) refuses.
      const cdp = await context.newCDPSession(page);
      await cdp.send("Runtime.evaluate", { expression: axeSource });
      await cdp.detach();
      const result = await page.evaluate(async () => {
        const r = await window.axe.run(document, {
          runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
          resultTypes: ["violations"],
        });
        return r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n").slice(1, 3).join(" ")}`),
        }));
      });
      const serious = result.filter((v) => v.impact === "serious" || v.impact === "critical");
      axeReport.push({ page: name, violations: result });
      for (const v of result) log(`  axe ${name}: ${v.impact} ${v.id}: ${v.help}${v.impact === "serious" || v.impact === "critical" ? `\n      ${v.nodes.join("\n      ")}` : ""}`);
      check(serious.length === 0, `axe on ${name}: ${serious.map((v) => `${v.impact} ${v.id} (${v.nodes.join("; ")})`).join("\n")}`);
    }

    async function noSidewaysScroll(name) {
      // html and body hide sideways overflow, so the body's own scroll width tells content cut off at the edge.
      const { scroll, client } = await page.evaluate(() => ({
        scroll: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
        client: document.documentElement.clientWidth,
      }));
      check(scroll <= client, `${name} scrolls sideways at ${client} px: content is ${scroll} px wide`);
    }

    /** axe, then desktop and phone screenshots and the 360 px overflow check; `fullPage: false` for a modal dialog. */
    async function capture(name, { axe = true, fullPage = true } = {}) {
      await page.waitForLoadState("networkidle").catch(() => {});
      if (axe) await audit(name);
      check((await page.locator("main").count()) === 1, `${name}: one main landmark, not ${await page.locator("main").count()}`);
      await page.setViewportSize(DESKTOP);
      await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage });
      await page.setViewportSize(PHONE);
      await page.waitForTimeout(150);
      await noSidewaysScroll(name);
      if (axe) await audit(`${name} (phone)`);
      await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage });
      await page.setViewportSize(DESKTOP);
    }

    const heading = (name) => page.getByRole("heading", { level: 1, name });

    await step("login page: labelled form, visible focus, axe, screenshots", async () => {
      await page.goto(`${base}/`);
      await page.waitForURL(`${base}/login`);
      await heading("Sign in to Reelforge").waitFor();
      await page.getByLabel("E-mail address").waitFor();
      // Keyboard focus shows a ring.
      await page.locator("body").focus();
      await page.keyboard.press("Tab");
      const ring = await page.evaluate(() => {
        const el = document.activeElement;
        const style = el && getComputedStyle(el);
        return { tag: el?.tagName, outline: style?.outlineStyle, width: style?.outlineWidth };
      });
      check(ring.outline !== "none" && ring.width !== "0px", `no visible focus ring on ${ring.tag}: ${JSON.stringify(ring)}`);
      await capture("login");
      // A malformed address is refused in the page, in an alert.
      await page.getByLabel("E-mail address").fill("not-an-address");
      await page.getByRole("button", { name: "Send me a sign-in link" }).click();
      await page.getByRole("alert").filter({ hasText: "Enter your e-mail address" }).waitFor();
    });

    await step("a used or unknown link says so and offers a new one", async () => {
      allowedErrors = [/status of 400/];
      await page.goto(`${base}/auth/verify?token=not-a-real-token-000000000000000000000000`);
      await page.getByRole("alert").filter({ hasText: "expired or was already used" }).waitFor();
      check(!page.url().includes("token="), "the token is removed from the address bar");
      await page.getByRole("button", { name: "Send me a new link" }).waitFor();
      await capture("verify-invalid");
      allowedErrors = [];
    });

    let link;
    await step("ask for a link and read it from the .eml outbox", async () => {
      await page.goto(`${base}/login`);
      await page.getByLabel("E-mail address").fill(EMAIL);
      await page.getByRole("button", { name: "Send me a sign-in link" }).click();
      await page.getByRole("heading", { name: "Check your e-mail" }).waitFor();
      await capture("login-sent");
      link = await waitFor("the sign-in e-mail", () => {
        const outbox = join(data, "outbox");
        if (!existsSync(outbox)) return null;
        for (const file of readdirSync(outbox).filter((f) => f.endsWith(".eml"))) {
          const eml = readFileSync(join(outbox, file), "utf8");
          if ((headerOf(eml, "to") ?? "").includes(EMAIL)) return signInLink(eml);
        }
        return null;
      });
      check(link.startsWith(`${base}/auth/verify?token=`), `link: ${link}`);
    });

    await step("the link signs in and lands on Projects", async () => {
      await page.goto(link);
      await page.waitForURL(`${base}/projects`);
      await heading("Projects").waitFor();
      await page.getByText(EMAIL).first().waitFor();
      await page.locator('[data-metric="images_generated"] [role="progressbar"]').waitFor();
      await capture("projects-empty");
    });

    const usageOf = async (metric) =>
      Number(await page.locator(`[data-metric="${metric}"] [role="progressbar"]`).getAttribute("aria-valuenow"));
    const imagesBefore = await usageOf("images_generated");
    const renderBefore = await usageOf("render_minutes");
    const ttsBefore = await usageOf("tts_seconds");

    const progressSeen = new Set();
    await step("create a project: live scene count, estimate, templates, voices", async () => {
      await page.getByLabel("Title").fill("E2E: two scenes");
      const estimated = page.waitForResponse((r) => r.url().endsWith("/api/v1/projects/estimate") && r.status() === 200);
      await page.getByLabel("Script", { exact: true }).fill(SCRIPT);
      const estimate = await (await estimated).json();
      check(estimate.scenes === 2 && estimate.reserve.images_generated === 2, `the server's estimate: ${JSON.stringify(estimate)}`);
      await page.getByText(/^2\s*scenes/).waitFor();
      await page.getByText("Estimate", { exact: true }).waitFor();
      const templates = page.getByRole("group", { name: "Template" }).getByRole("radio");
      check((await templates.count()) >= 2, "templates are offered");
      check((await page.getByText("Premium", { exact: true }).count()) >= 1, "a premium badge is shown");
      await page.getByLabel("Language").selectOption("en");
      await waitFor("voices", async () => (await page.getByLabel("Voice").locator("option").count()) > 1);
      await page.getByRole("button", { name: "Create video" }).click();
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      await heading("E2E: two scenes").waitFor();
    });

    await step("watch live progress (SSE) per project and per scene", async () => {
      const whole = page.getByRole("progressbar", { name: "Whole video" });
      await page.getByRole("progressbar", { name: "Scene 1" }).waitFor();
      await page.getByRole("progressbar", { name: "Scene 2" }).waitFor();
      let shot = false;
      await waitFor(
        "the video",
        async () => {
          if (await whole.count()) {
            const value = await whole.getAttribute("aria-valuenow").catch(() => null);
            if (value !== null) progressSeen.add(Number(value));
            if (!shot && Number(value) > 0) {
              shot = true;
              await page.screenshot({ path: join(SHOTS, "project-progress-desktop.png"), fullPage: true });
              await page.setViewportSize(PHONE);
              await page.screenshot({ path: join(SHOTS, "project-progress-phone.png"), fullPage: true });
              await page.setViewportSize(DESKTOP);
            }
          }
          return (await page.locator("video").count()) > 0;
        },
        { timeout: 180_000, interval: 100 },
      );
      log(`  progress values seen: ${[...progressSeen].sort((a, b) => a - b).join(", ")}`);
      check(progressSeen.size >= 2, `progress moved live (saw ${[...progressSeen].join(", ")})`);
    });

    await step("the finished video plays, with downloads for video and captions", async () => {
      const video = page.locator("video");
      const state = await waitFor("video metadata", async () => {
        const s = await video.evaluate((v) => ({ readyState: v.readyState, duration: v.duration, error: v.error?.message ?? null }));
        check(!s.error, `video error: ${s.error}`);
        return s.readyState >= 1 && s.duration > 0 ? s : null;
      });
      const played = await video.evaluate(async (v) => {
        v.muted = true;
        await v.play();
        await new Promise((r) => setTimeout(r, 1200));
        v.pause();
        return { currentTime: v.currentTime, readyState: v.readyState, duration: v.duration };
      });
      log(`  video: duration ${state.duration.toFixed(2)} s, played to ${played.currentTime.toFixed(2)} s, readyState ${played.readyState}`);
      check(played.currentTime > 0, "playback advanced");
      for (const name of ["Download video (MP4)", "Captions (WebVTT)", "Captions (SRT)"]) {
        const href = await page.getByRole("link", { name }).getAttribute("href");
        const response = await page.request.get(`${base}${href}`, { headers: name.startsWith("Download") ? { Range: "bytes=0-1023" } : {} });
        check([200, 206].includes(response.status()), `${name}: ${response.status()}`);
      }
      await page.getByRole("heading", { name: "Your video" }).waitFor();
      await capture("project-done");
    });

    await step("usage moved in the banner (narration and rendering; the scenes' stock photos are not generated images)", async () => {
      await waitFor("usage to rise", async () => (await usageOf("tts_seconds")) > ttsBefore && (await usageOf("render_minutes")) > renderBefore, {
        timeout: 15_000,
      });
      const images = await usageOf("images_generated");
      const tts = await usageOf("tts_seconds");
      const render = await usageOf("render_minutes");
      log(`  images ${imagesBefore} -> ${images}, narration ${ttsBefore} -> ${tts}, render minutes ${renderBefore} -> ${render}`);
      // With a stock provider set up, `auto` scenes are stock photos: nothing was generated.
      check(images === imagesBefore, `stock photos are not counted as generated images (${imagesBefore} -> ${images})`);
    });

    await step("the project list shows status badge and thumbnail", async () => {
      await page.getByRole("link", { name: "Projects", exact: true }).click();
      await heading("Projects").waitFor();
      const card = page.locator(".project-card").first();
      await card.getByText("Ready").waitFor();
      const thumb = card.locator("img");
      await waitFor("the thumbnail", () => thumb.evaluate((img) => img.complete && img.naturalWidth > 0));
      await capture("projects");
    });

    await step("templates: a brand template on a built-in one, its live preview redrawn after a colour change, then offered as Yours", async () => {
      await page.getByRole("link", { name: "Templates", exact: true }).click();
      await heading("Templates").waitFor();
      await page.getByText("None yet: start from a built-in template below.").waitFor();
      await page.getByRole("button", { name: "Use as base for a template like Explainer" }).click();
      const editor = page.getByRole("region", { name: "New brand template" });
      await editor.waitFor();
      const preview = editor.getByRole("img", { name: "Preview: a title card and a caption in this template" });
      // The still as drawn: its size and a digest of its pixels (a new blob URL may hold the same picture).
      const drawn = () =>
        preview.evaluate((img) => {
          if (!img.complete || img.naturalWidth === 0) return null;
          const canvas = document.createElement("canvas");
          canvas.width = img.naturalWidth;
          canvas.height = img.naturalHeight;
          const g = canvas.getContext("2d");
          g.drawImage(img, 0, 0);
          const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
          let digest = 0;
          const sum = [0, 0, 0];
          for (let i = 0; i < data.length; i += 4) {
            digest = (Math.imul(digest, 31) + data[i] + (data[i + 1] << 8) + (data[i + 2] << 16)) | 0;
            for (let c = 0; c < 3; c++) sum[c] += data[i + c];
          }
          const n = data.length / 4;
          return { src: img.src, width: img.naturalWidth, height: img.naturalHeight, digest, mean: sum.map((v) => Math.round(v / n)) };
        });
      const first = await waitFor("the first preview", drawn, { timeout: 20_000 });
      check(first.src.startsWith("blob:"), `the preview is a PNG the page fetched: ${first.src}`);
      await editor.getByLabel("Name", { exact: true }).fill("E2E brand");
      // The editor redraws after each pause in editing: wait for the name's redraw first.
      const previews = () => page.waitForResponse((r) => r.url().endsWith("/api/v1/templates/preview") && r.request().method() === "POST", { timeout: 20_000 });
      let answer = await previews();
      const named = answer.request().postDataJSON();
      check(named.name === "E2E brand", `the preview asked for the draft: ${JSON.stringify(named)}`);
      const before = await waitFor("the renamed preview", async () => {
        const now = await drawn();
        return now && now.src !== first.src ? now : null;
      });
      /** Sets palette colour `n` and waits for the still drawn with it (a new PNG, not the one shown). */
      async function recolour(n, colour, shown) {
        const asked = previews();
        await editor.getByLabel(`Colour ${n}`, { exact: true }).fill(colour);
        const answer = await asked;
        check(answer.status() === 200 && answer.headers()["content-type"] === "image/png", `the preview answered ${answer.status()} ${answer.headers()["content-type"]}`);
        check(answer.request().postDataJSON().palette[n - 1] === colour, `the preview asked with colour ${n} ${colour}: ${answer.request().postData()}`);
        const now = await waitFor(`the preview with colour ${n} ${colour}`, async () => {
          const still = await drawn();
          return still && still.src !== shown.src ? still : null;
        });
        log(`  colour ${n} -> ${colour}: a new ${now.width}×${now.height} PNG, pixels ${now.digest === shown.digest ? "the same" : "changed"}, mean rgb(${shown.mean.join(", ")}) -> rgb(${now.mean.join(", ")})`);
        return now;
      }
      // The still's card is a gradient between two of the palette's colours, chosen from its
      // sample title: for Explainer's palette not colour 1, whose edit shows no change (reported).
      const afterFirst = await recolour(1, "#e11d48", before);
      const after = await recolour(2, "#f59e0b", afterFirst);
      check(after.digest !== afterFirst.digest, "the still shows the edited colour 2");
      check(after.mean[0] > afterFirst.mean[0] + 20, `the still turned warmer with amber: mean rgb(${afterFirst.mean.join(", ")}) -> rgb(${after.mean.join(", ")})`);
      await capture("templates-editor");
      const created = page.waitForResponse((r) => r.url().endsWith("/api/v1/templates") && r.request().method() === "POST");
      await editor.getByRole("button", { name: "Create template" }).click();
      const saved = await (await created).json();
      check(saved.builtin === false && saved.base_id === "explainer" && saved.palette[0] === "#e11d48" && saved.palette[1] === "#f59e0b", `the saved template: ${JSON.stringify(saved)}`);
      await editor.waitFor({ state: "detached" });
      const own = page.getByRole("region", { name: "Your templates" });
      await own.getByRole("heading", { name: "E2E brand" }).waitFor();
      await own.getByRole("button", { name: "Edit E2E brand" }).waitFor();
      await capture("templates");
      // The project form offers it, marked as the tenant's own.
      await page.getByRole("link", { name: "Projects", exact: true }).click();
      await heading("Projects").waitFor();
      const option = page.getByRole("group", { name: "Template" }).getByRole("radio", { name: /E2E brand/ });
      await option.waitFor();
      const label = page.locator(`label[for="${await option.getAttribute("id")}"]`);
      await label.getByText("Yours", { exact: true }).waitFor();
      check((await page.getByRole("group", { name: "Template" }).getByText("Yours", { exact: true }).count()) === 1, "only the own template is marked Yours");
      check(!(await option.isChecked()), "a built-in stays the default choice");
      await label.scrollIntoViewIfNeeded();
      await capture("projects-own-template");
    });

    const TEAL = [0, 128, 128];
    const tealPng = join(data, "e2e-teal.png");
    writeFileSync(tealPng, solidPng(640, 360, TEAL));

    await step("media library: upload by file button and by drop, progress, grid; a refused file is explained", async () => {
      await page.getByRole("link", { name: "Media", exact: true }).click();
      await heading("Media library").waitFor();
      await page.getByText("No files yet").waitFor();
      const uploaded = page.waitForResponse((r) => r.url().endsWith("/api/v1/media") && r.request().method() === "POST");
      await page.getByLabel("Choose a file").setInputFiles(tealPng);
      const answer = await uploaded;
      check(answer.status() === 201, `upload answered ${answer.status()}: ${await answer.text()}`);
      const item = await answer.json();
      check(item.kind === "image" && item.width === 640 && item.height === 360, `the server's item: ${JSON.stringify(item)}`);
      await page.getByText(/“e2e-teal\.png” was added \(Image, 640×360/).waitFor();
      const card = page.locator(".media-card").filter({ hasText: "e2e-teal.png" });
      await card.getByText("640×360").waitFor();
      await waitFor("the thumbnail", () => card.locator("img").evaluate((img) => img.complete && img.naturalWidth > 0));
      // Drag and drop onto the drop zone: a second picture, through the same upload.
      const png = solidPng(320, 320, [200, 90, 20]).toString("base64");
      const transfer = await page.evaluateHandle((b64) => {
        const dt = new DataTransfer();
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], "e2e-dropped.png", { type: "image/png" }));
        return dt;
      }, png);
      const zone = page.locator(".media-drop");
      await zone.dispatchEvent("dragenter", { dataTransfer: transfer });
      check(await zone.evaluate((el) => el.classList.contains("drop-active")), "the drop zone shows the drag");
      await zone.dispatchEvent("drop", { dataTransfer: transfer });
      await page.getByText(/“e2e-dropped\.png” was added/).waitFor();
      await page.locator(".media-card").filter({ hasText: "e2e-dropped.png" }).getByText("320×320").waitFor();
      // Not a picture, whatever its name says: the problem's detail, in an alert.
      allowedErrors = [/status of 41[35]|status of 422/];
      await page.getByLabel("Choose a file").setInputFiles({ name: "not-a-picture.png", mimeType: "image/png", buffer: Buffer.from("plain text, not a PNG") });
      const refused = page.getByRole("alert").filter({ hasText: /That file cannot be used|Choose a picture or a video file/ });
      await refused.waitFor();
      log(`  refused upload: ${(await refused.textContent()).trim()}`);
      allowedErrors = [];
      await page.getByRole("button", { name: "Dismiss" }).click();
      await capture("media");
    });

    await step("storyboard first: create, watch the scenes being made, reach draft", async () => {
      await page.getByRole("link", { name: "Projects", exact: true }).click();
      await heading("Projects").waitFor();
      await page.getByLabel("Title").fill("E2E: storyboard");
      await page.getByLabel("Script", { exact: true }).fill("A teal picture opens the video.\n\nThe second scene says something.");
      await page.getByRole("checkbox", { name: "Storyboard first" }).check();
      await page.getByRole("button", { name: "Create storyboard" }).click();
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}\/storyboard$/);
      await heading(/^Storyboard/).waitFor();
      await page.getByRole("article", { name: /^Scene 2/ }).waitFor();
      await page.locator(".page-head .badge").getByText("Storyboard ready", { exact: true }).waitFor({ timeout: 180_000 });
      for (const n of [1, 2]) {
        const card = page.getByRole("article", { name: new RegExp(`^Scene ${n}`) });
        await waitFor(`scene ${n}'s picture`, () => card.getByRole("img", { name: `Picture of scene ${n}` }).evaluate((img) => img.complete && img.naturalWidth > 0));
        const audio = card.getByLabel(`Narration of scene ${n}`);
        const wav = await page.request.get(`${base}${await audio.getAttribute("src")}`);
        check(wav.status() === 200 && (await wav.body()).subarray(0, 4).toString() === "RIFF", `scene ${n}'s narration is a WAV (${wav.status()})`);
      }
      check(await page.getByRole("button", { name: "Render the video" }).isEnabled(), "a draft can be rendered");
      await capture("storyboard-draft");
    });

    await step("storyboard: scene 1's picture from the library, scene 2's text edited", async () => {
      const first = page.getByRole("article", { name: /^Scene 1/ });
      await first.getByRole("button", { name: "Picture of scene 1" }).click();
      await first.getByRole("menuitem", { name: "From your library…" }).click();
      const dialog = page.getByRole("dialog", { name: "Choose a picture for scene 1" });
      await dialog.waitFor();
      await dialog.getByRole("button", { name: /^Use e2e-teal\.png/ }).click();
      await dialog.waitFor({ state: "detached" });
      await first.getByText(/^Your file: e2e-teal\.png/).waitFor();
      await first.getByText("Edited, not rendered yet").waitFor();
      const second = page.getByRole("article", { name: /^Scene 2/ });
      await second.getByRole("button", { name: "Edit text of scene 2" }).click();
      await second.getByLabel("Narration", { exact: true }).fill("The second scene was edited in the storyboard.");
      await second.getByRole("button", { name: "Save" }).click();
      await second.getByText("The second scene was edited in the storyboard.").waitFor();
      await second.getByText("Edited, not rendered yet").waitFor();
      // Keyboard: Tab reaches the card's controls in order, with a visible ring.
      await second.getByRole("button", { name: "Edit text of scene 2" }).focus();
      await page.keyboard.press("Tab");
      const ring = await page.evaluate(() => {
        const el = document.activeElement;
        const label = el?.id ? document.querySelector(`label[for="${el.id}"]`) : null;
        const style = getComputedStyle(label ?? el);
        return { name: el?.getAttribute("aria-label") ?? label?.textContent, outline: style.outlineStyle };
      });
      check(/Upload picture/.test(ring.name ?? "") && ring.outline !== "none", `Tab from Edit reaches the upload button with a ring: ${JSON.stringify(ring)}`);
      await capture("storyboard-edited");
    });

    /** The colour in the middle of the video at `time` seconds, drawn on a canvas. */
    const videoColour = (video, time) =>
      video.evaluate(async (v, t) => {
        v.muted = true;
        v.currentTime = t;
        await new Promise((r) => v.addEventListener("seeked", r, { once: true }));
        const canvas = document.createElement("canvas");
        canvas.width = v.videoWidth;
        canvas.height = v.videoHeight;
        const g = canvas.getContext("2d");
        g.drawImage(v, 0, 0);
        return Array.from(g.getImageData(Math.round(v.videoWidth * 0.4), Math.round(v.videoHeight * 0.4), 1, 1).data.slice(0, 3));
      }, time);
    const near = (a, b) => a.every((x, i) => Math.abs(x - b[i]) <= 40);

    async function playsToTheEnd() {
      const video = page.getByLabel("Video: E2E: storyboard");
      await waitFor("video metadata", () => video.evaluate((v) => v.readyState >= 1 && v.duration > 0 && !v.error));
      const played = await video.evaluate(async (v) => {
        v.muted = true;
        await v.play();
        await new Promise((r) => setTimeout(r, 800));
        v.pause();
        return { currentTime: v.currentTime, duration: v.duration, src: v.currentSrc };
      });
      check(played.currentTime > 0, "playback advanced");
      return { video, ...played };
    }

    let firstRender;
    await step("storyboard: Render, per-scene progress live, then the video plays with the uploaded picture", async () => {
      await page.getByRole("button", { name: "Render the video" }).click();
      await page.getByRole("progressbar", { name: "Scene 1" }).waitFor();
      await page.getByText("Editing is paused while the video renders.").waitFor();
      await page.screenshot({ path: join(SHOTS, "storyboard-rendering-desktop.png"), fullPage: true });
      await page.locator(".page-head .badge").getByText(/^Ready( with warnings)?$/).waitFor({ timeout: 180_000 });
      firstRender = await playsToTheEnd();
      const colour = await videoColour(firstRender.video, 0.3);
      log(`  video ${firstRender.duration.toFixed(2)} s; scene 1's picture in the video: rgb(${colour.join(", ")})`);
      check(near(colour, TEAL), `scene 1 shows the uploaded teal picture: rgb(${colour.join(", ")})`);
      check(await page.getByRole("button", { name: "Render the changes" }).isDisabled(), "nothing to render after a render");
    });

    await step("storyboard: one scene edited and re-rendered; the previous video stays until the new one is ready", async () => {
      const second = page.getByRole("article", { name: /^Scene 2/ });
      await second.getByRole("button", { name: "Edit text of scene 2" }).click();
      await second.getByLabel("Narration", { exact: true }).fill("Only this scene changes, and the video follows.");
      await second.getByRole("button", { name: "Save" }).click();
      await second.getByText("Only this scene changes, and the video follows.").waitFor();
      await page.getByText("This video does not show the edited scenes yet.").waitFor();
      await page.getByRole("button", { name: "Render the changes" }).click();
      await page.getByText("This is the previous video").waitFor();
      check((await page.getByLabel("Video: E2E: storyboard").count()) === 1, "the previous video stays on the page while rendering");
      // The live stream keeps the network busy: plain screenshots, no wait for idle.
      await page.screenshot({ path: join(SHOTS, "storyboard-rerender-desktop.png"), fullPage: true });
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: join(SHOTS, "storyboard-rerender-phone.png"), fullPage: true });
      await page.setViewportSize(DESKTOP);
      await page.locator(".page-head .badge").getByText(/^Ready( with warnings)?$/).waitFor({ timeout: 180_000 });
      const again = await playsToTheEnd();
      check(again.src !== firstRender.src, `the player has the new video (${again.src})`);
      check(near(await videoColour(again.video, 0.3), TEAL), "scene 1 kept its picture");
      await capture("storyboard-done");
    });

    await step("storyboard: scene 2 gets a stock photo from the stock search; the video shows it and credits it (page and credits.txt)", async () => {
      const projectId = page.url().match(/\/projects\/([0-9a-f-]{36})\/storyboard/)?.[1];
      check(projectId, `on a storyboard: ${page.url()}`);
      const project = await (await page.request.get(`${base}/api/v1/projects/${projectId}`)).json();
      const scenesBefore = await (await page.request.get(`${base}/api/v1/projects/${projectId}/scenes`)).json();
      const suggested = scenesBefore[1].suggested_query;
      // Scene 2's picture now (its automatic stock photo), in the middle of its part of the video.
      const oldVideo = page.getByLabel("Video: E2E: storyboard");
      const oldDuration = await oldVideo.evaluate((v) => v.duration);
      const middle = Math.min(scenesBefore[0].duration_seconds + scenesBefore[1].duration_seconds / 2, oldDuration - 0.3);
      const colourBefore = await videoColour(oldVideo, middle);
      check(typeof suggested === "string" && suggested.trim().length > 0, `scene 2 has a suggested query: ${JSON.stringify(suggested)}`);
      const orientation = project.width > project.height ? "landscape" : project.width < project.height ? "portrait" : "square";
      const second = page.getByRole("article", { name: /^Scene 2/ });
      const menuButton = second.getByRole("button", { name: "Picture of scene 2" });

      // The picture menu, by keyboard: Arrow Down opens it on its first item.
      await menuButton.focus();
      await page.keyboard.press("ArrowDown");
      const menu = second.getByRole("menu");
      await menu.waitFor();
      const items = (await menu.getByRole("menuitem").allTextContents()).map((t) => t.replace("✓", ""));
      for (const wanted of ["Stock photo…", "Stock video…", "AI image", "Illustration", "From your library…"]) {
        check(items.includes(wanted), `the picture menu offers ${wanted}: ${items.join(" | ")}`);
      }
      check((await page.evaluate(() => document.activeElement?.textContent)) === "Stock photo…", "focus is on the first item");
      await capture("storyboard-picture-menu");
      // Escape closes it and gives focus back to its button; Arrow Down and Enter choose "Stock photo…".
      await page.getByRole("menuitem", { name: "Stock photo…" }).focus();
      await page.keyboard.press("Escape");
      await menu.waitFor({ state: "detached" });
      check(await menuButton.evaluate((el) => el === document.activeElement), "Escape returns focus to the menu button");
      await page.keyboard.press("ArrowDown");
      await page.keyboard.press("Enter");

      const dialog = page.getByRole("dialog", { name: "Stock photo for scene 2" });
      await dialog.waitFor();
      const box = dialog.getByLabel("Search stock photos");
      check((await box.inputValue()) === suggested, `the search box holds the suggested query: ${await box.inputValue()} vs ${suggested}`);
      check(await box.evaluate((el) => el === document.activeElement), "the search box has focus");
      const choices = dialog.locator("li.stock-tile");
      await waitFor("15 stock results", async () => (await choices.count()) === 15);
      const asked = pexels.state.requests.find((r) => r.path === "/v1/search" && r.query.query === suggested.trim().toLowerCase());
      check(asked, `the server asked the stand-in for “${suggested}”: ${JSON.stringify(pexels.state.requests.slice(-3))}`);
      check(asked.authorized && asked.query.orientation === orientation, `asked with the key, ${orientation}: ${JSON.stringify(asked)}`);
      // Every preview is a real picture, loaded from this origin (the page's CSP allows no other).
      for (let i = 0; i < 15; i++) {
        const img = choices.nth(i).locator("img");
        await img.scrollIntoViewIfNeeded();
        await waitFor(`stock preview ${i + 1}`, () => img.evaluate((el) => el.complete && el.naturalWidth > 0));
        const src = await img.getAttribute("src");
        check(/^Use the photo by \S/.test(await choices.nth(i).getByRole("button").textContent().then((t) => t.trim())), `result ${i + 1} is a button named by its author`);
        check(src.startsWith("/api/v1/stock/thumbnail?"), `a same-origin preview: ${src}`);
        check(/^Photo by \S/.test(await img.getAttribute("alt")), `preview ${i + 1} has alt text`);
      }
      check(pexels.state.files.some((f) => f.endsWith("&h=350")), "the previews are Pexels' medium renditions, from the stand-in");
      await dialog.getByRole("button", { name: "More photos" }).click();
      await waitFor("30 stock results", async () => (await choices.count()) === 30);
      check((await page.evaluate(() => document.activeElement?.className)).includes("stock-choice"), "focus moves to the first new result");
      await dialog.locator(".media-picker-head").scrollIntoViewIfNeeded();
      await capture("stock-search", { fullPage: false });

      // Pick the third result.
      const patched = page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().endsWith(`/api/v1/projects/${projectId}/scenes/1`));
      await choices.nth(2).getByRole("button").click();
      const answer = await patched;
      check(answer.status() === 200, `the PATCH answered ${answer.status()}`);
      const sent = answer.request().postDataJSON();
      const pick = sent.visual.pick;
      check(
        sent.visual.kind === "stock" && sent.visual.media === "photo" && sent.visual.provider === "pexels" && sent.visual.query === suggested && pick,
        `the PATCH body: ${JSON.stringify(sent)}`,
      );
      const photo = pexels.photo(Number(pick));
      check(photo, `the pick is a stand-in photo: ${pick}`);
      await dialog.waitFor({ state: "detached" });
      check(await menuButton.evaluate((el) => el === document.activeElement), "focus returns to the picture menu");
      await second.getByText(`Stock photo (Pexels #${pick})`, { exact: false }).waitFor();
      await second.getByText("Edited, not rendered yet").waitFor();
      await waitFor("the picked photo's preview on the card", () =>
        second.getByRole("img", { name: "Picture of scene 2" }).evaluate((img) => img.src.includes("/api/v1/stock/thumbnail?") && img.complete && img.naturalWidth > 0),
      );

      await page.getByRole("button", { name: "Render the changes" }).click();
      await page.getByText("This is the previous video").waitFor();
      await page.locator(".page-head .badge").getByText(/^Ready( with warnings)?$/).waitFor({ timeout: 180_000 });
      const scenes = await (await page.request.get(`${base}/api/v1/projects/${projectId}/scenes`)).json();
      const played = await playsToTheEnd();
      const at = Math.min(scenes[0].duration_seconds + scenes[1].duration_seconds / 2, played.duration - 0.3);
      const colour = await videoColour(played.video, at);
      log(`  picked Pexels #${pick} by ${photo.photographer}; at ${at.toFixed(2)} s the video shows rgb(${colour.join(", ")}) (before: rgb(${colourBefore.join(", ")})), the photo is rgb(${photo.colour.join(", ")})`);
      check(near(colour, photo.colour), `scene 2 shows the picked photo: rgb(${colour.join(", ")}) vs rgb(${photo.colour.join(", ")})`);
      check(!near(colourBefore, photo.colour), `scene 2 showed another picture before (rgb(${colourBefore.join(", ")})): the check means something`);
      check(near(await videoColour(played.video, 0.3), TEAL), "scene 1 kept its picture");
      const downloaded = pexels.state.files.filter((f) => f.startsWith(`/photos/${pick}/`) && !f.endsWith("&h=350"));
      check(downloaded.length > 0, `the render downloaded a full-size rendition of #${pick}: ${JSON.stringify(downloaded)}`);

      // The card credits the author; so does the project page, and credits.txt.
      const credit = second.getByRole("link", { name: `Photo by ${photo.photographer} on Pexels (opens in a new tab)` });
      await credit.waitFor();
      check((await credit.getAttribute("href")) === photo.url && (await credit.getAttribute("rel")) === "noopener noreferrer", "the card's credit links to the photo's page");
      await capture("storyboard-stock");
      await page.getByRole("link", { name: "← E2E: storyboard" }).click();
      await heading("E2E: storyboard").waitFor();
      const credits = page.locator("section.credits");
      await credits.getByRole("heading", { name: "Credits" }).waitFor();
      const lines = await credits.getByRole("listitem").allTextContents();
      check(lines.length === 1 && lines[0].startsWith(`Scene 2: Photo by ${photo.photographer} on Pexels`), `the credits: ${JSON.stringify(lines)}`);
      const pageLink = credits.getByRole("link", { name: `Photo by ${photo.photographer} on Pexels (opens in a new tab)` });
      check((await pageLink.getAttribute("href")) === photo.url, "the credit links to the photo's page");
      const authorLink = credits.getByRole("link", { name: `${photo.photographer} on Pexels (opens in a new tab)`, exact: true });
      check((await authorLink.getAttribute("href")) === photo.photographer_url, "the author links to their page");
      const [download] = await Promise.all([page.waitForEvent("download"), credits.getByRole("link", { name: "Download credits.txt" }).click()]);
      check(download.suggestedFilename() === "credits.txt", `downloaded ${download.suggestedFilename()}`);
      const text = readFileSync(await download.path(), "utf8");
      check(text.includes(photo.photographer) && text.includes(photo.url), `credits.txt names the author and the page:\n${text}`);
      log(`  credits.txt: ${text.trim().split("\n").join(" / ")}`);
      await capture("project-credits");
    });

    await step("media library: a file in use is not deleted, and the page names the project", async () => {
      await page.getByRole("link", { name: "Media", exact: true }).click();
      await heading("Media library").waitFor();
      allowedErrors = [/status of 409/];
      await page.getByRole("button", { name: "Delete e2e-teal.png" }).click();
      await page.getByRole("button", { name: "Delete the file" }).click();
      const alert = page.getByRole("alert").filter({ hasText: "is still in use" });
      await alert.getByRole("link", { name: "E2E: storyboard" }).waitFor();
      allowedErrors = [];
      await capture("media-in-use");
      // A file no scene uses goes.
      await page.getByRole("button", { name: "Delete e2e-dropped.png" }).click();
      await page.getByRole("button", { name: "Delete the file" }).click();
      await page.getByRole("heading", { name: /e2e-dropped\.png/ }).waitFor({ state: "detached" });
    });

    await step("billing: plans, feature matrix, Checkout through the stand-in, plan shows Pro", async () => {
      await page.getByRole("link", { name: "Billing", exact: true }).click();
      await heading("Billing").waitFor();
      await page.getByTestId("current-plan").getByText("Free").waitFor();
      await page.getByRole("table").waitFor();
      await capture("billing");
      await page.getByRole("button", { name: "Upgrade to Pro" }).click();
      await page.waitForURL(`${stripe.base}/checkout/**`);
      await page.getByRole("button", { name: "Pay and subscribe" }).click();
      await page.waitForURL(`${base}/billing?checkout=success**`);
      await page.getByText("Payment confirmed").waitFor({ timeout: 30_000 });
      await page.getByTestId("current-plan").getByText("Pro").waitFor();
      await page.getByTestId("current-plan").getByText("Active").waitFor();
      await page.locator(".usage-plan").getByText("Pro plan").waitFor({ timeout: 10_000 });
      const me = await (await page.request.get(`${base}/api/auth/me`)).json();
      check(me.tenant.plan === "pro", `the server says plan ${me.tenant.plan}`);
      check(stripe.state.webhooks.every((w) => w.status === 200), `webhooks: ${JSON.stringify(stripe.state.webhooks)}`);
      await capture("billing-pro");
      // The customer portal (the stand-in's page links back to /billing).
      await page.getByRole("button", { name: "Manage billing" }).click();
      await page.waitForURL(`${stripe.base}/portal/**`);
      await page.getByRole("link", { name: "Return to Reelforge" }).click();
      await page.waitForURL(`${base}/billing`);
      await heading("Billing").waitFor();
    });

    await step("batches: a batch from a CSV file and a script with merge fields; its rows have their titles; the ZIP", async () => {
      await page.getByRole("link", { name: "Batches", exact: true }).click();
      await heading("Batches").waitFor();
      await page.getByText("No batches yet.").waitFor();
      const form = page.getByRole("form", { name: "New batch from a spreadsheet" });
      const make = form.getByRole("button", { name: "Make the videos" });
      check(await make.isDisabled(), "nothing to make before a file is chosen");
      await form.getByLabel("CSV file").setInputFiles({ name: "people.csv", mimeType: "text/csv", buffer: Buffer.from("name,city\nAda,Oslo\nAlan,Paris\n") });
      await form.getByLabel("Template").selectOption("explainer");
      await form.getByLabel("Title").fill("Welcome, {{name}}");
      await form.getByLabel("Script").fill("Hello {{name}}, and welcome to our {{city}} office.\n\nSee you soon in {{city}}.");
      await capture("batches");
      const created = page.waitForResponse((r) => r.url().endsWith("/api/v1/batches") && r.request().method() === "POST");
      await make.click();
      const answer = await created;
      check(answer.status() === 202, `the batch answered ${answer.status()}: ${await answer.text()}`);
      const { id } = await answer.json();
      await page.waitForURL(`${base}/batches/${encodeURIComponent(id)}`);
      await heading("Welcome, {{name}}").waitFor();
      const rows = page.getByRole("region", { name: "Rows" }).getByRole("table");
      await rows.waitFor();
      check((await rows.locator("tbody tr").count()) === 2, `2 rows: ${await rows.locator("tbody tr").count()}`);
      for (const [n, name] of [[1, "Ada"], [2, "Alan"]]) {
        const row = rows.locator("tbody tr").nth(n - 1);
        check((await row.getByRole("cell").first().textContent()) === String(n), `row ${n} is numbered`);
        await row.getByRole("link", { name: `Welcome, ${name}`, exact: true }).waitFor();
      }
      // The rows are projects, filled in from the file.
      const ada = await rows.getByRole("link", { name: "Welcome, Ada" }).getAttribute("href");
      const scenes = await (await page.request.get(`${base}/api/v1${ada}/scenes`)).json();
      check(
        scenes.length === 2 && scenes[0].text === "Hello Ada, and welcome to our Oslo office." && scenes[1].text === "See you soon in Oslo.",
        `row 1's scenes are filled in from its row: ${JSON.stringify(scenes.map((x) => x.text))}`,
      );
      // The page reads the batch again every 3 s: both videos are soon made, and the ZIP offered.
      const zip = page.getByRole("link", { name: "Download the 2 finished videos (ZIP)" });
      await zip.waitFor({ timeout: 90_000 });
      await page.getByText("2 of 2 finished").waitFor();
      await page.getByRole("main").locator(".badge").first().getByText(/^Ready/).waitFor();
      const body = await page.request.get(`${base}${await zip.getAttribute("href")}`);
      check(body.status() === 200 && (await body.body()).subarray(0, 2).toString() === "PK", `the ZIP: ${body.status()}`);
      check((await rows.getByRole("link", { name: "Video", exact: true }).count()) === 2, "each row links its video");
      await capture("batch");
      await page.getByRole("link", { name: "All batches" }).click();
      await heading("Batches").waitFor();
      const listed = page.getByRole("region", { name: "Batches" }).getByRole("row").filter({ hasText: "Welcome, {{name}}" });
      await listed.getByText("2 of 2 finished").waitFor();
    });

    await step("account: make a named API key (show, hide, copy), it works within its scope, revoke it", async () => {
      await page.getByRole("link", { name: "Account", exact: true }).click();
      await heading("Account").waitFor();
      await page.getByRole("img", { name: /per day, last 30 days/ }).waitFor();
      await page.getByLabel("Name", { exact: true }).fill("E2E reader");
      await page.getByRole("button", { name: "Create key" }).click();
      const input = page.getByLabel(/Your new API key/);
      await input.waitFor();
      check((await input.getAttribute("type")) === "password", "the key starts hidden");
      await page.getByRole("button", { name: "Show" }).click();
      check((await input.getAttribute("type")) === "text", "Show reveals the key");
      const key = await input.inputValue();
      check(/^rf_/.test(key), `key ${key.slice(0, 6)}…`);
      await page.getByRole("button", { name: "Copy" }).click();
      await page.getByText(/Copied to the clipboard|Press Ctrl\+C/).waitFor();
      const clip = await page.evaluate(() => navigator.clipboard.readText()).catch(() => null);
      if (clip !== null) check(clip === key, "the clipboard holds the key");
      await page.getByRole("button", { name: "Hide" }).click();
      const reads = await fetch(`${base}/api/v1/projects`, { headers: { "X-API-Key": key } });
      check(reads.status === 200, `the new key reads projects: ${reads.status}`);
      check(reads.headers.get("ratelimit-policy")?.startsWith('"api-key"') === true, "RateLimit-Policy on a key's answer");
      const usage = await fetch(`${base}/api/usage`, { headers: { "X-API-Key": key } });
      check(usage.status === 403, `outside its scope: ${usage.status}`);
      await page.getByRole("button", { name: "Done" }).click();
      await page.getByRole("button", { name: "Revoke E2E reader" }).click();
      await page.getByRole("button", { name: "Revoke the key" }).click();
      await page.getByText("No API keys yet.").waitFor();
      const revoked = await fetch(`${base}/api/v1/projects`, { headers: { "X-API-Key": key } });
      check(revoked.status === 401, `a revoked key: ${revoked.status}`);
    });

    let webhookSecret;
    await step("account: add a webhook endpoint (its secret shown once), send it a test event, see it delivered in the log", async () => {
      const section = page.locator(".webhooks-section");
      await section.getByRole("heading", { name: "Webhooks" }).waitFor();
      await section.getByText("No webhook endpoints yet.").waitFor();
      const form = section.getByRole("form", { name: "New endpoint" });
      await form.getByLabel("Endpoint URL").fill(receiver.url);
      await form.getByLabel(/^Description/).fill("E2E receiver");
      await form.getByRole("button", { name: "Add endpoint" }).click();
      // The signing secret, once, hidden, with the focus on it.
      const secret = section.getByLabel(`Signing secret of ${receiver.url}`);
      await secret.waitFor();
      check((await secret.getAttribute("type")) === "password", "the secret starts hidden");
      check(await secret.evaluate((el) => el === document.activeElement), "the secret box takes the focus");
      await section.getByText("Store it now: it will not be shown again.").waitFor();
      await section.getByRole("button", { name: "Show" }).click();
      webhookSecret = await secret.inputValue();
      check(/^whsec_[A-Za-z0-9+/]{43}=$/.test(webhookSecret), `a whsec_ secret: ${webhookSecret.slice(0, 8)}…`);
      await section.getByRole("button", { name: "Hide" }).click();
      const item = section.getByRole("list", { name: "Webhooks" }).getByRole("listitem").filter({ hasText: receiver.url });
      await item.getByText("E2E receiver").waitFor();
      await item.getByText("All events", { exact: true }).waitFor();
      await item.locator(".webhook-state").getByText("On", { exact: true }).waitFor();
      await capture("account-webhook-secret");
      await section.getByRole("button", { name: "Done" }).click();
      await secret.waitFor({ state: "detached" });

      await item.getByRole("button", { name: "Send test event to E2E receiver" }).click();
      await item.getByText("Test event queued. See how it went in the deliveries below.").waitFor();
      const deliveries = item.getByRole("region", { name: "Deliveries to E2E receiver" }).getByRole("table");
      await deliveries.waitFor();
      // The log is read when the test is sent; Refresh reads it again until the attempt is recorded.
      const row = deliveries.getByRole("row").filter({ hasText: "Test event" });
      await waitFor("the test event to be delivered", async () => {
        if ((await row.getByText("Delivered", { exact: true }).count()) > 0) return true;
        await item.getByRole("button", { name: "Refresh" }).click();
        await page.waitForTimeout(300);
        return false;
      }, { timeout: 20_000, interval: 100 });
      check((await row.getByRole("cell").nth(3).textContent()) === "200", `HTTP 200 in the log: ${await row.getByRole("cell").nth(3).textContent()}`);
      check((await row.getByRole("cell").nth(5).textContent()) === "1", "delivered at the first attempt");
      // The receiver got it, signed with the secret shown.
      const test = receiver.received.find((d) => JSON.parse(d.body).type === "webhook.test");
      check(test, `the receiver got the test event: ${receiver.received.map((d) => d.body.slice(0, 80)).join(" | ")}`);
      check(test.method === "POST" && test.path === "/hooks/reelforge", `${test.method} ${test.path}`);
      check(signedWith(test, webhookSecret), `the test event is signed with the secret shown: ${JSON.stringify(test.headers)}`);
      // Its payload, opened from the log.
      await row.getByRole("button", { name: /^Payload: Test event/ }).click();
      await deliveries.getByText(test.headers["webhook-id"]).waitFor();
      await capture("account-webhooks");
    });

    await step("account: start an export, see it ready, download it", async () => {
      await page.getByRole("button", { name: "Export my data" }).click();
      await page.getByText("Your export is ready").waitFor({ timeout: 60_000 });
      const href = await page.getByRole("link", { name: "Download the ZIP" }).getAttribute("href");
      const zip = await page.request.get(`${base}${href}`);
      check(zip.status() === 200, `download: ${zip.status()}`);
      const body = await zip.body();
      check(body.subarray(0, 2).toString() === "PK", "a ZIP file");
      await page.reload();
      await heading("Account").waitFor();
      await page.getByText("Your export is ready").waitFor();
      await page.getByRole("region", { name: "Activity log" }).getByRole("table").waitFor();
      await capture("account");
    });

    await step("webhooks: the export's export.ready event reached the receiver, signed", async () => {
      const ready = await waitFor("export.ready at the receiver", () => receiver.received.find((d) => JSON.parse(d.body).type === "export.ready"), { timeout: 15_000 });
      check(signedWith(ready, webhookSecret), "export.ready is signed with the endpoint's secret");
      log(`  the receiver got: ${receiver.received.map((d) => JSON.parse(d.body).type).join(", ")}`);
    });

    await step("team: invite an admin who has a workspace of their own; they join, switch teams in the header; a role change and a removal reach them at once", async () => {
      const MATE = "e2e.mate@example.com";
      const mateContext = await browser.newContext({ viewport: DESKTOP });
      const mate = await mateContext.newPage();
      mate.setDefaultTimeout(20_000);
      mate.on("pageerror", (error) => consoleErrors.push(`mate ${mate.url()}: uncaught ${error.message}`));
      const outbox = join(data, "outbox");
      const linkFor = async (what, seen) =>
        waitFor(what, () => {
          for (const file of readdirSync(outbox).filter((f) => f.endsWith(".eml") && !seen.has(f))) {
            const eml = readFileSync(join(outbox, file), "utf8");
            if ((headerOf(eml, "to") ?? "").includes(MATE)) return signInLink(eml);
          }
          return null;
        });
      try {
        // The mate signs up on their own first: a workspace of theirs.
        let seen = new Set(readdirSync(outbox));
        await mate.goto(`${base}/login`);
        await mate.getByLabel("E-mail address").fill(MATE);
        await mate.getByRole("button", { name: "Send me a sign-in link" }).click();
        await mate.getByRole("heading", { name: "Check your e-mail" }).waitFor();
        await mate.goto(await linkFor("the mate's sign-in e-mail", seen));
        await mate.waitForURL(`${base}/projects`);

        // The owner (on Pro since the billing step) invites them as an admin.
        seen = new Set(readdirSync(outbox));
        await page.getByRole("link", { name: "Account", exact: true }).click();
        await heading("Account").waitFor();
        const members = page.locator(".members-section");
        await members.getByRole("heading", { name: "Members" }).waitFor();
        await members.getByText(/1 of 5 seats/).waitFor();
        await members.locator("#invite-email").fill(MATE);
        await members.locator("#invite-role").selectOption("admin");
        await members.getByRole("button", { name: "Send invitation" }).click();
        await members.getByRole("button", { name: `Revoke the invitation to ${MATE}` }).waitFor();
        await members.getByText(/2 of 5 seats/).waitFor();
        await capture("account-members-invited");
        const invitation = await linkFor("the invitation e-mail", seen);
        const mail = readdirSync(outbox).filter((f) => !seen.has(f)).map((f) => readFileSync(join(outbox, f), "utf8")).find((eml) => (headerOf(eml, "to") ?? "").includes(MATE));
        check(/invited you to/.test(headerOf(mail, "subject") ?? ""), `the invitation's subject: ${headerOf(mail, "subject")}`);

        // The link opens the team; the header offers both teams; Billing is the owner's.
        await mate.goto(invitation);
        await mate.waitForURL(`${base}/projects`);
        await mate.getByText("E2E: two scenes").waitFor();
        check((await mate.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Billing" }).count()) === 0, "an admin has no Billing link");
        const me = await (await mate.request.get(`${base}/api/auth/me`)).json();
        check(me.user.role === "admin" && me.tenants.length === 2, `the mate's teams: ${JSON.stringify(me.tenants)}`);
        const own = me.tenants.find((t) => t.id !== me.tenant.id);
        await mate.getByRole("button", { name: new RegExp(`Team: ${me.tenant.name}`) }).click();
        await mate.getByRole("menuitem", { name: new RegExp(`^${own.name} · Owner`) }).click();
        await mate.waitForURL(`${base}/projects`);
        await mate.getByRole("button", { name: new RegExp(`Team: ${own.name}`) }).waitFor();
        check((await mate.getByText("E2E: two scenes").count()) === 0, "the other team's projects are not in the mate's own workspace");
        await mate.setViewportSize(PHONE);
        const width = await mate.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
        check(width <= PHONE.width, `the header with the team switcher scrolls sideways at 360 px (${width} px)`);
        await mate.setViewportSize(DESKTOP);
        await mate.getByRole("button", { name: new RegExp(`Team: ${own.name}`) }).click();
        await mate.getByRole("menuitem", { name: new RegExp(`^${me.tenant.name} · Admin`) }).click();
        await mate.getByRole("button", { name: new RegExp(`Team: ${me.tenant.name}`) }).waitFor();

        // The owner makes them a member: at their next page the Members section is gone.
        await page.reload();
        await members.getByLabel(`Role of ${MATE}`).selectOption("member");
        await members.getByText(`${MATE} is now`).waitFor();
        check((await members.getByLabel(`Role of ${MATE}`).inputValue()) === "member", "the role select shows the saved role");
        await mate.goto(`${base}/account`);
        await mate.getByRole("heading", { level: 1, name: "Account" }).waitFor();
        await mate.waitForLoadState("networkidle").catch(() => {});
        check((await mate.locator(".members-section").count()) === 0, "a member sees no Members section");

        // Removed: the mate's next request ends on the sign-in page.
        await members.getByRole("button", { name: `Remove ${MATE}` }).click();
        await page.getByRole("button", { name: "Remove from the team" }).click();
        await members.getByText(`${MATE} was removed from the team.`).waitFor();
        check((await members.getByLabel(`Role of ${MATE}`).count()) === 0, "the removed member left the list");
        await mate.goto(`${base}/projects`);
        await mate.waitForURL(/\/login/);
        const audit = await (await page.request.get(`${base}/api/account/audit?limit=50`)).json();
        const actions = audit.items.map((e) => e.action);
        for (const action of ["member.invited", "member.joined", "member.role_changed", "member.removed"]) {
          check(actions.includes(action), `${action} in the audit log: ${actions.join(", ")}`);
        }
      } finally {
        await mateContext.close();
      }
    });

    await step("cancel and delete with confirmation", async () => {
      // A second project, cancelled at once, then deleted.
      await page.getByRole("link", { name: "Projects", exact: true }).click();
      await heading("Projects").waitFor();
      await page.getByLabel("Title").fill("E2E: to cancel");
      await page.getByLabel("Script", { exact: true }).fill(SCRIPT);
      await page.getByRole("button", { name: "Create video" }).click();
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      await heading("E2E: to cancel").waitFor();
      const cancel = page.getByRole("button", { name: "Cancel rendering…" });
      if (await cancel.isVisible()) {
        await cancel.click();
        await page.getByRole("button", { name: "Cancel the video" }).click();
        // Cancelled, unless rendering finished first (then the app says so).
        await page.getByText(/This video was cancelled|has already finished/).first().waitFor();
      } else {
        log("  the project finished before it could be cancelled");
      }
      await page.getByRole("button", { name: "Delete video…" }).click();
      await page.getByRole("button", { name: "Delete the video" }).click();
      await page.waitForURL(`${base}/projects`);
      await heading("Projects").waitFor();
      await page.getByText("E2E: two scenes").waitFor();
      check((await page.getByText("E2E: to cancel").count()) === 0, "the deleted project is gone");
    });

    await step("sign out ends the session", async () => {
      await page.getByRole("link", { name: "Account", exact: true }).click();
      await heading("Account").waitFor();
      await page.getByRole("main").getByRole("button", { name: "Sign out" }).first().click();
      await page.waitForURL(`${base}/login?signed_out=1`);
      await page.getByText("You are signed out.").waitFor();
      const me = await page.request.get(`${base}/api/auth/me`);
      check(me.status() === 401, `after sign-out /api/auth/me answers ${me.status()}`);
      await page.goto(`${base}/`);
      await page.waitForURL(`${base}/login`);
    });

    await step("leave: sign in again and delete the account (type the e-mail)", async () => {
      const outbox = join(data, "outbox");
      const before = new Set(readdirSync(outbox));
      await page.getByLabel("E-mail address").fill(EMAIL);
      await page.getByRole("button", { name: "Send me a sign-in link" }).click();
      await page.getByRole("heading", { name: "Check your e-mail" }).waitFor();
      const again = await waitFor("the second sign-in e-mail", () => {
        for (const file of readdirSync(outbox).filter((f) => f.endsWith(".eml") && !before.has(f))) {
          const eml = readFileSync(join(outbox, file), "utf8");
          if ((headerOf(eml, "to") ?? "").includes(EMAIL)) return signInLink(eml);
        }
        return null;
      });
      await page.goto(again);
      await page.waitForURL(`${base}/projects`);
      await page.getByRole("link", { name: "Account", exact: true }).click();
      await heading("Account").waitFor();
      const erase = page.getByRole("button", { name: "Delete my account and all data" });
      check(await erase.isDisabled(), "delete is disabled until the e-mail is typed");
      await page.getByLabel(/Type your e-mail address/).fill("someone.else@example.com");
      check(await erase.isDisabled(), "a wrong address keeps it disabled");
      await page.getByLabel(/Type your e-mail address/).fill(EMAIL);
      await erase.click();
      await page.waitForURL(`${base}/login?deleted=1`);
      await page.getByText("Your account is being deleted").waitFor();
      const me = await page.request.get(`${base}/api/auth/me`);
      check(me.status() === 401, `after deletion /api/auth/me answers ${me.status()}`);
      await waitFor("Stripe to see the subscription cancelled", () =>
        [...stripe.state.subscriptions.values()].every((s) => s.status === "canceled"),
      );
    });

    await step("/docs renders the API reference from this origin under its CSP", async () => {
      const response = await page.goto(`${base}/docs`);
      check(/frame-ancestors 'none'/.test(response.headers()["content-security-policy"] ?? ""), "/docs has a CSP");
      await page.locator("#offline").waitFor({ state: "detached" });
      await page.getByText("Reelforge API").first().waitFor();
      await page.waitForLoadState("networkidle").catch(() => {});
      await page.screenshot({ path: join(SHOTS, "docs-desktop.png") });
    });

    await step("no console errors on any page", async () => {
      check(consoleErrors.length === 0, consoleErrors.join("\n"));
    });

    writeFileSync(join(OUT, "e2e-axe.json"), JSON.stringify(axeReport, null, 2));
    await context.close();
  } catch (err) {
    if (!results.some((r) => !r.ok)) {
      failed += 1;
      log(`FAIL ${err?.stack ?? err}`);
    }
    const tail = serverLog.join("").split("\n").slice(-60).join("\n");
    console.log(`--- server log (last lines) ---\n${tail}\n--- end of server log ---`);
  } finally {
    await browser?.close().catch(() => {});
    server.kill("SIGTERM");
    await new Promise((r) => (serverExited ? r() : server.once("exit", r)));
    await stripe.close();
    await pexels.close();
    await receiver.close();
    if (!process.env.E2E_KEEP) rmSync(data, { recursive: true, force: true });
    else log(`data kept in ${data}`);
  }

  figures.durationSeconds = ((Date.now() - started) / 1000).toFixed(1);
  writeFileSync(join(OUT, "e2e.json"), JSON.stringify({ figures, results }, null, 2));
  console.log("");
  console.log(`initial JS (gzip): ${figures.initialJsGzipKb} KB (budget 200 KB); all JS chunks: ${figures.allJsGzipKb} KB`);
  console.log(`/login first render: ${figures.loginFirstRenderColdMs ?? "?"} ms first, ${figures.loginFirstRenderMedianMs ?? "?"} ms median (budget 1000 ms)`);
  console.log(`e2e duration: ${figures.durationSeconds} s; screenshots in ${SHOTS}`);
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  console.log(`e2e: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
