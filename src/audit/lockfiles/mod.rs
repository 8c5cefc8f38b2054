//! Dependency manifests and lockfiles read into packages, and what changed between two reads of
//! one file: the evidence behind the `dependency-change` check. Incident 001 was a dependency
//! upgrade that reached production unnoticed, so a file gate cannot read says so
//! ([`ReadError::NotUnderstood`], [`ReadError::Invalid`]) instead of reading as "nothing changed".
//!
//! The format is decided by the file's name alone, and the parsers live in one module per
//! ecosystem: Rust, JavaScript, Python, Go, Ruby, PHP, Java, CocoaPods; container images named
//! by Dockerfiles, compose files and Kubernetes manifests are read in `images`. Development and
//! test dependencies (`devDependencies`, `[dependency-groups]`, `group :test`, `<scope>test`,
//! test-only manifests such as `requirements_tests.txt`) are told apart from what ships, and a
//! version change says when it is a major upgrade or a downgrade. Lockfiles give exact versions;
//! manifests give the requirements people wrote. Every input is untrusted: files over 64 MiB are
//! refused, YAML aliases are never expanded, nesting is bounded by the parsers, and no input makes
//! a parser panic. The TOML and JSON helpers several ecosystems share are kept here.

mod go;
pub mod images;
mod java;
mod js;
mod php;
mod pods;
mod python;
mod ruby;
mod rust;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json};
use toml::{Table, Value as Toml};

use crate::git::bytes::{Reader, put_text16, put_u32};

/// Larger files are refused rather than read: no real lockfile comes close.
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// The packages a manifest or lockfile names: package name -> the versions (lockfiles) or
/// requirements (manifests) it gives. A lockfile can hold several versions of one package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packages {
    /// What was read: "Cargo.lock", "package-lock.json v3", "yarn.lock v1", "requirements.txt", ...
    pub format: String,
    pub packages: BTreeMap<String, BTreeSet<String>>,
    /// The packages named only by development and test groups.
    pub dev: BTreeSet<String>,
    /// The packages named by a runtime section at least once.
    runtime: BTreeSet<String>,
    /// Whether the section being read is a development or test group.
    in_dev: bool,
}

impl Packages {
    /// The packages as bytes, for the blob cache: read once per blob. `None` when a name or
    /// version is too long for the format.
    pub fn encode(&self) -> Option<Vec<u8>> {
        let too_long = |t: &String| t.len() > u16::MAX as usize;
        let versions = self.packages.values().flatten();
        let names = self.packages.keys().chain(&self.dev).chain(&self.runtime);
        if too_long(&self.format) || names.chain(versions).any(too_long) {
            return None;
        }
        let mut out = Vec::new();
        put_text16(&mut out, &self.format);
        put_u32(&mut out, self.packages.len() as u32);
        for (name, versions) in &self.packages {
            put_text16(&mut out, name);
            put_u32(&mut out, versions.len() as u32);
            versions.iter().for_each(|v| put_text16(&mut out, v));
        }
        for set in [&self.dev, &self.runtime] {
            put_u32(&mut out, set.len() as u32);
            set.iter().for_each(|name| put_text16(&mut out, name));
        }
        Some(out)
    }

    /// Packages decoded from [`Packages::encode`]'s bytes; `None` unless they read whole.
    pub fn decode(bytes: &[u8]) -> Option<Packages> {
        let mut r = Reader::new(bytes);
        let format = r.text16()?;
        let mut packages = BTreeMap::new();
        for _ in 0..r.u32()? {
            let name = r.text16()?;
            let versions = (0..r.u32()?).map(|_| r.text16()).collect::<Option<_>>()?;
            packages.insert(name, versions);
        }
        let set = |r: &mut Reader<'_>| (0..r.u32()?).map(|_| r.text16()).collect::<Option<BTreeSet<String>>>();
        let (dev, runtime) = (set(&mut r)?, set(&mut r)?);
        r.is_empty().then_some(Packages { format, packages, dev, runtime, in_dev: false })
    }

    fn add(&mut self, name: &str, version: &str) {
        if name.is_empty() {
            return;
        }
        self.packages.entry(name.to_string()).or_default().insert(version.to_string());
        if self.in_dev {
            if !self.runtime.contains(name) {
                self.dev.insert(name.to_string());
            }
        } else {
            self.dev.remove(name);
            self.runtime.insert(name.to_string());
        }
    }

