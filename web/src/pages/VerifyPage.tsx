import { useEffect, useState } from "react";
import { api, ApiError } from "../api";
import type { TokenResponse } from "../api/types";
import { Brand } from "../components/AppShell";
import { navigate } from "../router";
import { rememberEmail, setSignedInHint } from "../session";
import { useTitle } from "../lib/title";
import { SendLinkForm } from "./LoginPage";
import "./LoginPage.css";

// A token is spent by its first use, so one verify call per token even when
// React runs the effect twice.
const attempts = new Map<string, Promise<TokenResponse>>();

function verifyOnce(token: string): Promise<TokenResponse> {
  let attempt = attempts.get(token);
  if (!attempt) {
    attempt = api.auth.verify(token);
    attempts.set(token, attempt);
  }
  return attempt;
}

/** `full`: an invitation to a team whose seats are all taken (nothing changed; the link still works). */
type State = { kind: "checking" } | { kind: "invalid" } | { kind: "missing" } | { kind: "offline" } | { kind: "full" } | { kind: "done" };

export function VerifyPage() {
  useTitle("Signing in");
  const [token] = useState(() => new URLSearchParams(window.location.search).get("token")?.trim() ?? "");
  const [state, setState] = useState<State>(token ? { kind: "checking" } : { kind: "missing" });

  useEffect(() => {
    // Keep the token out of the history and of any Referer.
    if (window.location.search) window.history.replaceState(null, "", "/auth/verify");
    if (!token) return;
    let alive = true;
    verifyOnce(token)
      .then((session) => {
        setSignedInHint(true);
        rememberEmail(session.user.email);
        if (alive) {
          setState({ kind: "done" });
          navigate("/projects", { replace: true });
        }
      })
      .catch((err: unknown) => {
        if (!alive) return;
        if (err instanceof ApiError && err.status === 402) setState({ kind: "full" });
        else if (err instanceof ApiError && err.status !== 0 && err.status < 500) setState({ kind: "invalid" });
        else setState({ kind: "offline" });
      });
    return () => {
      alive = false;
    };
  }, [token]);

  return (
    <div className="login-page">
      <main id="main" className="login-card verify-card" tabIndex={-1}>
        <div className="verify-brand">
          <Brand to="/login" />
        </div>
        {state.kind === "checking" || state.kind === "done" ? (
          <>
            <h1>Signing you in…</h1>
            <p role="status">
              <span className="spinner" aria-hidden="true" /> Checking your link.
            </p>
          </>
        ) : null}
        {state.kind === "invalid" || state.kind === "missing" ? (
          <>
            <h1>This link can’t be used</h1>
            <div role="alert" className="alert alert-error">
              <p>
                {state.kind === "missing"
                  ? "The link is incomplete. Open the whole link from the e-mail, or ask for a new one."
                  : "This sign-in link has expired or was already used. Each link works once, for 15 minutes; an expired invitation can be sent again by whoever invited you."}
              </p>
            </div>
            <p>Send yourself a new link:</p>
            <SendLinkForm submitLabel="Send me a new link" />
          </>
        ) : null}
        {state.kind === "full" ? (
          <>
            <h1>The team has no free seat</h1>
            <div role="alert" className="alert alert-warning">
              <p>
                Every seat of the team that invited you is taken, so you have not joined it yet. Your invitation still
                works: open its link again once a seat is free (ask whoever invited you).
              </p>
            </div>
          </>
        ) : null}
        {state.kind === "offline" ? (
          <>
            <h1>We couldn’t sign you in</h1>
            <div role="alert" className="alert alert-error">
              <p>Reelforge could not be reached. Check your connection, then reload this page.</p>
            </div>
          </>
        ) : null}
      </main>
    </div>
  );
}
