//! Whether a script is covered by a test: a test file for it exists where the templates say, or a
//! file of the `tests` class refers to it by file name or by module.
//!
//! What a test file refers to is extracted once per blob (file names, imported modules, paths in
//! `require`, `source` and `import ... from`) and cached with the blob's other facts.

use std::collections::HashMap;

use crate::config::Policy;
use crate::evidence::{EvidenceSet, TestSummary};
use crate::git::{Change, Mode, Status, TreeIndex, dir_name, extension, file_name, stem};

/// Upper bound on the references kept per test file, so a generated test cannot bloat the cache.
const MAX_REFS_PER_FILE: usize = 20_000;

/// Languages whose files are loaded by module name (`import search`), not only by path.
const MODULE_LANGUAGES: &[&str] = &["py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "rb", "pl", "pm", "lua", "ex", "exs"];

/// How a file was found to be tested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tested {
    /// A test file exists at a template path.
    TestFile(String),
    /// A test file refers to it.
    ReferencedBy(String),
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

/// Which test file refers to which name.
#[derive(Debug, Default)]
pub struct References {
    by_name: HashMap<String, String>,
    pub tests_searched: usize,
    /// Test files not read because the run's read budget ran out.
    pub unread: usize,
}

impl References {
    /// Records the references one test file makes.
    pub fn add(&mut self, test_path: &str, refs: &[String]) {
        self.tests_searched += 1;
        for name in refs {
            self.by_name.entry(name.clone()).or_insert_with(|| test_path.to_string());
        }
    }

    fn find(&self, name: &str) -> Option<&str> {
        self.by_name.get(name).map(String::as_str)
    }
}

/// Whether untested-change looks at `change`: a script that ships content and is not a test.
pub fn in_scope(policy: &Policy, change: &Change) -> bool {
    let paths = &policy.paths;
    change.status != Status::Deleted
        && change.new.as_ref().is_some_and(|side| matches!(side.mode, Mode::File | Mode::Executable))
        && paths.scripts.matches(&change.path)
        && !paths.tests.matches(&change.path)
        && !paths.ignore.matches(&change.path)
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

/// Whether `path` is tested, per the templates and the references of the tests class.
pub fn tested(path: &str, templates: &[String], tree: &TreeIndex, refs: &References) -> Result<Tested, Looked> {
    let expanded: Vec<String> = templates.iter().map(|t| expand(t, path)).collect();
    if let Some(found) = expanded.iter().find(|p| tree.contains(p) && p.as_str() != path) {
        return Ok(Tested::TestFile(found.clone()));
    }
    let name = file_name(path);
    // A bare name (`search.sh`) refers to any file of that name; a path (`bin/search.sh`) only
    // to the files it is a suffix of, so `ops/search.sh` is not tested by a test of `bin/`'s.
    let lower = path.to_lowercase();
    let suffixes = std::iter::once(lower.as_str()).chain(lower.match_indices('/').map(|(i, _)| &lower[i + 1..]));
    let by_name = suffixes.filter_map(|suffix| refs.find(suffix)).next();
    if let Some(test) = by_name.filter(|t| *t != path) {
        return Ok(Tested::ReferencedBy(test.to_string()));
    }
    if extension(name).is_some_and(|e| MODULE_LANGUAGES.contains(&e)) {
        let module = format!("mod:{}", stem(name).to_lowercase());
        let dotted = format!("mod:{}", path.rsplit_once('.').map_or(path, |(p, _)| p).replace('/', ".").to_lowercase());
        if let Some(test) = refs.find(&dotted).or_else(|| refs.find(&module)).filter(|t| *t != path) {
            return Ok(Tested::ReferencedBy(test.to_string()));
        }
    }
    Err(Looked { test_files: expanded, tests_searched: refs.tests_searched })
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

/// What a test file refers to: the file names in it (anything path-like with a dot), and the
/// modules it imports or requires, as `mod:NAME` and `mod:DOTTED.PATH`. Lower-cased.
pub fn references(content: &[u8]) -> Vec<String> {
    // Lower-cased once: every name is compared lower-cased.
    let text = String::from_utf8_lossy(content).to_lowercase();
    let mut refs = std::collections::BTreeSet::new();
    for token in text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))) {
        let token = token.trim_matches(|c| c == '.' || c == '/');
        if token.is_empty() {
            continue;
        }
        if token.contains('/') {
            let path = token.trim_start_matches("./").trim_start_matches("../").trim_start_matches('/');
            if path.contains('.') {
                refs.insert(path.to_string());
            }
        } else if token.contains('.') {
            refs.insert(token.to_string());
        }
    }
    for line in text.lines() {
        for module in imported_modules(line.trim()) {
            let last = module.rsplit(['.', '/']).next().unwrap_or(&module).to_string();
            refs.insert(format!("mod:{}", module.replace('/', ".").trim_start_matches('.')));
            refs.insert(format!("mod:{last}"));
        }
        if refs.len() > MAX_REFS_PER_FILE {
            break;
        }
    }
    refs.into_iter().take(MAX_REFS_PER_FILE).collect()
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
    // Quoted specifiers after require/import/from/source keywords; most lines have no quote.
    if !line.contains(['\'', '"', '`']) {
        return modules;
    }
    for keyword in
        ["require(", "require ", "require_relative ", "require_relative(", " from ", "import(", "source ", "load "]
    {
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
        for expected in ["mod:search", "mod:util", "mod:net", "mod:lib.search"] {
            assert!(refs.contains(&expected.to_string()), "{expected} missing from {refs:?}");
        }
    }
}
