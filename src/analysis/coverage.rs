//! Whether a file is covered by a test: a test file for it exists where the templates say, a test
//! file mirrors it (`test/models/account_test.rb` for `app/models/account.rb`), or the code of a
//! test refers to it by path, by file name or by module.
//!
//! What a test file refers to is extracted once per blob (file names and paths in its code,
//! imported modules, paths in `require`, `source` and `import ... from`) and cached with the
//! blob's other facts. Only code counts: comments are left out, and so are test files that are
//! not code (a README or notes under `tests/`, fixtures, snapshots). A mention is not a test.

use std::sync::OnceLock;

use globset::GlobSet;

use crate::audit::comments::{self, Syntax};
use crate::config::Policy;
use crate::evidence::{EvidenceSet, TestSummary};
use crate::fastmap::FastMap;
use crate::git::bytes::{Reader, put_text16, put_u32};
use crate::git::{Change, Mode, Status, TreeIndex, dir_name, extension, file_name, stem};

/// Upper bound on the references kept per test file, so a generated test cannot bloat the cache.
const MAX_REFS_PER_FILE: usize = 20_000;

/// The file in `GIT_DIR/gate/` that keeps the references of the last tree whose test files
/// were all read (see `Analysis::references`).
pub const KEPT_FILE_NAME: &str = "references-v2.bin";

/// How many classes and modules of one file bare constants are looked up in.
const MAX_NAMESPACES: usize = 8;

/// Languages whose files are loaded by module name (`import search`), not only by path.
const MODULE_LANGUAGES: &[&str] = &["py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "rb", "pl", "pm", "lua", "ex", "exs"];

/// Directories of a test tree that say "tests" rather than mirror the code's layout: they are
/// left out when a test file's directory is matched with its subject's.
const TEST_ROOTS: &[&str] = &[
    "test",
    "tests",
    "spec",
    "specs",
    "__tests__",
    "testing",
    "unit",
    "unittest",
    "unittests",
    "integration",
    "functional",
    "e2e",
    "t",
];

/// Directories that hold sources in many layouts (`src/main/java/`, `lib/`, `app/`): a mirrored
/// test tree may start below them.
const SOURCE_ROOTS: &[&str] = &["src", "main", "lib", "app", "java", "kotlin", "scala", "groovy", "python", "source"];

/// Directories of test data: what files there name is data, not a test.
const DATA_DIRS: &[&str] = &["testdata", "fixtures", "fixture", "__fixtures__", "snapshots", "__snapshots__", "golden"];

/// Files that are not deployed whatever their class: documentation, examples and demos, CI and
/// editor settings.
const NOT_DEPLOYED: &[&str] = &[
    "**/examples/**",
    "**/example/**",
    "**/samples/**",
    "**/sample/**",
    "**/demo/**",
    "**/demos/**",
    "**/demo-*/**",
    "docs/**",
    "doc/**",
    "**/docs/**",
    "**/*.md",
    "**/*.rst",
    "**/*.adoc",
    "**/LICENSE*",
    "**/CHANGELOG*",
    ".github/**",
    ".gitlab/**",
    ".gitlab-ci*",
    ".circleci/**",
    ".buildkite/**",
    "**/.vscode/**",
    "**/.idea/**",
    "**/.devcontainer/**",
];

/// How a file was found to be tested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tested {
    /// A test file exists at a template path.
    TestFile(String),
    /// A test file in a mirrored test tree is named for it.
    Mirrored(String),
    /// Its package has tests of its own, in a test directory beside it (`app/tests/`).
    PackageTests(String),
    /// The framework loads it whenever the tests run: Rails initializers and routes, Django
    /// settings and URL maps (the test named is one that boots it).
    LoadedByTests(String),
    /// Covered code loads it: the file named imports, sources, requires or runs it.
    Reached(String),
    /// A test file refers to it.
    ReferencedBy(String),
    /// The image built from the Dockerfile named runs it while it builds or when a container
    /// starts, and the test named runs that image (it names a path the image installs).
    RunByImage { dockerfile: String, test: String },
    /// A Rails helper: the view named calls one of its methods, and a test covers the controller
    /// that renders the view.
    Rendered { view: String, controller: String },
    /// The test results recorded for the release tree name it.
    NamedByTestEvidence,
}

/// Where gate looked, for the message of an untested file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    /// The template paths that do not exist.
    pub test_files: Vec<String>,
    /// How many files of the `tests` class were searched for a reference.
    pub tests_searched: usize,
}

/// Which test file refers to which name, and which test files are named for which files.
#[derive(Debug, Default)]
pub struct References {
    /// The test files the maps below hold, by number: each path is stored once, not once for
    /// every name it refers to (a 100,000-file tree's tests refer to hundreds of thousands).
    tests: Vec<String>,
    by_name: FastMap<String, u32>,
    /// Test files by the lower-cased stem of the file they are named for (`test_host.py`: `host`).
    by_subject: FastMap<String, Vec<u32>>,
    /// A test file by the directory whose package it tests and its language family:
    /// `hc/api/tests/test_ping.py` tests the package `hc/api`.
    by_package: FastMap<(String, String), u32>,
    /// A test file of each language family, by family.
    by_family: FastMap<String, u32>,
    /// The packages the tests import from (every run of an imported module's components but
    /// the last), built when first asked.
    packages: std::cell::OnceCell<FastMap<String, u32>>,
    pub tests_searched: usize,
    /// Test files not read because the run's read budget ran out.
    pub unread: usize,
    /// What the repository's container images install and run.
    pub images: super::images::Images,
    /// The route names Rails apps' routes give controllers they rename or nest.
    pub routes: super::routes::Routes,
}

impl References {
    /// Records the references the code of one test file makes.
    pub fn add(&mut self, test_path: &str, refs: &[String]) {
        self.tests_searched += 1;
        // Numbered once it is the first to make a name: a test that adds none is not listed.
        let mut test = None;
        for name in refs {
            // Most names are in many tests (`unittest.testcase`): the first test keeps them, and
            // a name already there is not copied to be looked up.
            if !self.by_name.contains_key(name.as_str()) {
                let number = *test.get_or_insert_with(|| self.number(test_path));
                self.by_name.insert(name.clone(), number);
            }
        }
    }

    /// The number of the test file at `test_path`: the last one numbered, if it is that file
    /// (a test's path and its contents are recorded one after the other), else a new one.
    fn number(&mut self, test_path: &str) -> u32 {
        if self.tests.last().is_none_or(|last| last != test_path) {
            self.tests.push(test_path.to_string());
        }
        self.tests.len() as u32 - 1
    }

    /// The path of test file `number`.
    fn test(&self, number: u32) -> &str {
        &self.tests[number as usize]
    }

    /// Records a file of the tests class by the file it is named for, if its name says so, and
    /// by the package it tests, if it sits in a test directory of a package (`app/tests/`).
    pub fn add_test_file(&mut self, test_path: &str) {
        let Some(subject) = subject_of(file_name(test_path)) else { return };
        let test = self.number(test_path);
        if let Some(ext) = extension(file_name(test_path)) {
            self.by_family.entry(language_family(&ext.to_lowercase()).to_string()).or_insert(test);
        }
        self.by_subject.entry(subject).or_default().push(test);
        let lower = test_path.to_lowercase();
        let dirs: Vec<&str> = dir_name(&lower).split('/').filter(|d| !d.is_empty()).collect();
        if let (Some(at), Some(ext)) = (dirs.iter().position(|d| is_test_root(d)), extension(file_name(&lower)))
            && at > 0
        {
            let key = (dirs[..at].join("/"), language_family(ext).to_string());
            self.by_package.entry(key).or_insert(test);
        }
    }

