import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api } from "../api";
import type { Me } from "../api/types";
import { Link, navigate, useLocation } from "../router";
import { setSignedInHint } from "../session";
import { UsageBanner } from "./UsageBanner";
import "./AppShell.css";

interface SessionValue {
  me: Me | null;
  reload: () => Promise<void>;
}

const SessionContext = createContext<SessionValue>({ me: null, reload: async () => {} });

export function useSession() {
  return useContext(SessionContext);
}

export async function signOut() {
  try {
    await api.auth.logout();
  } catch {
    // Signed out on this side whatever the server said.
  }
  setSignedInHint(false);
  navigate("/login?signed_out=1", { replace: true });
}

const NAV = [
  { to: "/projects", label: "Projects" },
  { to: "/batches", label: "Batches" },
  { to: "/media", label: "Media" },
  { to: "/templates", label: "Templates" },
  { to: "/billing", label: "Billing" },
  { to: "/account", label: "Account" },
];

export function Brand({ to = "/" }: { to?: string }) {
  return (
    <Link to={to} className="brand">
      <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
        <rect x="2" y="6" width="28" height="20" rx="5" fill="#fff" fillOpacity="0.18" stroke="#fff" strokeWidth="2" />
        <path d="M13 11.5v9l8-4.5z" fill="#fff" />
      </svg>
      <span>Reelforge</span>
    </Link>
  );
}

/** The frame of every signed-in page: header, navigation, usage banner. */
export function AppShell({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const { pathname } = useLocation();
  const reload = useCallback(async () => {
    try {
      setMe(await api.auth.me());
      setSignedInHint(true);
    } catch {
      // A 401 already sent the person to /login.
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  return (
    <SessionContext.Provider value={{ me, reload }}>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="app-header">
        <div className="app-header-inner">
          <Brand to="/projects" />
          <nav aria-label="Main">
            <ul className="app-nav">
              {NAV.map((item) => (
                <li key={item.to}>
                  <Link
                    to={item.to}
                    className={pathname === item.to || pathname.startsWith(`${item.to}/`) ? "nav-active" : undefined}
                  >
                    {item.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <div className="app-user">
            {me?.user ? (
              <span className="app-email" title={me.user.email}>
                {me.user.email}
              </span>
            ) : null}
            <button type="button" className="btn btn-small app-signout" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <div className="app-usage">
        <UsageBanner />
      </div>
      <main id="main" tabIndex={-1} className="page">
        {children}
      </main>
    </SessionContext.Provider>
  );
}
