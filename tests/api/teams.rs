//! Teams (SPEC 4.9): members with roles, invitations through single-use
//! links, seats by plan, one owner and its handover, removal, several tenants
//! per person, and the role rule of every route.

use reelforge::auth::scopes::{Access, ROLE_REQUIRED_TYPE, ROUTE_ACCESS};
use reelforge::teams::Role;
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, Session, TestApp, session_of, spawn_app, spawn_app_with};

db_tests!(
    an_invitation_joins_the_team_with_its_role,
    an_invitation_link_is_single_use_and_expires,
    seats_follow_the_plan,
    every_route_answers_each_role_by_the_table,
    ownership_is_handed_to_an_admin_and_never_left_empty,
    a_removed_member_is_signed_out_at_once,
    a_person_in_two_tenants_sees_each_only_after_switching,
    erasure_needs_the_owner_and_spares_members_other_tenants,
    projects_show_who_made_them,
    existing_accounts_become_their_tenants_owners,
);

async fn send(app: &TestApp, method: &str, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("json body")
}

/// An owner on the Pro plan (5 seats).
async fn pro_owner(app: &TestApp, email: &str) -> Session {
    let owner = app.sign_in(email).await;
    app.exec("UPDATE tenants SET plan = 'pro' WHERE id = $1 AND $2 = $2", &owner.tenant_id, 0).await;
    owner
}

/// Invites `email` as `role` and returns the invitation.
async fn invite(app: &TestApp, by: &Session, email: &str, role: &str) -> Value {
    let response =
        send(app, "POST", "/api/account/members", &by.access_token, Some(json!({"email": email, "role": role}))).await;
    assert_eq!(response.status(), 201, "invite {email}");
    json_of(response).await
}

/// Opens the newest link mailed to `email` and returns the session it starts.
async fn accept(app: &TestApp, email: &str) -> Session {
    let token = app.link_token(email).await;
    session_of(app.verify(&token).await).await
}

/// A Pro team: an owner, an admin and a member, each signed in to it.
async fn team(app: &TestApp) -> (Session, Session, Session) {
    let owner = pro_owner(app, "owner@team.example").await;
    invite(app, &owner, "admin@team.example", "admin").await;
    let admin = accept(app, "admin@team.example").await;
    invite(app, &owner, "member@team.example", "member").await;
    let member = accept(app, "member@team.example").await;
    (owner, admin, member)
}

async fn audit_actions(app: &TestApp, by: &Session) -> Vec<Value> {
    let body = json_of(send(app, "GET", "/api/account/audit?limit=100", &by.access_token, None).await).await;
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn an_invitation_joins_the_team_with_its_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = pro_owner(&app, "lead@agency.example").await;
    let created = invite(&app, &owner, "Editor@Agency.example", "admin").await;
    assert_eq!(created["email"], "editor@agency.example");
    assert_eq!(created["role"], "admin");
    assert_eq!(created["expired"], false);

    // Listed as pending, holding a seat.
    let listed = json_of(send(&app, "GET", "/api/account/members", &owner.access_token, None).await).await;
    assert_eq!(listed["members"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["members"][0]["role"], "owner");
    assert_eq!(listed["invites"][0]["email"], "editor@agency.example");
    assert_eq!(listed["seats"], json!({"used": 2, "limit": 5}));

    // The mail names the team and who invited; its link joins the team.
    let editor = accept(&app, "editor@agency.example").await;
    assert_eq!(editor.tenant_id, owner.tenant_id, "the link opens the inviting tenant");
    assert_eq!(editor.body["user"]["role"], "admin");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM tenants WHERE name = $1", "editor's workspace").await,
        0,
        "no personal tenant"
    );

    let me = json_of(send(&app, "GET", "/api/auth/me", &editor.access_token, None).await).await;
    assert_eq!(me["tenants"], json!([{"id": owner.tenant_id, "name": "lead's workspace", "role": "admin"}]));

    let listed = json_of(send(&app, "GET", "/api/account/members", &editor.access_token, None).await).await;
    let members = listed["members"].as_array().expect("members");
    assert_eq!(members.len(), 2);
    assert_eq!(members[1]["email"], "editor@agency.example");
    assert_eq!(members[1]["invited_by"], "lead@agency.example");
    assert!(listed["invites"].as_array().is_some_and(Vec::is_empty), "accepted invitations leave the list");

    // Inviting a member again, or someone already invited, is a conflict.
    let again = send(
        &app,
        "POST",
        "/api/account/members",
        &owner.access_token,
        Some(json!({"email": "editor@agency.example"})),
    )
    .await;
    assert_eq!(again.status(), 409);
    invite(&app, &owner, "third@agency.example", "member").await;
    let twice =
        send(&app, "POST", "/api/account/members", &owner.access_token, Some(json!({"email": "third@agency.example"})))
            .await;
    assert_eq!(twice.status(), 409);
    assert!(json_of(twice).await["invite_id"].is_string());
    // Nobody is invited as owner, and a role must be one of the three.
    for role in ["owner", "superuser"] {
        let refused = send(
            &app,
            "POST",
            "/api/account/members",
            &owner.access_token,
            Some(json!({"email": "x@agency.example", "role": role})),
        )
        .await;
        assert_eq!(refused.status(), 422, "{role}");
    }

    // Each change is audited with who made it.
    let actions = audit_actions(&app, &owner).await;
    let invited =
        actions.iter().find(|e| e["action"] == "member.invited" && e["detail"]["email"] == "editor@agency.example");
    assert_eq!(invited.map(|e| e["user_id"].clone()), Some(json!(owner.user_id)));
    let joined = actions.iter().find(|e| e["action"] == "member.joined").expect("joined audited");
    assert_eq!(joined["user_id"], json!(editor.user_id));
    assert_eq!(joined["detail"]["invited_by"], json!(owner.user_id));
}