    fn find(&self, name: &str) -> Option<&str> {
        self.by_name.get(name).map(|test| self.test(*test))
    }

    /// What the test files' paths and contents decide (all but the images and the routes), in
    /// the format of [`KEPT_FILE_NAME`]: each test path once, then the maps by its number.
    /// `None` when a string is too long for the format.
    pub fn encode_kept(&self) -> Option<Vec<u8>> {
        let mut texts = (self.tests.iter().chain(self.by_name.keys()).chain(self.by_subject.keys()))
            .chain(self.by_family.keys().chain(self.by_package.keys().flat_map(|(dir, family)| [dir, family])));
        if texts.any(|t| t.len() > u16::MAX as usize) {
            return None;
        }
        let mut out = Vec::new();
        put_u32(&mut out, self.tests_searched as u32);
        put_u32(&mut out, self.tests.len() as u32);
        self.tests.iter().for_each(|p| put_text16(&mut out, p));
        put_u32(&mut out, self.by_name.len() as u32);
        for (name, test) in &self.by_name {
            put_text16(&mut out, name);
            put_u32(&mut out, *test);
        }
        put_u32(&mut out, self.by_subject.len() as u32);
        for (subject, tests) in &self.by_subject {
            put_text16(&mut out, subject);
            put_u32(&mut out, tests.len() as u32);
            tests.iter().for_each(|t| put_u32(&mut out, *t));
        }
        put_u32(&mut out, self.by_package.len() as u32);
        for ((dir, family), test) in &self.by_package {
            put_text16(&mut out, dir);
            put_text16(&mut out, family);
            put_u32(&mut out, *test);
        }
        put_u32(&mut out, self.by_family.len() as u32);
        for (family, test) in &self.by_family {
            put_text16(&mut out, family);
            put_u32(&mut out, *test);
        }
        Some(out)
    }

    /// References decoded from [`References::encode_kept`]'s format; `None` unless it reads whole
    /// and every number is of a test file it lists.
    pub fn decode_kept(bytes: &[u8]) -> Option<References> {
        let mut r = Reader::new(bytes);
        let mut refs = References { tests_searched: r.u32()? as usize, ..References::default() };
        refs.tests = (0..r.u32()?).map(|_| r.text16()).collect::<Option<_>>()?;
        let count = refs.tests.len();
        let test = |r: &mut Reader<'_>| r.u32().filter(|n| (*n as usize) < count);
        // Each map sized before it is filled: growing the name map, hundreds of thousands of
        // entries on a large tree, was half of the decoding.
        let names = r.u32()?;
        refs.by_name.reserve((names as usize).min(r.remaining()));
        for _ in 0..names {
            refs.by_name.insert(r.text16()?, test(&mut r)?);
        }
        let subjects = r.u32()?;
        refs.by_subject.reserve((subjects as usize).min(r.remaining()));
        for _ in 0..subjects {
            let subject = r.text16()?;
            let tests = (0..r.u32()?).map(|_| test(&mut r)).collect::<Option<_>>()?;
            refs.by_subject.insert(subject, tests);
        }
        for _ in 0..r.u32()? {
            let key = (r.text16()?, r.text16()?);
            refs.by_package.insert(key, test(&mut r)?);
        }
        for _ in 0..r.u32()? {
            refs.by_family.insert(r.text16()?, test(&mut r)?);
        }
        r.is_empty().then_some(refs)
    }

    fn imported_packages(&self) -> &FastMap<String, u32> {
        self.packages.get_or_init(|| {
            let mut packages = FastMap::default();
            for (name, test) in &self.by_name {
                let Some(module) = name.strip_prefix("mod:") else { continue };
                let parts: Vec<&str> = module.split('.').collect();
                for start in 0..parts.len() {
                    for end in start + 1..parts.len() {
                        packages.entry(parts[start..end].join(".")).or_insert(*test);
                    }
                }
            }
            packages
        })
    }
}

/// Languages whose files load others by import, require, source or path: what [`Reach`]
/// follows.
pub fn loads_code(path: &str) -> bool {
    const CODE: &[&str] = &[
        "py", "rb", "js", "mjs", "cjs", "jsx", "ts", "tsx", "sh", "bash", "zsh", "ksh", "php", "pl", "pm", "lua", "ex",
        "exs", "go", "java", "kt", "groovy", "scala", "rs", "cs",
    ];
    extension(file_name(path)).is_some_and(|e| {
        if e.is_ascii() {
            CODE.iter().any(|code| code.eq_ignore_ascii_case(e))
        } else {
            CODE.contains(&e.to_lowercase().as_str())
        }
    })
}

/// What a reference to `path` may be written as: its path and each path suffix with a `/` or
/// a `.`, its module names in languages loaded by module, its Ruby constant.
pub(super) fn reference_keys(path: &str) -> Vec<String> {
    let lower = path.to_lowercase();
    let mut keys: Vec<String> = std::iter::once(lower.as_str())
        .chain(lower.match_indices('/').map(|(at, _)| &lower[at + 1..]))
        .filter(|s| s.contains(['.', '/']))
        .map(str::to_string)
        .collect();
    if extension(file_name(&lower)).is_some_and(|e| MODULE_LANGUAGES.contains(&e)) {
        keys.extend(module_names(&lower));
    }
    if let Some(constant) = ruby_constant_path(&lower) {
        keys.push(format!("const:{constant}"));
    }
    keys
}

pub use super::reach::Reach;

/// Whether untested-change looks at `change`: a script that ships content and is deployed (not a
/// test, not ignored, not documentation, an example or a CI script; see [`deployable`]).
pub fn in_scope(policy: &Policy, change: &Change) -> bool {
    let paths = &policy.paths;
    change.status != Status::Deleted
        && change.new.as_ref().is_some_and(|side| matches!(side.mode, Mode::File | Mode::Executable))
        && paths.scripts.matches(&change.path)
        && deployable(policy, &change.path)
}

/// Whether `path` is deployed: not ignored, not a test, not documentation, an example or a
/// demo, CI or editor settings. A deployable file that no test covers raises the severity of a copy of it.
pub fn deployable(policy: &Policy, path: &str) -> bool {
    deployable_candidate(policy, &crate::config::Candidate::new(path))
}

/// [`deployable`] for a path already made a candidate.
pub fn deployable_candidate(policy: &Policy, path: &crate::config::Candidate<'_>) -> bool {
    static NOT: OnceLock<GlobSet> = OnceLock::new();
    let not = NOT.get_or_init(|| {
        let mut set = globset::GlobSetBuilder::new();
        for glob in NOT_DEPLOYED {
            if let Ok(glob) = crate::config::compile_glob(glob) {
                set.add(glob);
            }
        }
        set.build().unwrap_or_else(|_| GlobSet::empty())
    });
    !policy.paths.ignore.matches_candidate(path)
        && !policy.paths.tests.matches_candidate(path)
        && !not.is_match_candidate(path.parts())
}

/// Whether what a file of the tests class names is worth reading as a reference: its code, not
/// documentation, notes, data, fixtures or snapshots.
pub fn refers(test_path: &str) -> bool {
    // Most paths are lower-case already: those are not copied.
    let lower = if test_path.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(test_path)
    } else {
        std::borrow::Cow::Owned(test_path.to_lowercase())
    };
    let (dirs, name) = lower.rsplit_once('/').unwrap_or(("", &lower));
    if dirs.split('/').any(|d| DATA_DIRS.contains(&d)) {
        return false;
    }
    match comments::syntax_for(name) {
        Syntax::None => false,
        // An unknown extension is data (`.golden`, `.out`, `.pem`); no extension may be a script.
        Syntax::Generic => !name.contains('.'),
        _ => true,
    }
}

