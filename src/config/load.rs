//! Loading the policy: read the user's file and the packs it extends, validate each one, merge.
//!
//! Order of layers (documented in docs/config.md): the packs named in `extends`, in the order
//! listed, each preceded by the packs it extends itself; then the file that extends them. Later
//! layers win key by key. A file without `extends` extends `["default"]`; `extends = []` starts
//! from nothing. A pack reached twice is applied once, where it is first reached.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::diag::{Diagnostic, SourceText, did_you_mean};
use super::hooks::{self, Hooks, HooksLayer};
use super::raw::{self, RawEnvironment, RawPaths, RawWaiver, Severity};
use super::schedule::{Window, parse_duration, parse_window};
use super::{
    CheckPolicy, Environment, NamedZone, Origin, PathClass, PathClasses, Policy, TagPattern, Waiver, builtin_pack,
    compile_glob,
};
use crate::checks::{self, Options, Problem};
use crate::{Error, Result};

/// Where the policy comes from.
pub struct PolicyInput<'a> {
    /// The user's policy file: the name shown in messages (repository-relative when it is in
    /// the repository) and its text. `None` runs on the built-in `default` pack.
    pub file: Option<(String, String)>,
    /// Reads a pack given by path (already joined to the directory of the file naming it);
    /// `Ok(None)` when there is no such file.
    pub read_pack: &'a dyn Fn(&str) -> Result<Option<String>>,
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
    let merged = merge(loader.layers);
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    UserFile,
    PackFile,
    BuiltinPack,
}

/// One validated policy file.
struct Layer {
    name: String,
    kind: Kind,
    paths: BTreeMap<&'static str, PathClass>,
    environments: BTreeMap<String, EnvLayer>,
    checks: BTreeMap<&'static str, LayerCheck>,
    waivers: Vec<Waiver>,
    hooks: HooksLayer,
}

struct LayerCheck {
    severity: Option<(Severity, Origin)>,
    options: Option<(Options, Origin)>,
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
        let (layer, extends) = parse_layer(&source, kind, &mut self.diagnostics);
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

/// Parses and validates one file. Returns the layer (none when the file cannot be read as
/// TOML at all) and its `extends` list if it has one.
fn parse_layer(
    source: &SourceText,
    kind: Kind,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Option<Layer>, Option<Vec<Spanned<String>>>) {
    let (table, syntax_errors) = DeTable::parse_recoverable(source.text);
    if !syntax_errors.is_empty() {
        // Recovery after the first syntax error tends to cascade; the first few are the useful ones.
        let mut seen = Vec::new();
        for err in syntax_errors.iter().take(3) {
            let d = source.from_toml(err, "");
            if !seen.contains(&(d.line, d.col)) {
                seen.push((d.line, d.col));
                diagnostics.push(d);
            }
        }
        return (None, None);
    }
    let mut section = Section { source, diagnostics };
    let mut layer = Layer {
        name: source.name.clone(),
        kind,
        paths: BTreeMap::new(),
        environments: BTreeMap::new(),
        checks: BTreeMap::new(),
        waivers: Vec::new(),
        hooks: HooksLayer::default(),
    };
    let mut extends = None;
    for (key, value) in table.into_inner() {
        let key_span = key.span();
        match key.get_ref().as_ref() {
            "extends" => extends = section.de::<Vec<Spanned<String>>>(value, "`extends`"),
            "paths" => section.paths(value, &mut layer),
            "environments" => section.environments(value, &mut layer),
            "checks" => section.checks(value, &mut layer),
            "waivers" => section.waivers(value, &mut layer),
            "hooks" => section.hooks(value, &mut layer.hooks),
            other => {
                let mut d = source.diagnostic(Some(key_span), format!("unknown key `{other}` at the top level"));
                d.help = Some(match did_you_mean(other, raw::TOP_LEVEL_KEYS.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("top-level keys are {}", raw::TOP_LEVEL_KEYS.join(", ")),
                });
                section.diagnostics.push(d);
            }
        }
    }
    (Some(layer), extends)
}

/// Validates the sections of one file, collecting diagnostics.
pub(super) struct Section<'a> {
    pub(super) source: &'a SourceText,
    pub(super) diagnostics: &'a mut Vec<Diagnostic>,
}

