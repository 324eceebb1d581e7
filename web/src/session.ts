// Whether this browser believes it is signed in. The auth cookies are
// HttpOnly, so the app keeps a hint: set when a link is verified, cleared on
// sign-out or when a refresh is refused. It only chooses where `/` goes and
// spares a signed-out visitor a pointless 401; the server decides the rest.

const HINT = "rf_signed_in";
const LAST_EMAIL = "rf_last_email";

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function isSignedInHint(): boolean {
  return storage()?.getItem(HINT) === "1";
}

export function setSignedInHint(on: boolean) {
  const s = storage();
  if (!s) return;
  if (on) s.setItem(HINT, "1");
  else s.removeItem(HINT);
}

export function lastEmail(): string {
  return storage()?.getItem(LAST_EMAIL) ?? "";
}

export function rememberEmail(email: string) {
  storage()?.setItem(LAST_EMAIL, email);
}
