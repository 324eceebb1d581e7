//! The teams domain's reads and writes: memberships, invitations and their links.

use crate::db::{Db, Tx};
use crate::domain::{InviteId, TenantId, UserId};
use crate::teams::Role;
use crate::{on_db, on_tx};

/// A member of a tenant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: UserId,
    pub email: String,
    pub role: String,
    pub joined_at: i64,
    /// The e-mail address of whoever invited them (if they are still a user).
    pub invited_by_email: Option<String>,
}

impl MemberRow {
    /// The member's role.
    pub fn role(&self) -> Role {
        Role::from_column(&self.role)
    }
}

/// An invitation not accepted and not revoked (it may have expired).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteRow {
    pub id: InviteId,
    pub email: String,
    pub role: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub invited_by_email: Option<String>,
}

/// A tenant a person belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub tenant_id: TenantId,
    pub tenant_name: String,
    pub role: String,
}

macro_rules! members_sql {
    () => {
        "SELECT m.user_id, u.email, m.role, m.joined_at, ib.email AS invited_by_email \
     FROM memberships m JOIN users u ON u.id = m.user_id LEFT JOIN users ib ON ib.id = m.invited_by \
     WHERE m.tenant_id = $1"
    };
}

macro_rules! open_invites_sql {
    () => {
        "SELECT i.id, i.email, i.role, i.created_at, i.expires_at, ib.email AS invited_by_email \
     FROM invites i LEFT JOIN users ib ON ib.id = i.invited_by \
     WHERE i.tenant_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL"
    };
}

/// The tenant's members, the owner first, then by when they joined.
pub async fn members(db: &Db, tenant_id: &TenantId) -> Result<Vec<MemberRow>, sqlx::Error> {
    let sql = concat!(members_sql!(), " ORDER BY CASE m.role WHEN 'owner' THEN 0 ELSE 1 END, m.joined_at, u.email");
    on_db!(db, pool => { sqlx::query_as(sql).bind(tenant_id).fetch_all(pool).await })
}

/// One member of the tenant, inside a transaction.
pub async fn member(tx: &mut Tx, tenant_id: &TenantId, user_id: &UserId) -> Result<Option<MemberRow>, sqlx::Error> {
    let sql = concat!(members_sql!(), " AND m.user_id = $2");
    on_tx!(tx, conn => {
        sqlx::query_as(sql).bind(tenant_id).bind(user_id).fetch_optional(&mut **conn).await
    })
}

/// The tenant's invitations not accepted and not revoked, oldest first.
pub async fn open_invites(db: &Db, tenant_id: &TenantId) -> Result<Vec<InviteRow>, sqlx::Error> {
    let sql = concat!(open_invites_sql!(), " ORDER BY i.created_at");
    on_db!(db, pool => { sqlx::query_as(sql).bind(tenant_id).fetch_all(pool).await })
}

/// One open invitation of the tenant, inside a transaction.
pub async fn open_invite(tx: &mut Tx, tenant_id: &TenantId, id: &InviteId) -> Result<Option<InviteRow>, sqlx::Error> {
    let sql = concat!(open_invites_sql!(), " AND i.id = $2");
    on_tx!(tx, conn => {
        sqlx::query_as(sql).bind(tenant_id).bind(id).fetch_optional(&mut **conn).await
    })
}

/// The open invitation of an address, if any.
pub async fn open_invite_for(tx: &mut Tx, tenant_id: &TenantId, email: &str) -> Result<Option<InviteId>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar(
            "SELECT id FROM invites WHERE tenant_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(tenant_id)
        .bind(email)
        .fetch_optional(&mut **conn)
        .await
    })
}

/// Seats taken: members, and invitations that can still be accepted when
/// `with_invites` (an invitation holds its seat until it expires).
pub async fn seats_taken(tx: &mut Tx, tenant_id: &TenantId, with_invites: bool, now: i64) -> Result<i64, sqlx::Error> {
    on_tx!(tx, conn => {
        let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&mut **conn)
            .await?;
        let invites: i64 = if with_invites {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM invites WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
                 AND expires_at > $2",
            )
            .bind(tenant_id)
            .bind(now)
            .fetch_one(&mut **conn)
            .await?
        } else {
            0
        };
        Ok(members + invites)
    })
}

/// Whether the address belongs to a member of the tenant.
pub async fn is_member_email(tx: &mut Tx, tenant_id: &TenantId, email: &str) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 AND u.email = $2",
        )
        .bind(tenant_id)
        .bind(email)
        .fetch_one(&mut **conn)
        .await?;
        Ok(found > 0)
    })
}

/// A new invitation.
pub struct NewInvite<'a> {
    pub id: &'a InviteId,
    pub tenant_id: &'a TenantId,
    pub email: &'a str,
    pub role: Role,
    pub invited_by: &'a UserId,
    pub now: i64,
    pub expires_at: i64,
}

/// Stores an invitation.
pub async fn insert_invite(tx: &mut Tx, invite: &NewInvite<'_>) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO invites (id, tenant_id, email, role, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(invite.id)
        .bind(invite.tenant_id)
        .bind(invite.email)
        .bind(invite.role.as_str())
        .bind(invite.invited_by)
        .bind(invite.now)
        .bind(invite.expires_at)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Replaces an invitation's link: earlier links stop working, the new one
/// (its hash) works until `expires_at`, and so does the invitation.
pub async fn replace_invite_link(
    tx: &mut Tx,
    invite: &InviteId,
    email: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM magic_links WHERE invite_id = $1").bind(invite).execute(&mut **conn).await?;
        sqlx::query(
            "INSERT INTO magic_links (token_hash, email, created_at, expires_at, invite_id) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(email)
        .bind(now)
        .bind(expires_at)
        .bind(invite)
        .execute(&mut **conn)
        .await?;
        sqlx::query("UPDATE invites SET expires_at = $1 WHERE id = $2")
            .bind(expires_at)
            .bind(invite)
            .execute(&mut **conn)
            .await?;
    });
    Ok(())
}

