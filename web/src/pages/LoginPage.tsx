import { useEffect, useRef, useState, type FormEvent } from "react";
import { api } from "../api";
import { Brand } from "../components/AppShell";
import { ErrorAlert, AlertMessage } from "../components/ErrorAlert";
import { navigate, useLocation } from "../router";
import { isSignedInHint, lastEmail, rememberEmail } from "../session";
import { useTitle } from "../lib/title";
import "./LoginPage.css";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The e-mail form: used here and on the verify page to send a new link. */
export function SendLinkForm({ submitLabel = "Send me a sign-in link", autoFocus = false }: { submitLabel?: string; autoFocus?: boolean }) {
  const [email, setEmail] = useState(lastEmail());
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const sentRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    if (sentTo) sentRef.current?.focus();
  }, [sentTo]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const address = email.trim();
    setError(null);
    if (!EMAIL.test(address)) {
      setInvalid("Enter your e-mail address, like name@example.com.");
      return;
    }
    setInvalid(null);
    setLoading(true);
    try {
      await api.auth.requestLink(address);
      rememberEmail(address);
      setSentTo(address);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  }

  if (sentTo) {
    return (
      <div className="login-sent" data-testid="link-sent">
        <div className="login-sent-icon" aria-hidden="true">
          ✉
        </div>
        <h2 ref={sentRef} tabIndex={-1}>
          Check your e-mail
        </h2>
        <p role="status">
          If <strong>{sentTo}</strong> can sign in, a link is on its way. Open it on this device to sign in. It works
          once, for 15 minutes.
        </p>
        <p className="muted small">No e-mail after a minute? Look in your spam folder, or send another link.</p>
        <div className="btn-row">
          <button type="button" className="btn btn-secondary" onClick={() => setSentTo(null)}>
            Use a different address or send again
          </button>
        </div>
      </div>
    );
  }

  return (
    <form onSubmit={(e) => void submit(e)} noValidate className="login-form" aria-describedby="login-help">
      <div className="field">
        <label htmlFor="login-email">E-mail address</label>
        <input
          id="login-email"
          type="email"
          name="email"
          autoComplete="email"
          inputMode="email"
          required
          aria-required="true"
          aria-invalid={invalid ? true : undefined}
          aria-describedby={invalid ? "login-email-error" : undefined}
          value={email}
          autoFocus={autoFocus}
          onChange={(e) => setEmail(e.target.value)}
        />
        {invalid ? (
          <p id="login-email-error" className="field-error" role="alert">
            {invalid}
          </p>
        ) : null}
      </div>
      <ErrorAlert error={error} context="login" />
      <button type="submit" className="btn btn-primary login-submit" disabled={loading}>
        {loading ? (
          <>
            <span className="spinner" aria-hidden="true" /> Sending…
          </>
        ) : (
          submitLabel
        )}
      </button>
      <p id="login-help" className="muted small login-help">
        No password needed: we e-mail you a link that signs you in.
      </p>
    </form>
  );
}

export function LoginPage() {
  useTitle("Sign in");
  const { search } = useLocation();
  const expired = search.get("expired") === "1";
  const signedOut = search.get("signed_out") === "1";
  const deleted = search.get("deleted") === "1";

  useEffect(() => {
    if (isSignedInHint() && !expired) navigate("/projects", { replace: true });
  }, [expired]);

  return (
    <div className="login-page">
      <div className="login-grid">
        <section className="login-pitch" aria-labelledby="pitch-heading">
          <Brand to="/login" />
          <h2 id="pitch-heading">From script to narrated video in minutes.</h2>
          <ul>
            <li>Paste a script: every paragraph becomes a scene.</li>
            <li>Pictures, narration and captions are made for you.</li>
            <li>Watch it render live, then download the MP4.</li>
          </ul>
        </section>
        <main id="main" className="login-card" tabIndex={-1}>
          <h1>Sign in to Reelforge</h1>
          {expired ? (
            <AlertMessage tone="warning">
              <p>Your session has ended. Sign in again to continue.</p>
            </AlertMessage>
          ) : null}
          {signedOut ? (
            <div className="alert alert-success" role="status">
              <p>You are signed out.</p>
            </div>
          ) : null}
          {deleted ? (
            <div className="alert alert-success" role="status">
              <p>Your account is being deleted. All your data will be erased.</p>
            </div>
          ) : null}
          <SendLinkForm autoFocus={!expired} />
        </main>
      </div>
    </div>
  );
}