/// Whether the tests recorded for the release tree name `path`: a test file attribute or class
/// name ends with its file name, or contains its path (without the extension) as whole
/// components (`scripts/search` in `tests.scripts.search.test_rank`).
pub fn named_by_tests(evidence: &EvidenceSet, path: &str) -> bool {
    let lower = path.to_lowercase();
    let name = file_name(&lower).to_string();
    let module: Vec<&str> = lower.rsplit_once('.').map_or(lower.as_str(), |(p, _)| p).split('/').collect();
    evidence.of_kind("tests").filter_map(|r| r.tests.as_ref()).any(|tests: &TestSummary| {
        tests.covers.iter().any(|entry| {
            let entry = entry.to_lowercase().replace('\\', "/");
            let parts: Vec<&str> = entry.split(['/', '.', ':', ' ']).filter(|p| !p.is_empty()).collect();
            entry.ends_with(&name) || parts.windows(module.len()).any(|window| window == module.as_slice())
        })
    })
}

/// Whether `path` is tested, per the templates, the mirrored test files and the references of
/// the tests class.
pub fn tested(path: &str, templates: &[String], tree: &TreeIndex, refs: &References) -> Result<Tested, Looked> {
    let expanded: Vec<String> = templates.iter().map(|t| expand(t, path)).collect();
    if let Some(found) = expanded.iter().find(|p| tree.contains(p) && p.as_str() != path) {
        return Ok(Tested::TestFile(found.clone()));
    }
    if let Some(test) = mirrored(path, refs) {
        return Ok(Tested::Mirrored(test.to_string()));
    }
    // A package with its own tests is tested; Django's test runner applies every migration of
    // an app to build the test database, so the app's tests run its migrations too.
    let lower_path = path.to_lowercase();
    let mut package = dir_name(&lower_path);
    if super::names::migration(&lower_path) == Some("Django") {
        package = dir_name(package);
    }
    if let Some(ext) = extension(file_name(&lower_path))
        && let Some(test) = refs.by_package.get(&(package.to_string(), language_family(ext).to_string()))
    {
        return Ok(Tested::PackageTests(refs.test(*test).to_string()));
    }
    let name = file_name(path);
    // A bare name (`search.sh`) refers to any file of that name; a path (`bin/search.sh`) only
    // to the files it is a suffix of, so `ops/search.sh` is not tested by a test of `bin/`'s.
    let lower = path.to_lowercase();
    let by_name = suffixes(&lower).filter_map(|suffix| refs.find(suffix)).next();
    if let Some(test) = by_name.filter(|t| *t != path) {
        return Ok(Tested::ReferencedBy(test.to_string()));
    }
    // A test that runs a command in a container names the file by the path the image installs
    // it at (`/usr/local/bin/notify`), or a path that ends it.
    let installed = refs.images.installed(&lower).iter().flat_map(|p| suffixes(p));
    if let Some(test) = installed.filter_map(|suffix| refs.find(suffix)).next() {
        return Ok(Tested::ReferencedBy(test.to_string()));
    }
    if extension(name).is_some_and(|e| MODULE_LANGUAGES.contains(&e))
        && let Some(test) = module_names(&lower).iter().find_map(|m| refs.find(m)).filter(|t| *t != path)
    {
        return Ok(Tested::ReferencedBy(test.to_string()));
    }
    if let Some(test) = loaded_by_tests(&lower, tree, refs) {
        return Ok(Tested::LoadedByTests(test.to_string()));
    }
    if let Some((dockerfile, test)) = refs.images.run_by_tested_image(path, &|p| refs.find(p)) {
        return Ok(Tested::RunByImage { dockerfile: dockerfile.to_string(), test: test.to_string() });
    }
    if let Some(constant) = ruby_constant_path(&lower)
        && let Some(test) = refs.find(&format!("const:{constant}")).filter(|t| *t != path)
    {
        return Ok(Tested::ReferencedBy(test.to_string()));
    }
    Err(Looked { test_files: expanded, tests_searched: refs.tests_searched })
}

/// What a path reference to `lower` may be written as: the path and each of its suffixes after a
/// `/` that has a `.` or a `/` (`bin/search.sh`, `search.sh`; not a bare `search`).
pub(super) fn suffixes(lower: &str) -> impl Iterator<Item = &str> {
    std::iter::once(lower)
        .chain(lower.match_indices('/').map(|(i, _)| &lower[i + 1..]))
        .filter(|s| s.contains(['.', '/']))
}

/// The `mod:` references that load the module at `path` (lower-cased): its dotted path and
/// every suffix of two or more components (`netbox/dcim/models/devices.py` is
/// `dcim.models.devices` to code run from `netbox/`), its bare name, and its package when the
/// package is named by two or more components (`from dcim.models import Device` loads
/// `dcim/models/devices.py` through `dcim/models/__init__.py`). `__init__.py` and `index.js`
/// are their directory's module.
fn module_names(path: &str) -> Vec<String> {
    let without_ext = path.rsplit_once('.').map_or(path, |(p, _)| p);
    let mut parts: Vec<&str> = without_ext.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() > 1 && matches!(parts.last(), Some(&("__init__" | "index" | "mod"))) {
        parts.pop();
    }
    let mut names = Vec::new();
    for start in 0..parts.len().saturating_sub(1) {
        names.push(format!("mod:{}", parts[start..].join(".")));
    }
    if let Some(last) = parts.last() {
        names.push(format!("mod:{last}"));
    }
    let package = &parts[..parts.len().saturating_sub(1)];
    for start in 0..package.len().saturating_sub(1) {
        names.push(format!("mod:{}", package[start..].join(".")));
    }
    names
}

/// A test that runs with the framework loading `path` (lower-cased): Rails' initializers, routes
/// and application files under `config/` (not the production or development environment) when
/// the app has Rails tests (`test/test_helper.rb`, `spec/rails_helper.rb`); Django's settings,
/// URL maps, app configs and admin modules when the repository has `manage.py` and Python tests;
/// and a package's `__init__.py` when a test imports anything from the package.
fn loaded_by_tests<'r>(lower: &str, tree: &TreeIndex, refs: &'r References) -> Option<&'r str> {
    let name = file_name(lower);
    let family = language_family(extension(name)?);
    let test = refs.by_family.get(family).map(|test| refs.test(*test))?;
    if family == "rb" {
        let at_root = |root: &str| root.is_empty() || root.ends_with('/');
        // The test database is loaded from `db/schema.rb` before the tests run.
        let (root, booted) = match lower.strip_suffix("db/schema.rb").filter(|root| at_root(root)) {
            Some(root) => (root, true),
            None => {
                let (root, rest) = match lower.split_once("config/") {
                    Some((root, rest)) if at_root(root) => (root, rest),
                    _ => return None,
                };
                let booted = rest.starts_with("initializers/")
                    || rest.starts_with("routes")
                    || matches!(
                        rest,
                        "application.rb" | "environment.rb" | "boot.rb" | "environments/test.rb" | "importmap.rb"
                    );
                (root, booted)
            }
        };
        let rails_tests =
            ["test/test_helper.rb", "spec/rails_helper.rb"].iter().any(|h| tree.contains(&format!("{root}{h}")));
        return (booted && rails_tests).then_some(test);
    }
    if family == "py" {
        if name == "__init__.py" {
            let package = dir_name(lower).replace('/', ".");
            return refs.imported_packages().get(&package).map(|test| refs.test(*test));
        }
        let django = tree.named("manage.py").next().is_some();
        let settings = dir_name(lower).rsplit('/').next() == Some("settings");
        let booted =
            settings || matches!(name, "settings.py" | "urls.py" | "apps.py" | "admin.py" | "wsgi.py" | "asgi.py");
        return (django && booted).then_some(test);
    }
    None
}

