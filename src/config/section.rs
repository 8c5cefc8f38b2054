//! One policy file, read and validated on its own: its `[paths]`, `[environments]`, `[checks]`,
//! `[[waivers]]` and `[hooks]` become a `Layer`, and every problem becomes a diagnostic with its
//! file, line and column. Merging layers is `load`'s job.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::hooks::HooksLayer;
use super::load::parse_date;
use super::options::{Catalog, Options};
use super::raw::{self, RawEnvironment, RawPaths, RawTrust, RawWaiver, Severity};
use super::schedule::{DeployHours, Window, parse_deploy_hours, parse_duration, parse_window};
use super::{NamedZone, Origin, PathClass, Rollbacks, TagPattern, Waiver, compile_glob};
use crate::diag::{Diagnostic, SourceText, did_you_mean};

/// Where a policy file came from: the user's file, a pack file it names, or a built-in pack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    UserFile,
    PackFile,
    BuiltinPack,
}

/// One validated policy file.
pub(super) struct Layer {
    pub(super) name: String,
    /// The file's text, to locate problems found once the layers have merged.
    pub(super) source: SourceText,
    pub(super) kind: Kind,
    pub(super) paths: BTreeMap<&'static str, PathClass>,
    pub(super) environments: BTreeMap<String, EnvLayer>,
    pub(super) checks: BTreeMap<&'static str, LayerCheck>,
    pub(super) waivers: Vec<Waiver>,
    pub(super) hooks: HooksLayer,
    pub(super) trust: TrustLayer,
}

/// One layer's `[trust]`: what it sets.
#[derive(Default)]
pub(super) struct TrustLayer {
    pub(super) allowed_signers: Option<String>,
    pub(super) require_signed: Option<Vec<String>>,
    pub(super) signers: Option<BTreeMap<String, Vec<String>>>,
    pub(super) origin: Option<Origin>,
}

pub(super) struct LayerCheck {
    pub(super) severity: Option<(Severity, Origin)>,
    pub(super) options: Option<(Options, Origin)>,
}

/// A value with the file and span it was written at, for errors found after merging.
#[derive(Debug, Clone)]
pub(super) struct Located {
    pub(super) value: String,
    pub(super) source: SourceText,
    pub(super) span: Range<usize>,
}

/// One layer's `[environments.NAME]`: what it sets.
pub(super) struct EnvLayer {
    pub(super) deploy_tags: Option<TagPattern>,
    pub(super) requires: Option<Vec<Located>>,
    pub(super) soak: Option<(jiff::SignedDuration, Origin)>,
    pub(super) evidence: Option<Vec<String>>,
    pub(super) evidence_max_age: Option<BTreeMap<String, jiff::SignedDuration>>,
    pub(super) freeze: Option<Vec<Window>>,
    pub(super) deploy_hours: Option<Vec<DeployHours>>,
    pub(super) timezone: Option<NamedZone>,
    pub(super) approvals: Option<u32>,
    pub(super) rollback: Option<Rollbacks>,
    pub(super) origin: Origin,
}

