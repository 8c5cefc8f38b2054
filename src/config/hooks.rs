//! `[hooks.pre-push]`: which pushes the pre-push hook checks, and against what.
//!
//! Parsed like every other section (strictly, with spans), merged later-over-earlier key by
//! key, and checked after merging, because the environment it names may be declared in another
//! layer.

use std::collections::BTreeMap;

use globset::GlobSet;
use toml::Spanned;
use toml::de::DeValue;

use super::raw::RawPrePush;
use super::section::{Located, Section};
use super::{Environment, Origin};
use crate::diag::{Diagnostic, did_you_mean};

/// The subtables of `[hooks]`.
const HOOKS: &[&str] = &["pre-push"];

/// The `[hooks]` section after all layers are merged.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    pub pre_push: PrePushPolicy,
}

/// `[hooks.pre-push]`: what the pre-push hook checks.
#[derive(Debug, Clone, Default)]
pub struct PrePushPolicy {
    /// Remote branches (names under `refs/heads/`) whose pushes are checked; `None` is every
    /// branch.
    pub branches: Option<RefFilter>,
    /// Tags (names under `refs/tags/`) whose pushes are checked; `None` is every tag.
    pub tags: Option<RefFilter>,
    /// Check pushes as releases to this environment: its last deploy is the base.
    pub environment: Option<String>,
}

/// What a push updates on the remote, by the remote ref's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushedRef<'a> {
    /// `refs/heads/NAME`.
    Branch(&'a str),
    /// `refs/tags/NAME`.
    Tag(&'a str),
    /// Anything else: notes, gate's own ledger, review refs such as `refs/for/main`.
    Other,
}

impl<'a> PushedRef<'a> {
    pub fn of(remote_ref: &'a str) -> Self {
        if let Some(name) = remote_ref.strip_prefix("refs/heads/") {
            PushedRef::Branch(name)
        } else if let Some(name) = remote_ref.strip_prefix("refs/tags/") {
            PushedRef::Tag(name)
        } else {
            PushedRef::Other
        }
    }
}

impl PrePushPolicy {
    /// Whether a push to `pushed` is checked; when it is not, why (for the "skipped" line).
    pub fn selects(&self, pushed: PushedRef<'_>) -> Result<(), String> {
        let (filter, key, name) = match pushed {
            PushedRef::Branch(name) => (&self.branches, "branches", name),
            PushedRef::Tag(name) => (&self.tags, "tags", name),
            PushedRef::Other => return Err("not a branch or tag".to_string()),
        };
        match filter {
            Some(filter) if !filter.matches(name) => {
                Err(format!("[hooks.pre-push] {key} ({}) does not include `{name}`", filter.origin))
            }
            _ => Ok(()),
        }
    }
}

/// A list of ref-name globs: `*` stays within one `/`-separated part, `**` crosses them, a
/// leading `!` takes names back out.
#[derive(Debug, Clone)]
pub struct RefFilter {
    pub globs: Vec<String>,
    set: GlobSet,
    except: GlobSet,
    pub origin: Origin,
}

impl RefFilter {
    pub fn matches(&self, name: &str) -> bool {
        self.set.is_match(name) && !self.except.is_match(name)
    }
}

/// What one layer's `[hooks]` sets.
#[derive(Default)]
pub(super) struct HooksLayer {
    branches: Option<RefFilter>,
    tags: Option<RefFilter>,
    environment: Option<Located>,
}

impl Section<'_> {
    pub(super) fn hooks(&mut self, value: Spanned<DeValue<'static>>, hooks: &mut HooksLayer) {
        let Some((table, _)) = self.table(value, "`hooks`") else {
            return;
        };
        for (key, value) in table {
            if key.get_ref() != "pre-push" {
                let mut d =
                    self.source.diagnostic(Some(key.span()), format!("unknown hook `{}` in [hooks]", key.get_ref()));
                d.help = Some(match did_you_mean(key.get_ref(), HOOKS.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("gate's hooks: {}", HOOKS.join(", ")),
                });
                self.diagnostics.push(d);
                continue;
            }
            let Some(raw) = self.de::<RawPrePush>(value, "[hooks.pre-push]") else {
                continue;
            };
            if let Some(branches) = raw.branches {
                hooks.branches = self.ref_filter(branches);
            }
            if let Some(tags) = raw.tags {
                hooks.tags = self.ref_filter(tags);
            }
            if let Some(environment) = raw.environment {
                let span = environment.span();
                hooks.environment =
                    Some(Located { span, value: environment.into_inner(), source: self.source.clone() });
            }
        }
    }

    fn ref_filter(&mut self, globs: super::raw::Strings) -> Option<RefFilter> {
        let origin = self.origin(&globs.span());
        let (set, except) = self.globs(globs.get_ref())?;
        let globs = globs.into_inner().into_iter().map(Spanned::into_inner).collect();
        Some(RefFilter { globs, set, except, origin })
    }
}

/// Merges one layer's `[hooks]` over what earlier layers set, key by key, and remembers in
/// `environment_at` where the environment was set, to check it once every layer's environments
/// are known.
pub(super) fn merge(merged: &mut Hooks, layer: HooksLayer, environment_at: &mut Option<Located>) {
    let pre_push = &mut merged.pre_push;
    if layer.branches.is_some() {
        pre_push.branches = layer.branches;
    }
    if layer.tags.is_some() {
        pre_push.tags = layer.tags;
    }
    if let Some(environment) = layer.environment {
        pre_push.environment = Some(environment.value.clone());
        *environment_at = Some(environment);
    }
}

/// The environment `[hooks.pre-push]` names must be declared (in any layer).
pub(super) fn validate(
    environment: Option<&Located>,
    environments: &BTreeMap<String, Environment>,
) -> Option<Diagnostic> {
    let environment = environment?;
    if environments.contains_key(&environment.value) {
        return None;
    }
    let mut d = environment.source.diagnostic(
        Some(environment.span.clone()),
        format!("[hooks.pre-push] environment `{}` is not an environment", environment.value),
    );
    d.help = Some(match did_you_mean(&environment.value, environments.keys().map(String::as_str)) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("declare it as [environments.{}]", environment.value),
    });
    Some(d)
}
