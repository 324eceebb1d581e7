// A Stripe stand-in on loopback that speaks Stripe's wire format, as the
// server's client (src/billing/stripe.rs) uses it: form-encoded POSTs with a
// bearer key and an Idempotency-Key, JSON objects back, Stripe-style error
// bodies. Its Checkout page plays the customer: "Pay" creates an active
// subscription, delivers a signed `checkout.session.completed` webhook to the
// server (Stripe-Signature: t=..,v1=HMAC-SHA256(secret, "t.payload")), then
// redirects the browser to the session's success_url, as Stripe does.

import { createHmac } from "node:crypto";
import { createServer } from "node:http";

export function sign(payload, secret, timestamp = Math.floor(Date.now() / 1000)) {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${payload}`).digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Starts the stand-in. `webhookUrl` is where events go (the server's
 * /api/billing/webhook); it can be set later with `setWebhookUrl`.
 */
export async function startStripe({ apiKey, webhookSecret, webhookUrl = null, log = () => {} }) {
  const state = {
    webhookUrl,
    customers: new Map(), // idempotency key -> id
    sessions: new Map(),
    subscriptions: new Map(),
    requests: [],
    webhooks: [],
    counter: 0,
  };
  const next = (prefix) => `${prefix}_test${String(++state.counter).padStart(6, "0")}`;
  let base = "";

  const json = (res, status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const stripeError = (res, status, message, type = "invalid_request_error") => json(res, status, { error: { message, type } });
  const html = (res, body, status = 200) => {
    res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
    res.end(body);
  };

  async function deliver(type, object) {
    const event = {
      id: next("evt"),
      object: "event",
      api_version: "2025-01-27.acacia",
      created: Math.floor(Date.now() / 1000),
      type,
      data: { object },
      livemode: false,
    };
    const payload = JSON.stringify(event);
    const response = await fetch(state.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": sign(payload, webhookSecret) },
      body: payload,
    });
    const text = await response.text();
    state.webhooks.push({ type, status: response.status, body: text });
    log(`webhook ${type} -> ${response.status} ${text}`);
    if (!response.ok) throw new Error(`the server refused webhook ${type}: ${response.status} ${text}`);
  }

  const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>body{font-family:system-ui,sans-serif;margin:0;background:#f6f9fc;color:#1a1f36}
main{max-width:440px;margin:48px auto;background:#fff;border-radius:12px;padding:28px;box-shadow:0 8px 24px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin-top:0}button,a.btn{display:inline-block;background:#4f46e5;color:#fff;border:0;border-radius:8px;padding:12px 18px;font-size:1rem;cursor:pointer;text-decoration:none}
a{color:#3730a3}.note{color:#4a5568;font-size:.9rem}</style></head><body><main>${body}</main></body></html>`;

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", base || "http://127.0.0.1");
      const path = url.pathname;
      if (path === "/favicon.ico") {
        res.writeHead(204);
        res.end();
        return;
      }

      // The browser-facing pages (no API key).
      let m;
      if (req.method === "GET" && (m = path.match(/^\/checkout\/(cs_\w+)$/))) {
        const session = state.sessions.get(m[1]);
        if (!session) return html(res, page("Not found", "<h1>No such checkout session</h1>"), 404);
        return html(
          res,
          page(
            "Stripe test checkout",
            `<h1>Reelforge subscription</h1><p>Plan price <code>${escapeHtml(session.price)}</code>, billed monthly.</p>
<p class="note">Stripe stand-in for tests: no card is charged.</p>
<form method="post" action="/checkout/${session.id}/pay"><button type="submit">Pay and subscribe</button></form>
<p><a href="${escapeHtml(session.cancel_url)}">Cancel and go back</a></p>`,
          ),
        );
      }
      if (req.method === "POST" && (m = path.match(/^\/checkout\/(cs_\w+)\/pay$/))) {
        const session = state.sessions.get(m[1]);
        if (!session) return html(res, page("Not found", "<h1>No such checkout session</h1>"), 404);
        if (!session.subscription) {
          const now = Math.floor(Date.now() / 1000);
          const subscription = {
            id: next("sub"),
            object: "subscription",
            status: "active",
            customer: session.customer,
            cancel_at_period_end: false,
            current_period_end: now + 30 * 86400,
            metadata: { ...session.subscription_metadata },
            items: {
              object: "list",
              data: [{ id: next("si"), object: "subscription_item", price: { id: session.price, object: "price" }, current_period_end: now + 30 * 86400 }],
            },
          };
          state.subscriptions.set(subscription.id, subscription);
          session.subscription = subscription.id;
          session.status = "complete";
          await deliver("checkout.session.completed", {
            id: session.id,
            object: "checkout.session",
            mode: "subscription",
            status: "complete",
            payment_status: "paid",
            customer: session.customer,
            subscription: subscription.id,
            client_reference_id: session.client_reference_id,
            metadata: session.metadata,
          });
          await deliver("customer.subscription.created", subscription);
        }
        res.writeHead(303, { location: session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id) });
        res.end();
        return;
      }
      if (req.method === "GET" && (m = path.match(/^\/portal\/(bps_\w+)$/))) {
        const portal = state.sessions.get(m[1]);
        if (!portal) return html(res, page("Not found", "<h1>No such portal session</h1>"), 404);
        return html(
          res,
          page("Stripe test portal", `<h1>Billing portal</h1><p>Customer <code>${escapeHtml(portal.customer)}</code>.</p>
<p><a class="btn" href="${escapeHtml(portal.return_url)}">Return to Reelforge</a></p>`),
        );
      }

      // The API (bearer key required, as Stripe's).
      if (!path.startsWith("/v1/")) return stripeError(res, 404, `Unrecognized request URL (${req.method}: ${path})`);
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        return stripeError(res, 401, "Invalid API Key provided", "authentication_error");
      }
      const raw = req.method === "POST" ? await readBody(req) : "";
      const form = Object.fromEntries(new URLSearchParams(raw));
      const idempotencyKey = req.headers["idempotency-key"] ?? null;
      state.requests.push({ method: req.method, path, form, idempotencyKey });
      if (req.method === "POST" && raw && !String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded")) {
        return stripeError(res, 400, "Stripe expects form-encoded bodies");
      }

      if (req.method === "POST" && path === "/v1/customers") {
        const key = idempotencyKey ?? next("key");
        if (!state.customers.has(key)) state.customers.set(key, next("cus"));
        return json(res, 200, { id: state.customers.get(key), object: "customer", email: form.email ?? null, metadata: { tenant_id: form["metadata[tenant_id]"] } });
      }
      if (req.method === "POST" && path === "/v1/checkout/sessions") {
        for (const field of ["mode", "customer", "line_items[0][price]", "success_url", "cancel_url"]) {
          if (!form[field]) return stripeError(res, 400, `Missing required param: ${field}.`);
        }
        const id = next("cs");
        state.sessions.set(id, {
          id,
          customer: form.customer,
          price: form["line_items[0][price]"],
          client_reference_id: form.client_reference_id ?? null,
          metadata: { tenant_id: form["metadata[tenant_id]"] },
          subscription_metadata: { tenant_id: form["subscription_data[metadata][tenant_id]"] },
          success_url: form.success_url,
          cancel_url: form.cancel_url,
          status: "open",
          subscription: null,
        });
        return json(res, 200, { id, object: "checkout.session", mode: form.mode, status: "open", url: `${base}/checkout/${id}` });
      }
      if (req.method === "POST" && path === "/v1/billing_portal/sessions") {
        if (!form.customer) return stripeError(res, 400, "Missing required param: customer.");
        const id = next("bps");
        state.sessions.set(id, { id, customer: form.customer, return_url: form.return_url ?? base });
        return json(res, 200, { id, object: "billing_portal.session", url: `${base}/portal/${id}` });
      }
      if (req.method === "GET" && path === "/v1/subscriptions") {
        const customer = url.searchParams.get("customer");
        const data = [...state.subscriptions.values()].filter((s) => !customer || s.customer === customer);
        return json(res, 200, { object: "list", data, has_more: false, url: "/v1/subscriptions" });
      }
      if ((m = path.match(/^\/v1\/subscriptions\/(\w+)$/))) {
        const subscription = state.subscriptions.get(m[1]);
        if (!subscription) return stripeError(res, 404, `No such subscription: '${m[1]}'`);
        if (req.method === "GET") return json(res, 200, subscription);
        if (req.method === "DELETE") {
          subscription.status = "canceled";
          return json(res, 200, subscription);
        }
      }
      return stripeError(res, 404, `Unrecognized request URL (${req.method}: ${path})`);
    } catch (err) {
      log(`stand-in error: ${err?.stack ?? err}`);
      if (!res.headersSent) stripeError(res, 500, String(err?.message ?? err), "api_error");
      else res.end();
    }
  });

  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  base = `http://127.0.0.1:${port}`;
  return {
    base,
    state,
    setWebhookUrl(url) {
      state.webhookUrl = url;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
