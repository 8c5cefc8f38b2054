//! Dependency manifests and lockfiles read into packages, and what changed between two reads of
//! one file: the evidence behind the `dependency-change` check. Incident 001 was a dependency
//! upgrade that reached production unnoticed, so a file gate cannot read says so
//! ([`ReadError::NotUnderstood`], [`ReadError::Invalid`]) instead of reading as "nothing changed".
//!
//! The format is decided by the file's name alone, and the parsers below are grouped by ecosystem:
//! Rust, JavaScript, Python, Go, Ruby, PHP, Java. Lockfiles give exact versions; manifests give the
//! requirements people wrote. Every input is untrusted: files over 64 MiB are refused, YAML aliases
//! are never expanded, nesting is bounded by the parsers, and no input makes a parser panic.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use quick_xml::events::{BytesRef, Event as XmlEvent};
use quick_xml::reader::Reader;
use regex::Regex;
use serde_json::{Map, Value as Json};
use toml::{Table, Value as Toml};
use yaml_rust2::parser::{Event as YamlEvent, Parser as YamlParser};

/// Larger files are refused rather than read: no real lockfile comes close.
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// The packages a manifest or lockfile names: package name -> the versions (lockfiles) or
/// requirements (manifests) it gives. A lockfile can hold several versions of one package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packages {
    /// What was read: "Cargo.lock", "package-lock.json v3", "yarn.lock v1", "requirements.txt", ...
    pub format: String,
    pub packages: BTreeMap<String, BTreeSet<String>>,
}

impl Packages {
    fn add(&mut self, name: &str, version: &str) {
        if !name.is_empty() {
            self.packages.entry(name.to_string()).or_default().insert(version.to_string());
        }
    }
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
    ("Cargo.lock", cargo_lock),
    ("Cargo.toml", cargo_toml),
    ("package-lock.json", package_lock),
    ("npm-shrinkwrap.json", package_lock),
    ("package.json", package_json),
    ("yarn.lock", yarn_lock),
    ("pnpm-lock.yaml", pnpm_lock),
    ("poetry.lock", python_toml_lock),
    ("uv.lock", python_toml_lock),
    ("Pipfile.lock", pipfile_lock),
    ("pyproject.toml", pyproject_toml),
    ("go.mod", go_mod),
    ("go.sum", go_sum),
    ("Gemfile.lock", gemfile_lock),
    ("Gemfile", gemfile),
    ("composer.lock", composer_lock),
    ("composer.json", composer_json),
    ("pom.xml", pom_xml),
    ("build.gradle", build_gradle),
    ("build.gradle.kts", build_gradle),
    ("gradle.lockfile", gradle_lockfile),
];

/// Formats named by a prefix and an extension: `requirements-dev.txt`, `constraints.txt`.
const BY_PATTERN: &[(&str, &str, Parse)] =
    &[("requirements", ".txt", requirements_txt), ("constraints", ".txt", requirements_txt)];

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
            None => result.removed.push(change(name, before, &none)),
            Some(after) if after != before => result.changed.push(change(name, before, after)),
            Some(_) => {}
        }
    }
    for (name, after) in &new.packages {
        if !old.packages.contains_key(name) {
            result.added.push(change(name, &none, after));
        }
    }
    result
}

fn change(name: &str, old: &BTreeSet<String>, new: &BTreeSet<String>) -> Change {
    Change { name: name.to_string(), old: in_version_order(old), new: in_version_order(new) }
}

impl DependencyDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// One line per change, for people: `+ tokio 1.38.0`, `- left-pad 1.3.0`, `serde 1.0.197 -> 1.0.203`
    /// (several versions joined with ", ").
    pub fn lines(&self) -> Vec<String> {
        let added = self.added.iter().map(|c| format!("+ {} {}", c.name, c.new.join(", ")));
        let removed = self.removed.iter().map(|c| format!("- {} {}", c.name, c.old.join(", ")));
        let changed = self.changed.iter().map(|c| format!("{} {} -> {}", c.name, c.old.join(", "), c.new.join(", ")));
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
            Naming::Python => Some(normalise_python_name(name)).filter(|name| name != "python"),
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

// ---------------------------------------------------------------------------------------------
// Rust.
// ---------------------------------------------------------------------------------------------

fn cargo_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    toml_package_array(content, out, Naming::AsWritten)
}

/// Cargo still accepts the old underscore spellings.
const CARGO_SECTIONS: [&str; 5] =
    ["dependencies", "dev-dependencies", "build-dependencies", "dev_dependencies", "build_dependencies"];

fn cargo_toml(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_toml(content)?;
    for section in CARGO_SECTIONS {
        if let Some(table) = root.get(section) {
            toml_dependency_table(section, table, Naming::AsWritten, out)?;
        }
    }
    if let Some(table) = root.get("workspace").and_then(|workspace| workspace.get("dependencies")) {
        toml_dependency_table("workspace.dependencies", table, Naming::AsWritten, out)?;
    }
    let targets = root.get("target").and_then(Toml::as_table).into_iter().flatten();
    for (target, sections) in targets {
        for section in CARGO_SECTIONS {
            if let Some(table) = sections.get(section) {
                toml_dependency_table(&format!("target.{target}.{section}"), table, Naming::AsWritten, out)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// JavaScript.
// ---------------------------------------------------------------------------------------------

fn package_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_json(content)?;
    if let Some(version) = root.get("lockfileVersion").and_then(Json::as_u64) {
        out.format = format!("{} v{version}", out.format);
    }
    // Version 2 carries both maps; `packages` is the complete one.
    if let Some(packages) = root.get("packages") {
        npm_packages(json_object(packages, "packages")?, out)
    } else if let Some(dependencies) = root.get("dependencies") {
        npm_v1_dependencies(json_object(dependencies, "dependencies")?, out)
    } else {
        Ok(())
    }
}

/// lockfileVersion 2 and 3: `node_modules/a/node_modules/b` -> `{ "version": ... }`.
fn npm_packages(packages: &Map<String, Json>, out: &mut Packages) -> Result<(), ReadError> {
    const FOLDER: &str = "node_modules/";
    for (key, entry) in packages {
        // The root project (`""`) and workspace folders (`packages/api`) are not dependencies.
        let Some(at) = key.rfind(FOLDER) else { continue };
        let entry = json_object(entry, key)?;
        let text = |field: &str| entry.get(field).and_then(Json::as_str);
        let version = match (text("version"), text("resolved")) {
            (Some(version), _) => version.to_string(),
            // A workspace package linked into node_modules.
            (None, Some(target)) if entry.get("link").and_then(Json::as_bool) == Some(true) => format!("link:{target}"),
            _ => "*".to_string(),
        };
        out.add(&key[at + FOLDER.len()..], &version);
    }
    Ok(())
}

/// lockfileVersion 1: `dependencies` nested as deep as node_modules (serde_json bounds the depth).
fn npm_v1_dependencies(dependencies: &Map<String, Json>, out: &mut Packages) -> Result<(), ReadError> {
    for (name, entry) in dependencies {
        let entry = json_object(entry, name)?;
        out.add(name, entry.get("version").and_then(Json::as_str).unwrap_or("*"));
        if let Some(nested) = entry.get("dependencies") {
            npm_v1_dependencies(json_object(nested, name)?, out)?;
        }
    }
    Ok(())
}

fn package_json(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_json(content)?;
    for section in ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"] {
        let Some(dependencies) = root.get(section) else { continue };
        for (name, range) in json_object(dependencies, section)? {
            let range = range.as_str().ok_or_else(|| invalid(format!("`{section}.{name}` is not a string")))?;
            out.add(name, range);
        }
    }
    Ok(())
}

/// yarn.lock in both of its line formats. Classic (v1) and berry (v2+) look like YAML but are
/// not quite, so both are read line by line: an unindented entry header naming the package, then
/// a `version` line indented by two spaces.
fn yarn_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let berry = content.lines().any(|line| line.trim_end() == "__metadata:");
    out.format = format!("{} {}", out.format, if berry { "berry" } else { "v1" });
    let mut entry: Option<YarnEntry> = None;
    for (index, line) in content.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            YarnEntry::check(entry.take())?;
            entry = Some(YarnEntry { name: yarn_header(line, number)?, line: number, has_version: false });
            continue;
        }
        let Some(field) = line.strip_prefix("  ").filter(|rest| !rest.starts_with([' ', '\t'])) else { continue };
        let Some(version) = field.strip_prefix("version").filter(|rest| rest.starts_with([' ', ':'])) else { continue };
        let version = version.trim_start_matches(':').trim().trim_matches('"');
        let Some(entry) = entry.as_mut() else {
            return Err(invalid(format!("line {number}: a version outside any entry")));
        };
        match &entry.name {
            Some(name) => out.add(name, version),
            // `__metadata`'s version is the lockfile format's.
            None => out.format = format!("yarn.lock berry v{version}"),
        }
        entry.has_version = true;
    }
    YarnEntry::check(entry)
}

