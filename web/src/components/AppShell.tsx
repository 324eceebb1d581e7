import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, ApiError } from "../api";
import type { Me, Role, TenantMembership } from "../api/types";
import { redirectTo } from "../lib/redirect";
import { ROLE_NAMES } from "../lib/roles";
import { Link, navigate, useLocation } from "../router";
import { setSignedInHint } from "../session";
import { AlertMessage, ErrorAlert } from "./ErrorAlert";
import { MenuButton } from "./MenuButton";
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

/** The person's role in this tenant; null until `me` is loaded. */
export function useRole(): Role | null {
  return useContext(SessionContext).me?.user?.role ?? null;
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

/** `owner`: shown only to the owner, once the role is known to be another (hidden at once would shift the header for most people, who are owners). */
const NAV: { to: string; label: string; owner?: true }[] = [
  { to: "/projects", label: "Projects" },
  { to: "/batches", label: "Batches" },
  { to: "/media", label: "Media" },
  { to: "/templates", label: "Templates" },
  { to: "/billing", label: "Billing", owner: true },
  { to: "/account", label: "Account" },
];

/** What the session of another tenant's page may have left in this tab. */
const TENANT_STORAGE = ["rf_export_id"];

/**
 * The tenants the person belongs to, the current one marked: choosing one
 * opens it. The app is then loaded afresh at /projects (a full page load):
 * every page, the banner and any live stream hold the old tenant's data,
 * and a new document is the one way to be sure none of it survives.
 */
function TenantSwitcher({ me, onError }: { me: Me; onError: (error: unknown) => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const current = me.tenant;

  async function open(tenant: TenantMembership) {
    if (tenant.id === current.id || busy) return;
    setBusy(tenant.id);
    onError(null);
    try {
      await api.auth.switchTenant(tenant.id);
      for (const key of TENANT_STORAGE) window.sessionStorage.removeItem(key);
      setSignedInHint(true);
      redirectTo("/projects");
    } catch (err) {
      onError(err);
      setBusy(null);
    }
  }

  const going = me.tenants.find((t) => t.id === busy);
  return (
    <MenuButton
      className="btn btn-small app-team-button"
      label={
        going ? (
          <span className="app-team-name">Opening {going.name}…</span>
        ) : (
          <>
            <span className="sr-only">Team: </span>
            <span className="app-team-name">{current.name}</span>
          </>
        )
      }
      disabled={busy !== null}
      items={me.tenants.map((t) => ({
        id: t.id,
        label: `${t.name} · ${ROLE_NAMES[t.role]}`,
        current: t.id === current.id,
        onSelect: () => void open(t),
      }))}
    />
  );
}

/** A refused switch, under the header. */
function SwitchError({ error, onDismiss }: { error: unknown; onDismiss: () => void }) {
  if (!error) return null;
  return (
    <div className="app-notice">
      {error instanceof ApiError && error.status === 404 ? (
        <AlertMessage>
          <p>You are no longer a member of that team. Reload the page to see your teams.</p>
        </AlertMessage>
      ) : (
        <ErrorAlert error={error} onDismiss={onDismiss} />
      )}
    </div>
  );
}

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
  const [switchError, setSwitchError] = useState<unknown>(null);
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
              {NAV.filter((item) => !item.owner || !me?.user || me.user.role === "owner").map((item) => (
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
            {/* `tenants` is missing from an older server's answer. */}
            {me && (me.tenants?.length ?? 0) > 1 ? (
              <TenantSwitcher me={me} onError={setSwitchError} />
            ) : me ? (
              <span className="app-tenant" title={`Team: ${me.tenant.name}`}>
                <span className="sr-only">Team: </span>
                {me.tenant.name}
              </span>
            ) : null}
            <button type="button" className="btn btn-small app-signout" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <SwitchError error={switchError} onDismiss={() => setSwitchError(null)} />
      <div className="app-usage">
        <UsageBanner reader={!me?.user ? "unknown" : me.user.role === "owner" ? "owner" : "other"} />
      </div>
      <main id="main" tabIndex={-1} className="page">
        {children}
      </main>
    </SessionContext.Provider>
  );
}
