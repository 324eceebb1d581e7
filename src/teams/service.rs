//! The rules of membership: invitations and seats, roles, one owner and its
//! handover, removal. Every change is written with its audit record in one
//! transaction, under the tenant's lock (so two invitations cannot both take
//! the last seat, and two handovers cannot both succeed).

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, json};

use crate::account::audit::{self, AuditEvent};
use crate::auth::AuthContext;
use crate::billing::Plan;
use crate::config::Config;
use crate::crypto::{hash_token, random_token};
use crate::db::{Tx, now_ms, rfc3339};
use crate::domain::{Email, InviteId, TenantId, UserId};
use crate::error::{AppError, AppResult};
use crate::mail::{OutgoingMail, html_escape};
use crate::state::AppState;
use crate::teams::Role;
use crate::teams::store::{self, InviteRow, MemberRow};

/// A member as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    /// RFC 3339.
    pub joined_at: String,
    /// Who invited them (absent for the tenant's first owner, or a former member).
    pub invited_by: Option<String>,
}

impl From<MemberRow> for MemberView {
    fn from(row: MemberRow) -> Self {
        MemberView {
            role: row.role(),
            user_id: row.user_id,
            email: row.email,
            joined_at: rfc3339(row.joined_at),
            invited_by: row.invited_by_email,
        }
    }
}

/// An invitation not yet accepted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InviteView {
    #[schema(value_type = String)]
    pub id: InviteId,
    pub email: String,
    pub role: Role,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: the link works until then (resending starts a new period).
    pub expires_at: String,
    /// The link no longer works; resend to send a new one.
    pub expired: bool,
    pub invited_by: Option<String>,
}

impl InviteView {
    fn of(row: InviteRow, now: i64) -> InviteView {
        InviteView {
            role: Role::from_column(&row.role),
            expired: row.expires_at <= now,
            id: row.id,
            email: row.email,
            created_at: rfc3339(row.created_at),
            expires_at: rfc3339(row.expires_at),
            invited_by: row.invited_by_email,
        }
    }
}

/// Seats: members and pending invitations, against the plan's limit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Seats {
    pub used: i64,
    /// `null`: unlimited (Enterprise).
    pub limit: Option<u64>,
}

/// The tenant's team.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Team {
    /// The owner first, then by when they joined.
    pub members: Vec<MemberView>,
    /// Invitations not accepted or revoked, oldest first (expired ones too, to resend).
    pub invites: Vec<InviteView>,
    pub seats: Seats,
}

/// The members, open invitations and seats of a tenant.
pub async fn team(state: &AppState, tenant_id: &TenantId) -> AppResult<Team> {
    let now = now_ms();
    let plan = store::plan_of(&state.db, tenant_id).await?.ok_or(AppError::Unauthorized)?;
    let plan = plan.parse().unwrap_or(Plan::Free);
    let members: Vec<MemberView> = store::members(&state.db, tenant_id).await?.into_iter().map(Into::into).collect();
    let invites: Vec<InviteView> =
        store::open_invites(&state.db, tenant_id).await?.into_iter().map(|row| InviteView::of(row, now)).collect();
    let pending = invites.iter().filter(|invite| !invite.expired).count();
    let used = i64::try_from(members.len() + pending).unwrap_or(i64::MAX);
    Ok(Team { members, invites, seats: Seats { used, limit: state.config.usage.seats(plan) } })
}

/// Who is changing the team: the signed-in person and their role, read again
/// inside the transaction (a role changed a moment ago counts), an admin or the owner.
struct Actor {
    user_id: UserId,
    email: String,
    role: Role,
}

async fn actor(tx: &mut Tx, auth: &AuthContext) -> AppResult<Actor> {
    let user_id = auth.user_id.clone().ok_or_else(crate::auth::scopes::session_required)?;
    let row = store::member(tx, &auth.tenant_id, &user_id).await?.ok_or(AppError::Unauthorized)?;
    if row.role() < Role::Admin {
        return Err(crate::auth::scopes::role_required(Role::Admin));
    }
    Ok(Actor { role: row.role(), user_id, email: row.email })
}

/// Locks the tenant for the rest of `tx` and returns its plan.
async fn lock(tx: &mut Tx, tenant_id: &TenantId) -> AppResult<Plan> {
    let plan = tx.lock_tenant(tenant_id.as_str()).await?.ok_or(AppError::Unauthorized)?;
    Ok(plan.parse().unwrap_or(Plan::Free))
}

