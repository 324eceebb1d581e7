//! Metering rules: admission (check the quotas and reserve, holding the
//! tenant's lock) and recording usage exactly once per unit of work. The SQL
//! is in `store.rs`; these functions compose it inside the caller's `Tx`.

use crate::billing::Plan;
use crate::config::Config;
use crate::db::{Db, Tx};
use crate::domain::{ProjectId, TenantId};
use crate::usage::quota::{self, Amounts, Exceeded, Metric};
use crate::usage::store::{self, LedgerInsert};

pub use crate::usage::store::UsageRow;

/// One row of the ledger, as written to the JSONL log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LedgerEntry {
    /// RFC 3339.
    pub time: String,
    pub tenant: String,
    pub metric: &'static str,
    /// In the metric's display unit (count, seconds, minutes).
    pub amount: f64,
    pub key: String,
    #[serde(skip)]
    pub created_at: i64,
}

/// Usage recorded by a successful step.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub metric: Metric,
    /// Base units.
    pub amount: i64,
    /// Unique per unit of work: a re-run of the same work has the same key.
    pub key: String,
}

/// What overages allow the tenant of `row` now (see `quota::check_with_overage`):
/// `None` unless they are on, the plan is paid, billing is configured and the
/// subscription is not `past_due` or `unpaid` (a failed payment stops them at
/// once, as does turning them off or a downgrade to Free).
pub fn overage_allowance(config: &Config, plan: Plan, row: &UsageRow) -> Option<quota::OverageAllowance> {
    if plan == Plan::Free || config.stripe().is_none() || row.overage_enabled != Some(1) {
        return None;
    }
    if matches!(row.billing_status.as_deref(), Some("past_due" | "unpaid")) {
        return None;
    }
    let reported = row.overage_reported();
    let spent_usd = quota::OVERAGE_METRICS.iter().map(|m| m.overage_cost_usd(config, reported.get(*m))).sum();
    Some(quota::OverageAllowance { cap_usd: row.overage_cap_cents.unwrap_or(0) as f64 / 100.0, spent_usd })
}

/// Admission inside `tx`: locks the tenant and reads its plan
/// (`fallback_plan` when the stored text is unknown), sums what is used and
/// reserved, checks `needed` against every quota (past them up to the
/// overage cap when overages are on: `quota::check_with_overage`) and, when
/// it fits, reserves it for `project_id`. `Ok(Err(..))` names the metric that
/// would pass (and the cap, when that is what refuses); then nothing was
/// reserved.
pub async fn admit(
    tx: &mut Tx,
    config: &Config,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    needed: Amounts,
    now: i64,
    fallback_plan: Plan,
) -> Result<Result<Plan, Exceeded>, sqlx::Error> {
    let plan = match check(tx, config, tenant_id, &needed, now, fallback_plan).await? {
        Ok(plan) => plan,
        Err(exceeded) => return Ok(Err(exceeded)),
    };
    store::reserve(tx, project_id, tenant_id, &needed, now).await?;
    Ok(Ok(plan))
}

/// Admission's check without the reservation, for work admitted as a whole
/// and reserved in parts (a batch: every row's project checked as one sum,
/// then each reserved with `reserve`, all in `tx`). Locks the tenant and
/// reads its plan like `admit`; past a quota up to the overage cap when
/// overages are on (and remembers that this month admitted work past it).
/// `Ok(Err(..))` names the metric that would pass (or the cap).
pub async fn check(
    tx: &mut Tx,
    config: &Config,
    tenant_id: &TenantId,
    needed: &Amounts,
    now: i64,
    fallback_plan: Plan,
) -> Result<Result<Plan, Exceeded>, sqlx::Error> {
    let plan = tx.lock_tenant(tenant_id.as_str()).await?;
    let plan: Plan = plan.and_then(|p| p.parse().ok()).unwrap_or(fallback_plan);
    let period = quota::period_of(now);
    let row = store::usage_in(tx, tenant_id, &period).await?;
    let (used, reserved) = row.amounts();
    let allowance = overage_allowance(config, plan, &row);
    match quota::check_with_overage(config, plan, &used, &reserved, needed, allowance.as_ref()) {
        Err(exceeded) => return Ok(Err(exceeded)),
        Ok(true) => crate::billing::overage::store::mark_admitted(tx, tenant_id, &period, now).await?,
        Ok(false) => {}
    }
    Ok(Ok(plan))
}

/// Reserves `needed` for `project_id` inside `tx`, whose `check` already
/// admitted it (under the tenant's lock, which `tx` still holds).
pub async fn reserve(
    tx: &mut Tx,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    needed: &Amounts,
    now: i64,
) -> Result<(), sqlx::Error> {
    store::reserve(tx, project_id, tenant_id, needed, now).await
}

