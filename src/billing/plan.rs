//! The service plan of a tenant: what it is called in the database and the
//! API, and what it gives.

use std::str::FromStr;

/// Service plan of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// Base quotas, 720p with watermark.
    Free,
    /// Five times the base quotas.
    Pro,
    /// Unlimited.
    Enterprise,
}

impl Plan {
    /// The name stored in `tenants.plan` and shown in the API (the one mapping; `FromStr` reads it back).
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    /// How many times the configured base quotas the plan gets; `None` is unlimited.
    pub fn quota_multiplier(self) -> Option<u64> {
        match self {
            Plan::Free => Some(1),
            Plan::Pro => Some(5),
            Plan::Enterprise => None,
        }
    }
}

impl FromStr for Plan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "free" => Ok(Plan::Free),
            "pro" => Ok(Plan::Pro),
            "enterprise" => Ok(Plan::Enterprise),
            other => Err(format!("unknown plan {other:?} (expected free, pro or enterprise)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_text_reads_back() {
        for plan in [Plan::Free, Plan::Pro, Plan::Enterprise] {
            assert_eq!(plan.as_str().parse::<Plan>(), Ok(plan));
            assert_eq!(serde_json::to_value(plan).expect("json"), serde_json::json!(plan.as_str()));
        }
        assert_eq!(" PRO ".parse::<Plan>(), Ok(Plan::Pro));
        assert!("gold".parse::<Plan>().is_err());
    }

    #[test]
    fn paid_plans_multiply_the_base_quotas() {
        assert_eq!(Plan::Free.quota_multiplier(), Some(1));
        assert_eq!(Plan::Pro.quota_multiplier(), Some(5));
        assert_eq!(Plan::Enterprise.quota_multiplier(), None);
    }
}
