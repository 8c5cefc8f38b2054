//! Loading the policy: read the user's file and the packs it extends, validate each one, merge.
//!
//! Order of layers (documented in docs/config.md): the packs named in `extends`, in the order
//! listed, each preceded by the packs it extends itself; then the file that extends them. Later
//! layers win key by key. A file without `extends` extends `["default"]`; `extends = []` starts
//! from nothing. A pack reached twice is applied once, where it is first reached.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::hooks::{self, Hooks};
use super::options::{Catalog, Options, Problem, layer_of};
use super::raw::Severity;
use super::section::{Kind, Layer, Located, parse_layer};
use super::{CheckPolicy, Environment, NamedZone, Origin, PathClass, PathClasses, Policy, Rollbacks, builtin_pack};
use crate::diag::{Diagnostic, SourceText, did_you_mean};
use crate::{Error, Result};

/// Where the policy comes from.
pub struct PolicyInput<'a> {
    /// The user's policy file: the name shown in messages (repository-relative when it is in
    /// the repository) and its text. `None` runs on the built-in `default` pack.
    pub file: Option<(String, String)>,
    /// Reads a pack given by path (already joined to the directory of the file naming it);
    /// `Ok(None)` when there is no such file.
    pub read_pack: &'a dyn Fn(&str) -> Result<Option<String>>,
    /// The checks: their ids, default severities and how their options validate.
    pub catalog: &'a dyn Catalog,
}

/// Loads, validates and merges the policy. Every problem in every file is reported at once.
pub fn load(input: &PolicyInput<'_>) -> Result<Policy> {
    let mut loader = Loader { input, layers: Vec::new(), diagnostics: Vec::new(), visiting: Vec::new() };
    match &input.file {
        Some((name, text)) => {
            let source = SourceText { name: name.clone(), text: leak(text.clone()) };
            loader.add(source, Kind::UserFile);
        }
        None => loader.add_builtin("default", None),
    }
    // Merged even when a layer has errors, so a `requires` naming no environment is reported too.
    let merged = merge(loader.layers, input.catalog);
    if let Err(more) = &merged {
        loader.diagnostics.extend(more.iter().cloned());
    }
    if !loader.diagnostics.is_empty() {
        let mut diagnostics = loader.diagnostics;
        diagnostics.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        diagnostics.dedup();
        return Err(Error::Config(diagnostics));
    }
    merged.map_err(Error::Config)
}

/// Parses a waiver date: `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<jiff::civil::Date, String> {
    text.parse::<jiff::civil::Date>().map_err(|_| format!("`{text}` is not a date; write it as YYYY-MM-DD"))
}

/// Policy files are small and live as long as the process; keeping them as `'static` lets the
/// spanned TOML tree borrow from them without copying every string.
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

struct Loader<'a, 'b> {
    input: &'a PolicyInput<'b>,
    layers: Vec<Layer>,
    diagnostics: Vec<Diagnostic>,
    /// Files being loaded, to catch `extends` cycles.
    visiting: Vec<String>,
}

impl Loader<'_, '_> {
    fn add_builtin(&mut self, name: &str, named_at: Option<(&SourceText, Range<usize>)>) {
        let already = self.layers.iter().any(|l| l.kind == Kind::BuiltinPack && l.name == pack_file(name));
        if already {
            return;
        }
        match builtin_pack(name) {
            Some(text) => self.add(SourceText { name: pack_file(name), text }, Kind::BuiltinPack),
            None => {
                let names = super::BUILTIN_PACKS.iter().map(|(n, _)| *n);
                let mut d = match named_at {
                    Some((source, span)) => source.diagnostic(Some(span), format!("unknown rule pack `{name}`")),
                    None => SourceText { name: "gate".into(), text: "" }
                        .diagnostic(None, format!("unknown rule pack `{name}`")),
                };
                d.help = Some(match did_you_mean(name, names.clone()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "built-in packs: {}; a pack of your own is a path ending in .toml",
                        names.collect::<Vec<_>>().join(", ")
                    ),
                });
                self.diagnostics.push(d);
            }
        }
    }

    fn add(&mut self, source: SourceText, kind: Kind) {
        self.visiting.push(source.name.clone());
        let (layer, extends) = parse_layer(&source, kind, self.input.catalog, &mut self.diagnostics);
        let extends = extends.unwrap_or_else(|| match kind {
            Kind::UserFile => vec![Spanned::new(0..0, "default".to_string())],
            Kind::PackFile | Kind::BuiltinPack => Vec::new(),
        });
        for pack in extends {
            let span = pack.span();
            let pack = pack.into_inner();
            if is_builtin_name(&pack) {
                self.add_builtin(&pack, Some((&source, span)));
                continue;
            }
            let path = join_relative(&source.name, &pack);
            if self.visiting.contains(&path) {
                self.diagnostics.push(
                    source.diagnostic(Some(span), format!("`{path}` extends itself (a cycle through `extends`)")),
                );
                continue;
            }
            if self.layers.iter().any(|l| l.name == path) {
                continue;
            }
            match (self.input.read_pack)(&path) {
                Ok(Some(text)) => self.add(SourceText { name: path, text: leak(text) }, Kind::PackFile),
                Ok(None) => self.diagnostics.push(
                    source
                        .diagnostic(Some(span), format!("rule pack file `{path}` does not exist"))
                        .with_help("paths in `extends` are relative to the file that names them"),
                ),
                Err(err) => self.diagnostics.push(source.diagnostic(Some(span), err.to_string())),
            }
        }
        self.visiting.pop();
        if let Some(layer) = layer {
            self.layers.push(layer);
        }
    }
}