/// The 402 of a full team (an invitation, or an invitation's link opened when no seat is free).
pub fn seats_full(config: &Config, plan: Plan, used: i64, limit: u64) -> AppError {
    let mut extensions = Map::new();
    extensions.insert("seats_used".into(), json!(used));
    extensions.insert("seats_limit".into(), json!(limit));
    extensions.insert("upgrade_url".into(), json!(crate::billing::upgrade_url(config)));
    let seats = if limit == 1 { "its 1 seat".to_string() } else { format!("all {limit} seats") };
    AppError::PaymentRequired {
        detail: format!(
            "this team uses {seats} of the {} plan (members and pending invitations); upgrade, remove a member or revoke an invitation",
            plan.as_str()
        ),
        extensions,
    }
}

/// Refuses when `taken` seats leave none free on `plan`.
fn check_seat(config: &Config, plan: Plan, taken: i64) -> AppResult<()> {
    match config.usage.seats(plan) {
        Some(limit) if taken >= i64::try_from(limit).unwrap_or(i64::MAX) => Err(seats_full(config, plan, taken, limit)),
        _ => Ok(()),
    }
}

fn audit_event<'a>(
    action: &'a str,
    auth: &'a AuthContext,
    actor: &'a Actor,
    ip: IpAddr,
    detail: serde_json::Value,
) -> AuditEvent<'a> {
    AuditEvent {
        action,
        tenant_id: Some(&auth.tenant_id),
        user_id: Some(&actor.user_id),
        actor: "user",
        ip: Some(ip),
        detail,
    }
}

/// Invites `email` as `role` (admin or member): mails a single-use link that
/// joins the tenant when opened. The invitation holds a seat until it expires.
pub async fn invite(
    state: &AppState,
    auth: &AuthContext,
    email: &Email,
    role: Role,
    ip: IpAddr,
) -> AppResult<InviteView> {
    if role == Role::Owner {
        return Err(AppError::invalid(
            "role",
            "invite as admin or member; the owner hands ownership to an admin with PATCH /api/account/members/{user_id}",
        ));
    }
    let now = now_ms();
    let expires_at = now + invite_ttl_ms(&state.config);
    let token = random_token();
    let id = InviteId::generate();
    let mut tx = state.db.begin_write().await?;
    let plan = lock(&mut tx, &auth.tenant_id).await?;
    let actor = actor(&mut tx, auth).await?;
    if store::is_member_email(&mut tx, &auth.tenant_id, email.as_str()).await? {
        return Err(AppError::Conflict(format!("{email} is already a member of this team")));
    }
    if let Some(existing) = store::open_invite_for(&mut tx, &auth.tenant_id, email.as_str()).await? {
        let mut extensions = Map::new();
        extensions.insert("invite_id".into(), json!(existing));
        return Err(AppError::Problem {
            status: axum::http::StatusCode::CONFLICT,
            title: "Conflict".into(),
            detail: format!("{email} has an invitation already: resend it or revoke it"),
            extensions,
        });
    }
    check_seat(&state.config, plan, store::seats_taken(&mut tx, &auth.tenant_id, true, now).await?)?;
    store::insert_invite(
        &mut tx,
        &store::NewInvite {
            id: &id,
            tenant_id: &auth.tenant_id,
            email: email.as_str(),
            role,
            invited_by: &actor.user_id,
            now,
            expires_at,
        },
    )
    .await?;
    store::replace_invite_link(&mut tx, &id, email.as_str(), &hash_token(&token), now, expires_at).await?;
    audit::record_tx(
        &mut tx,
        audit_event("member.invited", auth, &actor, ip, json!({"email": email.as_str(), "role": role})),
    )
    .await?;
    tx.commit().await?;
    state.send_mail_later(invite_mail(state, email, &actor.email, &auth.principal.tenant.name, role, &token));
    Ok(InviteView {
        id,
        email: email.to_string(),
        role,
        created_at: rfc3339(now),
        expires_at: rfc3339(expires_at),
        expired: false,
        invited_by: Some(actor.email),
    })
}