    /// Reads what `read` adds as development or test dependencies.
    fn dev_section<T>(&mut self, read: impl FnOnce(&mut Packages) -> T) -> T {
        let before = std::mem::replace(&mut self.in_dev, true);
        let result = read(self);
        self.in_dev = before;
        result
    }

    /// Every package of the file is a development or test dependency.
    pub fn all_dev(&mut self) {
        self.dev = self.packages.keys().cloned().collect();
        self.runtime.clear();
    }
}

/// Whether the manifest at `path` serves tests or development only, whatever it names: a
/// requirements file for tests or development (`requirements_tests.txt`, `requirements-dev.txt`,
/// `dev-requirements.txt`, `requirements/test.txt`), or any manifest in a test directory (an
/// integration test's package.json).
pub fn dev_only_file(path: &str) -> bool {
    const WORDS: &[&str] = &["dev", "develop", "development", "test", "tests", "testing", "lint", "docs", "ci", "e2e"];
    let lower = path.to_lowercase();
    let (dirs, name) = lower.rsplit_once('/').unwrap_or(("", &lower));
    let test_dir = |d: &str| {
        matches!(d, "test" | "tests" | "spec" | "e2e" | "__tests__" | "integration" | "cypress" | "playwright")
            || ["-test", "_test", "-tests", "_tests", "-e2e", "_e2e"].iter().any(|end| d.ends_with(end))
    };
    if dirs.split('/').any(test_dir) {
        return true;
    }
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let words: Vec<&str> = stem.split(['-', '_', '.']).collect();
    let python = stem.starts_with("requirements") || stem.ends_with("requirements") || stem.starts_with("constraints");
    if python && words.iter().skip_while(|w| !w.contains("requirements") && !w.contains("constraints")).count() > 1 {
        return words.iter().any(|w| WORDS.contains(w));
    }
    if python && words.len() > 1 {
        return words.iter().any(|w| WORDS.contains(w));
    }
    // `requirements/test.txt`
    dirs.rsplit('/').next().is_some_and(|d| d == "requirements") && WORDS.contains(&stem)
}

/// Why a file could not be read into packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// gate does not know this file's format (say which file name / what was unexpected).
    NotUnderstood(String),
    /// The format is known, but this file does not parse (carry the parser's message, with line if available).
    Invalid(String),
}

/// Parsers quote the text they stopped at, and a line of garbage can be megabytes long, so every
/// line of a message is cut short.
fn invalid(message: impl Into<String>) -> ReadError {
    let message: String = message.into();
    ReadError::Invalid(message.lines().map(|line| shorten(line, 200)).collect::<Vec<_>>().join("\n"))
}

/// Input quoted in a message.
fn excerpt(text: &str) -> String {
    shorten(text, 60)
}