/// The constant a Ruby file defines, as a path (Rails and Zeitwerk autoloading):
/// `app/models/provider/openai.rb` defines `Provider::Openai`, read as `provider/openai`. Files
/// under `app/KIND/` (and `app/KIND/concerns/`) and `lib/` are autoloaded by their path.
fn ruby_constant_path(lower: &str) -> Option<String> {
    let without_ext = lower.strip_suffix(".rb")?;
    let parts: Vec<&str> = without_ext.split('/').collect();
    let start = if let Some(app) = parts.iter().position(|p| *p == "app") {
        let mut start = app + 2;
        if parts.get(start) == Some(&"concerns") {
            start += 1;
        }
        start
    } else {
        parts.iter().position(|p| *p == "lib")? + 1
    };
    (start < parts.len()).then(|| parts[start..].join("/"))
}

/// Ruby constants in code (`Provider::Openai::ChatParser`), as the paths they autoload from
/// (`provider/openai/chat_parser`), the way ActiveSupport's `underscore` spells them.
fn ruby_constants<'a>(
    code: &'a str,
    seen: &mut crate::fastmap::FastSet<&'a str>,
    refs: &mut std::collections::BTreeSet<String>,
) {
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_uppercase()
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len()
            && (bytes[end].is_ascii_alphanumeric()
                || bytes[end] == b'_'
                || (bytes[end] == b':'
                    && bytes.get(end + 1) == Some(&b':')
                    && bytes.get(end + 2).is_some_and(u8::is_ascii_uppercase)))
        {
            end += if bytes[end] == b':' { 2 } else { 1 };
        }
        let constant = &code[i..end];
        // One capital alone (`T`, `A`) and SHOUTING constants are not class names.
        if constant.len() > 1 && seen.insert(constant) && constant.bytes().any(|b| b.is_ascii_lowercase()) {
            let path: Vec<String> = constant.split("::").map(underscore).collect();
            refs.insert(format!("const:{}", path.join("/")));
        }
        i = end.max(i + 1);
    }
}

/// The class or module a Ruby line opens (`class Transaction < ApplicationRecord`,
/// `module Provider::Openai`), as a constant path (`transaction`, `provider/openai`).
fn ruby_namespace(line: &str) -> Option<String> {
    let rest = line.trim_start();
    let rest = rest.strip_prefix("class ").or_else(|| rest.strip_prefix("module "))?.trim_start();
    let name: &str =
        &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len())];
    if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    Some(name.split("::").map(underscore).collect::<Vec<_>>().join("/"))
}

/// `SynthComboboxOption` -> `synth_combobox_option`, `HTTPClient` -> `http_client`.
fn underscore(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The test file named for `path` in a test tree that mirrors its directory: `test/models/
/// account_test.rb` for `app/models/account.rb`, `tests/api/test_host.py` for `pkg/api/host.py`,
/// `src/test/java/x/FooTest.java` for `src/main/java/x/Foo.java`, `foo_test.go` beside `foo.go`.
/// The test's directory, without the directories that say "tests" and the source roots it starts
/// with, must end the file's directory; the test must be in the same language.
///
/// A test named for a directory covers what is in it, however deep: `test/models/
/// income_statement_test.rb` covers `app/models/income_statement/totals.rb`, the namespace's
/// parts. A Rails controller is tested under its resource's name wherever the test sits
/// (`spec/system/submit_form_spec.rb` for `app/controllers/submit_form_controller.rb`).
fn mirrored<'r>(path: &str, refs: &'r References) -> Option<&'r str> {
    let lower = path.to_lowercase();
    let name = file_name(&lower);
    let family = language_family(extension(name)?);
    let dirs: Vec<&str> = dir_name(&lower).split('/').filter(|d| !d.is_empty()).collect();
    // `anywhere`: wherever the test sits; `nested`: the test must mirror at least one directory.
    let named_for = |subject: &str, dirs: &[&str], anywhere: bool, nested: bool| -> Option<&'r str> {
        refs.by_subject.get(subject)?.iter().map(|test| refs.test(*test)).find(|test| {
            let test_lower = test.to_lowercase();
            let same_language = extension(file_name(&test_lower)).is_some_and(|e| language_family(e) == family);
            let mut mirror: Vec<&str> =
                dir_name(&test_lower).split('/').filter(|d| !d.is_empty() && !is_test_root(d)).collect();
            while mirror.first().is_some_and(|d| SOURCE_ROOTS.contains(d)) {
                mirror.remove(0);
            }
            same_language && *test != path && (anywhere || (dirs.ends_with(&mirror) && (!nested || !mirror.is_empty())))
        })
    };
    if let Some(test) = named_for(stem(name), &dirs, false, false) {
        return Some(test);
    }
    if let Some(test) = routed(&lower, refs) {
        return Some(test);
    }
    if family == "rb"
        && dirs.last() == Some(&"controllers")
        && let Some(resource) = stem(name).strip_suffix("_controller")
        && let Some(test) = named_for(resource, &dirs, true, false)
    {
        return Some(test);
    }
    // The directories the file sits in, below the source roots, as namespaces; a test at the top
    // of a test tree (`tests/test_api.py`) is not taken to cover a whole directory.
    let first = dirs.iter().position(|d| !SOURCE_ROOTS.contains(d) && !KINDS.contains(d)).unwrap_or(dirs.len());
    (first..dirs.len()).rev().find_map(|at| named_for(dirs[at], &dirs[..at], false, true))
}

/// The Ruby test that requests a Rails controller by its route, as the app's routes name it
/// (`resource :esign, controller: 'esign_settings'` in `scope as: :settings` is
/// `settings_esign_path`; see [`super::routes`]) or as Rails names routes by default:
/// the route helper of its resource (`submit_form_path` for `app/controllers/
/// submit_form_controller.rb`; `settings_webhooks_path` or `settings_webhook_path` for
/// `app/controllers/settings/webhooks_controller.rb`), or, for a namespaced controller, its URL
/// (`get '/api/submitters'` for `app/controllers/api/submitters_controller.rb`).
fn routed<'r>(lower: &str, refs: &'r References) -> Option<&'r str> {
    let (root, rest) = lower.split_once("app/controllers/")?;
    let rest = rest.strip_suffix("_controller.rb").filter(|_| root.is_empty() || root.ends_with('/'))?;
    let (namespace, resource) = rest.rsplit_once('/').unwrap_or(("", rest));
    let singular = resource
        .strip_suffix("ies")
        .map(|r| format!("{r}y"))
        .or_else(|| resource.strip_suffix('s').map(str::to_string))
        .unwrap_or_else(|| resource.to_string());
    let prefix = if namespace.is_empty() { String::new() } else { format!("{}_", namespace.replace('/', "_")) };
    let mut keys = vec![format!("route:{prefix}{resource}"), format!("route:{prefix}{singular}")];
    if !namespace.is_empty() {
        keys.push(format!("{namespace}/{resource}"));
    }
    keys.extend(refs.routes.names(lower).iter().map(|name| format!("route:{name}")));
    keys.iter().filter_map(|k| refs.find(k)).find(|test| test.to_lowercase().ends_with(".rb"))
}

/// The directory a Rails app lives in (`""` or `web/`) when `path` is one of its helpers
/// (`app/helpers/accounts_helper.rb`), which Rails mixes into the views.
pub fn rails_helper_root(path: &str) -> Option<&str> {
    let at = path.find("app/helpers/")?;
    let root = &path[..at];
    (path.ends_with(".rb") && (root.is_empty() || root.ends_with('/'))).then_some(root)
}

