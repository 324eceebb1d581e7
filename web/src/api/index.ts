// The app's client instance: a refused refresh means the session is over.

import { createClient } from "./client";
import { navigate } from "../router";
import { setSignedInHint } from "../session";

export const api = createClient({
  onSignedOut: () => {
    setSignedInHint(false);
    if (window.location.pathname !== "/login") navigate("/login?expired=1", { replace: true });
  },
});

export { ApiError, NetworkError } from "./client";
export type * from "./types";