fn shorten(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// Reads the manifest or lockfile at `path` (a repository-relative path; decide the format by its file name).
pub fn read(path: &str, content: &str) -> Result<Packages, ReadError> {
    let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let parse = parser_for(file_name)
        .ok_or_else(|| ReadError::NotUnderstood(format!("gate does not read `{file_name}` yet")))?;
    if content.len() > MAX_BYTES {
        return Err(invalid(format!("it is {} bytes, over the {MAX_BYTES}-byte limit", content.len())));
    }
    let mut packages = Packages { format: file_name.to_string(), ..Packages::default() };
    // Windows editors save a byte-order mark that the JSON and TOML parsers reject.
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    // A new, emptied or not yet generated file names no packages; that is not a parse error.
    if !content.trim().is_empty() {
        parse(content, &mut packages)?;
    }
    Ok(packages)
}

type Parse = fn(&str, &mut Packages) -> Result<(), ReadError>;

/// The formats gate reads, by exact file name.
const BY_NAME: &[(&str, Parse)] = &[
    ("Cargo.lock", rust::cargo_lock),
    ("Cargo.toml", rust::cargo_toml),
    ("package-lock.json", js::package_lock),
    ("npm-shrinkwrap.json", js::package_lock),
    ("package.json", js::package_json),
    ("yarn.lock", js::yarn_lock),
    ("pnpm-lock.yaml", js::pnpm_lock),
    ("poetry.lock", python::python_toml_lock),
    ("uv.lock", python::python_toml_lock),
    ("Pipfile.lock", python::pipfile_lock),
    ("pyproject.toml", python::pyproject_toml),
    ("go.mod", go::go_mod),
    ("go.sum", go::go_sum),
    ("Gemfile.lock", ruby::gemfile_lock),
    ("Gemfile", ruby::gemfile),
    ("composer.lock", php::composer_lock),
    ("composer.json", php::composer_json),
    ("pom.xml", java::pom_xml),
    ("Pipfile", python::pipfile),
    ("Podfile.lock", pods::podfile_lock),
    ("build.gradle", java::build_gradle),
    ("build.gradle.kts", java::build_gradle),
    ("gradle.lockfile", java::gradle_lockfile),
];

/// Formats named by a prefix and an extension: `requirements-dev.txt`, `constraints.txt`.
const BY_PATTERN: &[(&str, &str, Parse)] =
    &[("requirements", ".txt", python::requirements_txt), ("constraints", ".txt", python::requirements_txt)];

fn parser_for(file_name: &str) -> Option<Parse> {
    let exact = BY_NAME.iter().find(|(name, _)| *name == file_name).map(|(_, parse)| *parse);
    exact.or_else(|| {
        BY_PATTERN
            .iter()
            .find(|(prefix, ext, _)| file_name.starts_with(prefix) && file_name.ends_with(ext))
            .map(|(_, _, parse)| *parse)
    })
}

// ---------------------------------------------------------------------------------------------
// What changed.
// ---------------------------------------------------------------------------------------------

/// One package whose versions differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    /// Versions before (empty when added).
    pub old: Vec<String>,
    /// Versions after (empty when removed).
    pub new: Vec<String>,
    /// A development or test dependency only, on the side that has it (both, if both do).
    pub dev: bool,
    /// A major upgrade, or a downgrade, of a package present on both sides.
    pub bump: Option<Bump>,
}

/// A version change worth its own word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bump {
    MajorUpgrade,
    MajorDowngrade,
    Downgrade,
}

impl Bump {
    pub fn describe(self) -> &'static str {
        match self {
            Bump::MajorUpgrade => "major upgrade",
            Bump::MajorDowngrade => "major downgrade",
            Bump::Downgrade => "downgrade",
        }
    }
}

/// What changed between two reads of the same file, sorted by package name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencyDiff {
    pub added: Vec<Change>,
    pub removed: Vec<Change>,
    /// Present on both sides with different versions.
    pub changed: Vec<Change>,
}

pub fn diff(old: &Packages, new: &Packages) -> DependencyDiff {
    let none = BTreeSet::new();
    let mut result = DependencyDiff::default();
    for (name, before) in &old.packages {
        match new.packages.get(name) {
            None => result.removed.push(change(name, before, &none, old.dev.contains(name))),
            Some(after) if after != before => {
                let dev = old.dev.contains(name) && new.dev.contains(name);
                result.changed.push(change(name, before, after, dev));
            }
            Some(_) => {}
        }
    }
    for (name, after) in &new.packages {
        if !old.packages.contains_key(name) {
            result.added.push(change(name, &none, after, new.dev.contains(name)));
        }
    }
    result
}

fn change(name: &str, old: &BTreeSet<String>, new: &BTreeSet<String>, dev: bool) -> Change {
    let (old, new) = (in_version_order(old), in_version_order(new));
    let bump = match (old.last(), new.last()) {
        (Some(before), Some(after)) => bump(before, after),
        _ => None,
    };
    Change { name: name.to_string(), old, new, dev, bump }
}

/// Whether going from `old` to `new` is a major upgrade, a major downgrade or a downgrade. The
/// major part is the first number (`^2.1` and `v2.1.0` are 2; `0.20` to `0.21` is not major, as
/// Go reads it, whatever Cargo's caret says). Versions without numbers say nothing.
pub fn bump(old: &str, new: &str) -> Option<Bump> {
    let numbers = |v: &str| -> Vec<u64> {
        let Some(start) = v.find(|c: char| c.is_ascii_digit()) else { return Vec::new() };
        let core = v[start..].split(|c: char| !(c.is_ascii_digit() || c == '.')).next().unwrap_or("");
        core.split('.').map_while(|n| n.parse().ok()).collect()
    };
    let (a, b) = (numbers(old), numbers(new));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    match (a[0].cmp(&b[0]), a.cmp(&b)) {
        (Ordering::Less, _) => Some(Bump::MajorUpgrade),
        (Ordering::Greater, _) => Some(Bump::MajorDowngrade),
        (Ordering::Equal, Ordering::Greater) => Some(Bump::Downgrade),
        _ => None,
    }
}