/// The methods a Ruby file defines (`def format_money(x)`, `def self.x` is left out: a view
/// does not call it by its bare name).
pub fn ruby_methods(code: &str) -> Vec<String> {
    comments::code_lines(code, Syntax::Hash)
        .iter()
        .filter_map(|line| line.trim().strip_prefix("def "))
        .filter(|rest| !rest.starts_with("self."))
        .filter_map(|rest| rest.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '?' | '!'))).next())
        .filter(|name| name.len() > 2 && !matches!(*name, "initialize" | "call" | "to_s"))
        .map(str::to_string)
        .collect()
}

/// The words of a template's code (identifiers, with a trailing `?` or `!`): in ERB, what is
/// between `<%` and `%>`, not the markup and text around it.
pub fn words(text: &str) -> std::collections::HashSet<String> {
    let code: String = if text.contains("<%") {
        text.split("<%").skip(1).filter_map(|part| part.split("%>").next()).collect::<Vec<_>>().join(" ")
    } else {
        text.to_string()
    };
    code.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '?' | '!')))
        .filter(|w| w.len() > 2)
        .flat_map(|w| [w.to_string(), w.trim_end_matches(['?', '!']).to_string()])
        .collect()
}

/// The controllers that render a view, by Rails' convention: `app/views/accounts/show.html.erb`
/// (and its partials) is rendered by `app/controllers/accounts_controller.rb`,
/// `app/views/account/entries/_entry.html.erb` by `app/controllers/account/entries_controller.rb`;
/// a view of `layouts/`, `shared/` or `application/` by every controller.
pub fn view_controllers(view: &str, root: &str, tree: &TreeIndex) -> Vec<String> {
    let Some(dir) = view.strip_prefix(&format!("{root}app/views/")).map(dir_name) else { return Vec::new() };
    if dir.is_empty() {
        return Vec::new();
    }
    let shared = ["layouts", "shared", "application"].iter().any(|d| dir == *d || dir.starts_with(&format!("{d}/")));
    if shared {
        let prefix = format!("{root}app/controllers/");
        return tree
            .files()
            .iter()
            .filter(|f| f.path.starts_with(&prefix) && f.path.ends_with("_controller.rb"))
            .map(|f| f.path.clone())
            .collect();
    }
    vec![format!("{root}app/controllers/{dir}_controller.rb")]
}

/// The kinds of code a framework keeps apart (`app/models/`, `app/controllers/`): directories
/// that are not namespaces.
const KINDS: &[&str] = &[
    "models",
    "controllers",
    "helpers",
    "jobs",
    "mailers",
    "services",
    "components",
    "views",
    "channels",
    "concerns",
    "policies",
    "serializers",
    "workers",
    "presenters",
    "forms",
    "queries",
    "decorators",
    "validators",
];

fn is_test_root(dir: &str) -> bool {
    TEST_ROOTS.contains(&dir)
        || ["_test", "-test", "_tests", "-tests", "_spec"].iter().any(|end| dir.ends_with(end))
        || dir.starts_with("test_")
        || dir.starts_with("test-")
}

/// Languages whose tests are written in a language of the same family.
fn language_family(ext: &str) -> &str {
    match ext {
        "sh" | "bash" | "bats" | "zsh" | "ksh" => "shell",
        "js" | "mjs" | "cjs" | "jsx" | "ts" | "tsx" | "mts" | "cts" | "vue" | "svelte" => "js",
        "java" | "kt" | "kts" | "groovy" | "scala" => "jvm",
        "py" | "pyw" => "py",
        "rb" | "rake" => "rb",
        "ex" | "exs" => "elixir",
        other => other,
    }
}

/// The stem of the file a test file is named for, lower-cased: `test_host.py`, `host_test.py`,
/// `host_spec.rb`, `host.test.ts`, `host.spec.js`, `HostTest.java`, `HostTests.cs`, `HostIT.java`,
/// `host-test.sh` and `test-host.sh` are all `host`'s; a `.bats` file is named for what it tests.
pub fn subject_of(name: &str) -> Option<String> {
    let (mut base, ext) = match name.rsplit_once('.') {
        Some((base, ext)) if !base.is_empty() => (base, ext),
        _ => return None,
    };
    if ext.eq_ignore_ascii_case("bats") {
        return Some(base.to_lowercase()).filter(|s| !s.is_empty());
    }
    for inner in [".test", ".spec", ".tests", ".e2e"] {
        if let Some(rest) = base.strip_suffix(inner) {
            return Some(rest.to_lowercase()).filter(|s| !s.is_empty());
        }
    }
    let original = base;
    for prefix in ["test_", "test-", "tests_"] {
        base = base.strip_prefix(prefix).unwrap_or(base);
    }
    if base == original && base.len() > 4 && base.starts_with("Test") && base[4..].starts_with(char::is_uppercase) {
        base = &base[4..];
    }
    if base == original {
        for suffix in ["_test", "-test", "_tests", "_spec", "-spec", "Tests", "Test", "IT", "Spec"] {
            if let Some(rest) = base.strip_suffix(suffix) {
                base = rest;
                break;
            }
        }
    }
    (base != original && !base.is_empty()).then(|| base.to_lowercase())
}

/// A template with `{dir}`, `{name}`, `{stem}` and `{ext}` filled in for `path`; an empty
/// `{dir}` leaves no stray slash.
pub fn expand(template: &str, path: &str) -> String {
    let name = file_name(path);
    let filled = template
        .replace("{dir}", dir_name(path))
        .replace("{name}", name)
        .replace("{stem}", stem(name))
        .replace("{ext}", extension(name).unwrap_or(""));
    let parts: Vec<&str> = filled.split('/').filter(|p| !p.is_empty()).collect();
    parts.join("/")
}

/// What the code of a test file refers to: the file names and paths in it (anything path-like
/// with a dot or a slash), the modules it imports or requires, as `mod:NAME` (a one-word
/// module) and `mod:DOTTED.PATH`, and the Ruby constants it names, as `const:PATH`. Comments
/// are left out. Lower-cased.
pub fn references(content: &[u8]) -> Vec<String> {
    let original = String::from_utf8_lossy(content);
    let mut refs = std::collections::BTreeSet::new();
    let mut namespaces = Vec::new();
    let code = comments::code_lines(&original, Syntax::Generic);
    // A constant named again is the reference it was the first time (`Foo` in a Rust file is
    // named on most of its lines): spelled out and inserted once.
    let mut constants: crate::fastmap::FastSet<&str> = Default::default();
    for line in &code {
        ruby_constants(line, &mut constants, &mut refs);
        if let Some(declared) = ruby_namespace(line)
            && namespaces.len() < MAX_NAMESPACES
        {
            namespaces.push(declared);
        }
        if refs.len() > MAX_REFS_PER_FILE {
            break;
        }
    }
    // Ruby looks a bare constant up in the class or module it is written in first:
    // `include Transferable` in `class Transaction` is `Transaction::Transferable`
    // (app/models/transaction/transferable.rb).
    let bare: Vec<String> =
        refs.iter().filter_map(|r| r.strip_prefix("const:")).filter(|c| !c.contains('/')).map(str::to_string).collect();
    for namespace in &namespaces {
        for constant in bare.iter().filter(|c| !namespace.ends_with(c.as_str())) {
            refs.insert(format!("const:{namespace}/{constant}"));
        }
    }
    // Lower-cased once: every name is compared lower-cased. ASCII text keeps its byte offsets
    // when lower-cased, and its comments are where they were, so its lines of code are the same
    // ranges of the lower-cased text; other text is split into lines of code again.
    if original.is_ascii() {
        let text = original.to_ascii_lowercase();
        // A line with no code may be a literal `""`, not a slice of the text.
        let lower_of = |line: &str| {
            if line.is_empty() {
                return "";
            }
            let at = line.as_ptr() as usize - original.as_ptr() as usize;
            &text[at..at + line.len()]
        };
        let lower: Vec<&str> = code.iter().map(|line| lower_of(line)).collect();
        names_and_modules(&lower, Holds::of(&text), refs)
    } else {
        let text = original.to_lowercase();
        names_and_modules(&comments::code_lines(&text, Syntax::Generic), Holds::of(&text), refs)
    }
}