impl Section<'_> {
    pub(super) fn origin(&self, span: &Range<usize>) -> Origin {
        Origin::Layer { name: self.source.name.clone(), line: self.source.line_col(span.start).0 }
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.diagnostics.push(self.source.diagnostic(Some(span), message));
    }

    /// Deserializes one value, recording the error if it does not fit `T`.
    pub(super) fn de<T: Deserialize<'static>>(&mut self, value: Spanned<DeValue<'static>>, context: &str) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(parsed) => Some(parsed),
            Err(err) => {
                self.diagnostics.push(self.source.from_toml(&err, context));
                None
            }
        }
    }

    pub(super) fn table(
        &mut self,
        value: Spanned<DeValue<'static>>,
        context: &str,
    ) -> Option<(DeTable<'static>, Range<usize>)> {
        let span = value.span();
        match value.into_inner() {
            DeValue::Table(table) => Some((table, span)),
            other => {
                self.error(span, format!("{context} must be a table, found {}", other.type_str()));
                None
            }
        }
    }

    /// Compiles a path class: globs that include, and globs written `!glob` that exclude.
    pub(super) fn globs(&mut self, patterns: &[Spanned<String>]) -> Option<(globset::GlobSet, globset::GlobSet)> {
        let (mut include, mut exclude) = (globset::GlobSetBuilder::new(), globset::GlobSetBuilder::new());
        let mut ok = true;
        for pattern in patterns {
            let (builder, text) = match pattern.get_ref().strip_prefix('!') {
                Some(rest) => (&mut exclude, rest),
                None => (&mut include, pattern.get_ref().as_str()),
            };
            match compile_glob(text) {
                Ok(glob) => {
                    builder.add(glob);
                }
                Err(err) => {
                    ok = false;
                    self.error(pattern.span(), format!("invalid glob `{}`: {}", pattern.get_ref(), err.kind()));
                }
            }
        }
        if !ok {
            return None;
        }
        Some((include.build().ok()?, exclude.build().ok()?))
    }

    fn paths(&mut self, value: Spanned<DeValue<'static>>, layer: &mut Layer) {
        let Some(paths) = self.de::<RawPaths>(value, "[paths]") else {
            return;
        };
        let classes = [
            ("scripts", paths.scripts),
            ("tests", paths.tests),
            ("config", paths.config),
            ("manifests", paths.manifests),
            ("ignore", paths.ignore),
        ];
        for (class, globs) in classes {
            let Some(globs) = globs else { continue };
            let origin = self.origin(&globs.span());
            if let Some((set, except)) = self.globs(globs.get_ref()) {
                let globs = globs.into_inner().into_iter().map(Spanned::into_inner).collect();
                layer.paths.insert(class, PathClass { globs, set, except, origin });
            }
        }
    }

    fn environments(&mut self, value: Spanned<DeValue<'static>>, layer: &mut Layer) {
        let Some((table, _)) = self.table(value, "`environments`") else {
            return;
        };
        for (name, value) in table {
            let name_span = name.span();
            let name = name.into_inner().into_owned();
            if !valid_environment_name(&name) {
                self.diagnostics.push(
                    self.source
                        .diagnostic(Some(name_span.clone()), format!("invalid environment name `{name}`"))
                        .with_help("use lowercase letters, digits, `-` and `_`, starting with a letter"),
                );
                continue;
            }
            let context = format!("[environments.{name}]");
            let Some(raw) = self.de::<RawEnvironment>(value, &context) else {
                continue;
            };
            let deploy_tags = raw.deploy_tags.and_then(|pattern| match compile_glob(pattern.get_ref()) {
                Ok(glob) => Some(TagPattern { pattern: pattern.get_ref().clone(), matcher: glob.compile_matcher() }),
                Err(err) => {
                    self.error(pattern.span(), format!("invalid tag pattern `{}`: {}", pattern.get_ref(), err.kind()));
                    None
                }
            });
            let requires = raw.requires.map(|list| {
                let mut requires = Vec::new();
                for required in list.into_inner() {
                    if required.get_ref() == &name {
                        self.error(required.span(), format!("{name} cannot require itself"));
                    } else {
                        let span = required.span();
                        requires.push(Located { span, value: required.into_inner(), source: self.source.clone() });
                    }
                }
                requires
            });
            let soak = raw.soak.and_then(|soak| self.duration(&soak));
            let evidence = raw.evidence.map(|kinds| {
                kinds
                    .into_inner()
                    .into_iter()
                    .filter(|kind| {
                        let ok = crate::evidence::is_kind(kind.get_ref());
                        if !ok {
                            self.error(
                                kind.span(),
                                format!("`{}` is not an evidence kind (a kebab-case word)", kind.get_ref()),
                            );
                        }
                        ok
                    })
                    .map(Spanned::into_inner)
                    .collect()
            });
            let evidence_max_age = raw.evidence_max_age.map(|ages| {
                ages.into_iter().filter_map(|(kind, age)| Some((kind.into_inner(), self.duration(&age)?))).collect()
            });
            let freeze = raw.freeze.map(|windows| {
                windows
                    .into_inner()
                    .into_iter()
                    .filter_map(|window| match parse_window(window.get_ref()) {
                        Ok(parsed) => Some(parsed),
                        Err(message) => {
                            self.error(window.span(), message);
                            None
                        }
                    })
                    .collect()
            });
            let timezone = raw.timezone.and_then(|tz| match jiff::tz::TimeZone::get(tz.get_ref()) {
                Ok(zone) => Some(NamedZone { name: tz.get_ref().clone(), zone }),
                Err(_) => {
                    self.diagnostics.push(
                        self.source
                            .diagnostic(Some(tz.span()), format!("unknown time zone `{}`", tz.get_ref()))
                            .with_help("use an IANA name such as Europe/Berlin or America/New_York, or UTC"),
                    );
                    None
                }
            });
            let origin = self.origin(&name_span);
            let env = EnvLayer { deploy_tags, requires, soak, evidence, evidence_max_age, freeze, timezone, origin };
            layer.environments.insert(name, env);
        }
    }

    fn duration(&mut self, text: &Spanned<String>) -> Option<jiff::SignedDuration> {
        match parse_duration(text.get_ref()) {
            Ok(duration) => Some(duration),
            Err(message) => {
                self.error(text.span(), message);
                None
            }
        }
    }

    fn checks(&mut self, value: Spanned<DeValue<'static>>, layer: &mut Layer) {
        let Some((table, _)) = self.table(value, "`checks`") else {
            return;
        };
        for (id, value) in table {
            let id_span = id.span();
            let id = id.into_inner();
            let Some(check) = checks::find(&id) else {
                let mut d = self.source.diagnostic(Some(id_span), format!("unknown check `{id}` in [checks]"));
                d.help = Some(match did_you_mean(&id, checks::ids()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "`gate checks` lists every check".to_string(),
                });
                self.diagnostics.push(d);
                continue;
            };
            let context = format!("[checks.{}]", check.id());
            let Some((mut options, span)) = self.table(value, &context) else {
                continue;
            };
            let severity = options.remove("severity").and_then(|value| {
                let origin = self.origin(&value.span());
                self.de::<Severity>(value, &context).map(|severity| (severity, origin))
            });
            let options = (!options.is_empty()).then(|| {
                let origin = self.origin(&span);
                let options = Options::new(options, span);
                for problem in check.validate(&options) {
                    self.problem(problem, &context);
                }
                (options, origin)
            });
            layer.checks.insert(check.id(), LayerCheck { severity, options });
        }
    }

    fn problem(&mut self, problem: Problem, context: &str) {
        let err_like = format!("{} in {context}", problem.message);
        let mut d = self.source.diagnostic(problem.span, err_like);
        d.help = problem.help.or_else(|| {
            // Serde's list of expected keys does not include `severity`, which every check takes.
            let unknown = problem.message.strip_prefix("unknown field `")?.split('`').next()?;
            let expected: Vec<&str> = problem.message.split('`').skip(3).step_by(2).chain(["severity"]).collect();
            did_you_mean(unknown, expected).map(|close| format!("did you mean `{close}`?"))
        });
        self.diagnostics.push(d);
    }

    fn waivers(&mut self, value: Spanned<DeValue<'static>>, layer: &mut Layer) {
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            self.error(span, "`waivers` must be an array of tables: write each one as [[waivers]]");
            return;
        };
        for item in items {
            let Some(raw) = self.de::<RawWaiver>(item, "[[waivers]]") else {
                continue;
            };
            if let Some(waiver) = self.waiver(raw) {
                layer.waivers.push(waiver);
            }
        }
    }

    fn waiver(&mut self, raw: RawWaiver) -> Option<Waiver> {
        let mut ok = true;
        if checks::find(raw.check.get_ref()).is_none() {
            ok = false;
            let mut d = self
                .source
                .diagnostic(Some(raw.check.span()), format!("unknown check `{}` in [[waivers]]", raw.check.get_ref()));
            d.help = did_you_mean(raw.check.get_ref(), checks::ids()).map(|close| format!("did you mean `{close}`?"));
            self.diagnostics.push(d);
        }
        if raw.reason.get_ref().trim().is_empty() {
            ok = false;
            self.error(raw.reason.span(), "a waiver needs a reason: say why this exception is acceptable");
        }
        let matcher = match compile_glob(raw.path.get_ref()) {
            Ok(glob) => Some(glob.compile_matcher()),
            Err(err) => {
                self.error(raw.path.span(), format!("invalid path glob `{}`: {}", raw.path.get_ref(), err.kind()));
                None
            }
        };
        let expires = match raw.expires.get_ref() {
            toml::Value::String(text) => parse_date(text),
            toml::Value::Datetime(toml::value::Datetime { date: Some(d), time: None, offset: None }) => {
                jiff::civil::Date::new(d.year as i16, d.month as i8, d.day as i8).map_err(|e| e.to_string())
            }
            other => Err(format!("`expires` must be a date (YYYY-MM-DD), found {}", other.type_str())),
        };
        let expires = match expires {
            Ok(date) => Some(date),
            Err(message) => {
                self.error(raw.expires.span(), message);
                None
            }
        };
        let (matcher, expires) = (matcher?, expires?);
        ok.then(|| Waiver {
            check: raw.check.get_ref().clone(),
            path: raw.path.get_ref().clone(),
            matcher,
            reason: raw.reason.into_inner(),
            expires,
            origin: self.origin(&raw.check.span()),
        })
    }
}

