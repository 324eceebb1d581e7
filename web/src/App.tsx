import { lazy, Suspense, useEffect, useRef } from "react";
import { AppShell } from "./components/AppShell";
import { LoginPage } from "./pages/LoginPage";
import { VerifyPage } from "./pages/VerifyPage";
import { match, navigate, useLocation, Link } from "./router";
import { isSignedInHint } from "./session";
import { useTitle } from "./lib/title";

// Signed-in pages load on demand: /login ships only what it needs.
const ProjectsPage = lazy(() => import("./pages/ProjectsPage").then((m) => ({ default: m.ProjectsPage })));
const ProjectPage = lazy(() => import("./pages/ProjectPage").then((m) => ({ default: m.ProjectPage })));
const StoryboardPage = lazy(() => import("./pages/StoryboardPage").then((m) => ({ default: m.StoryboardPage })));
const BatchesPage = lazy(() => import("./pages/BatchesPage").then((m) => ({ default: m.BatchesPage })));
const BatchPage = lazy(() => import("./pages/BatchesPage").then((m) => ({ default: m.BatchPage })));
const TemplatesPage = lazy(() => import("./pages/TemplatesPage").then((m) => ({ default: m.TemplatesPage })));
const MediaPage = lazy(() => import("./pages/MediaPage").then((m) => ({ default: m.MediaPage })));
const BillingPage = lazy(() => import("./pages/BillingPage").then((m) => ({ default: m.BillingPage })));
const AccountPage = lazy(() => import("./pages/AccountPage").then((m) => ({ default: m.AccountPage })));

function Home() {
  useEffect(() => {
    navigate(isSignedInHint() ? "/projects" : "/login", { replace: true });
  }, []);
  return null;
}

function NotFound() {
  useTitle("Not found");
  return (
    <main id="main" className="page" tabIndex={-1}>
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <Link to="/">Go to Reelforge</Link>
    </main>
  );
}

function Loading() {
  return (
    <p className="loading" role="status">
      Loading…
    </p>
  );
}

function useFocusOnNavigation(pathname: string) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    // Move focus to the new page's heading so screen readers announce it.
    const t = window.setTimeout(() => {
      const target = document.querySelector<HTMLElement>("main h1") ?? document.getElementById("main");
      if (target && !target.contains(document.activeElement)) {
        if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
        target.focus({ preventScroll: true });
      }
    }, 50);
    return () => window.clearTimeout(t);
  }, [pathname]);
}

export function App() {
  const { pathname } = useLocation();
  useFocusOnNavigation(pathname);

  if (pathname === "/") return <Home />;
  if (match("/login", pathname)) return <LoginPage />;
  if (match("/auth/verify", pathname)) return <VerifyPage />;

  let page: React.ReactNode = null;
  const project = match("/projects/:id", pathname);
  const storyboard = match("/projects/:id/storyboard", pathname);
  if (match("/projects", pathname)) page = <ProjectsPage />;
  else if (project) page = <ProjectPage key={project.id} id={project.id as string} />;
  else if (storyboard) page = <StoryboardPage key={storyboard.id} id={storyboard.id as string} />;
  else if (match("/batches", pathname)) page = <BatchesPage />;
  else if (match("/batches/:id", pathname)) {
    const id = match("/batches/:id", pathname)?.id as string;
    page = <BatchPage key={id} id={id} />;
  } else if (match("/media", pathname)) page = <MediaPage />;
  else if (match("/templates", pathname)) page = <TemplatesPage />;
  else if (match("/billing", pathname)) page = <BillingPage />;
  else if (match("/account", pathname)) page = <AccountPage />;
  if (!page) return <NotFound />;

  return (
    <AppShell>
      <Suspense fallback={<Loading />}>{page}</Suspense>
    </AppShell>
  );
}