/// What the whole of a lower-cased text holds, so that [`names_and_modules`] looks for a thing
/// in each line only when some line may have it.
#[derive(Clone, Copy)]
struct Holds {
    /// Only ASCII.
    ascii: bool,
    /// A `*`: a path pattern.
    stars: bool,
    /// `_path` or `_url`: a route helper.
    routes: bool,
}

impl Holds {
    fn of(text: &str) -> Holds {
        let finder = |needle: &str| memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some();
        Holds {
            ascii: text.is_ascii(),
            stars: memchr::memchr(b'*', text.as_bytes()).is_some(),
            routes: finder("_path") || finder("_url"),
        }
    }
}

/// The rest of [`references`], on the lower-cased lines of code: paths and file names, path
/// patterns, route helpers, then imported modules.
fn names_and_modules(code: &[&str], text: Holds, mut refs: std::collections::BTreeSet<String>) -> Vec<String> {
    for line in code {
        let mut name = |token: &str| {
            let token = token.trim_matches(|c| c == '.' || c == '/');
            if token.is_empty() || token.len() > 300 {
                return;
            }
            if token.contains('/') {
                let path = token.trim_start_matches("./").trim_start_matches("../").trim_start_matches('/');
                // A path runs a file with no extension too (`run bin/search`).
                if path.chars().any(|c| c.is_alphabetic()) {
                    refs.insert(path.to_string());
                }
            } else if token.contains('.') {
                refs.insert(token.to_string());
            }
        };
        // A name is read only when it has a dot or a slash.
        if text.ascii || line.is_ascii() {
            dotted_runs(line, &mut name);
        } else {
            line.split(|c: char| !name_char(c)).for_each(&mut name);
        }
        if text.stars && line.contains('*') {
            patterns(line, &mut refs);
        }
        if text.routes && (line.contains("_path") || line.contains("_url")) {
            route_helpers(line, &mut refs);
        }
        if refs.len() > MAX_REFS_PER_FILE {
            break;
        }
    }
    for line in code {
        for module in imported_modules(line.trim()) {
            let dotted = module.replace('/', ".");
            let dotted = dotted.trim_start_matches('.');
            refs.insert(format!("mod:{dotted}"));
        }
        if refs.len() > MAX_REFS_PER_FILE {
            break;
        }
    }
    refs.into_iter().take(MAX_REFS_PER_FILE).collect()
}

/// Whether `c` can be part of a name a test refers to: letters, digits, `_ . / -`.
fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

/// Which bytes are [`name_char`]s, for ASCII text.
const NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-');
        b += 1;
    }
    table
};

/// Calls `each` with every run of name bytes (letters, digits, `_ . / -`) of the ASCII `line`
/// that holds a dot or a slash, in order: the tokens of [`names_and_modules`] that can be a
/// name. Found from each dot or slash outwards, so the bytes of a line with neither are not
/// looked at one by one.
fn dotted_runs(line: &str, each: &mut impl FnMut(&str)) {
    let bytes = line.as_bytes();
    let name = |b: &u8| NAME_BYTES[usize::from(*b)];
    let mut from = 0;
    while let Some(found) = memchr::memchr2(b'.', b'/', &bytes[from..]) {
        let at = from + found;
        // The run holding `at` starts after the last byte before it that is not a name byte
        // (at or after `from`, which ends the previous run) and ends at the first after it.
        let start = bytes[..at].iter().rposition(|b| !name(b)).map_or(0, |i| i + 1);
        let end = bytes[at..].iter().position(|b| !name(b)).map_or(bytes.len(), |i| at + i);
        each(&line[start..end]);
        from = end;
    }
}

/// The Rails route helpers a line calls (`visit submit_form_path(slug: s)`, `edit_template_url`),
/// as `route:NAME` with the name of the route's resource: `new_` and `edit_` before it and
/// `_index` after it are left out (`submit_form`, `template`).
fn route_helpers(line: &str, refs: &mut std::collections::BTreeSet<String>) {
    for token in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let Some(name) = token.strip_suffix("_path").or_else(|| token.strip_suffix("_url")) else { continue };
        let name = name.strip_prefix("new_").or_else(|| name.strip_prefix("edit_")).unwrap_or(name);
        let name = name.strip_suffix("_index").unwrap_or(name);
        if !name.is_empty() && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            refs.insert(format!("route:{name}"));
        }
    }
}

/// Path patterns in a line of code (`/usr/local/bin/setup.d/**/*.sh`): a loop that sources or
/// runs each file a pattern matches loads them all. A pattern must start with a directory
/// (`lib/*.sh`, not `*.sh` or `**/*.js`).
fn patterns(line: &str, refs: &mut std::collections::BTreeSet<String>) {
    for token in line.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | '*'))) {
        let path = token.trim_start_matches("./").trim_start_matches("../").trim_start_matches('/');
        let Some(literal) = path.split('*').next() else { continue };
        if path.contains('*') && literal.contains('/') && literal.chars().any(char::is_alphabetic) && path.len() < 300 {
            refs.insert(path.to_string());
        }
    }
}

