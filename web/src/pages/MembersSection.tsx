import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import type { InviteView, MemberView, Role, Team } from "../api/types";
import { Confirm } from "../components/Confirm";
import { ErrorAlert } from "../components/ErrorAlert";
import { TableWrap } from "../components/TableWrap";
import { date } from "../lib/format";
import { ROLE_NAMES, roleName } from "../lib/roles";
import { Link } from "../router";

/** The roles an invitation or a role change may give (ownership is handed over with "Make owner"). */
const ASSIGNABLE: ("member" | "admin")[] = ["member", "admin"];

/** "3 of 5 seats used", or "3 seats used, unlimited". */
export function seatsText(used: number, limit: number | null): string {
  if (limit === null) return `${used} seat${used === 1 ? "" : "s"} used, unlimited`;
  return `${used} of ${limit} seat${limit === 1 ? "" : "s"} used`;
}

/** How a person asks for more seats: the owner upgrades, anyone else asks the owner. */
function MoreSeats({ owner, ownerEmail }: { owner: boolean; ownerEmail: string | undefined }) {
  if (owner) {
    return (
      <>
        <Link to="/billing">Upgrade for more seats</Link>, remove a member or revoke an invitation.
      </>
    );
  }
  return (
    <>
      Ask the team&rsquo;s owner{ownerEmail ? <> ({ownerEmail})</> : null} to upgrade, or remove a member or revoke an
      invitation.
    </>
  );
}

/** An error of the team's routes: the 402 of a full team with the way out, anything else as usual. */
function TeamError({
  error,
  owner,
  ownerEmail,
  onDismiss,
}: {
  error: unknown;
  owner: boolean;
  ownerEmail: string | undefined;
  onDismiss?: () => void;
}) {
  if (error instanceof ApiError && error.status === 402) {
    const p = error.problem;
    const counts = typeof p.seats_used === "number" && typeof p.seats_limit === "number" ? ` (${seatsText(p.seats_used, p.seats_limit)})` : "";
    return (
      <div role="alert" className="alert alert-error">
        <p>
          Every seat of your plan is taken{counts}: members and pending invitations each take one.{" "}
          <MoreSeats owner={owner} ownerEmail={ownerEmail} />
        </p>
        {onDismiss ? (
          <button type="button" className="btn-link" onClick={onDismiss}>
            Dismiss
          </button>
        ) : null}
      </div>
    );
  }
  return <ErrorAlert error={error} onDismiss={onDismiss} />;
}

/** The invitation form: e-mail and role (member to start with); the server's 422 lands by its field. */
function InviteForm({
  owner,
  ownerEmail,
  onInvited,
}: {
  owner: boolean;
  ownerEmail: string | undefined;
  onInvited: (invite: InviteView) => void;
}) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<"member" | "admin">("member");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const emailRef = useRef<HTMLInputElement>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    setError(null);
    const address = email.trim();
    const local = !address
      ? "Enter the e-mail address of the person to invite."
      : !/^[^\s@]+@[^\s@]+$/.test(address)
        ? "Enter an e-mail address, like name@example.com."
        : null;
    if (local) {
      setFields({ email: local });
      emailRef.current?.focus();
      return;
    }
    setFields({});
    setBusy(true);
    try {
      const invite = await api.account.invite({ email: address, role });
      setEmail("");
      setRole("member");
      onInvited(invite);
      emailRef.current?.focus();
    } catch (err) {
      const found =
        err instanceof ApiError && err.status === 422
          ? Object.fromEntries(
              (err.problem.errors ?? [])
                .filter((f) => f.field === "email" || f.field === "role")
                .map((f) => [f.field, `${f.message.charAt(0).toUpperCase()}${f.message.slice(1).replace(/\.$/, "")}.`]),
            )
          : {};
      setFields(found);
      if (found.email) emailRef.current?.focus();
      else if (found.role) document.getElementById("invite-role")?.focus();
      else setError(err);
    } finally {
      setBusy(false);
    }
  }

  const described = (name: string, hint?: string) =>
    [hint, fields[name] ? `invite-${name}-error` : null].filter(Boolean).join(" ") || undefined;

  return (
    <form className="form-stack invite-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="invite-heading">
      <h3 id="invite-heading">Invite someone</h3>
      <div className="invite-fields">
        <div className="field invite-email">
          <label htmlFor="invite-email">E-mail address</label>
          <input
            id="invite-email"
            ref={emailRef}
            type="email"
            autoComplete="off"
            spellCheck={false}
            value={email}
            required
            aria-required="true"
            aria-invalid={fields.email ? true : undefined}
            aria-describedby={described("email", "invite-email-hint")}
            onChange={(e) => {
              setEmail(e.target.value);
              if (fields.email) setFields(({ email: _gone, ...rest }) => rest);
            }}
          />
          <p id="invite-email-hint" className="field-hint">
            They get an e-mail with a link that joins this team; the pending invitations above show until when it works.
          </p>
          {fields.email ? (
            <p id="invite-email-error" className="field-error">
              {fields.email}
            </p>
          ) : null}
        </div>
        <div className="field invite-role">
          <label htmlFor="invite-role">Role</label>
          <select
            id="invite-role"
            value={role}
            aria-invalid={fields.role ? true : undefined}
            aria-describedby={described("role", "invite-role-hint")}
            onChange={(e) => {
              setRole(e.target.value as "member" | "admin");
              if (fields.role) setFields(({ role: _gone, ...rest }) => rest);
            }}
          >
            {ASSIGNABLE.map((r) => (
              <option key={r} value={r}>
                {ROLE_NAMES[r]}
              </option>
            ))}
          </select>
          <p id="invite-role-hint" className="field-hint">
            Admins also manage members, API keys, webhooks, templates and the brand.
          </p>
          {fields.role ? (
            <p id="invite-role-error" className="field-error">
              {fields.role}
            </p>
          ) : null}
        </div>
      </div>
      <TeamError error={error} owner={owner} ownerEmail={ownerEmail} onDismiss={() => setError(null)} />
      <div>
        {/* Not disabled while sending (that would drop the keyboard's focus): a second press is ignored. */}
        <button type="submit" className="btn btn-primary" aria-disabled={busy ? true : undefined}>
          {busy ? "Sending…" : "Send invitation"}
        </button>
      </div>
    </form>
  );
}

