//! The policy file as written: serde types that reject unknown keys and keep the span of every
//! value a user types, so that validation can point at it.
//!
//! Sections are deserialized one at a time (see `load.rs`), so a mistake in one section does not
//! hide the mistakes in the others.

use serde::Deserialize;
use toml::Spanned;

pub type Strings = Spanned<Vec<Spanned<String>>>;

/// The top-level keys, in the order `gate init` writes them.
pub const TOP_LEVEL_KEYS: &[&str] = &["extends", "paths", "environments", "checks", "waivers", "hooks", "trust"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPaths {
    pub scripts: Option<Strings>,
    pub tests: Option<Strings>,
    pub config: Option<Strings>,
    pub manifests: Option<Strings>,
    pub ignore: Option<Strings>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawEnvironment {
    /// Take the last deploy from the newest tag matching this pattern instead of the ledger.
    pub deploy_tags: Option<Spanned<String>>,
    /// Environments the release tree must have been deployed to first.
    pub requires: Option<Strings>,
    /// How long ago, at least, that deploy must have been.
    pub soak: Option<Spanned<String>>,
    /// Evidence kinds the release tree must carry.
    pub evidence: Option<Strings>,
    /// Oldest acceptable evidence of each kind.
    pub evidence_max_age: Option<std::collections::BTreeMap<Spanned<String>, Spanned<String>>>,
    /// Windows in which deploys are frozen.
    pub freeze: Option<Strings>,
    /// Hours in which deploys are allowed; at any time when unset.
    pub deploy_hours: Option<Strings>,
    /// The time zone freeze windows and deploy hours are read in (IANA name); UTC when unset.
    pub timezone: Option<Spanned<String>>,
    /// How many distinct approvers, none of them an author or committer of the release, an
    /// approval needs to count.
    pub approvals: Option<Spanned<i64>>,
    /// Whether a rollback passes a freeze (`allow`) or needs the same approval as any deploy
    /// inside one (`approve`).
    pub rollback: Option<Spanned<String>>,
}

/// `[trust]`: who may write evidence. Read from the deployed policy, never the release's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTrust {
    /// The allowed_signers file (ssh-keygen's format), a path in the repository.
    pub allowed_signers: Option<Spanned<String>>,
    /// Evidence kinds that count only when signed by an allowed signer.
    pub require_signed: Option<Strings>,
    /// Per kind, the principals whose signatures count for it.
    pub signers: Option<std::collections::BTreeMap<Spanned<String>, Strings>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawWaiver {
    pub check: Spanned<String>,
    pub path: Spanned<String>,
    pub reason: Spanned<String>,
    /// A date, quoted or as a TOML date literal.
    pub expires: Spanned<toml::Value>,
}

/// `[hooks.pre-push]`: which pushes the pre-push hook checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPrePush {
    /// Remote branch names (under `refs/heads/`) whose pushes are checked, as globs.
    pub branches: Option<Strings>,
    /// Tag names whose pushes are checked, as globs.
    pub tags: Option<Strings>,
    /// Check pushes as releases to this environment.
    pub environment: Option<Spanned<String>>,
}

/// Check severities as written in `[checks.ID] severity = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Off,
    Warn,
    Deny,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Off => "off",
            Severity::Warn => "warn",
            Severity::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