/// Modules named by an import-like line in the common languages:
/// `import a.b`, `from a.b import c, d`, `require('x')`, `require_relative 'x'`,
/// `import x from './y'`, `use X;`.
fn imported_modules(line: &str) -> Vec<String> {
    let mut modules = Vec::new();
    let strip_ext = |s: &str| -> String {
        let s = s.trim_start_matches("./").trim_start_matches("../");
        match s.rsplit_once('.') {
            Some((base, ext)) if !ext.contains('/') && !base.is_empty() && ext.len() <= 4 => base.to_string(),
            _ => s.to_string(),
        }
    };
    if let Some(rest) = line.strip_prefix("from ")
        && let Some((module, names)) = rest.split_once(" import ")
    {
        let module = module.trim().trim_start_matches('.');
        if !module.is_empty() {
            modules.push(module.to_string());
        }
        for name in names.trim_matches(|c| c == '(' || c == ')').split(',') {
            let name = name.split_whitespace().next().unwrap_or("");
            if !name.is_empty() && name != "*" {
                modules.push(if module.is_empty() { name.to_string() } else { format!("{module}.{name}") });
            }
        }
    } else if let Some(rest) = line.strip_prefix("import ")
        && !rest.contains(" from ")
        && !rest.starts_with('{')
    {
        for module in rest.split(',') {
            if let Some(module) = module.split_whitespace().next() {
                modules.push(module.trim_end_matches(';').to_string());
            }
        }
    }
    // Quoted specifiers after require/import/from/source keywords; most lines have no quote,
    // and most quoted lines none of the keywords.
    const KEYWORDS: [&str; 8] =
        ["require(", "require ", "require_relative ", "require_relative(", " from ", "import(", "source ", "load "];
    static ANY_KEYWORD: OnceLock<regex::Regex> = OnceLock::new();
    if memchr::memchr3(b'\'', b'"', b'`', line.as_bytes()).is_none() {
        return modules;
    }
    let any_keyword = ANY_KEYWORD.get_or_init(|| {
        let alternatives: Vec<String> = KEYWORDS.iter().map(|k| regex::escape(k)).collect();
        regex::Regex::new(&alternatives.join("|")).expect("escaped keywords make a valid pattern")
    });
    if any_keyword.is_match(line) {
        for keyword in KEYWORDS {
            let mut rest = line;
            while let Some(at) = rest.find(keyword) {
                rest = &rest[at + keyword.len()..];
                let quoted = rest.trim_start_matches(['(', ' ']);
                if let Some(quote) = quoted.chars().next().filter(|c| matches!(c, '\'' | '"' | '`'))
                    && let Some(end) = quoted[1..].find(quote)
                {
                    modules.push(strip_ext(&quoted[1..=end]));
                }
            }
        }
    }
    modules.retain(|m| !m.is_empty() && m.len() < 200);
    modules
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::{Mode, TreeFile};

    fn tree(paths: &[&str]) -> TreeIndex {
        let id = git2::Oid::from_bytes(&[1; 20]).unwrap();
        TreeIndex::from_files(paths.iter().map(|p| TreeFile { path: p.to_string(), id, mode: Mode::File }).collect())
    }

    /// The kept format gives back every map as it was, and refuses a record cut short or with
    /// bytes after it.
    #[test]
    fn kept_references_decode_to_what_was_encoded() {
        let mut refs = References::default();
        for (test, names) in [
            ("app/tests/test_host.py", vec!["mod:app.host", "host.py"]),
            ("spec/models/user_spec.rb", vec!["const:user", "mod:app.host"]),
            ("tests/test_cli.py", vec![]),
        ] {
            refs.add_test_file(test);
            refs.add(test, &names.into_iter().map(String::from).collect::<Vec<_>>());
        }
        let bytes = refs.encode_kept().unwrap();
        let back = References::decode_kept(&bytes).unwrap();
        assert_eq!(back.by_name, refs.by_name);
        assert_eq!(back.by_subject, refs.by_subject);
        assert_eq!(back.by_package, refs.by_package);
        assert_eq!(back.by_family, refs.by_family);
        assert_eq!(back.tests, ["app/tests/test_host.py", "spec/models/user_spec.rb", "tests/test_cli.py"]);
        assert_eq!((back.tests_searched, back.find("mod:app.host")), (3, Some("app/tests/test_host.py")));
        assert!(References::decode_kept(&bytes[..bytes.len() - 1]).is_none());
        assert!(References::decode_kept(&[bytes.as_slice(), b"x"].concat()).is_none());
        // The last record is the last family's test number: one past the three tests listed.
        let mut stray = bytes.clone();
        let at = stray.len() - 4;
        stray[at..].copy_from_slice(&3u32.to_le_bytes());
        assert!(References::decode_kept(&stray).is_none());
    }

    #[test]
    fn templates_expand_without_stray_slashes() {
        assert_eq!(expand("{dir}/{stem}_test.go", "pkg/search.go"), "pkg/search_test.go");
        assert_eq!(expand("{dir}/{stem}_test.go", "search.go"), "search_test.go");
        assert_eq!(expand("{dir}/{stem}.test.{ext}", "src/app.js"), "src/app.test.js");
        assert_eq!(expand("tests/test_{stem}.py", "bin/search.py"), "tests/test_search.py");
    }

    #[test]
    fn a_test_file_at_a_template_path_counts() {
        let tree = tree(&["bin/search.sh", "test/search.bats"]);
        let templates = vec!["test/{stem}.bats".to_string()];
        assert_eq!(
            tested("bin/search.sh", &templates, &tree, &References::default()),
            Ok(Tested::TestFile("test/search.bats".into()))
        );
        assert!(tested("bin/other.sh", &templates, &tree, &References::default()).is_err());
    }

    #[test]
    fn references_read_ascii_and_other_text_alike() {
        // ASCII text takes the fast path (its lines of code lower-cased in place, names found
        // byte by byte); a comment in another script sends the same code down the other.
        let code = "# run it\nFrom Scripts.Tools Import Search  # why\nrun ./Bin/Deploy.sh --dry-run\n\
                    require_relative 'lib/Notify'\nx = \"import y\"  // no keyword: 'quoted'\n\
                    Foo::BarBaz.new(Foo::BarBaz)\n/* block\nFoo.not_read */ visit new_account_path\n";
        let ascii = references(code.as_bytes());
        let other = references(format!("# d\u{e9}j\u{e0} vu\n{code}").as_bytes());
        assert_eq!(ascii, other);
        for expected in
            ["bin/deploy.sh", "const:foo/bar_baz", "mod:lib.notify", "mod:scripts.tools.search", "route:account"]
        {
            assert!(ascii.iter().any(|r| r == expected), "{expected} in {ascii:?}");
        }
        assert!(!ascii.iter().any(|r| r.contains("not_read")), "{ascii:?}");
    }

    /// The runs found from each dot or slash outwards are the runs of name characters that hold
    /// one, in order: at the ends of a line, side by side, a dot or slash alone, none at all.
    #[test]
    fn dotted_runs_are_the_dotted_tokens() {
        for line in [
            "",
            "no dots here",
            ".",
            "/",
            "a.b",
            "./run.sh --x=./y.z/",
            "tail.",
            "x(a.b,c/d)[e-f.g] h..i//j ",
            "--flag ../up/../deploy.sh;cd /srv&&./go",
            "a.b.c d_e.f-g/h k",
        ] {
            let definition: Vec<String> =
                line.split(|c: char| !name_char(c)).filter(|t| t.contains(['.', '/'])).map(String::from).collect();
            let mut found = Vec::new();
            dotted_runs(line, &mut |token| found.push(token.to_string()));
            assert_eq!(found, definition, "{line:?}");
        }
    }
    #[test]
    fn references_by_name_and_by_module_count() {
        let mut refs = References::default();
        refs.add("tests/test_tools.py", &references(b"from scripts import search\nimport util.net as n\n"));
        refs.add("test/run.bats", &references(b"run ./bin/deploy.sh --dry-run\n"));
        refs.add("test/other.bats", &references(b"run ../../tools/lint.sh\nrun notify.sh\n"));
        let tree = tree(&[]);
        let t = |p: &str| tested(p, &[], &tree, &refs);
        assert_eq!(t("scripts/search.py"), Ok(Tested::ReferencedBy("tests/test_tools.py".into())));
        assert_eq!(t("util/net.py"), Ok(Tested::ReferencedBy("tests/test_tools.py".into())));
        assert_eq!(t("bin/deploy.sh"), Ok(Tested::ReferencedBy("test/run.bats".into())));
        assert_eq!(t("repo/tools/lint.sh"), Ok(Tested::ReferencedBy("test/other.bats".into())));
        // A bare name covers every file of that name; a path only its own.
        assert_eq!(t("anywhere/notify.sh"), Ok(Tested::ReferencedBy("test/other.bats".into())));
        assert!(t("ops/deploy.sh").is_err());
        // A shell script is not loaded by module name: its bare stem does not count.
        assert!(t("bin/search.sh").is_err());
        // The _v2 copy of a tested script is not tested.
        assert!(t("scripts/search_v2.py").is_err());
    }

    #[test]
    fn js_and_ruby_requires_are_modules() {
        let refs = references(
            b"const s = require('../lib/search');\nimport x from './util.js'\nrequire_relative 'helpers/net'\n",
        );
        for expected in ["mod:lib.search", "mod:util", "mod:helpers.net"] {
            assert!(refs.contains(&expected.to_string()), "{expected} missing from {refs:?}");
        }
        let mut all = References::default();
        all.add("test/search.test.js", &refs);
        let t = |p: &str| tested(p, &[], &tree(&[]), &all);
        assert!(t("lib/search.js").is_ok());
        assert!(t("src/util.ts").is_ok());
        assert!(t("app/helpers/net.rb").is_ok());
        // A module is its path: `lib/search` is not every `search.js`.
        assert!(t("ops/search.js").is_err());
    }

    #[test]
    fn python_packages_and_imports_from_an_app_root_cover_their_files() {
        let mut refs = References::default();
        refs.add("tests/test_api.py", &references(b"from pkg.api import Client\n"));
        refs.add("netbox/dcim/tests/test_models.py", &references(b"from dcim.models import Device\n"));
        let tree = tree(&[]);
        let t = |p: &str| tested(p, &[], &tree, &refs);
        assert!(t("pkg/api/__init__.py").is_ok());
        assert!(t("pkg/api.py").is_ok());
        assert!(t("pkg/api/client.py").is_ok());
        assert!(t("netbox/dcim/models/__init__.py").is_ok());
        assert!(t("netbox/dcim/models/devices.py").is_ok());
        assert!(t("netbox/ipam/models/ip.py").is_err());
        assert!(t("pkg/other.py").is_err());
    }

    #[test]
    fn a_mirrored_test_tree_covers_its_files() {
        let mut refs = References::default();
        for test in [
            "test/models/account_test.rb",
            "tests/api/test_host.py",
            "spec/cookbooks/web/recipes/default_spec.rb",
            "pkg/net/dial_test.go",
            "src/test/java/com/acme/FooTest.java",
            "test/unit/helpers/format.test.ts",
        ] {
            refs.add_test_file(test);
        }
        let tree = tree(&[]);
        let t = |p: &str| tested(p, &[], &tree, &refs);
        for path in [
            "app/models/account.rb",
            "pkg/api/host.py",
            "cookbooks/web/recipes/default.rb",
            "pkg/net/dial.go",
            "src/main/java/com/acme/Foo.java",
            "src/helpers/format.js",
        ] {
            assert!(matches!(t(path), Ok(Tested::Mirrored(_))), "{path}: {:?}", t(path));
        }
        // Another directory, another language, another name: not that test's file.
        // A test named for a namespace covers its parts.
        refs.add_test_file("test/models/income_statement_test.rb");
        let t = |p: &str| tested(p, &[], &tree, &refs);
        assert!(matches!(t("app/models/income_statement/totals.rb"), Ok(Tested::Mirrored(_))));
        for path in ["app/controllers/account.rb", "pkg/api/host.rb", "pkg/api/hosts.py", "pkg/other/dial.go"] {
            assert!(t(path).is_err(), "{path}");
        }
    }

    #[test]
    fn ruby_constants_cover_the_files_that_define_them_and_packages_their_own_tests() {
        let mut refs = References::default();
        refs.add(
            "test/models/sync_test.rb",
            &references(b"class SyncTest < ActiveSupport::TestCase\n  Provider::Openai::ChatStreamParser.new\n  HTTPClient.get\nend\n"),
        );
        refs.add_test_file("hc/integrations/spike/tests/test_add.py");
        let tree = tree(&[]);
        let t = |p: &str| tested(p, &[], &tree, &refs);
        assert!(t("app/models/provider/openai/chat_stream_parser.rb").is_ok());
        assert!(t("lib/http_client.rb").is_ok());
        assert!(t("app/models/concerns/sync.rb").is_err());
        assert!(matches!(t("hc/integrations/spike/views.py"), Ok(Tested::PackageTests(_))));
        assert!(t("hc/integrations/spike/static/x.js").is_err());
        assert!(t("hc/integrations/other/views.py").is_err());
        assert!(t("hc/integrations/spike/migrations/0002_x.py").is_ok());
        assert_eq!(underscore("SynthComboboxOption"), "synth_combobox_option");
        assert_eq!(underscore("HTTPClient"), "http_client");
        assert_eq!(underscore("V1"), "v1");
    }

    #[test]
    fn files_the_framework_loads_for_every_test_are_tested_when_there_are_tests() {
        let mut refs = References::default();
        refs.add_test_file("test/models/user_test.rb");
        refs.add_test_file("hc/api/tests/test_ping.py");
        refs.add("hc/api/tests/test_ping.py", &references(b"from hc.api.models import Check\n"));
        let rails = tree(&["test/test_helper.rb", "manage.py"]);
        let t = |p: &str| tested(p, &[], &rails, &refs);
        for path in [
            "config/initializers/sentry.rb",
            "config/routes.rb",
            "db/schema.rb",
            "config/environments/test.rb",
            "hc/settings.py",
            "hc/urls.py",
            "hc/__init__.py",
        ] {
            assert!(t(path).is_ok(), "{path}");
        }
        for path in ["config/environments/production.rb", "lib/tasks/x.rb", "other/__init__.py"] {
            assert!(t(path).is_err(), "{path}");
        }
        // Without Rails tests or manage.py, nothing is loaded for them.
        assert!(tested("config/routes.rb", &[], &tree(&[]), &refs).is_err());
        assert!(tested("hc/settings.py", &[], &tree(&[]), &refs).is_err());
    }

    #[test]
    fn what_covered_code_loads_is_reached() {
        let app = references(b"from pkg.models import User\nimport pkg.util\n");
        let models = references(b"from pkg.db import session\n");
        let db = references(b"import pkg.pool\n");
        let pool = references(b"import pkg.deep\n");
        let lone = references(b"import pkg.app\n");
        let files: Vec<(&str, &[String])> = vec![
            ("pkg/app.py", &app),
            ("pkg/models.py", &models),
            ("pkg/db.py", &db),
            ("pkg/pool.py", &pool),
            ("pkg/deep.py", &[]),
            ("pkg/util.py", &[]),
            ("pkg/lone.py", &lone),
        ];
        let reach = Reach::build(&files);
        let direct = |p: &str| p == "pkg/app.py";
        let refers = |p: &str| Ok(files.iter().find(|f| f.0 == p).map_or(&[][..], |f| f.1).into());
        let via = |p: &str| reach.via(p, &direct, &refers).unwrap();
        assert_eq!(via("pkg/models.py"), Some("pkg/app.py"));
        assert_eq!(via("pkg/util.py"), Some("pkg/app.py"));
        assert_eq!(via("pkg/pool.py"), Some("pkg/db.py"));
        // Three steps from a test, and no further; what loads a covered file is not covered.
        assert_eq!(via("pkg/deep.py"), None);
        assert_eq!(via("pkg/lone.py"), None);
    }

    #[test]
    fn test_files_are_named_for_what_they_test() {
        for (name, subject) in [
            ("test_host.py", "host"),
            ("host_test.py", "host"),
            ("host_spec.rb", "host"),
            ("host.test.ts", "host"),
            ("host.spec.js", "host"),
            ("HostTest.java", "host"),
            ("HostTests.cs", "host"),
            ("HostIT.java", "host"),
            ("TestHost.java", "host"),
            ("host-test.sh", "host"),
            ("test-host.sh", "host"),
            ("host.bats", "host"),
        ] {
            assert_eq!(subject_of(name).as_deref(), Some(subject), "{name}");
        }
        for name in ["helpers.py", "conftest.py", "Testing.java", "test.sh", "README.md"] {
            assert_eq!(subject_of(name), None, "{name}");
        }
    }

    #[test]
    fn a_mention_in_a_comment_is_not_a_reference() {
        let refs = references(b"# search_v2.sh is next\n// see deploy.sh\nrun bin/search.sh\n");
        assert!(refs.contains(&"bin/search.sh".to_string()), "{refs:?}");
        assert!(!refs.iter().any(|r| r.contains("search_v2") || r.contains("deploy")), "{refs:?}");
        // Notes, documentation and fixtures under tests/ are not read for references.
        for path in ["tests/notes.txt", "tests/README.md", "tests/fixtures/run.sh", "test/testdata/x.py", "t/x.golden"]
        {
            assert!(!refers(path), "{path}");
        }
        for path in ["tests/test_x.py", "test/run.bats", "test/helper.bash", "tests/run", "tests/ci.yml"] {
            assert!(refers(path), "{path}");
        }
    }
}