async fn an_invitation_link_is_single_use_and_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = pro_owner(&app, "boss@single.example").await;
    invite(&app, &owner, "once@single.example", "member").await;
    let token = app.link_token("once@single.example").await;
    assert_eq!(app.verify(&token).await.status(), 200);
    assert_eq!(app.verify(&token).await.status(), 400, "a used link is refused");

    // An expired invitation's link is refused; resending sends a new link
    // that works, and the old one stays dead.
    let late = invite(&app, &owner, "late@single.example", "member").await;
    let old = app.link_token("late@single.example").await;
    app.exec("UPDATE magic_links SET expires_at = $2 WHERE invite_id = $1", late["id"].as_str().expect("id"), 1).await;
    app.exec("UPDATE invites SET expires_at = $2 WHERE id = $1", late["id"].as_str().expect("id"), 1).await;
    assert_eq!(app.verify(&old).await.status(), 400, "an expired link is refused");
    let listed = json_of(send(&app, "GET", "/api/account/members", &owner.access_token, None).await).await;
    assert_eq!(listed["invites"][0]["expired"], true);
    let path = format!("/api/account/invites/{}/resend", late["id"].as_str().expect("id"));
    let resent = send(&app, "POST", &path, &owner.access_token, None).await;
    assert_eq!(resent.status(), 200);
    assert_eq!(json_of(resent).await["expired"], false);
    let fresh = app.link_token("late@single.example").await;
    assert_ne!(fresh, old);
    assert_eq!(app.verify(&old).await.status(), 400);
    assert_eq!(app.verify(&fresh).await.status(), 200);

    // A revoked invitation's link is refused.
    let revoked = invite(&app, &owner, "gone@single.example", "member").await;
    let link = app.link_token("gone@single.example").await;
    let path = format!("/api/account/invites/{}", revoked["id"].as_str().expect("id"));
    assert_eq!(send(&app, "DELETE", &path, &owner.access_token, None).await.status(), 204);
    assert_eq!(send(&app, "DELETE", &path, &owner.access_token, None).await.status(), 404);
    assert_eq!(app.verify(&link).await.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = $1", "gone@single.example").await, 0);
}

