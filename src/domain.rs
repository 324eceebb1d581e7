//! Parse-don't-validate newtypes shared by the domains.

use std::fmt;

use serde::Serialize;

/// A normalised (trimmed, lower-cased), syntactically valid ASCII e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Email(String);

impl Email {
    /// Normalises and validates `raw`; the error says what is wrong in plain words.
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let email = raw.trim().to_ascii_lowercase();
        if email.is_empty() {
            return Err("is required");
        }
        if email.len() > 254 {
            return Err("is longer than 254 characters");
        }
        if !email.is_ascii() {
            // Look-alike (homoglyph) addresses are refused; internationalised
            // domains can be given in their punycode (xn--) form.
            return Err("must use ASCII characters only (write international domains as xn--...)");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("must contain an @");
        };
        if local.is_empty() || local.len() > 64 {
            return Err("has an empty or over-long part before the @");
        }
        const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";
        if !local.chars().all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c))
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return Err("has characters that are not allowed before the @");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err("needs a domain with a dot, like example.com");
        }
        for label in &labels {
            if label.is_empty()
                || label.len() > 63
                || label.starts_with('-')
                || label.ends_with('-')
                || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err("has an invalid domain");
            }
        }
        let tld = labels[labels.len() - 1];
        if tld.len() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
            return Err("has an invalid top-level domain");
        }
        Ok(Email(email))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the @, used to name a new tenant.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Built only by `generate`, by `parse` (a UUID, as every id is) or by
        /// reading it from the database.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl $name {
            /// A new time-ordered id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }
            /// An id given from outside (a path, a token, a file name): it must be a UUID.
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                uuid::Uuid::try_parse(raw).map(|id| Self(id.hyphenated().to_string())).map_err(|_| InvalidId)
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(raw: String) -> Result<Self, InvalidId> {
                Self::parse(&raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                self.0.encode_by_ref(buf)
            }
        }

        /// Ids in the database were written by us: trusted as they are.
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(Self(String::decode(value)?))
            }
        }
    };
}

/// Text that should have been an id (a UUID) was not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct InvalidId;

id_type!(
    /// The tenant every piece of customer data belongs to.
    TenantId
);
id_type!(
    /// A person who signs in.
    UserId
);
id_type!(
    /// A project (a video being made).
    ProjectId
);
id_type!(
    /// A batch: one template script rendered once per row of data.
    BatchId
);
id_type!(
    /// An invitation to join a tenant.
    InviteId
);

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn normalises_case_and_spaces() {
        let email = Email::parse("  Alice.Smith+video@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "alice.smith+video@example.com");
        assert_eq!(email.local_part(), "alice.smith+video");
    }

    #[test]
    fn refuses_bad_addresses() {
        for raw in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@example.com",
            ".a@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example.c",
            "a@example.123",
            "a@exa_mple.com",
            "<script>@example.com",
            "аlice@example.com", // Cyrillic "а": a look-alike
            "alice@exаmple.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be refused");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long_local).is_err());
        let long = format!("a@{}.com", "b".repeat(260));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn ids_are_uuids() {
        let id = super::TenantId::generate();
        assert_eq!(super::TenantId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(super::TenantId::parse(&id.as_str().to_uppercase()), Ok(id));
        for bad in ["", "t1", "../etc", "0190c0de-0000-7000-8000-00000000000g"] {
            assert!(super::ProjectId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn accepts_punycode_domains() {
        assert!(Email::parse("x@xn--bcher-kva.example").is_ok());
    }
}
