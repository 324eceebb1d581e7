/** Leaves the app for another site (Stripe Checkout or the portal). */
export function redirectTo(url: string) {
  window.location.assign(url);
}