fn pack_file(name: &str) -> String {
    format!("rules/{name}.toml")
}

fn is_builtin_name(entry: &str) -> bool {
    !entry.contains('/') && !entry.contains('\\') && !entry.ends_with(".toml")
}

/// `dir(of)/path`, lexically, with `.` and `..` resolved.
fn join_relative(of: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let mut parts: Vec<&str> = of.split('/').collect();
    parts.pop();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// Merges the layers, later over earlier. Fails only on what no single layer can know: a
/// `requires` (or `[hooks.pre-push] environment`) naming an environment that no layer declares.
fn merge(layers: Vec<Layer>, catalog: &dyn Catalog) -> Result<Policy, Vec<Diagnostic>> {
    let sources: Vec<SourceText> = layers.iter().map(|layer| layer.source.clone()).collect();
    // Where each environment's `requires` was last set, to point at it if it names a stranger.
    let mut required: BTreeMap<String, Vec<Located>> = BTreeMap::new();
    let mut policy = Policy {
        layers: layers.iter().map(|l| l.name.clone()).collect(),
        files: layers.iter().filter(|l| l.kind != Kind::BuiltinPack).map(|l| l.name.clone()).collect(),
        paths: PathClasses {
            scripts: PathClass::empty(),
            tests: PathClass::empty(),
            config: PathClass::empty(),
            manifests: PathClass::empty(),
            ignore: PathClass::empty(),
        },
        environments: BTreeMap::new(),
        checks: BTreeMap::new(),
        waivers: Vec::new(),
        hooks: Hooks::default(),
        trust: super::Trust::default(),
    };
    // Where `[hooks.pre-push] environment` was last set.
    let mut hook_environment = None;
    let mut options: BTreeMap<&'static str, (Options, Vec<Origin>)> = BTreeMap::new();
    for id in catalog.ids() {
        let severity = catalog.default_severity(id).unwrap_or(Severity::Deny);
        options.insert(id, (Options::default(), Vec::new()));
        policy.checks.insert(
            id,
            CheckPolicy {
                severity,
                severity_origin: Origin::BuiltIn,
                options: Options::default(),
                settings: super::CheckSettings::new(()),
                options_origins: Vec::new(),
            },
        );
    }
    for (index, layer) in layers.into_iter().enumerate() {
        for (class, set) in layer.paths {
            let slot = match class {
                "scripts" => &mut policy.paths.scripts,
                "tests" => &mut policy.paths.tests,
                "config" => &mut policy.paths.config,
                "manifests" => &mut policy.paths.manifests,
                _ => &mut policy.paths.ignore,
            };
            *slot = set;
        }
        for (name, env) in layer.environments {
            let merged = policy.environments.entry(name.clone()).or_insert_with(|| Environment {
                name: name.clone(),
                deploy_tags: None,
                requires: Vec::new(),
                soak: None,
                evidence: Vec::new(),
                evidence_max_age: BTreeMap::new(),
                freeze: Vec::new(),
                deploy_hours: Vec::new(),
                timezone: NamedZone::default(),
                approvals: None,
                rollback: Rollbacks::Allow,
                origin: env.origin.clone(),
            });
            merged.origin = env.origin;
            if env.deploy_tags.is_some() {
                merged.deploy_tags = env.deploy_tags;
            }
            if let Some(requires) = env.requires {
                merged.requires = requires.iter().map(|r| r.value.clone()).collect();
                required.insert(name.clone(), requires);
            }
            if env.soak.is_some() {
                merged.soak = env.soak;
            }
            if let Some(evidence) = env.evidence {
                merged.evidence = evidence;
            }
            if let Some(ages) = env.evidence_max_age {
                merged.evidence_max_age = ages;
            }
            if let Some(freeze) = env.freeze {
                merged.freeze = freeze;
            }
            if let Some(hours) = env.deploy_hours {
                merged.deploy_hours = hours;
            }
            if let Some(timezone) = env.timezone {
                merged.timezone = timezone;
            }
            if env.approvals.is_some() {
                merged.approvals = env.approvals;
            }
            if let Some(rollback) = env.rollback {
                merged.rollback = rollback;
            }
        }
        for (id, layer_check) in layer.checks {
            let Some(merged) = policy.checks.get_mut(id) else { continue };
            if let Some((severity, origin)) = layer_check.severity {
                merged.severity = severity;
                merged.severity_origin = origin;
            }
            if let Some((layer_options, origin)) = layer_check.options {
                let (into, origins) = options.entry(id).or_default();
                into.merge(&layer_options.in_layer(index));
                origins.push(origin);
            }
        }
        policy.waivers.extend(layer.waivers);
        let trust = layer.trust;
        if trust.allowed_signers.is_some() {
            policy.trust.allowed_signers = trust.allowed_signers;
        }
        if let Some(kinds) = trust.require_signed {
            policy.trust.require_signed = kinds;
        }
        if let Some(signers) = trust.signers {
            policy.trust.signers = signers;
        }
        if trust.origin.is_some() {
            policy.trust.origin = trust.origin;
        }
        hooks::merge(&mut policy.hooks, layer.hooks, &mut hook_environment);
    }
    let mut diagnostics = Vec::new();
    for (id, (merged, origins)) in options {
        let Some(check) = policy.checks.get_mut(id) else { continue };
        match catalog.configure(id, &merged) {
            Ok(settings) => check.settings = settings,
            Err(problems) => {
                let fallback = origins.len().checked_sub(1).map(|_| merged_layer(&merged));
                diagnostics.extend(problems.into_iter().map(|p| located(p, id, &sources, fallback)));
            }
        }
        check.options = merged;
        check.options_origins = origins;
    }
    for (name, requires) in &required {
        for required in requires {
            if !policy.environments.contains_key(&required.value) {
                let names = policy.environments.keys().map(String::as_str);
                let mut d = required.source.diagnostic(
                    Some(required.span.clone()),
                    format!("{name} requires `{}`, which is not an environment", required.value),
                );
                d.help = Some(match did_you_mean(&required.value, names) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("declare it as [environments.{}]", required.value),
                });
                diagnostics.push(d);
            }
        }
    }
    diagnostics.extend(hooks::validate(hook_environment.as_ref(), &policy.environments));
    if diagnostics.is_empty() { Ok(policy) } else { Err(diagnostics) }
}

