//! Sign-in rules: magic links, sessions (access + rotating refresh tokens), logout.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::json;

use crate::account::audit::{self, AuditEvent};
use crate::auth::tokens;
use crate::billing::Plan;
use crate::crypto::{hash_token, random_token};
use crate::db::{Db, Tx, is_unique_violation, now_ms};
use crate::domain::{Email, TenantId, UserId};
use crate::error::{AppError, AppResult};
use crate::mail::{OutgoingMail, html_escape};
use crate::ratelimit::{Limit, human_wait};
use crate::state::AppState;
use crate::teams::{self, Role, service::Joined};
use crate::{on_db, on_tx};

/// Lifetime of a refresh token.
pub const REFRESH_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// The one message for every link that cannot be used.
pub const INVALID_LINK: &str = "invalid or expired link";

/// A signed-in user as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    #[schema(value_type = String)]
    pub id: UserId,
    pub email: String,
    /// The person's role in the tenant of this session.
    pub role: Role,
}

/// A tenant as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantView {
    #[schema(value_type = String)]
    pub id: TenantId,
    pub name: String,
    pub plan: Plan,
}

/// What a successful verify or refresh hands out.
pub struct Session {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: UserView,
    pub tenant: TenantView,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    user_id: UserId,
    email: String,
    role: String,
    tenant_id: TenantId,
    tenant_name: String,
    plan: String,
}

impl AccountRow {
    fn views(self) -> (UserView, TenantView) {
        (
            UserView { id: self.user_id, email: self.email, role: Role::from_column(&self.role) },
            TenantView { id: self.tenant_id, name: self.tenant_name, plan: self.plan.parse().unwrap_or(Plan::Free) },
        )
    }
}

/// `AccountRow` of the membership of person `$1` in active tenant `$2`; a
/// caller may append conditions (`AND ...`).
macro_rules! account_of_membership {
    () => {
        "SELECT u.id AS user_id, u.email, m.role, t.id AS tenant_id, t.name AS tenant_name, t.plan \
         FROM memberships m JOIN users u ON u.id = m.user_id JOIN tenants t ON t.id = m.tenant_id \
         WHERE m.user_id = $1 AND m.tenant_id = $2 AND t.status = 'active'"
    };
}

/// A person's membership of an active tenant, by user and tenant id.
const ACCOUNT_BY_IDS: &str = account_of_membership!();

/// The link a sign-in or invitation e-mail carries: a web page that POSTs the
/// token (a GET never consumes it; mail scanners prefetch links).
pub fn sign_in_link(config: &crate::config::Config, token: &str) -> String {
    let mut link = config.http.public_url.clone();
    link.set_path("/auth/verify");
    link.set_query(Some(&format!("token={token}")));
    link.to_string()
}

/// Rate-limits, then stores a new link's hash and mails the link. Answers the
/// same whether or not the address has an account.
pub async fn request_link(state: &AppState, email: &Email, ip: IpAddr) -> AppResult<()> {
    let ip_key = crate::ratelimit::ip_key(ip);
    let email_key = format!("email:{email}");
    state
        .sign_in_limiter
        .admit(&[
            Limit { key: &ip_key, max: state.config.auth.rate_limit_ip_per_15m },
            Limit { key: &email_key, max: state.config.auth.rate_limit_email_per_15m },
        ])
        .await
        .map_err(|wait| AppError::RateLimited {
            retry_after_seconds: wait,
            detail: format!("too many sign-in links requested; try again in {}", human_wait(wait)),
        })?;

    let token = random_token();
    let now = now_ms();
    let ttl_minutes = state.config.auth.magic_link_ttl_minutes;
    let expires_at = now + i64::try_from(ttl_minutes).unwrap_or(15) * 60_000;
    on_db!(&state.db, pool => {
        sqlx::query("INSERT INTO magic_links (token_hash, email, created_at, expires_at, ip) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash_token(&token))
            .bind(email.as_str())
            .bind(now)
            .bind(expires_at)
            .bind(ip.to_string())
            .execute(pool)
            .await?;
    });

    let link = sign_in_link(&state.config, &token);
    if state.config.app_env == crate::config::AppEnv::Development && state.config.auth.smtp_url.is_none() {
        tracing::info!(%link, "magic link (development only; written to the outbox)");
    }
    state.send_mail_later(magic_link_mail(email, &link, ttl_minutes));
    Ok(())
}

fn magic_link_mail(email: &Email, link: &str, ttl_minutes: u64) -> OutgoingMail {
    let text = format!(
        "Sign in to Reelforge\n\nOpen this link to sign in (it works once, for {ttl_minutes} minutes):\n\n{link}\n\n\
         If you did not ask for it, ignore this e-mail: nobody can sign in without the link.\n"
    );
    let link_html = html_escape(link);
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1f1d2b\">\
         <h1 style=\"color:#5b3cc4\">Sign in to Reelforge</h1>\
         <p>Open this link to sign in. It works once, for {ttl_minutes} minutes.</p>\
         <p><a href=\"{link_html}\" style=\"background:#5b3cc4;color:#fff;padding:12px 20px;border-radius:8px;text-decoration:none\">Sign in</a></p>\
         <p style=\"font-size:13px;color:#555\">Or paste this address into your browser:<br>{link_html}</p>\
         <p style=\"font-size:13px;color:#555\">If you did not ask for it, ignore this e-mail.</p></body></html>"
    );
    OutgoingMail { to: email.clone(), subject: "Your Reelforge sign-in link".into(), text, html }
}

