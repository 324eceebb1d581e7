import { Link } from "../router";
import { explain } from "../lib/problems";

type Context = Parameters<typeof explain>[1];

/** An error as a plain sentence in a `role="alert"` region (null when none). */
export function ErrorAlert({ error, context, onDismiss }: { error: unknown; context?: Context; onDismiss?: () => void }) {
  if (!error) return null;
  const { message, action } = explain(error, context);
  return (
    <div role="alert" className="alert alert-error">
      <p>
        {message}
        {action ? (
          <>
            {" "}
            <Link to={action.href}>{action.label}</Link>
          </>
        ) : null}
      </p>
      {onDismiss ? (
        <button type="button" className="btn-link" onClick={onDismiss}>
          Dismiss
        </button>
      ) : null}
    </div>
  );
}

/** A plain message in a `role="alert"` region. */
export function AlertMessage({ children, tone = "error" }: { children: React.ReactNode; tone?: "error" | "warning" }) {
  return (
    <div role="alert" className={`alert alert-${tone}`}>
      {children}
    </div>
  );
}