type Pending = { kind: "remove" | "owner"; member: MemberView };

/**
 * The team (admins and the owner): members with their roles (a role select
 * for each but the owner and yourself), Remove and, for the owner, "Make
 * owner" on admins, each after confirming; seats; pending invitations with
 * Resend and Revoke; and the invitation form.
 */
export function MembersSection({
  role,
  myId,
  teamName,
  onTeam,
  onOwnershipGiven,
}: {
  /** Your role: admin or owner (members do not see this section). */
  role: Role;
  myId: string;
  teamName: string;
  /** The team as loaded (the activity log names people with it). */
  onTeam?: (team: Team) => void;
  /** Ownership was handed over: your role changed, the session is read again. */
  onOwnershipGiven?: () => void | Promise<void>;
}) {
  const [team, setTeam] = useState<Team | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const owner = role === "owner";
  const ownerEmail = team?.members.find((m) => m.role === "owner")?.email;
  const onTeamRef = useRef(onTeam);
  useEffect(() => {
    onTeamRef.current = onTeam;
  });

  const show = useCallback((next: Team) => {
    setTeam(next);
    onTeamRef.current?.(next);
  }, []);

  const load = useCallback(async () => {
    try {
      show(await api.account.members());
      setLoadError(null);
    } catch (err) {
      setLoadError(err);
    }
  }, [show]);

  useEffect(() => {
    void load();
  }, [load]);

  /**
   * Runs a change of the team: one at a time (the buttons are disabled
   * meanwhile), its error shown, the list read again after; then `focus`
   * (by id) takes the focus, once the buttons are enabled again.
   */
  async function run(key: string, action: () => Promise<string>, focus?: string) {
    setBusy(key);
    setError(null);
    setNotice(null);
    let done = false;
    try {
      setNotice(await action());
      done = true;
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
    if (done && focus) window.setTimeout(() => document.getElementById(focus)?.focus(), 0);
  }

  const changeRole = (member: MemberView, next: Role) =>
    busy === null &&
    run(`role-${member.user_id}`, async () => {
      const updated = await api.account.changeRole(member.user_id, next);
      setTeam((t) => (t ? { ...t, members: t.members.map((m) => (m.user_id === updated.user_id ? updated : m)) } : t));
      return `${updated.email} is now ${roleName(updated.role)}.`;
    });

  const confirmed = (p: Pending) =>
    run(
      `${p.kind}-${p.member.user_id}`,
      async () => {
        if (p.kind === "remove") {
          await api.account.removeMember(p.member.user_id);
          setPending(null);
          setTeam((t) => (t ? { ...t, members: t.members.filter((m) => m.user_id !== p.member.user_id) } : t));
          return `${p.member.email} was removed from the team.`;
        }
        await api.account.changeRole(p.member.user_id, "owner");
        setPending(null);
        await onOwnershipGiven?.();
        return `${p.member.email} is now the owner, and you are an admin.`;
      },
      "members-heading",
    );

  function cancel() {
    const back = pending ? `member-${pending.member.user_id}-${pending.kind}` : null;
    setPending(null);
    if (back) window.setTimeout(() => document.getElementById(back)?.focus(), 0);
  }

  const resend = (invite: InviteView) =>
    run(`resend-${invite.id}`, async () => {
      const renewed = await api.account.resendInvite(invite.id);
      setTeam((t) => (t ? { ...t, invites: t.invites.map((i) => (i.id === renewed.id ? renewed : i)) } : t));
      return `The invitation to ${renewed.email} was sent again; its new link works until ${date(renewed.expires_at)}.`;
    }, `invite-${invite.id}-resend`);

  const revoke = (invite: InviteView) =>
    run(
      `revoke-${invite.id}`,
      async () => {
        await api.account.revokeInvite(invite.id);
        setTeam((t) => (t ? { ...t, invites: t.invites.filter((i) => i.id !== invite.id) } : t));
        return `The invitation to ${invite.email} was revoked; its link no longer works.`;
      },
      "invites-heading",
    );

  function invited(invite: InviteView) {
    setError(null);
    setTeam((t) =>
      t ? { ...t, invites: [...t.invites.filter((i) => i.id !== invite.id), invite], seats: { ...t.seats, used: t.seats.used + 1 } } : t,
    );
    setNotice(`Invitation sent to ${invite.email}. Its link works until ${date(invite.expires_at)}.`);
    void load();
  }

  const seats = team?.seats;
  const full = !!seats && seats.limit !== null && seats.used >= seats.limit;
  const admins = team?.members.some((m) => m.role === "admin" && m.user_id !== myId);

  return (
    <section className="card members-section" aria-labelledby="members-heading">
      <h2 id="members-heading" tabIndex={-1}>
        Members
      </h2>
      <p className="muted">
        Everyone here works in {teamName}. Members make projects, media and batches; admins also manage members, API
        keys, webhooks, templates and the brand; the owner also manages billing and can delete the team.
      </p>
      {seats ? (
        <p className="members-seats">
          <strong>{seatsText(seats.used, seats.limit)}</strong>{" "}
          <span className="muted small">(members and pending invitations each take a seat)</span>
        </p>
      ) : null}
      {full ? (
        <p className="alert alert-warning members-full">
          <span>
            Every seat is taken. <MoreSeats owner={owner} ownerEmail={ownerEmail} />
          </span>
        </p>
      ) : null}
      <ErrorAlert error={loadError} />
      {!team && !loadError ? <p className="muted">Loading…</p> : null}
      {team ? (
        <TableWrap label="Team members">
          {/* The explicit roles keep it a table when a phone's CSS stacks its cells. */}
          <table className="team-table" role="table">
            <thead role="rowgroup">
              <tr role="row">
                <th scope="col" role="columnheader">Member</th>
                <th scope="col" role="columnheader">Role</th>
                <th scope="col" role="columnheader">Joined</th>
                <th scope="col" role="columnheader">Invited by</th>
                <th scope="col" role="columnheader">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody role="rowgroup">
              {team.members.map((m) => {
                const you = m.user_id === myId;
                const fixed = m.role === "owner" || you;
                return (
                  <tr key={m.user_id} role="row">
                    <td role="cell" data-label="Member" className="team-email">
                      {/* One element: a phone's stacked cell is a grid of its label and this. */}
                      <span>
                        {m.email}
                        {you ? <span className="muted"> (you)</span> : null}
                      </span>
                    </td>
                    <td role="cell" data-label="Role">
                      {fixed ? (
                        <span className={`badge ${m.role === "owner" ? "badge-brand" : "badge-neutral"}`}>{ROLE_NAMES[m.role]}</span>
                      ) : (
                        // Not disabled while a change runs (a disabled control drops the keyboard's focus): a choice then is ignored.
                        <select
                          className="team-role"
                          aria-label={`Role of ${m.email}`}
                          value={m.role}
                          aria-busy={busy === `role-${m.user_id}` ? true : undefined}
                          onChange={(e) => void changeRole(m, e.target.value as Role)}
                        >
                          {ASSIGNABLE.map((r) => (
                            <option key={r} value={r}>
                              {ROLE_NAMES[r]}
                            </option>
                          ))}
                        </select>
                      )}
                    </td>
                    <td role="cell" data-label="Joined" className="nowrap">
                      {date(m.joined_at)}
                    </td>
                    <td role="cell" data-label="Invited by" className="team-email">
                      {m.invited_by ?? "—"}
                    </td>
                    <td role="cell">
                      {fixed ? null : (
                        <div className="btn-row team-actions">
                          {owner && m.role === "admin" ? (
                            <button
                              type="button"
                              id={`member-${m.user_id}-owner`}
                              className="btn btn-secondary btn-small"
                              disabled={busy !== null}
                              onClick={() => setPending({ kind: "owner", member: m })}
                              aria-label={`Make ${m.email} the owner`}
                            >
                              Make owner
                            </button>
                          ) : null}
                          <button
                            type="button"
                            id={`member-${m.user_id}-remove`}
                            className="btn btn-ghost btn-small"
                            disabled={busy !== null}
                            onClick={() => setPending({ kind: "remove", member: m })}
                            aria-label={`Remove ${m.email}`}
                          >
                            Remove
                          </button>
                        </div>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      {owner && team && !admins ? (
        <p className="muted small">To hand ownership over, make the person an admin first; “Make owner” is then offered on their row.</p>
      ) : null}
      {pending?.kind === "remove" ? (
        <Confirm
          question={`Remove ${pending.member.email} from the team?`}
          detail={`They lose access to ${teamName} at once; the projects they made stay. Their other teams are not touched.`}
          confirmLabel="Remove from the team"
          cancelLabel="Keep them"
          busy={busy !== null}
          onConfirm={() => void confirmed(pending)}
          onCancel={cancel}
        />
      ) : null}
      {pending?.kind === "owner" ? (
        <Confirm
          question={`Make ${pending.member.email} the owner?`}
          detail="They take over billing, the members and deleting the team. You become an admin, and only the new owner can hand ownership back."
          confirmLabel="Make them the owner"
          cancelLabel="Stay the owner"
          busy={busy !== null}
          onConfirm={() => void confirmed(pending)}
          onCancel={cancel}
        />
      ) : null}
      <p className="muted small members-notice" role="status">
        {notice}
      </p>
      <TeamError error={error} owner={owner} ownerEmail={ownerEmail} onDismiss={() => setError(null)} />

      {team ? (
        <>
          <h3 id="invites-heading" tabIndex={-1}>
            Pending invitations
          </h3>
          {team.invites.length === 0 ? <p className="muted">No pending invitations.</p> : null}
          {team.invites.length > 0 ? (
            <TableWrap label="Pending invitations">
              <table className="team-table" role="table">
                <thead role="rowgroup">
                  <tr role="row">
                    <th scope="col" role="columnheader">E-mail</th>
                    <th scope="col" role="columnheader">Role</th>
                    <th scope="col" role="columnheader">Sent</th>
                    <th scope="col" role="columnheader">Expires</th>
                    <th scope="col" role="columnheader">Invited by</th>
                    <th scope="col" role="columnheader">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody role="rowgroup">
                  {team.invites.map((i) => (
                    <tr key={i.id} role="row">
                      <td role="cell" data-label="E-mail" className="team-email">
                        {i.email}
                      </td>
                      <td role="cell" data-label="Role">
                        {ROLE_NAMES[i.role]}
                      </td>
                      <td role="cell" data-label="Sent" className="nowrap">
                        {date(i.created_at)}
                      </td>
                      <td role="cell" data-label="Expires">
                        <span>
                          <span className="nowrap">{date(i.expires_at)}</span>{" "}
                          {i.expired ? <span className="badge badge-warning">Expired</span> : null}
                        </span>
                      </td>
                      <td role="cell" data-label="Invited by" className="team-email">
                        {i.invited_by ?? "—"}
                      </td>
                      <td role="cell">
                        <div className="btn-row team-actions">
                          <button
                            type="button"
                            id={`invite-${i.id}-resend`}
                            className="btn btn-secondary btn-small"
                            disabled={busy !== null}
                            onClick={() => void resend(i)}
                            aria-label={`Resend the invitation to ${i.email}`}
                          >
                            {busy === `resend-${i.id}` ? "Sending…" : "Resend"}
                          </button>
                          <button
                            type="button"
                            className="btn btn-ghost btn-small"
                            disabled={busy !== null}
                            onClick={() => void revoke(i)}
                            aria-label={`Revoke the invitation to ${i.email}`}
                          >
                            Revoke
                          </button>
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          ) : null}
          <InviteForm owner={owner} ownerEmail={ownerEmail} onInvited={invited} />
        </>
      ) : null}
    </section>
  );
}
