//! `/api/account/members` and `/api/account/invites`: the team of a tenant.
//! Who may call each route is in `auth::scopes::ROUTE_ACCESS` (admins and
//! the owner; never an API key).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use serde::Deserialize;
use utoipa::OpenApi;

use crate::auth::AuthContext;
use crate::domain::{Email, InviteId, UserId};
use crate::error::{AppError, AppResult};
use crate::http::extract::{ClientIp, Json};
use crate::state::AppState;
use crate::teams::Role;
use crate::teams::service::{self, InviteView, MemberView, Team};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/account/members", get(list_members).post(invite_member))
        .route("/api/account/members/{user_id}", patch(change_role).delete(remove_member))
        .route("/api/account/invites/{id}", delete(revoke_invite))
        .route("/api/account/invites/{id}/resend", post(resend_invite))
}

/// OpenAPI description of this module.
#[derive(OpenApi)]
#[openapi(paths(list_members, invite_member, change_role, remove_member, revoke_invite, resend_invite), tags((name = "team", description = "Members, roles and invitations")))]
pub struct TeamApi;

/// Body of an invitation.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvite {
    /// Where the invitation goes; the person joins by opening its link.
    pub email: String,
    /// `admin` or `member` (default `member`).
    #[schema(value_type = Option<String>)]
    pub role: Option<String>,
}

/// Body of a role change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// `member`, `admin`, or `owner` to hand ownership over (the owner only, to an admin).
    #[schema(value_type = String)]
    pub role: String,
}

fn parse_role(raw: &str) -> AppResult<Role> {
    Role::parse(raw.trim()).ok_or_else(|| AppError::invalid("role", "must be owner, admin or member"))
}

fn user_id(raw: &str) -> AppResult<UserId> {
    UserId::parse(raw).map_err(|_| AppError::NotFound)
}

fn invite_id(raw: &str) -> AppResult<InviteId> {
    InviteId::parse(raw).map_err(|_| AppError::NotFound)
}

/// The team: members with their roles, open invitations, seats.
#[utoipa::path(get, path = "/api/account/members", tag = "team", responses(
    (status = 200, body = Team, description = "members (owner first), invitations not accepted, seats used and the plan's limit"),
    (status = 403, description = "a member's role cannot manage the team (admins and the owner can), or an API key"),
), security(("bearer" = []), ("cookie" = [])))]
async fn list_members(State(state): State<AppState>, auth: AuthContext) -> AppResult<axum::Json<Team>> {
    Ok(axum::Json(service::team(&state, &auth.tenant_id).await?))
}

/// Invites a person by e-mail; they join when they open the link.
#[utoipa::path(post, path = "/api/account/members", tag = "team", request_body = NewInvite, responses(
    (status = 201, body = InviteView, description = "the invitation; its single-use link is mailed and expires after INVITE_TTL_HOURS"),
    (status = 402, description = "every seat of the plan is taken (members and pending invitations): `seats_used`, `seats_limit`, `upgrade_url`"),
    (status = 403, description = "not an admin or the owner"),
    (status = 409, description = "already a member, or already invited (`invite_id`: resend or revoke it)"),
    (status = 422, description = "not an e-mail address, or a role other than admin or member"),
), security(("bearer" = []), ("cookie" = [])))]
async fn invite_member(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: AuthContext,
    Json(body): Json<NewInvite>,
) -> AppResult<Response> {
    let email = Email::parse(&body.email)
        .map_err(|problem| AppError::invalid("email", &format!("e-mail address {problem}")))?;
    let role = match body.role.as_deref() {
        None => Role::Member,
        Some(raw) => parse_role(raw)?,
    };
    let view = service::invite(&state, &auth, &email, role, ip).await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// Changes a member's role, or hands ownership to an admin (`role: owner`).
#[utoipa::path(patch, path = "/api/account/members/{user_id}", tag = "team", request_body = RoleChange,
    params(("user_id" = String, Path, description = "the member's user id")), responses(
    (status = 200, body = MemberView, description = "the member with the new role; it applies from their next request"),
    (status = 403, description = "not an admin or the owner; only the owner hands ownership over"),
    (status = 404, description = "no such member of this team"),
    (status = 409, description = "the owner's role changes only by handing ownership to an admin; ownership goes to an admin only"),
    (status = 422, description = "an unknown role"),
), security(("bearer" = []), ("cookie" = [])))]
async fn change_role(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: AuthContext,
    Path(raw): Path<String>,
    Json(body): Json<RoleChange>,
) -> AppResult<axum::Json<MemberView>> {
    let role = parse_role(&body.role)?;
    Ok(axum::Json(service::change_role(&state, &auth, &user_id(&raw)?, role, ip).await?))
}

/// Removes a member; their sessions in this team end at once.
#[utoipa::path(delete, path = "/api/account/members/{user_id}", tag = "team",
    params(("user_id" = String, Path, description = "the member's user id")), responses(
    (status = 204, description = "removed; their other teams are not touched"),
    (status = 403, description = "not an admin or the owner"),
    (status = 404, description = "no such member of this team"),
    (status = 409, description = "the owner cannot be removed: hand ownership to an admin first"),
), security(("bearer" = []), ("cookie" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: AuthContext,
    Path(raw): Path<String>,
) -> AppResult<StatusCode> {
    service::remove(&state, &auth, &user_id(&raw)?, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes an invitation: its link stops working, its seat is free.
#[utoipa::path(delete, path = "/api/account/invites/{id}", tag = "team",
    params(("id" = String, Path, description = "the invitation's id")), responses(
    (status = 204, description = "revoked"),
    (status = 403, description = "not an admin or the owner"),
    (status = 404, description = "no open invitation with this id in this team"),
), security(("bearer" = []), ("cookie" = [])))]
async fn revoke_invite(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: AuthContext,
    Path(raw): Path<String>,
) -> AppResult<StatusCode> {
    service::revoke(&state, &auth, &invite_id(&raw)?, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mails an invitation again with a new link and a new expiry (the old link stops working).
#[utoipa::path(post, path = "/api/account/invites/{id}/resend", tag = "team",
    params(("id" = String, Path, description = "the invitation's id")), responses(
    (status = 200, body = InviteView, description = "sent again"),
    (status = 402, description = "the invitation had expired and every seat is taken"),
    (status = 403, description = "not an admin or the owner"),
    (status = 404, description = "no open invitation with this id in this team"),
), security(("bearer" = []), ("cookie" = [])))]
async fn resend_invite(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: AuthContext,
    Path(raw): Path<String>,
) -> AppResult<axum::Json<InviteView>> {
    Ok(axum::Json(service::resend(&state, &auth, &invite_id(&raw)?, ip).await?))
}