/// Consumes a link (atomically, once) and signs its address in, creating the
/// person and a personal tenant (its owner) at the first successful verify.
/// An invitation's link joins the inviting tenant and opens it.
pub async fn verify(state: &AppState, token: &str, ip: IpAddr) -> AppResult<Session> {
    if !tokens::looks_like_token(token) {
        return Err(failed_verify(state, ip).await);
    }
    let hash = hash_token(token);
    // One retry covers two first verifies of the same new address racing on
    // PostgreSQL: the loser's transaction (and its consumed link) rolls back.
    for attempt in 0..2 {
        match verify_once(state, &hash).await {
            Ok(Verified::Account(account)) => {
                let (user, tenant) = account.views();
                let user_id = user.id.clone();
                let tenant_id = tenant.id.clone();
                audit::record(
                    &state.db,
                    AuditEvent {
                        action: "auth.sign_in",
                        tenant_id: Some(&tenant_id),
                        user_id: Some(&user_id),
                        actor: "user",
                        ip: Some(ip),
                        detail: json!({}),
                    },
                )
                .await;
                return start_session(state, user, tenant).await;
            }
            Ok(Verified::SeatsFull { plan, used, limit }) => {
                return Err(teams::service::seats_full(&state.config, plan, used, limit));
            }
            Ok(Verified::Invalid) => return Err(failed_verify(state, ip).await),
            Err(err) if attempt == 0 && is_unique_violation(&err) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(AppError::BadRequest(INVALID_LINK.into()))
}

/// What a verify found.
enum Verified {
    /// Signed in to this membership.
    Account(AccountRow),
    /// Unknown, used or expired link (or invitation).
    Invalid,
    /// An invitation to a team with no free seat: nothing changed, the link still works.
    SeatsFull { plan: Plan, used: i64, limit: u64 },
}
/// The answer to a failed verify. Each is counted against the client's IP
/// (its /64 for IPv6); past `RATE_LIMIT_VERIFY_FAILURES_PER_15M` the answer is
/// 429 and nothing is audited, so an anonymous client cannot write audit rows
/// (or probe tokens) without bound. A valid link still works from that IP:
/// only failures are counted, so one guesser behind a shared NAT does not lock
/// out the people who share it.
async fn failed_verify(state: &AppState, ip: IpAddr) -> AppError {
    let key = format!("verify-failed:{}", crate::ratelimit::ip_key(ip));
    let max = state.config.auth.rate_limit_verify_failures_per_15m;
    if let Err(wait) = state.sign_in_limiter.admit(&[Limit { key: &key, max }]).await {
        return AppError::RateLimited {
            retry_after_seconds: wait,
            detail: format!("too many invalid sign-in links from your network; try again in {}", human_wait(wait)),
        };
    }
    audit::record(
        &state.db,
        AuditEvent {
            action: "auth.verify_failed",
            tenant_id: None,
            user_id: None,
            actor: "anonymous",
            ip: Some(ip),
            detail: json!({}),
        },
    )
    .await;
    AppError::BadRequest(INVALID_LINK.into())
}

async fn verify_once(state: &AppState, hash: &str) -> Result<Verified, sqlx::Error> {
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    let consumed: Option<(String, Option<String>)> = on_tx!(&mut tx, conn => {
        sqlx::query_as(
            "UPDATE magic_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING email, invite_id",
        )
        .bind(now)
        .bind(hash)
        .fetch_optional(&mut **conn)
        .await?
    });
    let Some((email, invite)) = consumed else {
        return Ok(Verified::Invalid);
    };
    let person = person_by_email(&mut tx, &email, now).await?;
    let tenant_id = match invite {
        Some(invite) => match teams::service::accept(&mut tx, &state.config, &invite, &person.0, &email, now).await? {
            Joined::Member(tenant_id) => tenant_id,
            Joined::Invalid => return Ok(Verified::Invalid),
            Joined::SeatsFull { plan, used, limit } => return Ok(Verified::SeatsFull { plan, used, limit }),
        },
        None => match sign_in_tenant(&mut tx, &person.0, person.1.as_deref()).await? {
            Some(tenant_id) => tenant_id,
            None => personal_tenant(&mut tx, state, &person.0, &email, now).await?,
        },
    };
    let account: Option<AccountRow> = on_tx!(&mut tx, conn => {
        sqlx::query("UPDATE users SET last_login_at = $1, last_tenant_id = $2 WHERE id = $3")
            .bind(now)
            .bind(&tenant_id)
            .bind(&person.0)
            .execute(&mut **conn)
            .await?;
        sqlx::query_as(ACCOUNT_BY_IDS).bind(&person.0).bind(&tenant_id).fetch_optional(&mut **conn).await?
    });
    let Some(account) = account else {
        return Ok(Verified::Invalid);
    };
    tx.commit().await?;
    Ok(Verified::Account(account))
}

/// The person with this address (id, last tenant used), created if new.
async fn person_by_email(tx: &mut Tx, email: &str, now: i64) -> Result<(UserId, Option<String>), sqlx::Error> {
    let existing: Option<(UserId, Option<String>)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT id, last_tenant_id FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&mut **conn)
            .await?
    });
    if let Some(person) = existing {
        return Ok(person);
    }
    let user_id = UserId::generate();
    on_tx!(tx, conn => {
        sqlx::query("INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)")
            .bind(&user_id)
            .bind(email)
            .bind(now)
            .execute(&mut **conn)
            .await?;
    });
    Ok((user_id, None))
}