async fn seats_follow_the_plan(backend: Backend) {
    let app = spawn_app_with(backend, &[("SEATS_PRO", "2")]).await;
    // Free: one seat, the owner's.
    let solo = app.sign_in("solo@seats.example").await;
    let refused =
        send(&app, "POST", "/api/account/members", &solo.access_token, Some(json!({"email": "x@seats.example"}))).await;
    assert_eq!(refused.status(), 402);
    let body = json_of(refused).await;
    assert_eq!((body["seats_used"].clone(), body["seats_limit"].clone()), (json!(1), json!(1)));
    assert!(body["upgrade_url"].as_str().is_some_and(|url| url.ends_with("/billing")));

    // Pro with SEATS_PRO=2: a pending invitation holds the second seat.
    let owner = pro_owner(&app, "owner@seats.example").await;
    let pending = invite(&app, &owner, "first@seats.example", "member").await;
    let full =
        send(&app, "POST", "/api/account/members", &owner.access_token, Some(json!({"email": "second@seats.example"})))
            .await;
    assert_eq!(full.status(), 402);
    // Revoking frees it.
    let path = format!("/api/account/invites/{}", pending["id"].as_str().expect("id"));
    assert_eq!(send(&app, "DELETE", &path, &owner.access_token, None).await.status(), 204);
    invite(&app, &owner, "second@seats.example", "member").await;

    // A team that shrank its plan since inviting: the link answers 402 and
    // still works once a seat is free again.
    app.exec("UPDATE tenants SET plan = 'free' WHERE id = $1 AND $2 = $2", &owner.tenant_id, 0).await;
    let token = app.link_token("second@seats.example").await;
    assert_eq!(app.verify(&token).await.status(), 402);
    app.exec("UPDATE tenants SET plan = 'pro' WHERE id = $1 AND $2 = $2", &owner.tenant_id, 0).await;
    let joined = session_of(app.verify(&token).await).await;
    assert_eq!(joined.tenant_id, owner.tenant_id);

    // Enterprise: no limit.
    app.exec("UPDATE tenants SET plan = 'enterprise' WHERE id = $1 AND $2 = $2", &owner.tenant_id, 0).await;
    for n in 0..3 {
        invite(&app, &owner, &format!("many{n}@seats.example"), "member").await;
    }
    let listed = json_of(send(&app, "GET", "/api/account/members", &owner.access_token, None).await).await;
    assert_eq!(listed["seats"], json!({"used": 5, "limit": null}));
}

/// A path of the route template with every parameter filled in.
fn concrete(route: &str) -> String {
    let filler = "0190f5a8-7e1c-7000-8000-000000000000";
    let mut path = String::new();
    let mut rest = route;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |end| start + end + 1);
        path.push_str(match &rest[start..end] {
            "{index}" => "0",
            "{filename}" => "export-none.zip",
            _ => filler,
        });
        rest = &rest[end..];
    }
    path.push_str(rest);
    path
}

/// The role test of the issue: every route of the table, called by each
/// role. A role below the route's gets 403 `role-required` naming the role
/// needed; a role at or above it never does (whatever else the call answers).
async fn every_route_answers_each_role_by_the_table(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, admin, member) = team(&app).await;
    let people = [(Role::Member, &member), (Role::Admin, &admin), (Role::Owner, &owner)];
    let mut checked = 0;
    for (role, session) in people {
        for (method, route, access, needed) in ROUTE_ACCESS {
            if *access == Access::Public || *route == "/api/auth/switch-tenant" {
                continue;
            }
            let body = (*method != "GET" && *method != "DELETE").then(|| json!({}));
            let response = send(&app, method, &concrete(route), &session.access_token, body).await;
            let status = response.status().as_u16();
            let problem: Value = response.json().await.unwrap_or(Value::Null);
            if role < *needed {
                assert_eq!(status, 403, "{role} on {method} {route}");
                assert_eq!(problem["type"], ROLE_REQUIRED_TYPE, "{role} on {method} {route}");
                assert_eq!(problem["required_role"], needed.as_str(), "{role} on {method} {route}");
            } else {
                assert_ne!(problem["type"], ROLE_REQUIRED_TYPE, "{role} on {method} {route}: {problem}");
                assert!(
                    status != 401 && status < 500 || status == 503,
                    "{role} on {method} {route}: {status} {problem}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 250, "every route, three times ({checked})");
    // The member still works on what is theirs.
    assert_eq!(send(&app, "GET", "/api/v1/projects", &member.access_token, None).await.status(), 200);
}

async fn ownership_is_handed_to_an_admin_and_never_left_empty(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, admin, member) = team(&app).await;
    let path = |session: &Session| format!("/api/account/members/{}", session.user_id);

    // The owner cannot step down or be removed without a handover.
    let demote = send(&app, "PATCH", &path(&owner), &owner.access_token, Some(json!({"role": "admin"}))).await;
    assert_eq!(demote.status(), 409);
    assert_eq!(send(&app, "DELETE", &path(&owner), &admin.access_token, None).await.status(), 409);
    assert_eq!(
        send(&app, "PATCH", &path(&owner), &admin.access_token, Some(json!({"role": "member"}))).await.status(),
        409
    );
    // Only the owner hands over, and only to an admin.
    let by_admin = send(&app, "PATCH", &path(&admin), &admin.access_token, Some(json!({"role": "owner"}))).await;
    assert_eq!(by_admin.status(), 403);
    let to_member = send(&app, "PATCH", &path(&member), &owner.access_token, Some(json!({"role": "owner"}))).await;
    assert_eq!(to_member.status(), 409);

    let handed = send(&app, "PATCH", &path(&admin), &owner.access_token, Some(json!({"role": "owner"}))).await;
    assert_eq!(handed.status(), 200);
    assert_eq!(json_of(handed).await["role"], "owner");
    // At the next request each sees the new role: the old owner is an admin.
    let me = json_of(send(&app, "GET", "/api/auth/me", &owner.access_token, None).await).await;
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(send(&app, "GET", "/api/billing/subscription", &owner.access_token, None).await.status(), 403);
    assert_eq!(send(&app, "GET", "/api/billing/subscription", &admin.access_token, None).await.status(), 200);
    let listed = json_of(send(&app, "GET", "/api/account/members", &admin.access_token, None).await).await;
    let owners: Vec<&Value> =
        listed["members"].as_array().expect("members").iter().filter(|m| m["role"] == "owner").collect();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0]["email"], "admin@team.example");

    // A role change applies at the member's next request.
    assert_eq!(send(&app, "GET", "/api/account/members", &member.access_token, None).await.status(), 403);
    let promoted = send(&app, "PATCH", &path(&member), &owner.access_token, Some(json!({"role": "admin"}))).await;
    assert_eq!(promoted.status(), 200);
    assert_eq!(send(&app, "GET", "/api/account/members", &member.access_token, None).await.status(), 200);

    let actions = audit_actions(&app, &admin).await;
    let handover = actions.iter().find(|e| e["action"] == "member.ownership_transferred").expect("handover audited");
    assert_eq!(handover["user_id"], json!(owner.user_id));
    assert_eq!(handover["detail"], json!({"from": "owner@team.example", "to": "admin@team.example"}));
    let changed = actions.iter().find(|e| e["action"] == "member.role_changed").expect("role change audited");
    assert_eq!(changed["detail"], json!({"email": "member@team.example", "from": "member", "to": "admin"}));
}