/// Records usage inside `tx`, exactly once per key (a duplicate key is
/// ignored), and moves the same amount out of the project's reservation.
/// The part of each new row past its quota, when the tenant's overage is
/// billable (`report_overage`), goes into the Stripe outbox in the same
/// transaction. Returns the ledger entries actually written.
pub async fn record(
    tx: &mut Tx,
    config: &Config,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    usage: &[Usage],
    now: i64,
) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    let mut written = Vec::new();
    let mut rows = Vec::new();
    for usage in usage {
        let row = LedgerInsert {
            tenant_id,
            project_id: Some(project_id),
            metric: usage.metric,
            amount: usage.amount,
            key: &usage.key,
            now,
        };
        if let Some(ledger_id) = store::insert_ledger(tx, &row).await? {
            store::shrink_reservation(tx, project_id, usage.metric, usage.amount).await?;
            rows.push((ledger_id, usage.metric, usage.amount));
            written.push(LedgerEntry {
                time: crate::db::rfc3339(now),
                tenant: tenant_id.to_string(),
                metric: usage.metric.as_str(),
                amount: usage.metric.display(usage.amount),
                key: usage.key.clone(),
                created_at: now,
            });
        }
    }
    report_overage(tx, config, tenant_id, &rows, now).await?;
    Ok(written)
}

/// Queues the overage of new ledger rows `(ledger id, metric, amount)` for
/// Stripe inside the transaction that wrote them. Billable when the plan is
/// paid and overages are on, or admission let work past a quota this month
/// (that work stays billable when overages are turned off before it ends).
/// The tenant's lock serialises this with the tenant's other recordings, so
/// each row's part past the quota is computed from the exact total before it
/// and the parts add up to the month's overage exactly.
async fn report_overage(
    tx: &mut Tx,
    config: &Config,
    tenant_id: &TenantId,
    rows: &[(String, Metric, i64)],
    now: i64,
) -> Result<(), sqlx::Error> {
    use crate::billing::overage::store as reports;
    if config.stripe().is_none() || !rows.iter().any(|(_, metric, _)| metric.has_overage()) {
        return Ok(());
    }
    let period = quota::period_of(now);
    let Some(plan) = reports::billable_plan(tx, tenant_id, &period).await? else { return Ok(()) };
    tx.lock_tenant(tenant_id.as_str()).await?;
    for (ledger_id, metric, amount) in rows.iter().filter(|(_, metric, _)| metric.has_overage()) {
        let Some(quota) = metric.quota(config, plan) else { continue };
        let total = store::period_total(tx, tenant_id, &period, *metric).await?;
        let part = quota::overage_part(*amount, total, quota);
        if part > 0 {
            let report =
                reports::NewReport { tenant_id, ledger_id, metric: *metric, value: part, period: &period, now };
            reports::insert_report(tx, &report).await?;
        }
    }
    Ok(())
}

/// Admission of one script inside `tx`: locks the tenant, checks
/// `scripts_generated` (and only it) and reserves one script under `key`
/// (`script:{id}`), so parallel requests see each other. `Ok(Err(..))`:
/// the quota would be passed and nothing was reserved.
pub async fn admit_script(
    tx: &mut Tx,
    config: &Config,
    tenant_id: &TenantId,
    key: &str,
    now: i64,
) -> Result<Result<Plan, Exceeded>, sqlx::Error> {
    let plan = tx.lock_tenant(tenant_id.as_str()).await?;
    let plan: Plan = plan.and_then(|p| p.parse().ok()).unwrap_or(Plan::Free);
    let (used, reserved) = store::usage_in(tx, tenant_id, &quota::period_of(now)).await?.amounts();
    let needed = Amounts { scripts: 1, ..Amounts::default() };
    if let Err(exceeded) = quota::check(config, plan, &used, &reserved, &needed) {
        return Ok(Err(exceeded));
    }
    store::reserve_script(tx, key, tenant_id, now).await?;
    Ok(Ok(plan))
}

/// Records one written script inside `tx` (once: `key` is the ledger's
/// idempotency key) and drops its reservation. Returns the entry written.
pub async fn record_script(
    tx: &mut Tx,
    tenant_id: &TenantId,
    key: &str,
    now: i64,
) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    let metric = Metric::ScriptsGenerated;
    let row = LedgerInsert { tenant_id, project_id: None, metric, amount: 1, key, now };
    let written = store::insert_ledger(tx, &row).await?;
    store::release_script(tx, key).await?;
    Ok(if written.is_some() {
        vec![LedgerEntry {
            time: crate::db::rfc3339(now),
            tenant: tenant_id.to_string(),
            metric: metric.as_str(),
            amount: metric.display(1),
            key: key.to_string(),
            created_at: now,
        }]
    } else {
        Vec::new()
    })
}

/// Every ledger row in time order (for rebuilding the JSONL log).
pub async fn all_entries(db: &Db) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    Ok(store::all_rows(db)
        .await?
        .into_iter()
        .filter_map(|(tenant, metric, amount, key, created_at)| {
            let metric = Metric::parse(&metric)?;
            Some(LedgerEntry {
                time: crate::db::rfc3339(created_at),
                tenant,
                metric: metric.as_str(),
                amount: metric.display(amount),
                key,
                created_at,
            })
        })
        .collect())
}

/// Admission on its own transaction: what a create adds (the admission
/// benchmark measures it). `Ok(Err(..))` names the metric that would pass.
pub async fn admit_now(
    db: &Db,
    config: &Config,
    tenant_id: &TenantId,
    project_id: &ProjectId,
    needed: Amounts,
) -> Result<Result<(), Exceeded>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let admitted = admit(&mut tx, config, tenant_id, project_id, needed, crate::db::now_ms(), Plan::Free).await?;
    if admitted.is_ok() {
        tx.commit().await?;
    }
    Ok(admitted.map(|_| ()))
}