/// One entry of a yarn.lock, while it is read.
#[derive(Debug)]
struct YarnEntry {
    /// None for berry's `__metadata`.
    name: Option<String>,
    /// Where its header is.
    line: usize,
    has_version: bool,
}

impl YarnEntry {
    /// An entry without a version is a truncated or hand-broken file, not a package to leave out.
    fn check(entry: Option<YarnEntry>) -> Result<(), ReadError> {
        match entry {
            Some(YarnEntry { name: Some(name), line, has_version: false }) => {
                Err(invalid(format!("line {line}: the entry for `{name}` has no version")))
            }
            _ => Ok(()),
        }
    }
}

/// The package an entry header names: `"@babel/core@^7.0.0", "@babel/core@^7.1.0":` (classic) or
/// `"lodash@npm:^4.17.21, lodash@npm:^4.17.4":` (berry). None for berry's `__metadata:`.
fn yarn_header(line: &str, number: usize) -> Result<Option<String>, ReadError> {
    let header = line.trim_end().strip_suffix(':').ok_or_else(|| {
        invalid(format!("line {number}: expected an entry header ending in `:`, found `{}`", excerpt(line)))
    })?;
    if header == "__metadata" {
        return Ok(None);
    }
    let first = header.trim_matches('"').split(", ").next().unwrap_or_default().trim_matches('"');
    npm_name(first)
        .map(|name| Some(name.to_string()))
        .ok_or_else(|| invalid(format!("line {number}: `{}` does not name a package and a range", excerpt(first))))
}

/// The package in `name@range` or `@scope/name@range`: everything before the first `@` past the
/// scope's. Not the last `@`: ranges hold their own (`string-width-cjs@npm:string-width@^4.2.0`,
/// `lodash@patch:lodash@npm%3A4.17.21#...`).
fn npm_name(selector: &str) -> Option<&str> {
    let at = selector.get(1..)?.find('@')? + 1;
    Some(&selector[..at])
}

/// pnpm-lock.yaml: the keys of the top-level `packages` map. Read from the parser's events, not
/// a loaded document: loading would expand aliases (a few lines of anchors can ask for gigabytes)
/// and recurse once per nesting level.
fn pnpm_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let mut parser = YamlParser::new_from_str(content);
    let mut document = PnpmDocument::default();
    let mut lockfile_version = None;
    loop {
        let (event, _) = parser.next_token().map_err(|err| invalid(format!("not valid YAML: {err}")))?;
        match event {
            YamlEvent::StreamEnd => break,
            // pnpm can write two documents (its own tooling, then the project's); read both.
            YamlEvent::DocumentEnd => {
                let done = std::mem::take(&mut document);
                for key in &done.package_keys {
                    let (name, version) = pnpm_package(key, done.version.as_deref()).ok_or_else(|| {
                        invalid(format!("`{}` under `packages` is not a pnpm package key", excerpt(key)))
                    })?;
                    out.add(name, version);
                }
                lockfile_version = done.version.or(lockfile_version);
            }
            event => document.visit(event),
        }
    }
    if let Some(version) = lockfile_version {
        out.format = format!("{} v{version}", out.format);
    }
    Ok(())
}

/// Just enough of one YAML document's shape to find `lockfileVersion` and the `packages` keys.
#[derive(Debug, Default)]
struct PnpmDocument {
    open: Vec<YamlContainer>,
    top_key: Option<String>,
    version: Option<String>,
    package_keys: Vec<String>,
}

impl PnpmDocument {
    fn visit(&mut self, event: YamlEvent) {
        let opens = match event {
            YamlEvent::MappingStart(..) => Some(true),
            YamlEvent::SequenceStart(..) => Some(false),
            YamlEvent::Scalar(..) | YamlEvent::Alias(..) => None,
            YamlEvent::MappingEnd | YamlEvent::SequenceEnd => {
                self.open.pop();
                return;
            }
            _ => return,
        };
        let depth = self.open.len();
        let is_key = match self.open.last_mut() {
            Some(YamlContainer { mapping: true, next_is_key }) => std::mem::replace(next_is_key, !*next_is_key),
            _ => false,
        };
        let scalar = if let YamlEvent::Scalar(text, ..) = event { Some(text) } else { None };
        match (depth, is_key, self.top_key.as_deref()) {
            (1, true, _) => self.top_key = scalar,
            (1, false, Some("lockfileVersion")) => self.version = scalar,
            (2, true, Some("packages")) => self.package_keys.extend(scalar),
            _ => {}
        }
        if let Some(mapping) = opens {
            self.open.push(YamlContainer { mapping, next_is_key: true });
        }
    }
}

/// An open mapping or sequence; a mapping's nodes alternate key, value.
#[derive(Debug)]
struct YamlContainer {
    mapping: bool,
    next_is_key: bool,
}

/// `lodash@4.17.21` (v9), `/lodash@4.17.21` and `/react-dom@18.2.0(react@18.2.0)` (v6-v8), or
/// `/lodash/4.17.21` and `/react-dom/18.2.0_react@18.2.0` (v5 and older): name and version.
fn pnpm_package<'a>(key: &'a str, lockfile_version: Option<&str>) -> Option<(&'a str, &'a str)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let major = lockfile_version.and_then(|v| v.trim().split('.').next()?.parse::<u32>().ok());
    let (name, version) = if major.is_some_and(|major| major < 6) {
        let (name, version) = key.rsplit_once('/')?;
        (name, version.split('_').next().unwrap_or(version))
    } else {
        let key = key.split('(').next().unwrap_or(key);
        let name = npm_name(key)?;
        (name, &key[name.len() + 1..])
    };
    Some((name, version)).filter(|(name, version)| !name.is_empty() && !version.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Python.
// ---------------------------------------------------------------------------------------------

/// PEP 503: lower case, and every run of `-`, `_` and `.` is one `-`.
fn normalise_python_name(name: &str) -> String {
    let mut normalised = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !normalised.ends_with('-') {
                normalised.push('-');
            }
        } else {
            normalised.extend(c.to_lowercase());
        }
    }
    normalised
}

/// A PEP 508 requirement: the normalised name and its specifier (`>=1,<2`), `@ url`, or `*`.
/// None when the text is not a requirement.
fn pep508(text: &str) -> Option<(String, String)> {
    let text = text.trim_start();
    let name_end =
        text.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))).unwrap_or(text.len());
    let name = &text[..name_end];
    let alphanumeric_at = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alphanumeric_at(name.chars().next()) || !alphanumeric_at(name.chars().next_back()) {
        return None;
    }
    let mut rest = text[name_end..].trim_start();
    // Extras (`uvicorn[standard]`) choose optional features, not versions.
    if let Some(extras) = rest.strip_prefix('[') {
        rest = extras.split_once(']')?.1.trim_start();
    }
    let requirement = match rest.chars().next() {
        None | Some(';') => "*".to_string(),
        Some('@') => format!("@ {}", rest[1..].split(" ;").next().unwrap_or_default().trim()),
        Some('(' | '=' | '<' | '>' | '!' | '~') => {
            let specifier = rest.split(';').next().unwrap_or_default();
            let specifier: String =
                specifier.chars().filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')')).collect();
            if specifier.is_empty() { "*".to_string() } else { specifier }
        }
        Some(_) => return None,
    };
    Some((normalise_python_name(name), requirement))
}

/// `#` starts a comment at the start of a line or after whitespace (`...#egg=` is part of a URL).
static PIP_COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)#.*$").expect("the comment pattern is valid"));

/// Options after a requirement: `requests==2.31.0 --hash=sha256:...`.
static PIP_OPTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s--?[A-Za-z]").expect("the option pattern is valid"));

static EGG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#egg=([A-Za-z0-9._-]+)").expect("the egg pattern is valid"));

/// requirements*.txt and constraints*.txt, as pip reads them.
fn requirements_txt(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    for (number, line) in joined_lines(content) {
        let line = PIP_COMMENT.replace(&line, "");
        let line = line.trim();
        // Options: -r other.txt, -c, -e ..., --index-url, --hash on a line of its own.
        if line.is_empty() || line.starts_with('-') {
            continue;
        }
        let line = PIP_OPTION.find(line).map_or(line, |option| &line[..option.start()]).trim();
        let (name, requirement) = pep508(line)
            .or_else(|| direct_reference(line))
            .ok_or_else(|| invalid(format!("line {number}: `{}` is not a requirement", excerpt(line))))?;
        out.add(&name, &requirement);
    }
    Ok(())
}