impl DependencyDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// The changes of development and test dependencies only (`dev`) or of the others.
    pub fn part(&self, dev: bool) -> DependencyDiff {
        let keep = |list: &[Change]| list.iter().filter(|c| c.dev == dev).cloned().collect();
        DependencyDiff { added: keep(&self.added), removed: keep(&self.removed), changed: keep(&self.changed) }
    }

    /// How many upgrades are major, and how many changes are downgrades.
    pub fn bumps(&self) -> (usize, usize) {
        let count =
            |wanted: &[Bump]| self.changed.iter().filter(|c| c.bump.is_some_and(|b| wanted.contains(&b))).count();
        (count(&[Bump::MajorUpgrade]), count(&[Bump::MajorDowngrade, Bump::Downgrade]))
    }

    /// One line per change, for people: `+ tokio 1.38.0`, `- left-pad 1.3.0`, `serde 1.0.197 -> 1.0.203`
    /// (several versions joined with ", "), with `(major upgrade)` or `(downgrade)` where it is one.
    pub fn lines(&self) -> Vec<String> {
        let added = self.added.iter().map(|c| format!("+ {} {}", c.name, c.new.join(", ")));
        let removed = self.removed.iter().map(|c| format!("- {} {}", c.name, c.old.join(", ")));
        let changed = self.changed.iter().map(|c| {
            let bump = c.bump.map(|b| format!(" ({})", b.describe())).unwrap_or_default();
            format!("{} {} -> {}{bump}", c.name, c.old.join(", "), c.new.join(", "))
        });
        added.chain(removed).chain(changed).map(|line| line.trim_end().to_string()).collect()
    }
}

/// Versions in the order people read them, `1.9.0` before `1.10.0`, not as strings sort.
fn in_version_order(versions: &BTreeSet<String>) -> Vec<String> {
    let mut sorted: Vec<String> = versions.iter().cloned().collect();
    sorted.sort_by(|a, b| version_order(a, b));
    sorted
}

/// Compares runs of digits as numbers and everything else as text.
fn version_order(a: &str, b: &str) -> Ordering {
    let (mut left, mut right) = (a, b);
    while !left.is_empty() && !right.is_empty() {
        let (run_a, rest_a) = split_run(left);
        let (run_b, rest_b) = split_run(right);
        let order = compare_runs(run_a, run_b);
        if order != Ordering::Equal {
            return order;
        }
        (left, right) = (rest_a, rest_b);
    }
    left.len().cmp(&right.len()).then_with(|| a.cmp(b))
}

/// The leading run of digits, or of non-digits, and the rest.
fn split_run(text: &str) -> (&str, &str) {
    let digits = text.starts_with(|c: char| c.is_ascii_digit());
    let end = text.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(text.len());
    text.split_at(end)
}

fn compare_runs(a: &str, b: &str) -> Ordering {
    let numeric = |run: &str| run.starts_with(|c: char| c.is_ascii_digit());
    if numeric(a) && numeric(b) {
        // By length first, so that numbers of any size compare without overflowing.
        let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

// ---------------------------------------------------------------------------------------------
// Shared by several ecosystems: TOML and JSON documents.
// ---------------------------------------------------------------------------------------------

fn parse_toml(content: &str) -> Result<Table, ReadError> {
    toml::from_str(content).map_err(|err| invalid(format!("not valid TOML: {}", err.to_string().trim_end())))
}

fn parse_json(content: &str) -> Result<Map<String, Json>, ReadError> {
    match serde_json::from_str(content) {
        Ok(Json::Object(root)) => Ok(root),
        Ok(_) => Err(invalid("the top level is not a JSON object")),
        Err(err) => Err(invalid(format!("not valid JSON: {err}"))),
    }
}

fn json_object<'a>(value: &'a Json, what: &str) -> Result<&'a Map<String, Json>, ReadError> {
    value.as_object().ok_or_else(|| invalid(format!("`{}` is not a JSON object", excerpt(what))))
}