async fn a_removed_member_is_signed_out_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, admin, member) = team(&app).await;
    assert_eq!(send(&app, "GET", "/api/v1/projects", &member.access_token, None).await.status(), 200);
    // A member cannot remove anyone.
    let path = format!("/api/account/members/{}", admin.user_id);
    assert_eq!(send(&app, "DELETE", &path, &member.access_token, None).await.status(), 403);

    let path = format!("/api/account/members/{}", member.user_id);
    assert_eq!(send(&app, "DELETE", &path, &admin.access_token, None).await.status(), 204);
    assert_eq!(send(&app, "GET", "/api/v1/projects", &member.access_token, None).await.status(), 401, "at once");
    let refreshed = app.post_json("/api/auth/refresh", &json!({"refresh_token": member.refresh_token})).await;
    assert_eq!(refreshed.status(), 401);
    assert_eq!(send(&app, "DELETE", &path, &admin.access_token, None).await.status(), 404);
    // Left in no tenant, the person is gone; signing in again starts afresh.
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = $1", "member@team.example").await, 0);
    let again = app.sign_in("member@team.example").await;
    assert_ne!(again.tenant_id, owner.tenant_id);
    assert_eq!(again.body["user"]["role"], "owner");

    let removed = audit_actions(&app, &owner).await.into_iter().find(|e| e["action"] == "member.removed");
    assert_eq!(
        removed.map(|e| (e["user_id"].clone(), e["detail"]["email"].clone())),
        Some((json!(admin.user_id), json!("member@team.example")))
    );
}