/// Sends an invitation again with a new link (the old one stops working) and
/// a new expiry. An expired invitation takes a seat again, if one is free.
pub async fn resend(state: &AppState, auth: &AuthContext, id: &InviteId, ip: IpAddr) -> AppResult<InviteView> {
    let now = now_ms();
    let expires_at = now + invite_ttl_ms(&state.config);
    let token = random_token();
    let mut tx = state.db.begin_write().await?;
    let plan = lock(&mut tx, &auth.tenant_id).await?;
    let actor = actor(&mut tx, auth).await?;
    let invite = store::open_invite(&mut tx, &auth.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    if invite.expires_at <= now {
        check_seat(&state.config, plan, store::seats_taken(&mut tx, &auth.tenant_id, true, now).await?)?;
    }
    let email = Email::parse(&invite.email).map_err(|_| AppError::NotFound)?;
    store::replace_invite_link(&mut tx, id, email.as_str(), &hash_token(&token), now, expires_at).await?;
    audit::record_tx(
        &mut tx,
        audit_event("member.invite_resent", auth, &actor, ip, json!({"email": email.as_str(), "role": invite.role})),
    )
    .await?;
    tx.commit().await?;
    let role = Role::from_column(&invite.role);
    state.send_mail_later(invite_mail(state, &email, &actor.email, &auth.principal.tenant.name, role, &token));
    Ok(InviteView::of(InviteRow { expires_at, ..invite }, now))
}

/// Revokes an invitation: its link stops working and its seat is free.
pub async fn revoke(state: &AppState, auth: &AuthContext, id: &InviteId, ip: IpAddr) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    lock(&mut tx, &auth.tenant_id).await?;
    let actor = actor(&mut tx, auth).await?;
    let invite = store::open_invite(&mut tx, &auth.tenant_id, id).await?.ok_or(AppError::NotFound)?;
    store::revoke_invite(&mut tx, id, now_ms()).await?;
    audit::record_tx(
        &mut tx,
        audit_event("member.invite_revoked", auth, &actor, ip, json!({"email": invite.email, "role": invite.role})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The 409 of a change that would leave the team without its owner.
fn last_owner() -> AppError {
    AppError::Conflict(
        "a team keeps its one owner: the owner hands ownership to an admin first (PATCH with role owner)".into(),
    )
}

/// Changes a member's role. `owner` hands ownership over: only the owner may,
/// only to an admin, and the old owner becomes an admin. The owner's own role
/// changes only that way. Takes effect at the member's next request.
pub async fn change_role(
    state: &AppState,
    auth: &AuthContext,
    user_id: &UserId,
    role: Role,
    ip: IpAddr,
) -> AppResult<MemberView> {
    let mut tx = state.db.begin_write().await?;
    lock(&mut tx, &auth.tenant_id).await?;
    let actor = actor(&mut tx, auth).await?;
    let target = store::member(&mut tx, &auth.tenant_id, user_id).await?.ok_or(AppError::NotFound)?;
    let from = target.role();
    if from == role {
        return Ok(target.into());
    }
    if role == Role::Owner {
        if actor.role != Role::Owner {
            return Err(AppError::Forbidden("only the owner can hand ownership over".into()));
        }
        if from != Role::Admin {
            return Err(AppError::Conflict("ownership goes to an admin: make them an admin first".into()));
        }
        // The old owner first: the one-owner index holds at every statement.
        store::set_role(&mut tx, &auth.tenant_id, &actor.user_id, Role::Admin).await?;
        store::set_role(&mut tx, &auth.tenant_id, user_id, Role::Owner).await?;
        let detail = json!({"from": actor.email, "to": target.email});
        audit::record_tx(&mut tx, audit_event("member.ownership_transferred", auth, &actor, ip, detail)).await?;
    } else {
        if from == Role::Owner {
            return Err(last_owner());
        }
        store::set_role(&mut tx, &auth.tenant_id, user_id, role).await?;
        let detail = json!({"email": target.email, "from": from, "to": role});
        audit::record_tx(&mut tx, audit_event("member.role_changed", auth, &actor, ip, detail)).await?;
    }
    let changed = store::member(&mut tx, &auth.tenant_id, user_id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    // Cached principals of this tenant carry the old role: read again at the next request.
    state.tenant_changed(auth.tenant_id.as_str());
    Ok(changed.into())
}

/// Removes a member: their sessions in this tenant end at once; their other
/// tenants are not touched. The owner cannot be removed.
pub async fn remove(state: &AppState, auth: &AuthContext, user_id: &UserId, ip: IpAddr) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    lock(&mut tx, &auth.tenant_id).await?;
    let actor = actor(&mut tx, auth).await?;
    let target = store::member(&mut tx, &auth.tenant_id, user_id).await?.ok_or(AppError::NotFound)?;
    if target.role() == Role::Owner {
        return Err(last_owner());
    }
    store::remove_member(&mut tx, &auth.tenant_id, user_id).await?;
    let detail = json!({"email": target.email, "role": target.role, "user_id": user_id});
    audit::record_tx(&mut tx, audit_event("member.removed", auth, &actor, ip, detail)).await?;
    tx.commit().await?;
    state.tenant_changed(auth.tenant_id.as_str());
    Ok(())
}

/// What opening an invitation's link did.
pub enum Joined {
    /// The person is a member of this tenant (now, or already).
    Member(TenantId),
    /// The invitation was revoked, accepted, expired, or its tenant erased.
    Invalid,
    /// The team is full (it shrank its plan since the invitation): nothing changed.
    SeatsFull { plan: Plan, used: i64, limit: u64 },
}

/// Accepts invitation `invite` for the person `user_id` (`email`), inside the
/// sign-in transaction that consumed its link.
pub async fn accept(
    tx: &mut Tx,
    config: &Config,
    invite: &str,
    user_id: &UserId,
    email: &str,
    now: i64,
) -> Result<Joined, sqlx::Error> {
    let Some((tenant_id, role, invited_by)) = store::acceptable_invite(tx, invite, email, now).await? else {
        return Ok(Joined::Invalid);
    };
    if !store::is_member(tx, &tenant_id, user_id).await? {
        let Some(plan) = tx.lock_tenant(tenant_id.as_str()).await? else {
            return Ok(Joined::Invalid);
        };
        let plan = plan.parse().unwrap_or(Plan::Free);
        let used = store::seats_taken(tx, &tenant_id, false, now).await?;
        if let Some(limit) = config.usage.seats(plan)
            && used >= i64::try_from(limit).unwrap_or(i64::MAX)
        {
            return Ok(Joined::SeatsFull { plan, used, limit });
        }
        let role = Role::from_column(&role);
        store::insert_membership(tx, &tenant_id, user_id, role, now, invited_by.as_ref()).await?;
        audit::record_tx(
            tx,
            AuditEvent {
                action: "member.joined",
                tenant_id: Some(&tenant_id),
                user_id: Some(user_id),
                actor: "user",
                ip: None,
                detail: json!({"email": email, "role": role, "invited_by": invited_by}),
            },
        )
        .await?;
    }
    store::mark_accepted(tx, invite, now).await?;
    Ok(Joined::Member(tenant_id))
}

fn invite_ttl_ms(config: &Config) -> i64 {
    i64::try_from(config.auth.invite_ttl_hours).unwrap_or(72).saturating_mul(3600 * 1000)
}

fn invite_mail(state: &AppState, to: &Email, inviter: &str, team: &str, role: Role, token: &str) -> OutgoingMail {
    let link = crate::auth::service::sign_in_link(&state.config, token);
    let hours = state.config.auth.invite_ttl_hours;
    let text = format!(
        "{inviter} invited you to join {team} on Reelforge as {article} {role}.\n\n\
         Open this link to join (it works once, for {hours} hours):\n\n{link}\n\n\
         If you do not know {inviter}, ignore this e-mail: nothing happens without the link.\n",
        article = if role == Role::Admin { "an" } else { "a" },
    );
    let (inviter_html, team_html, link_html) = (html_escape(inviter), html_escape(team), html_escape(&link));
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1f1d2b\">\
         <h1 style=\"color:#5b3cc4\">Join {team_html} on Reelforge</h1>\
         <p>{inviter_html} invited you to join <strong>{team_html}</strong> as {role}. The link works once, for {hours} hours.</p>\
         <p><a href=\"{link_html}\" style=\"background:#5b3cc4;color:#fff;padding:12px 20px;border-radius:8px;text-decoration:none\">Join the team</a></p>\
         <p style=\"font-size:13px;color:#555\">Or paste this address into your browser:<br>{link_html}</p>\
         <p style=\"font-size:13px;color:#555\">If you do not know {inviter_html}, ignore this e-mail.</p></body></html>"
    );
    OutgoingMail { to: to.clone(), subject: format!("{inviter} invited you to {team} on Reelforge"), text, html }
}