/// `[[package]]` tables with `name` and `version`: Cargo.lock, poetry.lock, uv.lock.
fn toml_package_array(content: &str, out: &mut Packages, naming: Naming) -> Result<(), ReadError> {
    let root = parse_toml(content)?;
    let Some(packages) = root.get("package") else { return Ok(()) };
    let packages = packages.as_array().ok_or_else(|| invalid("`package` is not an array of tables"))?;
    for (index, package) in packages.iter().enumerate() {
        let name = package
            .get("name")
            .and_then(Toml::as_str)
            .ok_or_else(|| invalid(format!("[[package]] number {} has no name", index + 1)))?;
        // uv.lock leaves out the version of a project whose version is dynamic.
        let version = package.get("version").and_then(Toml::as_str).unwrap_or("*");
        if let Some(name) = naming.apply(name) {
            out.add(&name, version);
        }
    }
    Ok(())
}

/// How an ecosystem spells package names.
#[derive(Debug, Clone, Copy)]
enum Naming {
    AsWritten,
    /// PEP 503: `Flask_SQLAlchemy` and `flask-sqlalchemy` are one package. The interpreter itself
    /// (`python = "^3.11"` in Poetry's tables) is not a package.
    Python,
}

impl Naming {
    fn apply(self, name: &str) -> Option<String> {
        match self {
            Naming::AsWritten => Some(name.to_string()),
            Naming::Python => Some(python::normalise_python_name(name)).filter(|name| name != "python"),
        }
    }
}

/// A `name = requirement` table: Cargo's `[dependencies]`, Poetry's `[tool.poetry.dependencies]`.
fn toml_dependency_table(section: &str, table: &Toml, naming: Naming, out: &mut Packages) -> Result<(), ReadError> {
    let table = table.as_table().ok_or_else(|| invalid(format!("`{section}` is not a table")))?;
    for (name, spec) in table {
        let requirement = toml_requirement(spec)
            .ok_or_else(|| invalid(format!("`{section}.{name}` is neither a version nor a table")))?;
        if let Some(name) = naming.apply(name) {
            out.add(&name, &requirement);
        }
    }
    Ok(())
}

fn toml_requirement(spec: &Toml) -> Option<String> {
    match spec {
        Toml::String(version) => Some(version.clone()),
        Toml::Table(table) => Some(source_requirement(table)),
        // Poetry's multiple-constraint form: one table per Python version or platform.
        Toml::Array(alternatives) => {
            alternatives.iter().map(toml_requirement).collect::<Option<Vec<_>>>().map(|all| all.join(" || "))
        }
        _ => None,
    }
}

/// A dependency table's requirement: its version, or where it comes from when it has none.
fn source_requirement(table: &Table) -> String {
    let text = |key: &str| table.get(key).and_then(Toml::as_str);
    if let Some(version) = text("version") {
        return version.to_string();
    }
    if let Some(path) = text("path") {
        return format!("path:{path}");
    }
    if let Some(url) = text("git") {
        // The pin is what moves when a git dependency is upgraded.
        let pin = ["rev", "tag", "branch"].iter().find_map(|key| text(key).map(|value| format!("?{key}={value}")));
        return format!("git:{url}{}", pin.unwrap_or_default());
    }
    if let Some(url) = text("url") {
        return format!("url:{url}");
    }
    if table.get("workspace").and_then(Toml::as_bool) == Some(true) {
        return "workspace".to_string();
    }
    "*".to_string()
}

#[cfg(test)]
mod tests {
    use super::java::tests::POM;
    use super::js::tests::{PACKAGE_LOCK_V3, PNPM_V9, YARN_BERRY, YARN_V1};
    use super::ruby::tests::GEMFILE_LOCK;
    use super::rust::tests::CARGO_LOCK;
    use super::*;

    // Shared with the tests of each ecosystem's module, hence `pub(super)`.

    pub(super) fn read_ok(path: &str, content: &str) -> Packages {
        match read(path, content) {
            Ok(packages) => packages,
            Err(err) => panic!("{path} should read, got {err:?}"),
        }
    }

