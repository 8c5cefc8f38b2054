//! The policy: what gate checks and how strictly, from `gate.toml` and the rule packs it extends.
//!
//! Loading happens in two steps. Each policy file (a layer) is parsed section by section and
//! validated on its own, so every mistake is reported with its file, line and column, all
//! together. Then the layers are merged in order, later over earlier, into one [`Policy`] that
//! remembers where each setting came from (for `gate checks`).

mod hooks;
mod load;
mod options;
mod packs;
mod raw;
mod schedule;
mod section;

use std::collections::BTreeMap;
use std::fmt;

use globset::{GlobMatcher, GlobSet};

pub use crate::diag::{Diagnostic, SourceText, did_you_mean};
pub use hooks::{Hooks, PrePushPolicy, PushedRef, RefFilter};
pub use load::{PolicyInput, load, parse_date};
pub use options::{
    Catalog, CheckSettings, LAYER_STRIDE, Options, Problem, Settings, class_problems, in_classes, in_classes_candidate,
    layer_of,
};
pub use packs::{BUILTIN_PACKS, builtin_pack};
pub use raw::Severity;
pub use schedule::{DeployHours, Freeze, Opening, Schedule, Window, parse_deploy_hours, parse_duration, parse_window};

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
    /// `[trust]`: who may write which evidence. Only the deployed policy's is used.
    pub trust: Trust,
}

/// `[trust]`: which evidence must be signed, and by whom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// Repository path of the allowed_signers file (ssh-keygen's format).
    pub allowed_signers: Option<String>,
    /// Evidence kinds that count only when signed by an allowed signer.
    pub require_signed: Vec<String>,
    /// Per kind, the principals (patterns) whose signatures count for it; a kind not listed
    /// accepts any allowed signer.
    pub signers: BTreeMap<String, Vec<String>>,
    /// Where `[trust]` was last set, for messages.
    pub origin: Option<Origin>,
}

impl Policy {
    /// The merged policy of check `id`: every check of the catalog the policy was loaded with
    /// has one.
    pub fn check(&self, id: &str) -> Option<&CheckPolicy> {
        self.checks.get(id)
    }

    /// The severity check `id` runs at; `off` for a check the policy does not know.
    pub fn severity(&self, id: &str) -> Severity {
        self.check(id).map_or(Severity::Off, |check| check.severity)
    }