/// The tenant a plain sign-in opens: the last one used if the person is still
/// a member of it, else the one they joined first; `None` when they belong to
/// no active tenant.
async fn sign_in_tenant(tx: &mut Tx, user_id: &UserId, last: Option<&str>) -> Result<Option<TenantId>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar(
            "SELECT m.tenant_id FROM memberships m JOIN tenants t ON t.id = m.tenant_id \
             WHERE m.user_id = $1 AND t.status = 'active' \
             ORDER BY CASE WHEN m.tenant_id = $2 THEN 0 ELSE 1 END, m.joined_at LIMIT 1",
        )
        .bind(user_id)
        .bind(last)
        .fetch_optional(&mut **conn)
        .await
    })
}

/// Creates a personal tenant with the person as its owner.
async fn personal_tenant(
    tx: &mut Tx,
    state: &AppState,
    user_id: &UserId,
    email: &str,
    now: i64,
) -> Result<TenantId, sqlx::Error> {
    let tenant_id = TenantId::generate();
    let name = format!("{}'s workspace", Email::parse(email).map(|e| e.local_part().to_string()).unwrap_or_default());
    on_tx!(tx, conn => {
        sqlx::query("INSERT INTO tenants (id, name, plan, status, created_at) VALUES ($1, $2, $3, 'active', $4)")
            .bind(&tenant_id)
            .bind(&name)
            .bind(state.config.usage.tenant_default_plan.as_str())
            .bind(now)
            .execute(&mut **conn)
            .await?;
    });
    teams::store::insert_membership(tx, &tenant_id, user_id, Role::Owner, now, None).await?;
    Ok(tenant_id)
}

/// Issues an access token and a refresh token of a new family.
async fn start_session(state: &AppState, user: UserView, tenant: TenantView) -> AppResult<Session> {
    let refresh_token = random_token();
    let family = uuid::Uuid::new_v4().to_string();
    insert_refresh(&state.db, &refresh_token, &family, &user.id, &tenant.id).await?;
    let access_token = state.jwt.issue(&user.id, &tenant.id, &family)?;
    Ok(Session { access_token, expires_in: state.jwt.lifetime_seconds(), refresh_token, user, tenant })
}

async fn insert_refresh(
    db: &Db,
    token: &str,
    family: &str,
    user_id: &UserId,
    tenant_id: &TenantId,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, tenant_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash_token(token))
        .bind(family)
        .bind(user_id)
        .bind(tenant_id)
        .bind(now)
        .bind(now + REFRESH_TTL_MS)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Rotates a refresh token. Presenting one that was already rotated is taken