/// Revokes an invitation; its link stops working.
pub async fn revoke_invite(tx: &mut Tx, invite: &InviteId, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE invites SET revoked_at = $1 WHERE id = $2").bind(now).bind(invite).execute(&mut **conn).await?;
        sqlx::query("DELETE FROM magic_links WHERE invite_id = $1").bind(invite).execute(&mut **conn).await?;
    });
    Ok(())
}

/// An invitation that can be accepted now: its tenant (active), role and inviter.
pub async fn acceptable_invite(
    tx: &mut Tx,
    invite: &str,
    email: &str,
    now: i64,
) -> Result<Option<(TenantId, String, Option<UserId>)>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT i.tenant_id, i.role, i.invited_by FROM invites i JOIN tenants t ON t.id = i.tenant_id \
             WHERE i.id = $1 AND i.email = $2 AND i.accepted_at IS NULL AND i.revoked_at IS NULL \
             AND i.expires_at > $3 AND t.status = 'active'",
        )
        .bind(invite)
        .bind(email)
        .bind(now)
        .fetch_optional(&mut **conn)
        .await
    })
}

/// Marks an invitation accepted.
pub async fn mark_accepted(tx: &mut Tx, invite: &str, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE invites SET accepted_at = $1 WHERE id = $2").bind(now).bind(invite).execute(&mut **conn).await?;
    });
    Ok(())
}

/// Adds a member (nothing when the person is one already).
pub async fn insert_membership(
    tx: &mut Tx,
    tenant_id: &TenantId,
    user_id: &UserId,
    role: Role,
    now: i64,
    invited_by: Option<&UserId>,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO memberships (tenant_id, user_id, role, joined_at, invited_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, user_id) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(now)
        .bind(invited_by)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Whether the person is a member of the tenant.
pub async fn is_member(tx: &mut Tx, tenant_id: &TenantId, user_id: &UserId) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .fetch_one(&mut **conn)
            .await?;
        Ok(found > 0)
    })
}

/// Changes a member's role.
pub async fn set_role(tx: &mut Tx, tenant_id: &TenantId, user_id: &UserId, role: Role) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE memberships SET role = $1 WHERE tenant_id = $2 AND user_id = $3")
            .bind(role.as_str())
            .bind(tenant_id)
            .bind(user_id)
            .execute(&mut **conn)
            .await?;
    });
    Ok(())
}

/// Deletes person `$1` if they belong to no tenant any more (they sign up afresh).
const DELETE_IF_IN_NO_TENANT: &str =
    "DELETE FROM users WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1)";

/// Removes a member: the membership and every session of theirs in the
/// tenant. A person left in no tenant is deleted (they sign up afresh).
pub async fn remove_member(tx: &mut Tx, tenant_id: &TenantId, user_id: &UserId) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .execute(&mut **conn)
            .await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .execute(&mut **conn)
            .await?;
        sqlx::query(DELETE_IF_IN_NO_TENANT)
            .bind(user_id)
            .execute(&mut **conn)
            .await?;
    });
    Ok(())
}

/// The active tenants a person belongs to, by name.
pub async fn memberships_of(db: &Db, user_id: &UserId) -> Result<Vec<MembershipRow>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_as(
            "SELECT t.id AS tenant_id, t.name AS tenant_name, m.role FROM memberships m \
             JOIN tenants t ON t.id = m.tenant_id WHERE m.user_id = $1 AND t.status = 'active' \
             ORDER BY t.name, t.id",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await
    })
}

/// The plan column of an active tenant.
pub async fn plan_of(db: &Db, tenant_id: &TenantId) -> Result<Option<String>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_scalar("SELECT plan FROM tenants WHERE id = $1 AND status = 'active'")
            .bind(tenant_id)
            .fetch_optional(pool)
            .await
    })
}

/// The e-mail address of the tenant's owner, if it has one.
pub async fn owner_email(db: &Db, tenant_id: &TenantId) -> Result<Option<String>, sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.tenant_id = $1 AND m.role = 'owner'",
        )
        .bind(tenant_id)
        .fetch_optional(pool)
        .await
    })
}

/// Ends every way into the tenant for its members (erasure): memberships,
/// invitations and their links, sessions; a person left in no tenant is
/// deleted. Their memberships of other tenants are not touched.
pub async fn remove_everyone(tx: &mut Tx, tenant_id: &TenantId) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        let people: Vec<UserId> = sqlx::query_scalar("SELECT user_id FROM memberships WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_all(&mut **conn)
            .await?;
        sqlx::query("DELETE FROM magic_links WHERE invite_id IN (SELECT id FROM invites WHERE tenant_id = $1)")
            .bind(tenant_id)
            .execute(&mut **conn)
            .await?;
        sqlx::query("DELETE FROM invites WHERE tenant_id = $1").bind(tenant_id).execute(&mut **conn).await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE tenant_id = $1").bind(tenant_id).execute(&mut **conn).await?;
        sqlx::query("DELETE FROM memberships WHERE tenant_id = $1").bind(tenant_id).execute(&mut **conn).await?;
        for user_id in people {
            sqlx::query(DELETE_IF_IN_NO_TENANT)
                .bind(&user_id)
                .execute(&mut **conn)
                .await?;
        }
    });
    Ok(())
}