/// The layer whose `[checks.ID]` table the merged options were last given by.
fn merged_layer(options: &Options) -> usize {
    layer_of(&options.span()).0
}

/// A problem with the merged options of check `id`, at the file:line:col of the layer that
/// wrote the offending value.
fn located(problem: Problem, id: &str, sources: &[SourceText], fallback: Option<usize>) -> Diagnostic {
    let (layer, span) = match &problem.span {
        Some(span) => {
            let (layer, local) = layer_of(span);
            (Some(layer), Some(local))
        }
        None => (fallback, None),
    };
    let message = format!("{} in [checks.{id}]", problem.message);
    let mut d = match layer.and_then(|layer| sources.get(layer)) {
        Some(source) => source.diagnostic(span, message),
        None => SourceText { name: "gate".into(), text: "" }.diagnostic(None, message),
    };
    d.help = problem.help.or_else(|| {
        // Serde's list of expected keys does not include `severity`, which every check takes.
        let unknown = problem.message.strip_prefix("unknown field `")?.split('`').next()?;
        let expected: Vec<&str> = problem.message.split('`').skip(3).step_by(2).chain(["severity"]).collect();
        did_you_mean(unknown, expected).map(|close| format!("did you mean `{close}`?"))
    });
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_pack_paths_relative_to_the_naming_file() {
        assert_eq!(join_relative("gate.toml", "ops/pack.toml"), "ops/pack.toml");
        assert_eq!(join_relative("ops/pack.toml", "../shared.toml"), "shared.toml");
        assert_eq!(join_relative("a/b/gate.toml", "./c.toml"), "a/b/c.toml");
        assert_eq!(join_relative("gate.toml", "/etc/gate/pack.toml"), "/etc/gate/pack.toml");
    }
}