/// Lines with `\` continuations joined, each with the number of the line it starts on.
fn joined_lines(content: &str) -> Vec<(usize, String)> {
    let mut joined = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in content.lines().enumerate() {
        let (start, mut text) = pending.take().unwrap_or((index + 1, String::new()));
        // As in pip, a line holding a comment never continues onto the next.
        match line.strip_suffix('\\').filter(|_| !PIP_COMMENT.is_match(line)) {
            Some(continued) => {
                text.push_str(continued);
                pending = Some((start, text));
            }
            None => {
                text.push_str(line);
                joined.push((start, text));
            }
        }
    }
    joined.extend(pending);
    joined
}

/// A path or URL in place of a requirement: `./vendor/pkg.whl`, `git+https://...#egg=name`.
fn direct_reference(line: &str) -> Option<(String, String)> {
    let is_reference = line.starts_with(['.', '/', '~']) || line.contains("://");
    if !is_reference {
        return None;
    }
    Some(match EGG.captures(line).and_then(|egg| egg.get(1)) {
        Some(egg) => (normalise_python_name(egg.as_str()), line.to_string()),
        None => (line.to_string(), "*".to_string()),
    })
}

fn python_toml_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    toml_package_array(content, out, Naming::Python)
}

fn pipfile_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_json(content)?;
    for section in ["default", "develop"] {
        let Some(dependencies) = root.get(section) else { continue };
        for (name, entry) in json_object(dependencies, section)? {
            let entry = json_object(entry, &format!("{section}.{name}"))?;
            let text = |field: &str| entry.get(field).and_then(Json::as_str);
            let version = match (text("version"), text("git"), text("path")) {
                (Some(version), _, _) => version.trim_start_matches("==").to_string(),
                (None, Some(url), _) => {
                    format!("git:{url}{}", text("ref").map(|r| format!("?ref={r}")).unwrap_or_default())
                }
                (None, None, Some(path)) => format!("path:{path}"),
                _ => "*".to_string(),
            };
            out.add(&normalise_python_name(name), &version);
        }
    }
    Ok(())
}

/// PEP 621 `[project]` lists, PEP 735 `[dependency-groups]`, and Poetry's tables.
fn pyproject_toml(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_toml(content)?;
    if let Some(project) = root.get("project") {
        if let Some(list) = project.get("dependencies") {
            pep508_list("project.dependencies", list, out)?;
        }
        if let Some(extras) = project.get("optional-dependencies") {
            pep508_groups("project.optional-dependencies", extras, out)?;
        }
    }
    if let Some(groups) = root.get("dependency-groups") {
        pep508_groups("dependency-groups", groups, out)?;
    }
    let Some(poetry) = root.get("tool").and_then(|tool| tool.get("poetry")) else { return Ok(()) };
    for section in ["dependencies", "dev-dependencies"] {
        if let Some(table) = poetry.get(section) {
            toml_dependency_table(&format!("tool.poetry.{section}"), table, Naming::Python, out)?;
        }
    }
    let groups = poetry.get("group").and_then(Toml::as_table).into_iter().flatten();
    for (group, table) in groups {
        if let Some(table) = table.get("dependencies") {
            toml_dependency_table(&format!("tool.poetry.group.{group}.dependencies"), table, Naming::Python, out)?;
        }
    }
    Ok(())
}

fn pep508_groups(section: &str, groups: &Toml, out: &mut Packages) -> Result<(), ReadError> {
    let groups = groups.as_table().ok_or_else(|| invalid(format!("`{section}` is not a table")))?;
    for (group, list) in groups {
        pep508_list(&format!("{section}.{group}"), list, out)?;
    }
    Ok(())
}