fn valid_environment_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.len() <= 64
}

/// Merges the layers, later over earlier. Fails only on what no single layer can know: a
/// `requires` (or `[hooks.pre-push] environment`) naming an environment that no layer declares.
fn merge(layers: Vec<Layer>) -> Result<Policy, Vec<Diagnostic>> {
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
    };
    // Where `[hooks.pre-push] environment` was last set.
    let mut hook_environment = None;
    for layer in layers {
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
                timezone: NamedZone::default(),
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
            if let Some(timezone) = env.timezone {
                merged.timezone = timezone;
            }
        }
        for (id, layer_check) in layer.checks {
            let merged = policy.checks.entry(id).or_insert_with(|| {
                let severity = checks::find(id).map_or(Severity::Deny, |c| c.default_severity());
                CheckPolicy {
                    severity,
                    severity_origin: Origin::BuiltIn,
                    options: Options::default(),
                    options_origins: Vec::new(),
                }
            });
            if let Some((severity, origin)) = layer_check.severity {
                merged.severity = severity;
                merged.severity_origin = origin;
            }
            if let Some((options, origin)) = layer_check.options {
                merged.options.merge(&options);
                merged.options_origins.push(origin);
            }
        }
        policy.waivers.extend(layer.waivers);
        hooks::merge(&mut policy.hooks, layer.hooks, &mut hook_environment);
    }
    let mut diagnostics = Vec::new();
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

/// A value with the file and span it was written at, for errors found after merging.
#[derive(Debug, Clone)]
pub(super) struct Located {
    pub(super) value: String,
    pub(super) source: SourceText,
    pub(super) span: Range<usize>,
}

/// One layer's `[environments.NAME]`: what it sets.
struct EnvLayer {
    deploy_tags: Option<TagPattern>,
    requires: Option<Vec<Located>>,
    soak: Option<jiff::SignedDuration>,
    evidence: Option<Vec<String>>,
    evidence_max_age: Option<BTreeMap<String, jiff::SignedDuration>>,
    freeze: Option<Vec<Window>>,
    timezone: Option<NamedZone>,
    origin: Origin,
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

    #[test]
    fn environment_names_are_ref_safe() {
        assert!(valid_environment_name("production"));
        assert!(valid_environment_name("eu-west_2"));
        assert!(!valid_environment_name("Prod"));
        assert!(!valid_environment_name("a/b"));
        assert!(!valid_environment_name("x..y"));
    }
}