async fn a_person_in_two_tenants_sees_each_only_after_switching(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = pro_owner(&app, "alpha@two.example").await;
    // Bea has her own tenant with a project in it.
    let own = app.sign_in("bea@two.example").await;
    let made = send(
        &app,
        "POST",
        "/api/v1/projects",
        &own.access_token,
        Some(json!({"title": "Bea's own", "script": "Mine.", "template_id": "explainer"})),
    )
    .await;
    assert_eq!(made.status(), 202);
    let project_of_b = json_of(made).await["project_id"].as_str().expect("id").to_string();

    invite(&app, &owner, "bea@two.example", "member").await;
    let in_a = accept(&app, "bea@two.example").await;
    assert_eq!(in_a.tenant_id, owner.tenant_id);
    let me = json_of(send(&app, "GET", "/api/auth/me", &in_a.access_token, None).await).await;
    let mut tenants: Vec<(String, String)> = me["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| (t["id"].as_str().unwrap_or_default().to_string(), t["role"].as_str().unwrap_or_default().to_string()))
        .collect();
    tenants.sort();
    let mut expected =
        vec![(owner.tenant_id.clone(), "member".to_string()), (own.tenant_id.clone(), "owner".to_string())];
    expected.sort();
    assert_eq!(tenants, expected);

    // In A, B's project does not exist.
    let path = format!("/api/v1/projects/{project_of_b}");
    assert_eq!(send(&app, "GET", &path, &in_a.access_token, None).await.status(), 404);
    let listed = json_of(send(&app, "GET", "/api/v1/projects", &in_a.access_token, None).await).await;
    assert!(listed["items"].as_array().is_some_and(Vec::is_empty));

    // Switching opens B with new tokens; the session in A ends.
    let switched =
        send(&app, "POST", "/api/auth/switch-tenant", &in_a.access_token, Some(json!({"tenant_id": own.tenant_id})))
            .await;
    let in_b = session_of(switched).await;
    assert_eq!(in_b.tenant_id, own.tenant_id);
    assert_eq!(in_b.body["user"]["role"], "owner");
    assert!(in_b.set_cookies.iter().any(|c| c.starts_with("rf_access=")), "cookies for the new tenant");
    assert_eq!(send(&app, "GET", &path, &in_b.access_token, None).await.status(), 200);
    assert_eq!(
        send(&app, "GET", "/api/v1/projects", &in_a.access_token, None).await.status(),
        401,
        "the old session ended"
    );

    // Not a member: 404, whether the tenant exists or not.
    for tenant in [owner.tenant_id.as_str(), "0190f5a8-7e1c-7000-8000-000000000000", "nonsense"] {
        let stranger = app.sign_in("stranger@two.example").await;
        let refused =
            send(&app, "POST", "/api/auth/switch-tenant", &stranger.access_token, Some(json!({"tenant_id": tenant})))
                .await;
        assert_eq!(refused.status(), 404, "{tenant}");
    }
    // A plain sign-in opens the tenant used last.
    let again = app.sign_in("bea@two.example").await;
    assert_eq!(again.tenant_id, own.tenant_id);
}

async fn erasure_needs_the_owner_and_spares_members_other_tenants(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, admin, member) = team(&app).await;
    // The admin is also a member of another team.
    let elsewhere = pro_owner(&app, "other@else.example").await;
    invite(&app, &elsewhere, "admin@team.example", "member").await;
    accept(&app, "admin@team.example").await;

    let confirm = |email: &str| Some(json!({"confirm": email}));
    let by_admin = send(&app, "POST", "/api/account/delete", &admin.access_token, confirm("admin@team.example")).await;
    assert_eq!(by_admin.status(), 403);
    assert_eq!(json_of(by_admin).await["required_role"], "owner");
    assert_eq!(
        send(&app, "POST", "/api/account/delete", &member.access_token, confirm("member@team.example")).await.status(),
        403
    );

    let erased = send(&app, "POST", "/api/account/delete", &owner.access_token, confirm("owner@team.example")).await;
    assert_eq!(erased.status(), 202);
    for session in [&owner, &admin, &member] {
        assert_eq!(send(&app, "GET", "/api/auth/me", &session.access_token, None).await.status(), 401);
    }
    // The admin's other membership is untouched; the member, in no tenant now, is gone.
    let admin_again = app.sign_in("admin@team.example").await;
    assert_eq!(admin_again.tenant_id, elsewhere.tenant_id);
    let me = json_of(send(&app, "GET", "/api/auth/me", &admin_again.access_token, None).await).await;
    assert_eq!(me["tenants"].as_array().map(Vec::len), Some(1));
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = $1", "member@team.example").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM memberships WHERE tenant_id = $1", &owner.tenant_id).await, 0);
    let switch = send(
        &app,
        "POST",
        "/api/auth/switch-tenant",
        &admin_again.access_token,
        Some(json!({"tenant_id": owner.tenant_id})),
    )
    .await;
    assert_eq!(switch.status(), 404);
}