/// as theft: its whole family is revoked.
pub async fn refresh(state: &AppState, token: &str, ip: IpAddr) -> AppResult<Session> {
    if !tokens::looks_like_token(token) {
        return Err(AppError::Unauthorized);
    }
    let hash = hash_token(token);
    let now = now_ms();
    let new_token = random_token();
    enum Outcome {
        Rotated(AccountRow, String),
        Reused { family: String, tenant_id: TenantId, user_id: UserId },
        Invalid,
    }
    let outcome = {
        let mut tx = state.db.begin_write().await?;
        let value = on_tx!(&mut tx, conn => {
            let current: Option<(String, String, String)> = sqlx::query_as(
                "UPDATE refresh_tokens SET rotated_at = $1 \
                 WHERE token_hash = $2 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $1 \
                 RETURNING family_id, user_id, tenant_id",
            )
            .bind(now)
            .bind(&hash)
            .fetch_optional(&mut **conn)
            .await?;
            match current {
                Some((family, user_id, tenant_id)) => {
                    let account: Option<AccountRow> =
                        sqlx::query_as(ACCOUNT_BY_IDS)
                            .bind(&user_id)
                            .bind(&tenant_id)
                            .fetch_optional(&mut **conn)
                            .await?;
                    match account {
                        Some(account) => {
                            sqlx::query(
                                "INSERT INTO refresh_tokens (token_hash, family_id, user_id, tenant_id, created_at, expires_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6)",
                            )
                            .bind(hash_token(&new_token))
                            .bind(&family)
                            .bind(&user_id)
                            .bind(&tenant_id)
                            .bind(now)
                            .bind(now + REFRESH_TTL_MS)
                            .execute(&mut **conn)
                            .await?;
                            Outcome::Rotated(account, family)
                        }
                        None => Outcome::Invalid,
                    }
                }
                None => {
                    let reused: Option<(String, TenantId, UserId)> = sqlx::query_as(
                        "SELECT family_id, tenant_id, user_id FROM refresh_tokens WHERE token_hash = $1 AND rotated_at IS NOT NULL",
                    )
                    .bind(&hash)
                    .fetch_optional(&mut **conn)
                    .await?;
                    match reused {
                        Some((family, tenant_id, user_id)) => {
                            sqlx::query(REVOKE_FAMILY)
                                .bind(now)
                                .bind(&family)
                                .execute(&mut **conn)
                                .await?;
                            Outcome::Reused { family, tenant_id, user_id }
                        }
                        None => Outcome::Invalid,
                    }
                }
            }
        });
        tx.commit().await?;
        value
    };
    match outcome {
        Outcome::Rotated(account, family) => {
            let (user, tenant) = account.views();
            let access_token = state.jwt.issue(&user.id, &tenant.id, &family)?;
            Ok(Session {
                access_token,
                expires_in: state.jwt.lifetime_seconds(),
                refresh_token: new_token,
                user,
                tenant,
            })
        }
        Outcome::Reused { family, tenant_id, user_id } => {
            // The family's access tokens resolve again, and fail, at their next request.
            state.auth_cache.invalidate_tenant(tenant_id.as_str());
            tracing::warn!(family = %family, "refresh token reused: family revoked");
            audit::record(
                &state.db,
                AuditEvent {
                    action: "auth.refresh_reuse",
                    tenant_id: Some(&tenant_id),
                    user_id: Some(&user_id),
                    actor: "anonymous",
                    ip: Some(ip),
                    detail: json!({"family_revoked": true}),
                },
            )
            .await;
            Err(AppError::Unauthorized)
        }
        Outcome::Invalid => Err(AppError::Unauthorized),
    }
}

/// Ends a session: revokes every live token of refresh family `$2` at time `$1`.
const REVOKE_FAMILY: &str = "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL";