    /// The typed settings of check `id`, validated when the policy loaded.
    pub fn settings<T: std::any::Any>(&self, id: &str) -> Option<&T> {
        self.check(id).and_then(|check| check.settings.get())
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
    /// A policy file, at a line; `pack` names the built-in pack it is, if it is one.
    Layer { name: String, line: usize, pack: Option<String> },
}

impl Origin {
    /// The name of the built-in pack that set it (`default`), if a pack did.
    pub fn pack(&self) -> Option<&str> {
        match self {
            Origin::Layer { pack: Some(file), .. } => {
                Some(file.strip_prefix("rules/").and_then(|f| f.strip_suffix(".toml")).unwrap_or(file))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in"),
            Origin::Layer { name, line, .. } => write!(f, "{name}:{line}"),
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
    /// Globs added from the repository's own marks (`.gitattributes`), not the policy.
    pub added: GlobSet,
    pub origin: Origin,
    /// Text one of which a path must contain for `set` to match it (see [`Needles`]).
    needles: Needles,
}

impl PathClass {
    pub fn empty() -> Self {
        PathClass {
            globs: Vec::new(),
            set: GlobSet::empty(),
            except: GlobSet::empty(),
            added: GlobSet::empty(),
            origin: Origin::BuiltIn,
            needles: Needles::default(),
        }
    }

    /// The class of `globs` (those written `!glob` compiled into `except`, the others into `set`).
    pub fn new(globs: Vec<String>, set: GlobSet, except: GlobSet, origin: Origin) -> Self {
        let needles = Needles::of(globs.iter().filter(|g| !g.starts_with('!')).map(String::as_str));
        PathClass { globs, set, except, added: GlobSet::empty(), origin, needles }
    }

    pub fn matches(&self, path: &str) -> bool {
        self.matches_candidate(&Candidate::new(path))
    }

    /// [`PathClass::matches`] for a path already made a candidate, so that one path asked of
    /// several classes is split into its parts once.
    pub fn matches_candidate(&self, path: &Candidate<'_>) -> bool {
        (self.needles.may_match(path.path)
            && self.set.is_match_candidate(path.parts())
            && !self.except.is_match_candidate(path.parts()))
            || (!self.added.is_empty() && self.added.is_match_candidate(path.parts()))
    }

    /// Puts the files matching `globs` into the class as well, from `source` (`.gitattributes`):
    /// globs that do not compile are left out. Shown by `gate checks` after the class's own.
    pub fn add(&mut self, globs: &[String], source: &str) {
        let mut builder = globset::GlobSetBuilder::new();
        for glob in globs {
            if let Ok(compiled) = compile_glob(glob) {
                builder.add(compiled);
                self.globs.push(format!("{glob} (from {source})"));
            }
        }
        self.added = builder.build().unwrap_or_else(|_| GlobSet::empty());
    }
}

/// A path made ready to be matched against the globs of several classes: split into its parts
/// once, and only when a class's globs are matched (most paths are ruled out before).
pub struct Candidate<'p> {
    path: &'p str,
    parts: std::cell::OnceCell<globset::Candidate<'p>>,
}

impl<'p> Candidate<'p> {
    pub fn new(path: &'p str) -> Self {
        Candidate { path, parts: std::cell::OnceCell::new() }
    }

    /// The path split as globset matches it, for a glob set of a check's own (a rule's paths).
    pub fn parts(&self) -> &globset::Candidate<'p> {
        self.parts.get_or_init(|| globset::Candidate::new(self.path))
    }
}

/// The text each glob of a class spells out, to rule most paths out before the globs are
/// matched. The globs of the `tests` and `ignore` classes, each matched as one set of regular
/// expressions, cost a cold run on a 100,000-file tree 7-8% of its time, and most paths of a
/// tree are in neither class. A glob matches only paths that contain, as written,
/// each run of plain characters it has between its wildcards, character classes and slashes; a
/// run with a brace group (`*.{js,css}`) in it has one spelling for each alternative, and the
/// path contains one of them. Of each glob the run whose shortest spelling is longest is taken
/// (`**/test/**`: `test`; `**/*.min.{js,css}`: `.min.js` or `.min.css`), so a path with none of
/// those spellings in it matches none of the globs. A class with a glob without such a run
/// (`**`, `*`), or with an escape (whose reading is left to globset alone), is matched in full
/// for every path.
#[derive(Debug, Clone, Default)]
struct Needles(Option<aho_corasick::AhoCorasick>);

impl Needles {
    fn of<'g>(globs: impl Iterator<Item = &'g str>) -> Needles {
        let mut needles: Vec<String> = Vec::new();
        for glob in globs {
            match spelled_run(glob) {
                Some(run) => needles.extend(run),
                None => return Needles(None),
            }
        }
        if needles.is_empty() {
            return Needles(None);
        }
        // A needle that contains another adds nothing: a path with it has the shorter one too.
        needles.sort_by_key(String::len);
        let mut kept: Vec<String> = Vec::new();
        for needle in needles {
            if !kept.iter().any(|k| needle.contains(k.as_str())) {
                kept.push(needle);
            }
        }
        Needles(aho_corasick::AhoCorasick::new(kept).ok())
    }

