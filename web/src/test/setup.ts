import { cleanup, configure } from "@testing-library/react";
import { afterEach, beforeEach, vi } from "vitest";

// CI shares two cores with a Rust build: give findBy/waitFor 5 s, not 1 s, before
// they call a missing element missing. A test still fails when it never appears.
configure({ asyncUtilTimeout: 5000 });

// jsdom has no layout: these are no-ops there.
window.scrollTo = () => {};
Element.prototype.scrollIntoView = () => {};

beforeEach(() => {
  window.localStorage.clear();
  window.sessionStorage.clear();
  window.history.replaceState(null, "", "/");
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});