    /// The versions a read gives one package, in version order.
    pub(super) fn versions(packages: &Packages, name: &str) -> Vec<String> {
        packages.packages.get(name).map(in_version_order).unwrap_or_default()
    }

    pub(super) fn names(packages: &Packages) -> Vec<&str> {
        packages.packages.keys().map(String::as_str).collect()
    }

    pub(super) fn invalid_message(path: &str, content: &str) -> String {
        match read(path, content) {
            Err(ReadError::Invalid(message)) => message,
            other => panic!("{path} should be invalid, got {other:?}"),
        }
    }

    // ----- Not understood, invalid, empty, hostile ----------------------------------------------

    /// Every file name gate reads, with a realistic sample where one is at hand.
    fn samples() -> Vec<(&'static str, &'static str)> {
        vec![
            ("Cargo.lock", CARGO_LOCK),
            ("Cargo.toml", "[dependencies]\nserde = { version = \"1\" }\n"),
            ("package-lock.json", PACKAGE_LOCK_V3),
            ("npm-shrinkwrap.json", PACKAGE_LOCK_V3),
            ("package.json", "{\"dependencies\": {\"react\": \"^18.3.1\"}}"),
            ("yarn.lock", YARN_V1),
            ("yarn.lock", YARN_BERRY),
            ("pnpm-lock.yaml", PNPM_V9),
            ("poetry.lock", "[[package]]\nname = \"idna\"\nversion = \"3.7\"\n"),
            ("uv.lock", "version = 1\n[[package]]\nname = \"idna\"\nversion = \"3.7\"\n"),
            ("Pipfile.lock", "{\"default\": {\"idna\": {\"version\": \"==3.7\"}}}"),
            ("pyproject.toml", "[project]\ndependencies = [\"idna>=3\"]\n"),
            ("requirements.txt", "Django==4.2.13 \\\n  --hash=sha256:83\nrequests>=2\n"),
            ("constraints.txt", "urllib3<2\n"),
            ("go.mod", "module x\n\nrequire (\n\tgolang.org/x/sys v0.20.0 // indirect\n)\n"),
            ("go.sum", "golang.org/x/sys v0.20.0/go.mod h1:/VUhepiaJMQUp4+oa/7Zr1D23ma6VTLIYjOOTFZPUcA=\n"),
            ("Gemfile.lock", GEMFILE_LOCK),
            ("Gemfile", "gem 'pg', '>= 1.1'\n"),
            ("composer.lock", "{\"packages\": [{\"name\": \"a/b\", \"version\": \"1.0.0\"}]}"),
            ("composer.json", "{\"require\": {\"a/b\": \"^1.0\"}}"),
            ("pom.xml", POM),
            ("Pipfile", "[packages]\nrequests = \"*\"\n[dev-packages]\npytest = \">=8\"\n"),
            ("Podfile.lock", "PODS:\n  - Alamofire (5.9.1)\n"),
            ("build.gradle", "dependencies { implementation 'g:a:1.0' }\n"),
            ("build.gradle.kts", "dependencies { implementation(\"g:a:1.0\") }\n"),
            ("gradle.lockfile", "g:a:1.0=runtimeClasspath\nempty=\n"),
        ]
    }

    #[test]
    fn a_format_gate_does_not_know_is_named_not_skipped() {
        for path in ["ios/Package.resolved", "mix.lock", "packages.lock.json", "requirements.in", "Cargo.lock.bak"] {
            let file_name = path.rsplit('/').next().unwrap();
            assert_eq!(
                read(path, "anything"),
                Err(ReadError::NotUnderstood(format!("gate does not read `{file_name}` yet"))),
                "{path}"
            );
        }
    }

    #[test]
    fn an_empty_file_of_a_known_format_names_no_packages() {
        for (path, _) in samples() {
            for empty in ["", "\n", "  \n\t\n", "\u{feff}"] {
                let packages = read_ok(path, empty);
                assert!(packages.packages.is_empty(), "{path}");
                assert_eq!(packages.format, path);
            }
        }
    }