fn pep508_list(section: &str, list: &Toml, out: &mut Packages) -> Result<(), ReadError> {
    let list = list.as_array().ok_or_else(|| invalid(format!("`{section}` is not an array")))?;
    for item in list {
        match item {
            Toml::String(text) => {
                let (name, requirement) = pep508(text)
                    .ok_or_else(|| invalid(format!("`{section}`: `{}` is not a PEP 508 requirement", excerpt(text))))?;
                out.add(&name, &requirement);
            }
            // `{ include-group = "test" }` in [dependency-groups]: that group is read on its own.
            Toml::Table(_) => {}
            _ => return Err(invalid(format!("`{section}` holds something that is not a requirement"))),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Go.
// ---------------------------------------------------------------------------------------------

/// go.mod: `require` lines and blocks. `// indirect` modules are still linked into the binary, so
/// they count; `replace`, `exclude` and the other directives are not requirements.
fn go_mod(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let mut block: Option<&str> = None;
    for (index, raw) in content.lines().enumerate() {
        let number = index + 1;
        let line = raw.split("//").next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(directive) = block {
            if line == ")" {
                block = None;
            } else if directive == "require" {
                go_require(line, number, out)?;
            }
            continue;
        }
        let (directive, rest, opens_block) = match line.strip_suffix('(') {
            Some(head) => (head.trim(), "", true),
            None => line.split_once(char::is_whitespace).map_or((line, "", false), |(d, rest)| (d, rest, false)),
        };
        // Unknown words pass, so that a newer Go's directives do not break gate; junk does not.
        if directive.is_empty() || !directive.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(invalid(format!("line {number}: expected a go.mod directive, found `{}`", excerpt(line))));
        }
        if opens_block {
            block = Some(directive);
        } else if directive == "require" && rest.trim() != "()" {
            go_require(rest, number, out)?;
        }
    }
    match block {
        Some(directive) => Err(invalid(format!("the `{directive} (` block is never closed (truncated?)"))),
        None => Ok(()),
    }
}

fn go_require(line: &str, number: usize, out: &mut Packages) -> Result<(), ReadError> {
    match line.split_whitespace().collect::<Vec<_>>()[..] {
        [module, version] => {
            out.add(module.trim_matches('"'), version);
            Ok(())
        }
        _ => Err(invalid(format!("line {number}: expected `module version`, found `{}`", excerpt(line)))),
    }
}

/// go.sum: `module version hash`; `version/go.mod` lines checksum only the go.mod of that version.
fn go_sum(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    for (index, line) in content.lines().enumerate() {
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            [] => {}
            [module, version, _hash] => out.add(module, version.strip_suffix("/go.mod").unwrap_or(version)),
            _ => {
                let found = excerpt(line);
                return Err(invalid(format!("line {}: expected `module version hash`, found `{found}`", index + 1)));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Ruby.
// ---------------------------------------------------------------------------------------------

static GEM_SPEC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^    (\S+) \(([^)]+)\)$").expect("the gem spec pattern is valid"));

/// Gemfile.lock: the `specs:` of the GEM, GIT, PATH and PLUGIN SOURCE sections. Four spaces in is
/// a locked gem; six spaces in is one of its own requirements, locked elsewhere in the file.
fn gemfile_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let mut section = "";
    let mut in_specs = false;
    for (index, line) in content.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            // Section names are capitals (GEM, BUNDLED WITH); anything else, such as a merge
            // conflict marker, means the file is not a lockfile Bundler would read.
            if !line.chars().all(|c| c.is_ascii_uppercase() || c == ' ') {
                return Err(invalid(format!("line {number}: expected a section name, found `{}`", excerpt(line))));
            }
            (section, in_specs) = (line, false);
            continue;
        }
        if !matches!(section, "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE") {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        match indent {
            2 => in_specs = line.trim_end() == "  specs:",
            4 if in_specs => {
                let spec = GEM_SPEC.captures(line.trim_end()).ok_or_else(|| {
                    invalid(format!("line {number}: expected `name (version)`, found `{}`", excerpt(line.trim())))
                })?;
                out.add(spec.get(1).map_or("", |m| m.as_str()), spec.get(2).map_or("", |m| m.as_str()));
            }
            _ => {}
        }
    }
    Ok(())
}

static GEM_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*gem\s*\(?\s*['"]([^'"]+)['"](.*)$"#).expect("the Gemfile pattern is valid"));

/// Gemfile: `gem 'name', '~> 1.2', '>= 1.2.3', require: false`. The Gemfile is Ruby, so only
/// `gem` lines are read and nothing else in it is an error.
fn gemfile(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    for line in content.lines() {
        let code = line.split('#').next().unwrap_or_default();
        let Some(gem) = GEM_LINE.captures(code) else { continue };
        let name = gem.get(1).map_or("", |m| m.as_str());
        let arguments = gem.get(2).map_or("", |m| m.as_str());
        // Version strings come first; the options (`require:`, `platforms:`) end them.
        let versions: Vec<&str> = arguments
            .split(',')
            .skip(1)
            .map(|argument| argument.trim().trim_end_matches(')').trim())
            .map_while(unquote)
            .collect();
        let requirement = if versions.is_empty() { "*".to_string() } else { versions.join(", ") };
        out.add(name, &requirement);
    }
    Ok(())
}

fn unquote(text: &str) -> Option<&str> {
    ['\'', '"'].iter().find_map(|quote| text.strip_prefix(*quote)?.strip_suffix(*quote))
}

// ---------------------------------------------------------------------------------------------
// PHP.
// ---------------------------------------------------------------------------------------------

fn composer_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_json(content)?;
    for section in ["packages", "packages-dev"] {
        let Some(packages) = root.get(section) else { continue };
        let packages = packages.as_array().ok_or_else(|| invalid(format!("`{section}` is not an array")))?;
        for (index, package) in packages.iter().enumerate() {
            let text = |field: &str| package.get(field).and_then(Json::as_str);
            let name = text("name").ok_or_else(|| invalid(format!("`{section}` entry {} has no name", index + 1)))?;
            out.add(name, text("version").unwrap_or("*"));
        }
    }
    Ok(())
}

/// composer.json: `require` and `require-dev`. Every package is `vendor/name`; names without a
/// slash are the platform (`php`, `ext-intl`, `lib-curl`, `composer-plugin-api`), not packages.
fn composer_json(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_json(content)?;
    for section in ["require", "require-dev"] {
        let Some(requirements) = root.get(section) else { continue };
        for (name, constraint) in json_object(requirements, section)? {
            let constraint =
                constraint.as_str().ok_or_else(|| invalid(format!("`{section}.{name}` is not a string")))?;
            if name.contains('/') {
                out.add(name, constraint);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Java.
// ---------------------------------------------------------------------------------------------

/// pom.xml: every `<dependency>`, including those in `<dependencyManagement>` (they pin versions),
/// except a `<plugin>`'s own. Versions stay as written: `${spring.version}` is what changed.
fn pom_xml(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let mut reader = Reader::from_str(content);
    reader.config_mut().check_end_names = true;
    let mut open: Vec<String> = Vec::new();
    let mut dependency: Option<MavenDependency> = None;
    let mut root_seen = false;
    loop {
        let event = reader.read_event().map_err(|err| {
            invalid(format!("not valid XML at line {}: {err}", line_at(content, reader.error_position())))
        })?;
        match event {
            XmlEvent::Start(ref element) | XmlEvent::Empty(ref element) if open.is_empty() => {
                let name = element.local_name().as_ref().to_string();
                if root_seen {
                    return Err(invalid(format!("a second root element <{name}> after </project>")));
                }
                if name != "project" {
                    return Err(invalid(format!("its root element is <{name}>, not <project>")));
                }
                root_seen = true;
                if matches!(event, XmlEvent::Start(_)) {
                    open.push(name);
                }
            }
            XmlEvent::Start(element) => {
                let name = element.local_name().as_ref().to_string();
                if name == "dependency" && dependency.is_none() && !open.iter().any(|parent| parent == "plugin") {
                    dependency = Some(MavenDependency { depth: open.len(), ..MavenDependency::default() });
                }
                open.push(name);
            }
            XmlEvent::Text(text) => maven_text(&mut dependency, &open, &text.xml10_content()),
            XmlEvent::CData(text) => maven_text(&mut dependency, &open, &text),
            XmlEvent::GeneralRef(reference) => maven_text(&mut dependency, &open, &entity_text(&reference)),
            XmlEvent::End(_) => {
                open.pop();
                if let Some(done) = dependency.take_if(|d| d.depth == open.len()) {
                    done.finish(out)?;
                }
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    match open.last() {
        Some(element) => Err(invalid(format!("it ends inside <{element}>: the file is truncated"))),
        None if !root_seen => Err(invalid("it has no XML element at all")),
        None => Ok(()),
    }
}

#[derive(Debug, Default)]
struct MavenDependency {
    /// How many elements were open around `<dependency>`.
    depth: usize,
    group: String,
    artifact: String,
    version: String,
}

impl MavenDependency {
    fn finish(self, out: &mut Packages) -> Result<(), ReadError> {
        let (group, artifact, version) = (self.group.trim(), self.artifact.trim(), self.version.trim());
        if artifact.is_empty() {
            return Err(invalid(format!("a <dependency> in group `{group}` has no <artifactId>")));
        }
        let name = if group.is_empty() { artifact.to_string() } else { format!("{group}:{artifact}") };
        out.add(&name, if version.is_empty() { "*" } else { version });
        Ok(())
    }
}

/// Text goes to the dependency's field when it sits directly in `<groupId>`, `<artifactId>` or
/// `<version>` of that `<dependency>` (not in an `<exclusion>` below it).
fn maven_text(dependency: &mut Option<MavenDependency>, open: &[String], text: &str) {
    let Some(dependency) = dependency.as_mut() else { return };
    if open.len() != dependency.depth + 2 {
        return;
    }
    let field = match open.last().map(String::as_str) {
        Some("groupId") => &mut dependency.group,
        Some("artifactId") => &mut dependency.artifact,
        Some("version") => &mut dependency.version,
        _ => return,
    };
    field.push_str(text);
}

/// XML's predefined entities and character references; any other entity stays as written.
fn entity_text(reference: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return c.to_string();
    }
    let name: &str = reference;
    match name {
        "lt" => "<".to_string(),
        "gt" => ">".to_string(),
        "amp" => "&".to_string(),
        "apos" => "'".to_string(),
        "quot" => "\"".to_string(),
        other => format!("&{other};"),
    }
}

/// The 1-based line holding byte `position`.
fn line_at(content: &str, position: u64) -> usize {
    let end = usize::try_from(position).unwrap_or(usize::MAX).min(content.len());
    content.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
}

/// The dependency configurations of the Java, Kotlin and Android plugins, and of custom source sets.
const GRADLE_CONFIGURATION: &str = concat!(
    r"\b(?:implementation|api|compileOnly|compileOnlyApi|runtimeOnly|annotationProcessor|kapt\w*|ksp\w*|classpath",
    r"|compile|runtime|testCompile|testRuntime|developmentOnly",
    r"|[a-z]\w*(?:Implementation|Api|CompileOnly|RuntimeOnly|AnnotationProcessor))\b",
);

/// `implementation 'g:a:1.2'`, `implementation("g:a:1.2")`, `api(platform("g:a:1.2"))`.
static GRADLE_STRING: LazyLock<Regex> = LazyLock::new(|| {
    let wrapper = r"(?:(?:platform|enforcedPlatform|testFixtures)\s*\(\s*)?";
    let coordinates = r#"['"]([^'"\s:]+):([^'"\s:]+)(?::([^'"\s:@]+))?[^'"\s]*['"]"#;
    Regex::new(&format!(r"{GRADLE_CONFIGURATION}\s*\(?\s*{wrapper}{coordinates}")).expect("the Gradle pattern is valid")
});

/// `implementation group: 'g', name: 'a', version: '1.2'` and Kotlin's `group = "g", ...`.
static GRADLE_MAP: LazyLock<Regex> = LazyLock::new(|| {
    let part = |key: &str| format!(r#"{key}\s*[:=]\s*['"]([^'"]+)['"]"#);
    let (group, name, version) = (part("group"), part("name"), part("version"));
    Regex::new(&format!(r"{GRADLE_CONFIGURATION}\s*\(?\s*{group}\s*,\s*{name}(?:\s*,\s*{version})?"))
        .expect("the Gradle map pattern is valid")
});

/// Comments, so that a commented-out dependency is not read as one.
static GRADLE_COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)/\*.*?\*/|//[^\n]*").expect("the comment pattern is valid"));

/// build.gradle and build.gradle.kts are programs: string coordinates are read, and version
/// catalog references (`libs.okhttp`) are not resolved. Nothing in them is an error.
fn build_gradle(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let code = GRADLE_COMMENT.replace_all(content, " ");
    for found in GRADLE_STRING.captures_iter(&code).chain(GRADLE_MAP.captures_iter(&code)) {
        let part = |index: usize| found.get(index).map(|m| m.as_str());
        if let (Some(group), Some(artifact)) = (part(1), part(2)) {
            out.add(&format!("{group}:{artifact}"), part(3).unwrap_or("*"));
        }
    }
    Ok(())
}

/// gradle.lockfile: `group:artifact:version=configurations`; `empty=` lists unused configurations.
fn gradle_lockfile(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    for (index, line) in content.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("empty=") {
            continue;
        }
        let coordinates = line.split('=').next().unwrap_or_default();
        match coordinates.split(':').collect::<Vec<_>>()[..] {
            [group, artifact, version] if !group.is_empty() && !artifact.is_empty() && !version.is_empty() => {
                out.add(&format!("{group}:{artifact}"), version);
            }
            _ => {
                let found = excerpt(line);
                return Err(invalid(format!(
                    "line {}: expected `group:artifact:version=...`, found `{found}`",
                    index + 1
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_ok(path: &str, content: &str) -> Packages {
        match read(path, content) {
            Ok(packages) => packages,
            Err(err) => panic!("{path} should read, got {err:?}"),
        }
    }

    /// The versions a read gives one package, in version order.
    fn versions(packages: &Packages, name: &str) -> Vec<String> {
        packages.packages.get(name).map(in_version_order).unwrap_or_default()
    }

    fn names(packages: &Packages) -> Vec<&str> {
        packages.packages.keys().map(String::as_str).collect()
    }

    fn invalid_message(path: &str, content: &str) -> String {
        match read(path, content) {
            Err(ReadError::Invalid(message)) => message,
            other => panic!("{path} should be invalid, got {other:?}"),
        }
    }

    // ----- Rust -------------------------------------------------------------------------------

    const CARGO_LOCK: &str = r#"# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 4

[[package]]
name = "gate"
version = "0.1.0"
dependencies = [
 "serde",
 "syn 2.0.66",
]

[[package]]
name = "serde"
version = "1.0.197"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "3fb1c873e1b9b056a4dc4c0c198b24c3ffa059243875552b2bd0933b1aee4ce2"

[[package]]
name = "syn"
version = "1.0.109"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "72b64191b275b66ffe2469e8af2c1cfe3bafa67529147aebea6f7aef4271ad9"

[[package]]
name = "syn"
version = "2.0.66"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "c42f3f41a2de00b01c0aaf383c5a45241efc8b2d1eda5661812fda5f3cdcff5"
"#;

    #[test]
    fn cargo_lock_gives_every_version_of_a_package() {
        let packages = read_ok("Cargo.lock", CARGO_LOCK);
        assert_eq!(packages.format, "Cargo.lock");
        assert_eq!(names(&packages), ["gate", "serde", "syn"]);
        assert_eq!(versions(&packages, "syn"), ["1.0.109", "2.0.66"]);
        assert_eq!(versions(&packages, "serde"), ["1.0.197"]);
    }

    #[test]
    fn cargo_toml_reads_every_dependency_table_and_source() {
        let manifest = r#"
[package]
name = "gate"
version = "0.1.0"

[dependencies]
serde = { version = "1.0", features = ["derive"] }
regex = "1.10"
gate-core = { path = "../core" }
tracing = { git = "https://github.com/tokio-rs/tracing", tag = "tracing-0.1.40" }
anyhow.workspace = true

[dependencies.clap]
version = "4.5"
features = ["derive"]

[dev-dependencies]
tempfile = "3"

[build-dependencies]
cc = "1.0.90"

[target.'cfg(unix)'.dependencies]
libc = "0.2.155"

[target.'cfg(windows)'.dev-dependencies]
windows-sys = { version = "0.52", features = ["Win32_Foundation"] }

[workspace.dependencies]
tokio = { version = "1.38", default-features = false }
"#;
        let packages = read_ok("crates/gate/Cargo.toml", manifest);
        assert_eq!(packages.format, "Cargo.toml");
        for (name, requirement) in [
            ("serde", "1.0"),
            ("regex", "1.10"),
            ("gate-core", "path:../core"),
            ("tracing", "git:https://github.com/tokio-rs/tracing?tag=tracing-0.1.40"),
            ("anyhow", "workspace"),
            ("clap", "4.5"),
            ("tempfile", "3"),
            ("cc", "1.0.90"),
            ("libc", "0.2.155"),
            ("windows-sys", "0.52"),
            ("tokio", "1.38"),
        ] {
            assert_eq!(versions(&packages, name), [requirement], "{name}");
        }
        assert!(!packages.packages.contains_key("gate"), "the package itself is not a dependency");
    }

    // ----- JavaScript -------------------------------------------------------------------------

    const PACKAGE_LOCK_V3: &str = r#"{
  "name": "shop",
  "version": "2.4.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "shop",
      "version": "2.4.0",
      "workspaces": ["packages/*"],
      "dependencies": { "express": "^4.19.2" },
      "devDependencies": { "@types/node": "^20.12.7" }
    },
    "node_modules/@types/node": {
      "version": "20.12.7",
      "resolved": "https://registry.npmjs.org/@types/node/-/node-20.12.7.tgz",
      "integrity": "sha512-wq0cICSkRLVaf3UGLMGItu/PtdY7oaXaI/RVU+xliKVOtRna3PRY57ZDfztpDL0n11vfymMUnXv8QwYCO7L1wg==",
      "dev": true
    },
    "node_modules/debug": {
      "version": "4.3.4",
      "resolved": "https://registry.npmjs.org/debug/-/debug-4.3.4.tgz"
    },
    "node_modules/express": {
      "version": "4.19.2",
      "resolved": "https://registry.npmjs.org/express/-/express-4.19.2.tgz",
      "dependencies": { "debug": "2.6.9" }
    },
    "node_modules/express/node_modules/debug": {
      "version": "2.6.9",
      "resolved": "https://registry.npmjs.org/debug/-/debug-2.6.9.tgz"
    },
    "node_modules/shop-api": {
      "resolved": "packages/api",
      "link": true
    },
    "packages/api": {
      "name": "shop-api",
      "version": "0.3.0"
    }
  }
}"#;

    #[test]
    fn package_lock_v3_names_nested_and_scoped_packages() {
        let packages = read_ok("web/package-lock.json", PACKAGE_LOCK_V3);
        assert_eq!(packages.format, "package-lock.json v3");
        assert_eq!(names(&packages), ["@types/node", "debug", "express", "shop-api"]);
        assert_eq!(versions(&packages, "debug"), ["2.6.9", "4.3.4"]);
        assert_eq!(versions(&packages, "@types/node"), ["20.12.7"]);
        assert_eq!(versions(&packages, "shop-api"), ["link:packages/api"]);
    }

    #[test]
    fn package_lock_v1_recurses_into_nested_dependencies() {
        let lock = r#"{
  "name": "legacy",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "left-pad": { "version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz" },
    "request": {
      "version": "2.88.2",
      "requires": { "qs": "~6.5.2" },
      "dependencies": {
        "qs": { "version": "6.5.3" }
      }
    },
    "qs": { "version": "6.11.2" }
  }
}"#;
        let packages = read_ok("npm-shrinkwrap.json", lock);
        assert_eq!(packages.format, "npm-shrinkwrap.json v1");
        assert_eq!(versions(&packages, "left-pad"), ["1.3.0"]);
        assert_eq!(versions(&packages, "qs"), ["6.5.3", "6.11.2"]);
    }

    #[test]
    fn package_json_reads_all_four_dependency_maps() {
        let manifest = r#"{
  "name": "shop",
  "private": true,
  "scripts": { "build": "vite build" },
  "dependencies": { "react": "^18.3.1", "@tanstack/react-query": "~5.40.0" },
  "devDependencies": { "vite": "5.2.11" },
  "peerDependencies": { "react-dom": ">=18" },
  "optionalDependencies": { "fsevents": "2.3.3" }
}"#;
        let packages = read_ok("package.json", manifest);
        assert_eq!(names(&packages), ["@tanstack/react-query", "fsevents", "react", "react-dom", "vite"]);
        assert_eq!(versions(&packages, "@tanstack/react-query"), ["~5.40.0"]);
        assert_eq!(versions(&packages, "react-dom"), [">=18"]);
    }

    const YARN_V1: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/core@^7.0.0", "@babel/core@^7.1.0":
  version "7.1.2"
  resolved "https://registry.yarnpkg.com/@babel/core/-/core-7.1.2.tgz#f8d2a9ceb6832887329a7b60f9d035791400ba4e"
  integrity sha512-IFeSSnjXdhDaoysIlev//UzHZbdEmm7D0EIH2qtse9xK7mXEZQpYjs2P00XlP1qYsYvid79p+Zgg6tz1mp6iVw==
  dependencies:
    "@babel/generator" "^7.1.2"
    debug "^3.1.0"

debug@^3.1.0:
  version "3.2.7"
  resolved "https://registry.yarnpkg.com/debug/-/debug-3.2.7.tgz#72580b7e9145fb39b6676f9c5e5fb100b934179a"
  dependencies:
    ms "^2.1.1"

debug@^4.1.0, debug@^4.3.4:
  version "4.3.4"
  resolved "https://registry.yarnpkg.com/debug/-/debug-4.3.4.tgz#1319f6579357f2338d3337d2cdd4914bb5dcc865"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz"
"#;

    #[test]
    fn yarn_v1_reads_scoped_names_multiple_selectors_and_aliases() {
        let packages = read_ok("yarn.lock", YARN_V1);
        assert_eq!(packages.format, "yarn.lock v1");
        assert_eq!(names(&packages), ["@babel/core", "debug", "string-width-cjs"]);
        assert_eq!(versions(&packages, "@babel/core"), ["7.1.2"]);
        assert_eq!(versions(&packages, "debug"), ["3.2.7", "4.3.4"]);
    }

    const YARN_BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@babel/core@npm:^7.12.3, @babel/core@npm:^7.23.9":
  version: 7.24.5
  resolution: "@babel/core@npm:7.24.5"
  dependencies:
    "@babel/code-frame": "npm:^7.24.2"
    debug: "npm:^4.1.0"
  checksum: 10c0/e26ba810a77bc8e21579a12fc36c79a0a60554404dc9447f2d64eb1f26d181c48d3b97d39d9f158e9911ec7162a8280acfaf2b4b210e975f0dd4bd4dbb1ee159
  languageName: node
  linkType: hard

"lodash@npm:^4.17.21":
  version: 4.17.21
  resolution: "lodash@npm:4.17.21"
  languageName: node
  linkType: hard

"lodash@patch:lodash@npm%3A4.17.21#~/.yarn/patches/lodash-npm-4.17.21-6382451519.patch":
  version: 4.17.21
  resolution: "lodash@patch:lodash@npm%3A4.17.21#~/.yarn/patches/lodash-npm-4.17.21-6382451519.patch::version=4.17.21&hash=4d8fbd"
  languageName: node
  linkType: hard

"shop@workspace:.":
  version: 0.0.0-use.local
  resolution: "shop@workspace:."
  languageName: unknown
  linkType: soft
"#;

    #[test]
    fn yarn_berry_skips_metadata_and_reads_patched_packages_by_name() {
        let packages = read_ok("yarn.lock", YARN_BERRY);
        assert_eq!(packages.format, "yarn.lock berry v8");
        assert_eq!(names(&packages), ["@babel/core", "lodash", "shop"]);
        assert_eq!(versions(&packages, "@babel/core"), ["7.24.5"]);
        assert_eq!(versions(&packages, "lodash"), ["4.17.21"]);
    }

    const PNPM_V9: &str = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      react-dom:
        specifier: ^18.2.0
        version: 18.2.0(react@18.2.0)
    devDependencies:
      '@types/react':
        specifier: ^18.3.3
        version: 18.3.3

packages:

  '@types/react@18.3.3':
    resolution: {integrity: sha512-hti/R0pS0q1/xx+TsI73XIqk26eBsISZ2R0wUijXIngRK9R/e7Xw/cXVxQK7R5JjW+SV4zGcn5hXjudkN/pLIw==}

  loose-envify@1.4.0:
    resolution: {integrity: sha512-lyuxPGr/Wfhrlem2CL/UcnUc1zcqKAImBDzukY7Y5F/yQiNdko6+fRLevlw1HgMySw7f611UIY408EtxRSoK3Q==}
    hasBin: true

  react-dom@18.2.0:
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0

  react@18.2.0:
    resolution: {integrity: sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==}

snapshots:

  react-dom@18.2.0(react@18.2.0):
    dependencies:
      loose-envify: 1.4.0
      react: 18.2.0
"#;

    #[test]
    fn pnpm_v9_reads_package_keys_and_not_the_snapshots() {
        let packages = read_ok("pnpm-lock.yaml", PNPM_V9);
        assert_eq!(packages.format, "pnpm-lock.yaml v9.0");
        assert_eq!(names(&packages), ["@types/react", "loose-envify", "react", "react-dom"]);
        assert_eq!(versions(&packages, "react-dom"), ["18.2.0"]);
    }

    #[test]
    fn pnpm_v6_and_v5_keys_lose_their_slash_and_peer_suffixes() {
        let v6 = r#"lockfileVersion: '6.0'

dependencies:
  react-dom:
    specifier: ^18.2.0
    version: 18.2.0(react@18.2.0)

packages:

  /@babel/runtime@7.24.5:
    resolution: {integrity: sha512-Nms86NXrsaeU9vbBJKni6gXiEXZ4CVpYVzEjDH9Sb8vmZ3UljyA1GSOJl/6LGPO8EHLuSF9H+IxNXHPX8QHJ4g==}
    engines: {node: '>=6.9.0'}
    dev: false

  /react-dom@18.2.0(react@18.2.0):
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0
    dev: false
"#;
        let packages = read_ok("pnpm-lock.yaml", v6);
        assert_eq!(packages.format, "pnpm-lock.yaml v6.0");
        assert_eq!(versions(&packages, "@babel/runtime"), ["7.24.5"]);
        assert_eq!(versions(&packages, "react-dom"), ["18.2.0"]);

        let v5 = r#"lockfileVersion: 5.4

specifiers:
  react-dom: ^18.2.0

packages:

  /@babel/runtime/7.20.13:
    resolution: {integrity: sha512-gt3PKXs0DBoL9xCvOIIZ2NEqAGZqHjAnmVbfQtB620V0uReIQutpel14KcneZuer7UioY8ALKZ7iocavvzTNFA==}
    dev: false

  /react-dom/18.2.0_react@18.2.0:
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    dev: false
"#;
        let packages = read_ok("pnpm-lock.yaml", v5);
        assert_eq!(packages.format, "pnpm-lock.yaml v5.4");
        assert_eq!(versions(&packages, "@babel/runtime"), ["7.20.13"]);
        assert_eq!(versions(&packages, "react-dom"), ["18.2.0"]);
    }

    #[test]
    fn pnpm_aliases_are_never_expanded() {
        // Regression guard: a loader that expands aliases turns these few lines into 2^30 nodes.
        let mut bomb = String::from("a0: &a0 [x, x]\n");
        for level in 1..30 {
            bomb.push_str(&format!("a{level}: &a{level} [*a{prev}, *a{prev}]\n", prev = level - 1));
        }
        bomb.push_str("packages:\n  lodash@4.17.21: *a29\n");
        let packages = read_ok("pnpm-lock.yaml", &bomb);
        assert_eq!(versions(&packages, "lodash"), ["4.17.21"]);
    }

    // ----- Python -----------------------------------------------------------------------------

    #[test]
    fn requirements_txt_reads_what_pip_reads() {
        let requirements = r#"#
# This file is autogenerated by pip-compile with Python 3.12
#
-r base.txt
-c constraints.txt
--index-url https://pypi.org/simple
-e git+https://github.com/acme/tools.git@v2#egg=acme-tools

Django==4.2.13 \
    --hash=sha256:837e3cf1f6c31347a1396a3f6b65688f2b4bb4a11c580dcb628b5afe527b68a5 \
    --hash=sha256:a17fcba2aad3fc7d46fdb23215095dbbd64e6174bf4589171e732b18b07e426a
    # via -r requirements.in
requests>=2.31,<3  # HTTP
uvicorn[standard]==0.29.0
typing_extensions==4.11.0 ; python_version < "3.11"
Flask-SQLAlchemy
importlib-metadata>=6.0; python_version<"3.8"
mypkg @ https://example.com/mypkg-1.0.tar.gz
./vendor/acme_client-1.4.0-py3-none-any.whl
"#;
        let packages = read_ok("requirements-dev.txt", requirements);
        assert_eq!(packages.format, "requirements-dev.txt");
        for (name, requirement) in [
            ("django", "==4.2.13"),
            ("requests", ">=2.31,<3"),
            ("uvicorn", "==0.29.0"),
            ("typing-extensions", "==4.11.0"),
            ("flask-sqlalchemy", "*"),
            ("importlib-metadata", ">=6.0"),
            ("mypkg", "@ https://example.com/mypkg-1.0.tar.gz"),
            ("./vendor/acme_client-1.4.0-py3-none-any.whl", "*"),
        ] {
            assert_eq!(versions(&packages, name), [requirement], "{name}");
        }
        assert_eq!(packages.packages.len(), 8, "options and included files are not packages: {packages:?}");
        assert_eq!(read_ok("constraints.txt", "urllib3<2\n").packages.len(), 1);
    }

    #[test]
    fn a_comment_ending_in_a_backslash_does_not_swallow_the_next_line() {
        // Regression guard: joining first would read `gunicorn` as part of the comment, as pip does not.
        let packages = read_ok("requirements.txt", "# pinned until the workers move \\\ngunicorn==22.0.0\n");
        assert_eq!(versions(&packages, "gunicorn"), ["==22.0.0"]);
    }

    #[test]
    fn python_names_are_normalised_per_pep_503() {
        assert_eq!(normalise_python_name("Typing_Extensions"), "typing-extensions");
        assert_eq!(normalise_python_name("zope.interface"), "zope-interface");
        assert_eq!(normalise_python_name("Foo-_.Bar"), "foo-bar");
    }

    #[test]
    fn poetry_and_uv_locks_read_their_package_arrays() {
        let poetry = r#"# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.

[[package]]
name = "certifi"
version = "2024.2.2"
description = "Python package for providing Mozilla's CA Bundle."
optional = false
python-versions = ">=3.6"
files = [
    {file = "certifi-2024.2.2-py3-none-any.whl", hash = "sha256:dc383c07b76109f368f6106eee2b593b04a011ea4d55f652c6ca24a754d1cdd1"},
]

[[package]]
name = "charset-normalizer"
version = "3.3.2"
description = "The Real First Universal Charset Detector."
optional = false
python-versions = ">=3.7.0"
files = []

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "4c2e1a9f0d4b7f1b1f6d0e6f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
"#;
        let packages = read_ok("poetry.lock", poetry);
        assert_eq!(versions(&packages, "certifi"), ["2024.2.2"]);
        assert_eq!(versions(&packages, "charset-normalizer"), ["3.3.2"]);

        let uv = r#"version = 1
requires-python = ">=3.12"

[[package]]
name = "idna"
version = "3.7"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/idna-3.7.tar.gz", hash = "sha256:028ff3aadf0609c1fd278d8ea3089299412a7a8b9bd005dd08b9f8285bcb5cfc", size = 189575 }

[[package]]
name = "shop"
source = { editable = "." }
dependencies = [
    { name = "idna" },
]
"#;
        let packages = read_ok("uv.lock", uv);
        assert_eq!(versions(&packages, "idna"), ["3.7"]);
        assert_eq!(versions(&packages, "shop"), ["*"], "a dynamic version is not an error");
    }

    #[test]
    fn pipfile_lock_reads_default_and_develop() {
        let lock = r#"{
    "_meta": {
        "hash": { "sha256": "6b2e4c9a" },
        "pipfile-spec": 6,
        "requires": { "python_version": "3.12" },
        "sources": [ { "name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true } ]
    },
    "default": {
        "requests": {
            "hashes": [ "sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f" ],
            "index": "pypi",
            "markers": "python_version >= '3.7'",
            "version": "==2.31.0"
        },
        "acme-tools": { "git": "https://github.com/acme/tools.git", "ref": "5f1c2e0" }
    },
    "develop": {
        "PyTest": { "version": "==8.2.0" }
    }
}"#;
        let packages = read_ok("Pipfile.lock", lock);
        assert_eq!(versions(&packages, "requests"), ["2.31.0"]);
        assert_eq!(versions(&packages, "pytest"), ["8.2.0"]);
        assert_eq!(versions(&packages, "acme-tools"), ["git:https://github.com/acme/tools.git?ref=5f1c2e0"]);
    }

    #[test]
    fn pyproject_reads_pep_621_and_poetry_tables_but_not_python() {
        let pyproject = r#"[project]
name = "shop"
version = "0.4.0"
requires-python = ">=3.11"
dependencies = [
    "requests>=2",
    "pydantic[email]~=2.7",
    "tomli>=1.1.0; python_version < '3.11'",
]

[project.optional-dependencies]
server = ["gunicorn==22.0.0"]

[dependency-groups]
test = ["pytest>=8", { include-group = "lint" }]
lint = ["ruff"]

[tool.poetry.dependencies]
python = "^3.11"
Django = "^5.0"
celery = { version = "^5.4", extras = ["redis"] }
shop-core = { path = "../core", develop = true }

[tool.poetry.group.dev.dependencies]
black = "24.4.2"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"#;
        let packages = read_ok("pyproject.toml", pyproject);
        for (name, requirement) in [
            ("requests", ">=2"),
            ("pydantic", "~=2.7"),
            ("tomli", ">=1.1.0"),
            ("gunicorn", "==22.0.0"),
            ("pytest", ">=8"),
            ("ruff", "*"),
            ("django", "^5.0"),
            ("celery", "^5.4"),
            ("shop-core", "path:../core"),
            ("black", "24.4.2"),
        ] {
            assert_eq!(versions(&packages, name), [requirement], "{name}");
        }
        assert!(!packages.packages.contains_key("python"));
        assert!(!packages.packages.contains_key("poetry-core"), "build requirements are not dependencies");
    }

    // ----- Go ---------------------------------------------------------------------------------

    #[test]
    fn go_mod_reads_require_lines_and_blocks_with_indirect_modules() {
        let module = r#"module github.com/acme/shop

go 1.22.2

toolchain go1.22.3

require ()

require github.com/pkg/errors v0.9.1

require (
	github.com/gin-gonic/gin v1.10.0
	github.com/stretchr/testify v1.9.0 // test only
	golang.org/x/sys v0.20.0 // indirect
)

replace github.com/acme/internal => ../internal

exclude (
	golang.org/x/net v0.0.0-20190311183353-d8887717615a
)
"#;
        let packages = read_ok("go.mod", module);
        assert_eq!(
            names(&packages),
            ["github.com/gin-gonic/gin", "github.com/pkg/errors", "github.com/stretchr/testify", "golang.org/x/sys"]
        );
        assert_eq!(versions(&packages, "golang.org/x/sys"), ["v0.20.0"]);
    }

    #[test]
    fn go_sum_strips_go_mod_suffixes_and_keeps_every_version() {
        let sums = "github.com/gin-gonic/gin v1.9.1 h1:4idEAncQnU5cB7BeOkPtxjfCSye0AAm1R0RVIqJ+Jmg=
github.com/gin-gonic/gin v1.9.1/go.mod h1:hPrL7YrpYKXt5YId3A/Tnip5kqbEAP+KLuI3SUcPTeU=
github.com/gin-gonic/gin v1.10.0 h1:nTuyha1TYqgedzytsKYqna+DfLos46nTv2ygFy86HFU=
github.com/gin-gonic/gin v1.10.0/go.mod h1:4PMNQiOhvDRa013RKVbsiNwoyezlm2rm0uX/T7kzp5Y=
golang.org/x/sys v0.20.0/go.mod h1:/VUhepiaJMQUp4+oa/7Zr1D23ma6VTLIYjOOTFZPUcA=
";
        let packages = read_ok("go.sum", sums);
        assert_eq!(versions(&packages, "github.com/gin-gonic/gin"), ["v1.9.1", "v1.10.0"]);
        assert_eq!(versions(&packages, "golang.org/x/sys"), ["v0.20.0"]);
    }

    // ----- Ruby -------------------------------------------------------------------------------

    const GEMFILE_LOCK: &str = "GIT
  remote: https://github.com/rails/rails.git
  revision: 8d3b7e1f4c2a9b0d6e5f7a8b9c0d1e2f3a4b5c6d
  branch: main
  specs:
    activesupport (7.2.0.alpha)
      concurrent-ruby (~> 1.0, >= 1.0.2)

PATH
  remote: engines/billing
  specs:
    billing (0.1.0)
      activesupport

GEM
  remote: https://rubygems.org/
  specs:
    concurrent-ruby (1.2.3)
    nokogiri (1.16.5-arm64-darwin)
      racc (~> 1.4)
    nokogiri (1.16.5-x86_64-linux)
      racc (~> 1.4)
    puma (6.4.2)
      nio4r (~> 2.0)
    nio4r (2.7.3)
    racc (1.8.0)

PLATFORMS
  arm64-darwin
  x86_64-linux

DEPENDENCIES
  activesupport!
  billing!
  puma (~> 6.4)

RUBY VERSION
   ruby 3.3.1p55

BUNDLED WITH
   2.5.10
";

    #[test]
    fn gemfile_lock_reads_specs_and_not_their_requirements() {
        let packages = read_ok("Gemfile.lock", GEMFILE_LOCK);
        assert_eq!(
            names(&packages),
            ["activesupport", "billing", "concurrent-ruby", "nio4r", "nokogiri", "puma", "racc"]
        );
        assert_eq!(versions(&packages, "concurrent-ruby"), ["1.2.3"], "`(~> 1.0, >= 1.0.2)` is a requirement");
        assert_eq!(versions(&packages, "nokogiri"), ["1.16.5-arm64-darwin", "1.16.5-x86_64-linux"]);
        assert_eq!(versions(&packages, "activesupport"), ["7.2.0.alpha"]);
    }

    #[test]
    fn gemfile_reads_gem_lines_and_their_version_arguments() {
        let gemfile = r#"source "https://rubygems.org"

ruby "3.3.1"

gem "rails", "~> 7.1.3"
gem 'pg', '>= 1.1', '< 2.0'
gem "bootsnap", require: false
gem("puma", "~> 6.4") # web server

group :development, :test do
  gem "debug", platforms: %i[ mri windows ]
  # gem "byebug", "11.1.3"
end
"#;
        let packages = read_ok("Gemfile", gemfile);
        assert_eq!(names(&packages), ["bootsnap", "debug", "pg", "puma", "rails"]);
        assert_eq!(versions(&packages, "pg"), [">= 1.1, < 2.0"]);
        assert_eq!(versions(&packages, "puma"), ["~> 6.4"]);
        assert_eq!(versions(&packages, "bootsnap"), ["*"]);
    }

    // ----- PHP --------------------------------------------------------------------------------

    #[test]
    fn composer_lock_reads_packages_and_dev_packages() {
        let lock = r#"{
    "_readme": [ "This file locks the dependencies of your project to a known state" ],
    "content-hash": "f0e1d2c3b4a5968778695a4b3c2d1e0f",
    "packages": [
        { "name": "guzzlehttp/guzzle", "version": "7.8.1", "source": { "type": "git", "url": "https://github.com/guzzle/guzzle.git", "reference": "41042bc7ab002487b876a0683fc8dce04ddce104" } },
        { "name": "monolog/monolog", "version": "3.6.0" }
    ],
    "packages-dev": [
        { "name": "phpunit/phpunit", "version": "11.1.3" }
    ],
    "platform": { "php": "^8.2" }
}"#;
        let packages = read_ok("composer.lock", lock);
        assert_eq!(names(&packages), ["guzzlehttp/guzzle", "monolog/monolog", "phpunit/phpunit"]);
        assert_eq!(versions(&packages, "phpunit/phpunit"), ["11.1.3"]);
    }

    #[test]
    fn composer_json_skips_the_platform() {
        let manifest = r#"{
    "name": "acme/shop",
    "require": {
        "php": "^8.2",
        "ext-intl": "*",
        "composer-plugin-api": "^2.0",
        "laravel/framework": "^11.0"
    },
    "require-dev": { "phpunit/phpunit": "^11.1" }
}"#;
        let packages = read_ok("composer.json", manifest);
        assert_eq!(names(&packages), ["laravel/framework", "phpunit/phpunit"]);
        assert_eq!(versions(&packages, "laravel/framework"), ["^11.0"]);
    }

    // ----- Java -------------------------------------------------------------------------------

    const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.2.5</version>
  </parent>
  <groupId>com.acme</groupId>
  <artifactId>shop</artifactId>
  <version>1.4.0-SNAPSHOT</version>
  <properties>
    <spring.version>6.1.6</spring.version>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>com.fasterxml.jackson</groupId>
        <artifactId>jackson-bom</artifactId>
        <version>2.17.1</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.springframework</groupId>
      <artifactId>spring-web</artifactId>
      <version>${spring.version}</version>
      <exclusions>
        <exclusion>
          <groupId>commons-logging</groupId>
          <artifactId>commons-logging</artifactId>
        </exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.postgresql</groupId>
      <artifactId>postgresql</artifactId>
      <scope>runtime</scope>
    </dependency>
    <!-- <dependency><groupId>old</groupId><artifactId>gone</artifactId></dependency> -->
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-surefire-plugin</artifactId>
        <version>3.2.5</version>
        <dependencies>
          <dependency>
            <groupId>org.junit.platform</groupId>
            <artifactId>junit-platform-surefire-provider</artifactId>
            <version>1.3.2</version>
          </dependency>
        </dependencies>
      </plugin>
    </plugins>
  </build>
</project>
"#;

    #[test]
    fn pom_reads_dependencies_and_their_management_but_not_plugins() {
        let packages = read_ok("services/shop/pom.xml", POM);
        assert_eq!(
            names(&packages),
            ["com.fasterxml.jackson:jackson-bom", "org.postgresql:postgresql", "org.springframework:spring-web"]
        );
        assert_eq!(versions(&packages, "org.springframework:spring-web"), ["${spring.version}"]);
        assert_eq!(versions(&packages, "org.postgresql:postgresql"), ["*"]);
        assert_eq!(versions(&packages, "com.fasterxml.jackson:jackson-bom"), ["2.17.1"]);

        assert!(read_ok("pom.xml", "<project/>").packages.is_empty(), "an empty project is not truncated");
        assert!(invalid_message("pom.xml", "<project/><project/>").contains("second root"));
    }

    #[test]
    fn build_gradle_reads_groovy_and_kotlin_declarations() {
        let groovy = r#"plugins {
    id 'java'
    id 'org.springframework.boot' version '3.2.5'
}

repositories { maven { url 'https://repo.acme.com/maven2' } }

dependencies {
    implementation 'org.springframework.boot:spring-boot-starter-web'
    implementation "com.squareup.okhttp3:okhttp:4.12.0"
    api platform('com.fasterxml.jackson:jackson-bom:2.17.1')
    compileOnly 'org.projectlombok:lombok:1.18.32'
    annotationProcessor 'org.projectlombok:lombok:1.18.32'
    runtimeOnly group: 'org.postgresql', name: 'postgresql', version: '42.7.3'
    testImplementation 'org.junit.jupiter:junit-jupiter:5.10.2'
    implementation libs.guava
    // implementation 'commons-io:commons-io:2.16.1'
    /* kapt 'com.google.dagger:dagger-compiler:2.51' */
}
"#;
        let packages = read_ok("build.gradle", groovy);
        assert_eq!(
            names(&packages),
            [
                "com.fasterxml.jackson:jackson-bom",
                "com.squareup.okhttp3:okhttp",
                "org.junit.jupiter:junit-jupiter",
                "org.postgresql:postgresql",
                "org.projectlombok:lombok",
                "org.springframework.boot:spring-boot-starter-web"
            ]
        );
        assert_eq!(versions(&packages, "org.springframework.boot:spring-boot-starter-web"), ["*"]);
        assert_eq!(versions(&packages, "org.postgresql:postgresql"), ["42.7.3"]);

        let kotlin = r#"dependencies {
    implementation("io.ktor:ktor-server-core:2.3.11")
    kapt("com.google.dagger:dagger-compiler:2.51")
    testImplementation(kotlin("test"))
    androidTestImplementation("androidx.test.espresso:espresso-core:3.5.1")
}
"#;
        let packages = read_ok("app/build.gradle.kts", kotlin);
        assert_eq!(
            names(&packages),
            ["androidx.test.espresso:espresso-core", "com.google.dagger:dagger-compiler", "io.ktor:ktor-server-core"]
        );
    }

    #[test]
    fn gradle_lockfile_reads_coordinates_and_skips_empty() {
        let lock = "# This is a Gradle generated file for dependency locking.
# Manual edits can break the build and are not advised.
# This file is expected to be part of source control.
com.google.guava:failureaccess:1.0.2=compileClasspath,runtimeClasspath
com.google.guava:guava:33.2.0-jre=compileClasspath,runtimeClasspath
org.slf4j:slf4j-api:2.0.13=runtimeClasspath,testRuntimeClasspath
empty=annotationProcessor,testAnnotationProcessor
";
        let packages = read_ok("gradle.lockfile", lock);
        assert_eq!(
            names(&packages),
            ["com.google.guava:failureaccess", "com.google.guava:guava", "org.slf4j:slf4j-api"]
        );
        assert_eq!(versions(&packages, "com.google.guava:guava"), ["33.2.0-jre"]);
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
            ("build.gradle", "dependencies { implementation 'g:a:1.0' }\n"),
            ("build.gradle.kts", "dependencies { implementation(\"g:a:1.0\") }\n"),
            ("gradle.lockfile", "g:a:1.0=runtimeClasspath\nempty=\n"),
        ]
    }

    #[test]
    fn a_format_gate_does_not_know_is_named_not_skipped() {
        for path in ["ios/Podfile.lock", "mix.lock", "packages.lock.json", "requirements.in", "Cargo.lock.bak"] {
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
        assert_eq!(changes.added, [Change { name: "tokio".into(), old: vec![], new: vec!["1.38.0".into()] }]);
        assert_eq!(changes.removed, [Change { name: "left-pad".into(), old: vec!["1.3.0".into()], new: vec![] }]);
        assert_eq!(
            changes.changed,
            [
                Change { name: "serde".into(), old: vec!["1.0.197".into()], new: vec!["1.0.203".into()] },
                Change {
                    name: "syn".into(),
                    old: vec!["1.0.109".into(), "2.0.66".into()],
                    new: vec!["2.0.10".into(), "2.0.66".into()]
                },
            ]
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
    fn versions_sort_as_people_read_them() {
        let versions: BTreeSet<String> =
            ["1.10.0", "1.9.0", "1.9.0-rc.1", "v0.20.0", "v0.9.1", "2"].map(String::from).into();
        assert_eq!(in_version_order(&versions), ["1.9.0", "1.9.0-rc.1", "1.10.0", "2", "v0.9.1", "v0.20.0"]);
    }
}