/// Parses and validates one file. Returns the layer (none when the file cannot be read as
/// TOML at all) and its `extends` list if it has one.
pub(super) fn parse_layer(
    source: &SourceText,
    kind: Kind,
    catalog: &dyn Catalog,
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
    let mut section = Section { source, catalog, diagnostics, builtin: kind == Kind::BuiltinPack };
    let mut layer = Layer {
        name: source.name.clone(),
        source: source.clone(),
        kind,
        paths: BTreeMap::new(),
        environments: BTreeMap::new(),
        checks: BTreeMap::new(),
        waivers: Vec::new(),
        hooks: HooksLayer::default(),
        trust: TrustLayer::default(),
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
            "trust" => section.trust(value, &mut layer.trust),
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
    pub(super) catalog: &'a dyn Catalog,
    pub(super) diagnostics: &'a mut Vec<Diagnostic>,
    /// Whether the file is one of gate's built-in packs.
    pub(super) builtin: bool,
}

impl Section<'_> {
    pub(super) fn origin(&self, span: &Range<usize>) -> Origin {
        Origin::Layer {
            name: self.source.name.clone(),
            line: self.source.line_col(span.start).0,
            pack: self.builtin.then(|| self.source.name.clone()),
        }
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
                layer.paths.insert(class, PathClass::new(globs, set, except, origin));
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
            let soak = raw.soak.and_then(|soak| Some((self.duration(&soak)?, self.origin(&soak.span()))));
            let evidence = raw.evidence.map(|kinds| {
                kinds
                    .into_inner()
                    .into_iter()
                    .filter(|kind| {
                        let ok = super::is_evidence_kind(kind.get_ref());
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
            let freeze = raw.freeze.map(|windows| self.each(windows, parse_window));
            let deploy_hours = raw.deploy_hours.map(|windows| self.each(windows, parse_deploy_hours));
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
            let approvals = raw.approvals.and_then(|n| match u32::try_from(*n.get_ref()) {
                Ok(count) if (1..=20).contains(&count) => Some(count),
                _ => {
                    self.error(n.span(), format!("`approvals = {}` must be a number from 1 to 20", n.get_ref()));
                    None
                }
            });
            let rollback = raw.rollback.and_then(|r| match r.get_ref().as_str() {
                "allow" => Some(Rollbacks::Allow),
                "approve" => Some(Rollbacks::Approve),
                other => {
                    self.error(r.span(), format!("`rollback = \"{other}\"`: write \"allow\" or \"approve\""));
                    None
                }
            });
            let origin = self.origin(&name_span);
            let env = EnvLayer {
                deploy_tags,
                requires,
                soak,
                evidence,
                evidence_max_age,
                freeze,
                deploy_hours,
                timezone,
                approvals,
                rollback,
                origin,
            };
            layer.environments.insert(name, env);
        }
    }

    fn trust(&mut self, value: Spanned<DeValue<'static>>, layer: &mut TrustLayer) {
        let span = value.span();
        let Some(raw) = self.de::<RawTrust>(value, "[trust]") else {
            return;
        };
        let mut kinds = |list: Spanned<Vec<Spanned<String>>>, what: &str| -> Vec<String> {
            list.into_inner()
                .into_iter()
                .filter(|kind| {
                    let ok = super::is_evidence_kind(kind.get_ref());
                    if !ok {
                        self.error(kind.span(), format!("`{}` in {what} is not an evidence kind", kind.get_ref()));
                    }
                    ok
                })
                .map(Spanned::into_inner)
                .collect()
        };
        layer.require_signed = raw.require_signed.map(|list| kinds(list, "require-signed"));
        layer.signers = raw.signers.map(|table| {
            let mut signers = BTreeMap::new();
            for (kind, principals) in table {
                if !super::is_evidence_kind(kind.get_ref()) {
                    self.error(kind.span(), format!("`{}` in [trust.signers] is not an evidence kind", kind.get_ref()));
                    continue;
                }
                let principals: Vec<String> = principals.into_inner().into_iter().map(Spanned::into_inner).collect();
                signers.insert(kind.into_inner(), principals);
            }
            signers
        });
        layer.allowed_signers = raw.allowed_signers.and_then(|path| {
            let text = path.get_ref();
            if text.is_empty() || text.starts_with('/') || text.split('/').any(|part| part == "..") {
                self.error(path.span(), format!("allowed-signers `{text}` must be a path inside the repository"));
                return None;
            }
            Some(text.trim_start_matches("./").to_string())
        });
        layer.origin = Some(self.origin(&span));
    }

    /// Parses each string of a list, reporting each that does not parse where it is written.
    fn each<T>(&mut self, list: raw::Strings, parse: impl Fn(&str) -> Result<T, String>) -> Vec<T> {
        list.into_inner()
            .into_iter()
            .filter_map(|text| match parse(text.get_ref()) {
                Ok(parsed) => Some(parsed),
                Err(message) => {
                    self.error(text.span(), message);
                    None
                }
            })
            .collect()
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
            let ids = self.catalog.ids();
            let Some(check) = ids.iter().copied().find(|known| *known == id) else {
                let mut d = self.source.diagnostic(Some(id_span), format!("unknown check `{id}` in [checks]"));
                d.help = Some(match did_you_mean(&id, ids.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "`gate checks` lists every check".to_string(),
                });
                self.diagnostics.push(d);
                continue;
            };
            let context = format!("[checks.{check}]");
            let Some((mut options, span)) = self.table(value, &context) else {
                continue;
            };
            let severity = options.remove("severity").and_then(|value| {
                let origin = self.origin(&value.span());
                self.de::<Severity>(value, &context).map(|severity| (severity, origin))
            });
            // Validated once the layers have merged (load.rs), where a layer that completes
            // another's table (a rule's `severity` alone) is judged together with it.
            let options = (!options.is_empty()).then(|| (Options::new(options, span.clone()), self.origin(&span)));
            layer.checks.insert(check, LayerCheck { severity, options });
        }
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
        let ids = self.catalog.ids();
        if !ids.contains(&raw.check.get_ref().as_str()) {
            ok = false;
            let mut d = self
                .source
                .diagnostic(Some(raw.check.span()), format!("unknown check `{}` in [[waivers]]", raw.check.get_ref()));
            d.help =
                did_you_mean(raw.check.get_ref(), ids.iter().copied()).map(|close| format!("did you mean `{close}`?"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_are_ref_safe() {
        assert!(valid_environment_name("production"));
        assert!(valid_environment_name("eu-west_2"));
        assert!(!valid_environment_name("Prod"));
        assert!(!valid_environment_name("a/b"));
        assert!(!valid_environment_name("x..y"));
    }
}