    /// False only when the path cannot match any glob of the class.
    fn may_match(&self, path: &str) -> bool {
        self.0.as_ref().is_none_or(|needles| needles.is_match(path))
    }
}

/// The spellings of the run of plain text of `glob` whose shortest spelling is longest: one of
/// them is in every path the glob matches. `None` if it has no run, or has an escape.
fn spelled_run(glob: &str) -> Option<Vec<String>> {
    /// Spellings past this many end the run: a run is a filter, not a second matcher.
    const MOST: usize = 64;
    let shortest = |run: &[String]| run.iter().map(String::len).min().unwrap_or(0);
    let mut best: Vec<String> = Vec::new();
    let mut run = vec![String::new()];
    let mut end_run = |run: &mut Vec<String>| {
        if shortest(run) > shortest(&best) {
            best = std::mem::replace(run, vec![String::new()]);
        } else {
            *run = vec![String::new()];
        }
    };
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => return None,
            '*' | '?' | '/' => end_run(&mut run),
            '[' => {
                // A character class: `]` first (after `!` or `^`) is one of its characters.
                chars.next_if(|c| matches!(c, '!' | '^'));
                chars.next_if_eq(&']');
                chars.by_ref().find(|c| *c == ']')?;
                end_run(&mut run);
            }
            '{' => {
                let group: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let plain = !group.contains(['*', '?', '/', '[', ']', '{', '\\']);
                if plain && run.len() * (group.matches(',').count() + 1) <= MOST {
                    run = run.iter().flat_map(|r| group.split(',').map(move |alt| format!("{r}{alt}"))).collect();
                } else {
                    end_run(&mut run);
                }
            }
            '}' | ',' => end_run(&mut run),
            c => run.iter_mut().for_each(|r| r.push(c)),
        }
    }
    end_run(&mut run);
    (shortest(&best) > 0).then_some(best)
}

/// A deploy target.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    /// When set, the last deploy is the newest tag matching this pattern, not the ledger.
    pub deploy_tags: Option<TagPattern>,
    /// Environments the release tree must have been deployed to before this one.
    pub requires: Vec<String>,
    /// How long the release must have run in each required environment, and where that is set.
    pub soak: Option<(jiff::SignedDuration, Origin)>,
    /// Evidence kinds the release tree must carry (`tests`, `backup`, ...).
    pub evidence: Vec<String>,
    /// Oldest acceptable evidence, by kind.
    pub evidence_max_age: BTreeMap<String, jiff::SignedDuration>,
    /// Windows in which deploys to this environment are frozen.
    pub freeze: Vec<Window>,
    /// Hours in which deploys to this environment are allowed; none: at any time.
    pub deploy_hours: Vec<DeployHours>,
    /// The time zone freeze windows and deploy hours are read in.
    pub timezone: NamedZone,
    /// Distinct approvers an approval needs, none an author or committer of the release;
    /// `None`: one approval, from anyone.
    pub approvals: Option<u32>,
    /// How a rollback to a tree the environment ran before meets a freeze.
    pub rollback: Rollbacks,
    pub origin: Origin,
}

/// How a rollback meets a freeze window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Rollbacks {
    /// A rollback passes a freeze: returning to what ran is how an outage ends.
    #[default]
    Allow,
    /// A rollback inside a freeze needs an approval, as any deploy there does.
    Approve,
}

impl Environment {
    /// When deploys to this environment are frozen and when they are allowed.
    pub fn schedule(&self) -> Schedule<'_> {
        Schedule { freeze: &self.freeze, hours: &self.deploy_hours, zone: &self.timezone.zone }
    }
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
    /// The options as merged from every layer (spans moved per layer, see [`layer_of`]).
    pub options: Options,
    /// The options validated into the check's own settings type.
    pub settings: CheckSettings,
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