/// Revokes the refresh family of `token` (if it is one of ours) and audits the sign-out.
pub async fn logout(state: &AppState, token: Option<&str>, ip: IpAddr) -> AppResult<()> {
    let Some(token) = token.filter(|t| tokens::looks_like_token(t)) else {
        return Ok(());
    };
    let hash = hash_token(token);
    let now = now_ms();
    let owner: Option<(String, TenantId, UserId)> = {
        let mut tx = state.db.begin_write().await?;
        let value = on_tx!(&mut tx, conn => {
            let owner: Option<(String, TenantId, UserId)> =
                sqlx::query_as("SELECT family_id, tenant_id, user_id FROM refresh_tokens WHERE token_hash = $1")
                    .bind(&hash)
                    .fetch_optional(&mut **conn)
                    .await?;
            if let Some((family, _, _)) = &owner {
                sqlx::query(REVOKE_FAMILY)
                    .bind(now)
                    .bind(family)
                    .execute(&mut **conn)
                    .await?;
            }
            owner
        });
        tx.commit().await?;
        value
    };
    if let Some((_, tenant_id, user_id)) = owner {
        // The session's access tokens resolve again, and fail, at their next
        // request in this process; other API processes see it within AUTH_CACHE_TTL.
        state.auth_cache.invalidate_tenant(tenant_id.as_str());
        audit::record(
            &state.db,
            AuditEvent {
                action: "auth.logout",
                tenant_id: Some(&tenant_id),
                user_id: Some(&user_id),
                actor: "user",
                ip: Some(ip),
                detail: json!({}),
            },
        )
        .await;
    }
    Ok(())
}

/// The account of an access token whose session is still live: a membership
/// of an active tenant, and a refresh family of that person in that tenant not
/// revoked (signing out, switching tenant and refresh-token reuse revoke it;
/// removal from the team and erasure delete it).
const ACCOUNT_OF_SESSION: &str = concat!(
    account_of_membership!(),
    " AND EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = $3 AND r.user_id = m.user_id \
     AND r.tenant_id = m.tenant_id AND r.revoked_at IS NULL)"
);

/// The user and tenant behind session `sid`, if both still exist, the tenant
/// is active and the session was not ended.
pub async fn active_account(
    db: &Db,
    user_id: &str,
    tenant_id: &str,
    sid: &str,
) -> AppResult<Option<(UserView, TenantView)>> {
    let row: Option<AccountRow> = on_db!(db, pool => {
        sqlx::query_as(ACCOUNT_OF_SESSION)
            .bind(user_id)
            .bind(tenant_id)
            .bind(sid)
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(AccountRow::views))
}

/// A tenant the signed-in person belongs to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantMembership {
    #[schema(value_type = String)]
    pub id: TenantId,
    pub name: String,
    pub role: Role,
}

/// The active tenants a person belongs to, by name.
pub async fn tenants_of(db: &Db, user_id: &UserId) -> AppResult<Vec<TenantMembership>> {
    let rows = teams::store::memberships_of(db, user_id).await?;
    Ok(rows
        .into_iter()
        .map(|row| TenantMembership { role: Role::from_column(&row.role), id: row.tenant_id, name: row.tenant_name })
        .collect())
}

/// Moves a signed-in person to another tenant they belong to: the current
/// session ends and a new one starts there (404 when they are not a member).
pub async fn switch_tenant(
    state: &AppState,
    from: &crate::auth::AuthContext,
    tenant_id: &TenantId,
    ip: IpAddr,
) -> AppResult<Session> {
    let user_id = from.user_id.as_ref().ok_or_else(crate::auth::scopes::session_required)?;
    let from_session = from.session_id.as_deref();
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    let account: Option<AccountRow> = on_tx!(&mut tx, conn => {
        let account: Option<AccountRow> =
            sqlx::query_as(ACCOUNT_BY_IDS).bind(user_id).bind(tenant_id).fetch_optional(&mut **conn).await?;
        if account.is_some() {
            if let Some(family) = from_session {
                sqlx::query(REVOKE_FAMILY)
                    .bind(now)
                    .bind(family)
                    .execute(&mut **conn)
                    .await?;
            }
            sqlx::query("UPDATE users SET last_tenant_id = $1 WHERE id = $2")
                .bind(tenant_id)
                .bind(user_id)
                .execute(&mut **conn)
                .await?;
        }
        account
    });
    let account = account.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let (user, tenant) = account.views();
    audit::record(
        &state.db,
        AuditEvent {
            action: "auth.switch_tenant",
            tenant_id: Some(&tenant.id),
            user_id: Some(&user.id),
            actor: "user",
            ip: Some(ip),
            detail: json!({}),
        },
    )
    .await;
    // The ended session's access tokens resolve again, and fail, at their next request.
    state.auth_cache.invalidate_tenant(from.tenant_id.as_str());
    start_session(state, user, tenant).await
}

/// Deletes links and refresh tokens that can no longer be used.
pub async fn purge_expired(db: &Db) -> Result<(), sqlx::Error> {
    let cutoff = now_ms() - 24 * 3600 * 1000;
    on_db!(db, pool => {
        sqlx::query("DELETE FROM magic_links WHERE expires_at < $1").bind(cutoff).execute(pool).await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1").bind(cutoff).execute(pool).await?;
    });
    Ok(())
}