    #[test]
    fn a_broken_file_is_invalid_with_the_parsers_message() {
        for (path, content, expected) in [
            ("Cargo.lock", "[[package]\nname = \"x\"\n", "line 1"),
            ("Cargo.toml", "[dependencies]\nserde = 1\n", "`dependencies.serde` is neither"),
            ("package-lock.json", "{\n  \"packages\": {\n", "line 3"),
            ("package.json", "[1, 2]", "not a JSON object"),
            ("yarn.lock", "lodash@^4.17.21:\n  resolved \"x\"\n", "has no version"),
            ("yarn.lock", "<<<<<<< HEAD\n", "line 1"),
            ("pnpm-lock.yaml", "packages:\n  - [unclosed\n", "not valid YAML"),
            ("pnpm-lock.yaml", "packages:\n  nonsense: {}\n", "not a pnpm package key"),
            ("requirements.txt", "Django==4.2\n%%% garbage\n", "line 2"),
            ("pyproject.toml", "[project]\ndependencies = [\"%%%\"]\n", "not a PEP 508 requirement"),
            ("go.mod", "module x\nrequire (\n\tgolang.org/x/sys v0.20.0\n", "never closed"),
            ("go.mod", "module x\n%%%\n", "line 2"),
            ("go.sum", "golang.org/x/sys v0.20.0\n", "line 1"),
            ("Gemfile.lock", "GEM\n  specs:\n    rack 3.0\n", "line 3"),
            ("Gemfile.lock", "<<<<<<< HEAD\nGEM\n", "line 1"),
            ("composer.lock", "{\"packages\": [{\"version\": \"1\"}]}", "has no name"),
            ("pom.xml", "<project>\n  <dependencies>\n    <dependency>\n", "truncated"),
            ("pom.xml", "<project>\n</dependencies>\n", "line 2"),
            ("pom.xml", "<settings/>", "not <project>"),
            ("gradle.lockfile", "guava=runtimeClasspath\n", "line 1"),
        ] {
            let message = invalid_message(path, content);
            assert!(message.contains(expected), "{path}: `{message}` should mention `{expected}`");
        }
    }

    #[test]
    fn messages_stay_short_whatever_the_input() {
        let long = "a".repeat(100_000);
        for (path, content) in [
            ("Cargo.lock", long.clone()),
            ("Cargo.toml", format!("[dependencies]\n{long} = 1\n")),
            ("pom.xml", format!("<project></{long}>")),
            ("requirements.txt", format!("%{long}")),
        ] {
            let message = invalid_message(path, &content);
            assert!(message.lines().all(|line| line.chars().count() <= 203), "{path}: {}", excerpt(&message));
        }
    }

    #[test]
    fn a_file_over_the_limit_is_refused_unread() {
        let huge = " ".repeat(MAX_BYTES + 1);
        assert!(invalid_message("Cargo.lock", &huge).contains("over the"));
    }

