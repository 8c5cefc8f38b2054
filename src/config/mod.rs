//! The policy: what gate checks and how strictly, from `gate.toml` and the rule packs it extends.
//!
//! Loading happens in two steps. Each policy file (a layer) is parsed section by section and
//! validated on its own, so every mistake is reported with its file, line and column, all
//! together. Then the layers are merged in order, later over earlier, into one [`Policy`] that
//! remembers where each setting came from (for `gate checks`).

mod diag;
mod hooks;
mod load;
mod packs;
mod raw;
mod schedule;
mod section;

use std::collections::BTreeMap;
use std::fmt;

use globset::{GlobMatcher, GlobSet};

use crate::checks::Options;

pub use diag::{Diagnostic, SourceText, did_you_mean};
pub use hooks::{Hooks, PrePushPolicy, PushedRef, RefFilter};
pub use load::{PolicyInput, load, parse_date};
pub use packs::{BUILTIN_PACKS, builtin_pack};
pub use raw::Severity;
pub use schedule::{Window, parse_duration, parse_window};

/// The policy in force for a run.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The layers, first to last (later layers win), as shown to users.
    pub layers: Vec<String>,
    /// Repository-relative paths of the policy files a release could change: gate.toml and the
    /// packs it extends by path. A change to any of them is a `policy-change` finding.
    pub files: Vec<String>,
    pub paths: PathClasses,
    pub environments: BTreeMap<String, Environment>,
    pub checks: BTreeMap<&'static str, CheckPolicy>,
    pub waivers: Vec<Waiver>,
    /// `[hooks.pre-push]`: which pushes the pre-push hook checks.
    pub hooks: Hooks,
}

impl Policy {
    /// The policy for a check, falling back to the check's built-in severity.
    pub fn check(&self, id: &'static str) -> CheckPolicy {
        self.checks.get(id).cloned().unwrap_or_else(|| {
            let severity = crate::checks::find(id).map_or(Severity::Deny, |check| check.default_severity());
            CheckPolicy {
                severity,
                severity_origin: Origin::BuiltIn,
                options: Options::default(),
                options_origins: Vec::new(),
            }
        })
    }

    /// The environment named `name`, or an error that lists the declared ones.
    pub fn environment(&self, name: &str) -> crate::Result<&Environment> {
        self.environments.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.environments.keys().map(String::as_str).collect();
            let hint = match did_you_mean(name, names.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None if names.is_empty() => "declare it in gate.toml as [environments.NAME]".to_string(),
                None => format!("declared environments: {}; declare others in gate.toml", names.join(", ")),
            };
            crate::Error::with_fix(format!("unknown environment `{name}`"), hint)
        })
    }
}

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// gate's code: no policy layer sets it.
    BuiltIn,
    /// A policy file, at a line.
    Layer { name: String, line: usize },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in"),
            Origin::Layer { name, line } => write!(f, "{name}:{line}"),
        }
    }
}

/// The names of the path classes, as written in `[paths]`.
pub const PATH_CLASSES: &[&str] = &["scripts", "tests", "config", "manifests", "ignore"];

/// The path classes: which files are deployable scripts, tests, configuration, dependency
/// manifests, or ignored.
#[derive(Debug, Clone)]
pub struct PathClasses {
    pub scripts: PathClass,
    pub tests: PathClass,
    pub config: PathClass,
    pub manifests: PathClass,
    pub ignore: PathClass,
}

impl PathClasses {
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &PathClass)> {
        [
            ("scripts", &self.scripts),
            ("tests", &self.tests),
            ("config", &self.config),
            ("manifests", &self.manifests),
            ("ignore", &self.ignore),
        ]
        .into_iter()
    }
}

/// One path class: its globs, compiled.
#[derive(Debug, Clone)]
pub struct PathClass {
    pub globs: Vec<String>,
    /// The globs that put a file in the class.
    pub set: GlobSet,
    /// The globs written with a leading `!`, which take a file back out.
    pub except: GlobSet,
    pub origin: Origin,
}

impl PathClass {
    pub fn empty() -> Self {
        PathClass { globs: Vec::new(), set: GlobSet::empty(), except: GlobSet::empty(), origin: Origin::BuiltIn }
    }

    pub fn matches(&self, path: &str) -> bool {
        self.set.is_match(path) && !self.except.is_match(path)
    }
}

/// A deploy target.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    /// When set, the last deploy is the newest tag matching this pattern, not the ledger.
    pub deploy_tags: Option<TagPattern>,
    /// Environments the release tree must have been deployed to before this one.
    pub requires: Vec<String>,
    /// How long the release must have run in each required environment.
    pub soak: Option<jiff::SignedDuration>,
    /// Evidence kinds the release tree must carry (`tests`, `backup`, ...).
    pub evidence: Vec<String>,
    /// Oldest acceptable evidence, by kind.
    pub evidence_max_age: BTreeMap<String, jiff::SignedDuration>,
    /// Windows in which deploys to this environment are frozen.
    pub freeze: Vec<Window>,
    /// The time zone freeze windows are read in.
    pub timezone: NamedZone,
    pub origin: Origin,
}

/// A time zone and the name it was given by.
#[derive(Debug, Clone)]
pub struct NamedZone {
    pub name: String,
    pub zone: jiff::tz::TimeZone,
}

impl Default for NamedZone {
    fn default() -> Self {
        NamedZone { name: "UTC".to_string(), zone: jiff::tz::TimeZone::UTC }
    }
}

#[derive(Debug, Clone)]
pub struct TagPattern {
    pub pattern: String,
    pub matcher: GlobMatcher,
}

/// Severity and options of one check after all layers are merged.
#[derive(Debug, Clone)]
pub struct CheckPolicy {
    pub severity: Severity,
    pub severity_origin: Origin,
    pub options: Options,
    /// The layers that set options, in order.
    pub options_origins: Vec<Origin>,
}

/// A recorded, reasoned, expiring exception for one finding.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub check: String,
    pub path: String,
    pub matcher: GlobMatcher,
    pub reason: String,
    pub expires: jiff::civil::Date,
    pub origin: Origin,
}

/// Compiles a path glob the way every path class and waiver uses it: matched against the whole
/// repository-relative path, `*` stays within one directory, `**` crosses directories.
pub fn compile_glob(pattern: &str) -> Result<globset::Glob, globset::Error> {
    globset::GlobBuilder::new(pattern).literal_separator(true).backslash_escape(true).build()
}