async fn projects_show_who_made_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, _admin, member) = team(&app).await;
    let body = json!({"title": "By a member", "script": "Hello team.", "template_id": "explainer"});
    let made = json_of(send(&app, "POST", "/api/v1/projects", &member.access_token, Some(body)).await).await;
    let path = format!("/api/v1/projects/{}", made["project_id"].as_str().expect("id"));
    let seen = json_of(send(&app, "GET", &path, &owner.access_token, None).await).await;
    assert_eq!(seen["created_by"]["kind"], "member");
    assert_eq!(seen["created_by"]["email"], "member@team.example");
    assert_eq!(seen["created_by"]["user_id"], json!(member.user_id));

    let key = json_of(
        send(
            &app,
            "POST",
            "/api/account/api-keys",
            &owner.access_token,
            Some(json!({"name": "CI", "scopes": ["projects:write", "projects:read"]})),
        )
        .await,
    )
    .await;
    let by_key = app
        .client
        .post(app.url("/api/v1/projects"))
        .header("X-API-Key", key["api_key"].as_str().expect("key"))
        .json(&json!({"title": "By a key", "script": "Hello robots.", "template_id": "explainer"}))
        .send()
        .await
        .expect("create");
    assert_eq!(by_key.status(), 202);
    let path = format!("/api/v1/projects/{}", json_of(by_key).await["project_id"].as_str().expect("id"));
    let seen = json_of(send(&app, "GET", &path, &member.access_token, None).await).await;
    assert_eq!(
        seen["created_by"],
        json!({"kind": "api_key", "user_id": null, "email": null, "api_key_id": key["id"], "api_key_name": "CI"})
    );
}

/// Migration 0022 on a database that has accounts: each user becomes the
/// owner of its tenant, and its sessions survive (on SQLite the users table
/// is rebuilt with foreign keys off, which must not cascade to them).
async fn existing_accounts_become_their_tenants_owners(backend: Backend) {
    const BEFORE_TEAMS: i64 = 21;
    let seed = [
        "INSERT INTO tenants (id, name, plan, status, created_at) VALUES ('t-1', 'Acme', 'pro', 'active', 1000)",
        "INSERT INTO users (id, tenant_id, email, role, created_at) VALUES ('u-1', 't-1', 'old@acme.example', 'owner', 1000)",
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, tenant_id, created_at, expires_at) \
         VALUES ('h-1', 'f-1', 'u-1', 't-1', 1000, 9999999999999)",
        "INSERT INTO projects (id, tenant_id, title, template_id, language, plan, width, height, fps, watermark, status, \
         created_at, updated_at) VALUES ('p-1', 't-1', 'Old', 'minimal', 'en', 'pro', 1280, 720, 30, 0, 'completed', 1000, 1000)",
    ];
    let check = "SELECT m.role || ' ' || u.email || ' ' || u.last_tenant_id || ' ' || \
                 (SELECT COUNT(*) FROM refresh_tokens WHERE user_id = u.id) || ' ' || \
                 (SELECT COALESCE(created_by, 'none') FROM projects WHERE id = 'p-1') \
                 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = 't-1'";
    let expected = "owner old@acme.example t-1 1 none";
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.path().join("old.db"))
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.expect("sqlite");
            let migrator = sqlx::migrate!("migrations/sqlite");
            migrator.run_to(BEFORE_TEAMS, &pool).await.expect("migrations before teams");
            for sql in seed {
                sqlx::query(sql).execute(&pool).await.expect("seed");
            }
            migrator.run(&pool).await.expect("the teams migration");
            let row: String = sqlx::query_scalar(check).fetch_one(&pool).await.expect("membership");
            assert_eq!(row, expected);
            let violations: Vec<(String,)> =
                sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&pool).await.expect("check");
            assert!(violations.is_empty(), "foreign keys hold: {violations:?}");
            let on: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&pool).await.expect("pragma");
            assert_eq!(on, 1, "foreign keys are on again");
        }
        Backend::Postgres { admin_url } => {
            let name = format!("rf_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(&format!("{admin_url}/postgres")).await.expect("admin");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.expect("create");
            let pool = sqlx::PgPool::connect(&format!("{admin_url}/{name}")).await.expect("pg");
            let migrator = sqlx::migrate!("migrations/postgres");
            migrator.run_to(BEFORE_TEAMS, &pool).await.expect("migrations before teams");
            for sql in seed {
                sqlx::query(sql).execute(&pool).await.expect("seed");
            }
            migrator.run(&pool).await.expect("the teams migration");
            let row: String = sqlx::query_scalar(check).fetch_one(&pool).await.expect("membership");
            assert_eq!(row, expected);
            pool.close().await;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}"))).execute(&admin).await.expect("drop");
        }
    }
}