/// Whether `kind` is a well-formed evidence kind: a kebab-case word.
pub fn is_evidence_kind(kind: &str) -> bool {
    kind.len() <= 40
        && kind
            .split('-')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_spells_its_longest_plain_run() {
        assert_eq!(spelled_run("**/test/**"), Some(vec!["test".to_string()]));
        assert_eq!(spelled_run("**/*_spec.rb"), Some(vec!["_spec.rb".to_string()]));
        assert_eq!(spelled_run("**/*.min.{js,css}"), Some(vec![".min.js".to_string(), ".min.css".to_string()]));
        // `{a,b}` alone spells `a` or `b`; the run of the extensions is longer at its shortest.
        assert_eq!(spelled_run("**/{dist,out}/**/*.{map,class}"), Some(vec![".map".to_string(), ".class".to_string()]));
        assert_eq!(spelled_run("**/*[.-][0-9a-f]*.{js,css}"), Some(vec![".js".to_string(), ".css".to_string()]));
        assert_eq!(spelled_run("**/x[]]y/**"), Some(vec!["x".to_string()]));
        assert_eq!(spelled_run("**"), None);
        assert_eq!(spelled_run("*.{,bak}"), Some(vec![".".to_string(), ".bak".to_string()]));
        assert_eq!(spelled_run("**/{,old-}main.py"), Some(vec!["main.py".to_string(), "old-main.py".to_string()]));
        assert_eq!(spelled_run("{,bak}"), None);
        assert_eq!(spelled_run(r"**/\*.sh"), None);
    }

    /// The spelled runs only spare the globs work: every class of the built-in policy, and
    /// classes with braces, character classes and runs of every kind, put exactly the paths in
    /// that their globs alone put in.
    #[test]
    fn spelled_runs_rule_out_only_paths_the_globs_do_not_match() {
        let policy =
            load::load(&load::PolicyInput { file: None, read_pack: &|_| Ok(None), catalog: &crate::checks::Registry })
                .unwrap();
        let mut classes: Vec<PathClass> = policy.paths.iter().map(|(_, class)| class.clone()).collect();
        for globs in [
            &["src/**/*.{rs,toml}", "[ab]c/**", "**/x]y", "**/*.{sh,bash}.in"][..],
            &["**/*.{,bak}", "**/vendor/**"],
            &["**/docs/*.md", "!**/docs/README.md", "**/{build,dist}/**"],
        ] {
            let (mut set, mut except) = (globset::GlobSetBuilder::new(), globset::GlobSetBuilder::new());
            for glob in globs {
                match glob.strip_prefix('!') {
                    Some(rest) => except.add(compile_glob(rest).unwrap()),
                    None => set.add(compile_glob(glob).unwrap()),
                };
            }
            let globs = globs.iter().map(|g| g.to_string()).collect();
            classes.push(PathClass::new(globs, set.build().unwrap(), except.build().unwrap(), Origin::BuiltIn));
        }
        let dirs = [
            "",
            "src/",
            "app/pkg/",
            "test/",
            "tests/unit/",
            "lib/__tests__/",
            "spec/models/",
            "a/b_test/",
            "e2e/",
            "vendor/",
            "x/node_modules/y/",
            "dist/",
            "web/build/static/",
            "target/",
            "docs/",
            "bin/",
            "scripts/",
            "ac/",
            "bc/d/",
            "x]y/",
            "config/",
            "fixtures/",
            "pkg/testdata/",
            "site-packages/",
            ".venv/lib/",
        ];
        let names = [
            "main.py",
            "test_main.py",
            "main_test.go",
            "user_spec.rb",
            "run-tests.sh",
            "test.sh",
            "a.test.ts",
            "FooTest.java",
            "FooIT.java",
            "x.bats",
            "app.min.js",
            "app.js.map",
            "main-1a2b3c4d.js",
            "main.1a2b3c4d.css",
            "backup-20250503.js",
            "types.d.ts",
            "lib.rs",
            "Cargo.toml",
            "values.yaml",
            "README.md",
            "notes.md",
            "x]y",
            "deploy.sh.in",
            "old.bak",
            "a.pyc",
            "Dockerfile",
            "mod.rs",
            "data.json",
        ];
        let mut compared = 0;
        for class in &classes {
            for dir in dirs {
                for name in names {
                    let path = format!("{dir}{name}");
                    let globs_alone =
                        (class.set.is_match(&path) && !class.except.is_match(&path)) || class.added.is_match(&path);
                    assert_eq!(class.matches(&path), globs_alone, "{path} against {:?}", class.globs);
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, classes.len() * dirs.len() * names.len());
        // The built-in tests and ignore classes are filtered (no glob of theirs lacks a run).
        assert!(policy.paths.tests.needles.0.is_some() && policy.paths.ignore.needles.0.is_some());
    }
}