    #[test]
    fn no_input_makes_a_parser_panic() {
        // Truncated samples, binary-ish bytes and deep nesting, fed to every format. Each read
        // either succeeds or says the file is invalid; none panics, none is "not understood".
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut noise = String::new();
        for _ in 0..4000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            noise.push(char::from_u32((state >> 33) as u32 % 0x300).unwrap_or('\u{fffd}'));
        }
        let mut hostile = vec![
            noise.clone(),
            "\0\u{1}\u{7f}\u{fffd}PK\u{3}\u{4}".to_string(),
            "[".repeat(100_000),
            "{\"a\":".repeat(100_000),
            "- ".repeat(100_000),
            "<a>".repeat(100_000),
            format!("<project>{}", "<dependency>".repeat(100_000)),
            "a = [".repeat(100_000),
            "\"\n:\n@\n(\n".to_string(),
        ];
        for (_, sample) in samples() {
            let cuts: Vec<usize> = sample.char_indices().map(|(at, _)| at).step_by(7).collect();
            hostile.extend(cuts.iter().map(|at| sample[..*at].to_string()));
        }
        for (path, _) in samples() {
            for input in &hostile {
                let result = read(path, input);
                assert!(!matches!(result, Err(ReadError::NotUnderstood(_))), "{path}: {result:?}");
            }
        }
    }

    // ----- What changed -------------------------------------------------------------------------

    #[test]
    fn diff_lists_added_removed_and_upgraded_packages() {
        let old = read_ok("Cargo.lock", CARGO_LOCK);
        let new_lock = CARGO_LOCK.replace("1.0.197", "1.0.203").replace(
            "[[package]]\nname = \"syn\"\nversion = \"1.0.109\"",
            "[[package]]\nname = \"tokio\"\nversion = \"1.38.0\"",
        );
        let new = read_ok("Cargo.lock", &format!("{new_lock}\n[[package]]\nname = \"syn\"\nversion = \"2.0.10\"\n"));
        let old = Packages {
            packages: old.packages.into_iter().chain([("left-pad".into(), ["1.3.0".into()].into())]).collect(),
            ..old
        };

        let changes = diff(&old, &new);
        let plain = |name: &str, old: &[&str], new: &[&str]| Change {
            name: name.into(),
            old: old.iter().map(|v| v.to_string()).collect(),
            new: new.iter().map(|v| v.to_string()).collect(),
            dev: false,
            bump: None,
        };
        assert_eq!(changes.added, [plain("tokio", &[], &["1.38.0"])]);
        assert_eq!(changes.removed, [plain("left-pad", &["1.3.0"], &[])]);
        assert_eq!(
            changes.changed,
            [plain("serde", &["1.0.197"], &["1.0.203"]), plain("syn", &["1.0.109", "2.0.66"], &["2.0.10", "2.0.66"]),]
        );
        assert_eq!(
            changes.lines(),
            ["+ tokio 1.38.0", "- left-pad 1.3.0", "serde 1.0.197 -> 1.0.203", "syn 1.0.109, 2.0.66 -> 2.0.10, 2.0.66",]
        );
        assert!(!changes.is_empty());
    }

    #[test]
    fn the_same_packages_make_an_empty_diff() {
        let packages = read_ok("yarn.lock", YARN_V1);
        let changes = diff(&packages, &packages.clone());
        assert!(changes.is_empty());
        assert!(changes.lines().is_empty());
    }

    #[test]
    fn major_upgrades_and_downgrades_are_marked() {
        for (old, new, expected) in [
            ("1.0.197", "2.0.0", Some(Bump::MajorUpgrade)),
            ("^4.17.21", "^5.0.0", Some(Bump::MajorUpgrade)),
            ("v0.20.0", "v0.21.0", None),
            ("v0.21.0", "v1.0.0", Some(Bump::MajorUpgrade)),
            ("3.1.0", "2.9.9", Some(Bump::MajorDowngrade)),
            ("2.1.0", "2.0.5", Some(Bump::Downgrade)),
            ("1.0.197", "1.0.203", None),
            ("7", "8", Some(Bump::MajorUpgrade)),
            ("latest", "8", None),
        ] {
            assert_eq!(bump(old, new), expected, "{old} -> {new}");
        }
        let mut old = Packages::default();
        old.add("serde", "1.0.0");
        let mut new = Packages::default();
        new.add("serde", "2.0.0");
        assert_eq!(diff(&old, &new).lines(), ["serde 1.0.0 -> 2.0.0 (major upgrade)"]);
    }

    #[test]
    fn development_dependencies_are_told_apart() {
        let json = r#"{"dependencies": {"react": "^18.3.1"}, "devDependencies": {"vite": "5.2.11", "react": "^18"}}"#;
        let packages = read_ok("package.json", json);
        assert_eq!(packages.dev, BTreeSet::from(["vite".to_string()]));
        for path in [
            "requirements_tests.txt",
            "requirements-dev.txt",
            "dev-requirements.txt",
            "requirements/test.txt",
            "test/integration/package.json",
            "e2e/package.json",
            "integration-tests/go.mod",
        ] {
            assert!(dev_only_file(path), "{path}");
        }
        for path in
            ["requirements.txt", "requirements/base.txt", "package.json", "web/package.json", "requirements-prod.txt"]
        {
            assert!(!dev_only_file(path), "{path}");
        }
    }

    #[test]
    fn versions_sort_as_people_read_them() {
        let versions: BTreeSet<String> =
            ["1.10.0", "1.9.0", "1.9.0-rc.1", "v0.20.0", "v0.9.1", "2"].map(String::from).into();
        assert_eq!(in_version_order(&versions), ["1.9.0", "1.9.0-rc.1", "1.10.0", "2", "v0.9.1", "v0.20.0"]);
    }
}
