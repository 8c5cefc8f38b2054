//! Facts about the release that several checks share, computed lazily and at most once per run:
//! the release tree's index, the facts of its blobs (read in one parallel pass, cached on disk),
//! what the tests refer to and which scripts are untested, each environment's deploy history,
//! the policy that was deployed, and the approval that covers the tree. Checks read these facts;
//! they never walk git themselves.

mod classes;
pub mod config_files;
pub mod coverage;
pub mod dependencies;
pub mod images;
pub mod memo;
mod mentions;
pub mod names;
mod reach;
pub mod rollout;
mod routes;
pub mod similarity;
mod trust;

pub use classes::wants_references;
pub use trust::Approvals;

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use git2::Oid;

use crate::config::{Catalog, Environment, Policy, PolicyInput};
use crate::evidence::{EvidenceSet, Record};
use crate::git::{self, BlobStore, ChangeSet, CommitCount, Deploy, Range, Repo, TreeIndex, ledger};
use crate::{Error, Result, config, evidence};

/// Reports progress of long steps; the command decides whether and how to show it.
pub trait Progress {
    /// `done` of `total` items of `stage` are finished.
    fn update(&self, stage: &str, done: usize, total: usize);
    /// The step is over; clear whatever was shown.
    fn finish(&self);
}

/// Shows nothing.
pub struct Silent;

impl Progress for Silent {
    fn update(&self, _: &str, _: usize, _: usize) {}
    fn finish(&self) {}
}

/// Which tree files the checks in force need facts for.
#[derive(Debug, Clone)]
pub struct Needs {
    /// Every text file of the tree (near-duplicate search).
    pub all_files: bool,
    /// The references of every file of the `tests` class (untested-change).
    pub test_references: bool,
    /// Most bytes of blob content to read in one run; blobs past it are not read.
    pub read_budget: u64,
    /// Configuration files larger than this are not parsed.
    pub config_max_bytes: u64,
    /// Where a script's own test may live, when untested scripts matter (untested-change is
    /// on); `None` when nothing counts as untested.
    pub test_files: Option<Vec<String>>,
}

impl Default for Needs {
    fn default() -> Self {
        Needs {
            all_files: false,
            test_references: false,
            read_budget: 1024 * 1024 * 1024,
            config_max_bytes: 8 * 1024 * 1024,
            test_files: None,
        }
    }
}

/// How many deploys of an environment's history are read.
pub const HISTORY: usize = 500;

/// How far back along the release's history to look for a tree the tests did run on.
const LOOK_BACK: usize = 50;

/// What the analysis reads from: the repository, the release and its evidence, the policy.
pub struct Inputs<'a> {
    pub repo: &'a Repo,
    pub store: &'a BlobStore<'a>,
    pub policy: &'a Policy,
    /// The checks, to load the deployed policy with.
    pub catalog: &'a dyn Catalog,
    pub range: &'a Range,
    pub changes: &'a ChangeSet,
    pub evidence: &'a EvidenceSet,
    pub progress: &'a dyn Progress,
    pub needs: Needs,
    /// The time of the run, and whether it is the real time (no `GATE_NOW`).
    pub now: jiff::Timestamp,
    pub real_clock: bool,
    /// The changed symlinks of the scripts and config classes, followed or not.
    pub links: &'a [git::Link],
    /// The index of the release tree, when it was built already (by finding copies).
    pub tree: Option<TreeIndex>,
}

pub struct Analysis<'a> {
    pub repo: &'a Repo,
    pub store: &'a BlobStore<'a>,
    policy: &'a Policy,
    catalog: &'a dyn Catalog,
    range: &'a Range,
    changes: &'a ChangeSet,
    evidence: &'a EvidenceSet,
    progress: &'a dyn Progress,
    needs: Needs,
    tree: OnceCell<TreeIndex>,
    classes: OnceCell<classes::Classes>,
    /// Set once the tree is read: how many blobs the read budget left unread.
    prefetched: OnceCell<usize>,
    /// Set once the files whose references count are read (all of them, or only those).
    prefetched_references: std::cell::Cell<bool>,
    references: OnceCell<coverage::References>,
    reach: OnceCell<coverage::Reach>,
    /// The words of each Rails view template, read when a helper is first asked about.
    views: OnceCell<Vec<(String, HashSet<String>)>>,
    config_files: OnceCell<Vec<config_files::ConfigFile>>,
    dependencies: OnceCell<Vec<dependencies::ManifestChange>>,
    histories: RefCell<BTreeMap<String, Rc<[Deploy]>>>,
    deployed_policy: OnceCell<DeployedPolicy>,
    now: jiff::Timestamp,
    real_clock: bool,
    links: &'a [git::Link],
    vetted: OnceCell<evidence::Vetted>,
    people: OnceCell<std::collections::BTreeSet<String>>,
    tested_nearby: OnceCell<Option<(Record, usize)>>,
    untested: RefCell<BTreeMap<String, bool>>,
    rollback: OnceCell<Option<rollout::Rollback>>,
    /// The (key, value) pairs of each config file in the target's recent deploys, by path.
    deployed_values: RefCell<HashMap<String, HashSet<(String, String)>>>,
}

impl<'a> Analysis<'a> {
    pub fn new(inputs: Inputs<'a>) -> Analysis<'a> {
        let Inputs {
            repo,
            store,
            policy,
            catalog,
            range,
            changes,
            evidence,
            progress,
            needs,
            now,
            real_clock,
            links,
            tree,
        } = inputs;
        Analysis {
            repo,
            store,
            policy,
            catalog,
            range,
            changes,
            evidence,
            progress,
            needs,
            tree: tree.map(OnceCell::from).unwrap_or_default(),
            classes: OnceCell::new(),
            prefetched: OnceCell::new(),
            prefetched_references: std::cell::Cell::new(false),
            references: OnceCell::new(),
            reach: OnceCell::new(),
            views: OnceCell::new(),
            config_files: OnceCell::new(),
            dependencies: OnceCell::new(),
            histories: RefCell::new(BTreeMap::new()),
            deployed_policy: OnceCell::new(),
            now,
            real_clock,
            links,
            vetted: OnceCell::new(),
            people: OnceCell::new(),
            tested_nearby: OnceCell::new(),
            untested: RefCell::new(BTreeMap::new()),
            rollback: OnceCell::new(),
            deployed_values: RefCell::default(),
        }
    }

    /// The environment the release is going to, when one was given.
    pub fn target(&self) -> Result<Option<&'a Environment>> {
        self.range.environment.as_deref().map(|name| self.policy.environment(name)).transpose()
    }

    /// Up to [`HISTORY`] deploys of `env`, newest first, read once per run.
    pub fn history(&self, env: &Environment) -> Result<Rc<[Deploy]>> {
        if let Some(history) = self.histories.borrow().get(&env.name) {
            return Ok(history.clone());
        }
        let history: Rc<[Deploy]> = ledger::history(self.repo, rollout::target(env), HISTORY)?.into();
        self.histories.borrow_mut().insert(env.name.clone(), history.clone());
        Ok(history)
    }

    /// The last deploy of `env`.
    pub fn last_deploy(&self, env: &Environment) -> Result<Option<Deploy>> {
        Ok(self.history(env)?.first().cloned())
    }

    /// Whether the release commit descends from `ancestor` (or is it). A shallow clone that
    /// cannot tell is an error with the fetch that fixes it.
    pub fn release_descends_from(&self, ancestor: Oid, what: &str) -> Result<bool> {
        let release = self.range.release.commit;
        if release == ancestor {
            return Ok(true);
        }
        let descends = self
            .repo
            .git
            .graph_descendant_of(release, ancestor)
            .map_err(|e| Error::git("cannot compare histories", &e))?;
        if !descends && self.repo.is_shallow() {
            return Err(Error::with_fix(
                format!(
                    "cannot tell whether the release descends from {what} ({}): the clone is shallow",
                    git::short(ancestor)
                ),
                format!("run `git fetch --unshallow {}`", self.repo.default_remote()),
            ));
        }
        Ok(descends)
    }

    /// The commits in the release that are not in the base, counted up to `cap`.
    pub fn commit_count(&self, cap: usize) -> Result<CommitCount> {
        let (release, key) = (self.range.release.commit, memo::count_key(self.range.base.commit, cap));
        if let Some(count) = self.store.kept(release, key, &memo::COUNT) {
            return Ok(count);
        }
        let count = git::count_commits(self.repo, self.range.base.commit, release, cap)?;
        self.store.keep(release, key, &memo::COUNT, &count);
        Ok(count)
    }

    /// The policy as the last deploy had it: the base tree's own policy file and the packs it
    /// extends, read from that tree. `None` for a first deploy, for a policy file outside the
    /// repository, or when that policy no longer loads (see [`Analysis::deployed_policy_error`]).
    pub fn deployed_policy(&self) -> Result<Option<&Policy>> {
        Ok(match self.deployed()? {
            DeployedPolicy::Loaded(policy) => Some(policy),
            DeployedPolicy::None | DeployedPolicy::Unreadable(_) => None,
        })
    }

    /// Why the deployed policy could not be read, when there is one and it does not load.
    pub fn deployed_policy_error(&self) -> Result<Option<&str>> {
        Ok(match self.deployed()? {
            DeployedPolicy::Unreadable(why) => Some(why),
            _ => None,
        })
    }

    fn deployed(&self) -> Result<&DeployedPolicy> {
        if let Some(deployed) = self.deployed_policy.get() {
            return Ok(deployed);
        }
        // The user's file is the last layer that is not a built-in pack (packs come first).
        let deployed = match (self.range.base.tree, self.policy.files.last()) {
            // A first deploy, or a policy from outside the repository (`--config /etc/...`):
            // no deployed copy to read.
            (None, _) | (_, None) => DeployedPolicy::None,
            (Some(base_tree), Some(file)) => {
                let text = git::read_file(self.repo, base_tree, file)?;
                let read_pack = |path: &str| git::read_file(self.repo, base_tree, path);
                let input = PolicyInput {
                    file: text.map(|text| (format!("{file} (last deploy)"), text)),
                    read_pack: &read_pack,
                    catalog: self.catalog,
                };
                match config::load(&input) {
                    Ok(policy) => DeployedPolicy::Loaded(Box::new(policy)),
                    Err(err) => DeployedPolicy::Unreadable(err.to_string()),
                }
            }
        };
        Ok(self.deployed_policy.get_or_init(|| deployed))
    }

    /// Configuration files larger than this are not parsed (config-syntax's `max-bytes`).
    pub fn config_max_bytes(&self) -> u64 {
        self.needs.config_max_bytes
    }

    /// The changed symlinks of the scripts and config classes: each followed to the file of the
    /// tree it stands for (whose content the checks then see), or why it could not be.
    pub fn links(&self) -> &[git::Link] {
        self.links
    }

    /// Whether the target environment ran `value` under `key` of `path` in one of its recent
    /// deploys before the last one (keys as the config diff writes them). Read only when a
    /// check suspects a value, so it costs nothing on most runs.
    pub fn value_deployed_before(&self, path: &str, key: &str, value: &str) -> Result<bool> {
        let known = |values: &HashSet<(String, String)>| values.contains(&(key.to_string(), value.to_string()));
        if let Some(values) = self.deployed_values.borrow().get(path) {
            return Ok(known(values));
        }
        // Every value of those deploys, read once per file: a file with many suspect values
        // must not be read and parsed twenty times for each.
        const DEPLOYS: usize = 20;
        let mut values = HashSet::new();
        if let Some(env) = self.target()? {
            for deploy in self.history(env)?.iter().skip(1).take(DEPLOYS) {
                let Some(text) = git::read_file(self.repo, deploy.tree, path)? else { continue };
                let crate::audit::document::Parsed::Document(doc) =
                    crate::audit::document::parse(path, text.as_bytes())
                else {
                    continue;
                };
                for e in doc.identified().unwrap_or_default() {
                    let shown = e.text.as_ref().unwrap_or(&e.value);
                    values.insert((e.key.clone(), shown.clone()));
                }
            }
        }
        let found = known(&values);
        self.deployed_values.borrow_mut().insert(path.to_string(), values);
        Ok(found)
    }

    /// The emergency lock on `env`, if someone stopped the line there.
    pub fn lock(&self, env: &Environment) -> Result<Option<git::stops::Stop>> {
        git::stops::lock_of(self.repo, &env.name)
    }

    /// Why the release tree was rejected, if it was.
    pub fn rejection(&self) -> Result<Option<git::stops::Stop>> {
        git::stops::rejection_of(self.repo, self.range.release.tree)
    }

    /// The newest test results recorded for an earlier tree along the release's first-parent
    /// history, and how many commits back it is: for "tests ran, but on another tree".
    pub fn tested_nearby(&self) -> Result<Option<&(Record, usize)>> {
        if let Some(found) = self.tested_nearby.get() {
            return Ok(found.as_ref());
        }
        let mut found = None;
        let mut commit = self
            .repo
            .git
            .find_commit(self.range.release.commit)
            .map_err(|e| Error::git("cannot read the release", &e))?;
        for behind in 1..=LOOK_BACK {
            let Ok(parent) = commit.parent(0) else { break };
            if parent.tree_id() != self.range.release.tree {
                let set = evidence::for_tree(self.repo, parent.tree_id())?;
                if let Some(record) = set.newest("tests") {
                    found = Some((record.clone(), behind));
                    break;
                }
            }
            commit = parent;
        }
        Ok(self.tested_nearby.get_or_init(|| found).as_ref())
    }

    /// Whether `change` ships a deployable file (see [`coverage::deployable`]) that no test
    /// covers: what raises the severity of a copy or a variant.
    pub fn is_untested(&self, change: &git::Change) -> Result<bool> {
        let ships =
            change.new.as_ref().is_some_and(|side| matches!(side.mode, git::Mode::File | git::Mode::Executable));
        if change.status == git::Status::Deleted || !ships || !coverage::deployable(self.policy, &change.path) {
            return Ok(false);
        }
        Ok(!self.is_tested(&change.path)?)
    }

    /// Whether a test was found for `path`, whatever its class.
    pub fn is_tested(&self, path: &str) -> Result<bool> {
        if let Some(known) = self.untested.borrow().get(path) {
            return Ok(!*known);
        }
        let tested = self.coverage(path)?.is_ok();
        self.untested.borrow_mut().insert(path.to_string(), !tested);
        Ok(tested)
    }

    /// Whether one of the target environment's recent deploys, before the base of this release,
    /// had a file at `path`: a name that comes back every release cycle is not new in this one.
    /// Deploys of later releases (a backtest replays the past) do not count. Without a target,
    /// nothing was deployed before.
    pub fn deployed_before(&self, path: &str) -> Result<bool> {
        const DEPLOYS: usize = 20;
        let (Some(env), Some(base)) = (self.target()?, self.range.base.commit) else { return Ok(false) };
        for deploy in self.history(env)?.iter().take(DEPLOYS) {
            let earlier =
                deploy.commit == base || self.repo.git.graph_descendant_of(base, deploy.commit).unwrap_or(false);
            if !earlier || deploy.tree == self.range.release.tree {
                continue;
            }
            let tree =
                self.repo.git.find_tree(deploy.tree).map_err(|e| Error::git("cannot read a deployed tree", &e))?;
            if tree.get_path(std::path::Path::new(path)).is_ok() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether a modified file changes only in comments, blank lines and indentation: its code,
    /// line by line, is the same on both sides.
    pub fn changes_only_comments(&self, change: &git::Change) -> Result<bool> {
        let (Some(old), Some(new)) = (&change.old, &change.new) else { return Ok(false) };
        if !matches!(change.status, git::Status::Modified | git::Status::Renamed) {
            return Ok(false);
        }
        let text = |id| -> Result<Option<String>> {
            let facts = self.store.facts(id)?;
            if facts.kind != git::ContentKind::Text {
                return Ok(None);
            }
            Ok(Some(String::from_utf8_lossy(&self.store.content(id)?).into_owned()))
        };
        let (Some(before), Some(after)) = (text(old.id)?, text(new.id)?) else { return Ok(false) };
        let syntax = crate::audit::comments::syntax_for(&change.path);
        let code = |text| crate::audit::comments::code_only(text, syntax);
        Ok(code(&before) == code(&after))
    }

    /// How `path` is tested, or where gate looked for a test. What the release tree says is
    /// kept for the next run on it (see [`memo`]); test evidence is asked on every run.
    pub fn coverage(&self, path: &str) -> Result<std::result::Result<coverage::Tested, coverage::Looked>> {
        let templates = self.needs.test_files.as_deref().unwrap_or(&[]);
        let tree = self.range.release.tree;
        let key = |what| memo::coverage_key(what, path, &self.policy.paths, templates);
        let direct = match self.store.kept(tree, key("direct"), &memo::DIRECT) {
            Some(direct) => direct,
            None => {
                let direct = coverage::tested(path, templates, self.tree()?, self.references()?);
                self.store.keep(tree, key("direct"), &memo::DIRECT, &direct);
                direct
            }
        };
        let Err(looked) = direct else { return Ok(direct) };
        if coverage::named_by_tests(self.evidence()?, path) {
            return Ok(Ok(coverage::Tested::NamedByTestEvidence));
        }
        let through = match self.store.kept(tree, key("through"), &memo::THROUGH) {
            Some(through) => through,
            None => {
                let through = self.covered_through(path)?;
                self.store.keep(tree, key("through"), &memo::THROUGH, &through);
                through
            }
        };
        Ok(through.ok_or(looked))
    }

    /// What covers `path`, which no test is found for: tested code that loads it, or a view a
    /// tested controller renders that calls it.
    fn covered_through(&self, path: &str) -> Result<Option<coverage::Tested>> {
        let templates = self.needs.test_files.as_deref().unwrap_or(&[]);
        let (tree, references) = (self.tree()?, self.references()?);
        let tested = |p: &str| coverage::tested(p, templates, tree, references).is_ok();
        if let Some(via) = self.reach()?.via(path, &tested, &|p| self.refers(p))? {
            return Ok(Some(coverage::Tested::Reached(via.to_string())));
        }
        Ok(self.rendered(path)?.map(|(view, controller)| coverage::Tested::Rendered { view, controller }))
    }

    /// For a Rails helper, a view that calls one of its methods and the tested controller that
    /// renders that view (see [`coverage::view_controllers`]).
    fn rendered(&self, path: &str) -> Result<Option<(String, String)>> {
        let tree = self.tree()?;
        let Some(root) = coverage::rails_helper_root(path) else { return Ok(None) };
        let Some(file) = tree.get(path) else { return Ok(None) };
        let methods = coverage::ruby_methods(&String::from_utf8_lossy(&self.store.content(file.id)?));
        if methods.is_empty() {
            return Ok(None);
        }
        let views = self.views(root)?;
        let templates = self.needs.test_files.as_deref().unwrap_or(&[]);
        let references = self.references()?;
        let direct = |p: &str| coverage::tested(p, templates, tree, references).is_ok();
        let covered = |p: &str| -> Result<bool> {
            Ok(tree.contains(p) && (direct(p) || self.reach()?.via(p, &direct, &|p| self.refers(p))?.is_some()))
        };
        for (view, _) in views.iter().filter(|(_, words)| methods.iter().any(|m| words.contains(m))) {
            for controller in coverage::view_controllers(view, root, tree) {
                if covered(&controller)? {
                    return Ok(Some((view.clone(), controller)));
                }
            }
        }
        Ok(None)
    }

    /// The view templates under `{root}app/views/` with the words of each, read once.
    fn views(&self, root: &str) -> Result<&[(String, HashSet<String>)]> {
        if let Some(views) = self.views.get() {
            return Ok(views);
        }
        let prefix = format!("{root}app/views/");
        let mut views = Vec::new();
        for file in self.tree()?.files().iter().filter(|f| f.path.starts_with(&prefix)) {
            let text = String::from_utf8_lossy(&self.store.content(file.id)?).into_owned();
            views.push((file.path.clone(), coverage::words(&text)));
        }
        Ok(self.views.get_or_init(|| views))
    }

    /// The files covered code loads (see [`coverage::Reach`]): the index kept for this tree and
    /// these classes; else the one kept for the tree this listing was updated from, with the
    /// changed files of code taken out and put back; else built from every file of code. Kept
    /// when no file of code went unread.
    fn reach(&self) -> Result<&coverage::Reach> {
        if let Some(reach) = self.reach.get() {
            return Ok(reach);
        }
        let (tree, classes) = (self.tree()?, self.classes()?);
        let installed = self.references()?.images.installed_map();
        let file = coverage::Reach::file(&self.repo.git_dir());
        let kept = |key: &[u8; 32]| file.as_ref().and_then(|file| coverage::Reach::kept(file, key));
        let key = classes::key(self.range.release.tree, &self.policy.paths);
        if let Some(kept) = kept(&key) {
            return Ok(self.reach.get_or_init(|| kept.with_installed(installed)));
        }
        // A submodule is not a file of code: it loads nothing.
        let code = |i: &usize| classes.reaches_through(*i) && tree.files()[*i].mode != git::Mode::Submodule;
        let previous =
            tree.patch().and_then(|patch| Some((patch, kept(&classes::key(patch.from, &self.policy.paths))?)));
        let patched = match previous {
            Some((patch, previous)) => {
                let removed: Vec<&str> = patch.changed.iter().filter(|c| c.before).map(|c| c.path.as_str()).collect();
                let added: Vec<&git::TreeFile> = (patch.changed.iter().filter(|c| c.after))
                    .filter_map(|c| tree.position(&c.path).filter(code))
                    .map(|i| &tree.files()[i])
                    .collect();
                let (added, unread) = self.mentions(&added)?;
                previous.patched(&removed, added).map(|reach| (reach, unread))
            }
            None => None,
        };
        let (reach, unread) = match patched {
            Some(patched) => patched,
            None => {
                let files: Vec<&git::TreeFile> = (0..tree.len()).filter(code).map(|i| &tree.files()[i]).collect();
                let (files, unread) = self.mentions(&files)?;
                (coverage::Reach::from_mentions(files), unread)
            }
        };
        if let Some(file) = file.filter(|_| unread == 0) {
            reach.keep(&file, &key);
        }
        Ok(self.reach.get_or_init(|| reach.with_installed(installed)))
    }

    /// What each of `files` mentions (see [`mentions`]): from the references the cache knows,
    /// else read, in one parallel pass within the run's read budget. The files the budget left
    /// unread are left out, and counted.
    fn mentions<'t>(&self, files: &[&'t git::TreeFile]) -> Result<(Vec<(&'t str, mentions::Mentions)>, usize)> {
        let mut found = Vec::with_capacity(files.len());
        let mut unknown = Vec::new();
        for &file in files {
            match self.store.known_refs(file.id) {
                Some(refs) => found.push((file.path.as_str(), mentions::Mentions::of_refs(&refs))),
                None => unknown.push(file),
            }
        }
        let ids: Vec<Oid> = unknown.iter().map(|f| f.id).collect();
        let progress = |done: usize, total: usize| self.progress.update("reading the release tree", done, total);
        let of_content = |_: usize, content: &[u8]| mentions::Mentions::of_content(content);
        let read = self.store.each_content(&ids, &of_content, self.needs.read_budget, &progress);
        self.progress.finish();
        let mut unread = 0;
        for (file, mentions) in unknown.into_iter().zip(read?) {
            match mentions {
                Some(mentions) => found.push((file.path.as_str(), mentions)),
                None => unread += 1,
            }
        }
        Ok((found, unread))
    }

    /// What the file of the release tree at `path` refers to (see [`coverage::references`]).
    fn refers(&self, path: &str) -> Result<std::sync::Arc<[String]>> {
        match self.tree()?.get(path) {
            Some(file) => self.store.refs(file.id, coverage::references),
            None => Ok(std::sync::Arc::from(Vec::new())),
        }
    }

    /// The changed configuration files, read on both sides and diffed.
    pub fn config_files(&self) -> Result<&[config_files::ConfigFile]> {
        if let Some(files) = self.config_files.get() {
            return Ok(files);
        }
        let files = config_files::read(self.policy, self.changes, self.store, self.needs.config_max_bytes)?;
        Ok(self.config_files.get_or_init(|| files))
    }

    /// The changed manifests, lockfiles and image-naming files, read on both sides and diffed.
    pub fn dependency_changes(&self) -> Result<&[dependencies::ManifestChange]> {
        if let Some(found) = self.dependencies.get() {
            return Ok(found);
        }
        let found = dependencies::read(self.policy, self.changes, self.store)?;
        Ok(self.dependencies.get_or_init(|| found))
    }

    /// The first changed file whose dependency change touches what ships (not development or
    /// test dependencies alone), if any.
    pub fn runtime_dependency_change(&self) -> Result<Option<String>> {
        Ok(self.dependency_changes()?.iter().find(|m| m.touches_runtime()).map(|m| m.path.clone()))
    }

    /// Whether the policy ignores the file at a position of [`Analysis::tree`]: from the path
    /// classes, so the globs are not matched again.
    pub fn ignored(&self) -> Result<impl Fn(usize) -> bool + '_> {
        let classes = self.classes()?;
        Ok(move |position| classes.ignored(position))
    }

    /// The path classes of the files of the release tree, by position in [`Analysis::tree`].
    fn classes(&self) -> Result<&classes::Classes> {
        if let Some(classes) = self.classes.get() {
            return Ok(classes);
        }
        let tree = self.tree()?;
        let classes = classes::Classes::of(self.repo, self.range.release.tree, tree, &self.policy.paths);
        tree.keep(self.repo, self.range.release.tree);
        Ok(self.classes.get_or_init(|| classes))
    }

    /// Every file of the release tree.
    pub fn tree(&self) -> Result<&TreeIndex> {
        if let Some(tree) = self.tree.get() {
            return Ok(tree);
        }
        let tree = TreeIndex::build(self.repo, self.range.release.tree)?;
        Ok(self.tree.get_or_init(|| tree))
    }

    /// Reads, in one parallel pass, every blob the checks in force will ask about, so that each
    /// is read at most once (and not at all when the cache knows it).
    /// Returns how many blobs were left unread because the read budget ran out.
    pub fn prefetch(&self) -> Result<usize> {
        if let Some(unread) = self.prefetched.get() {
            return Ok(*unread);
        }
        let unread = self.read_tree(self.needs.all_files)?;
        self.prefetched_references.set(true);
        Ok(*self.prefetched.get_or_init(|| unread))
    }

    /// Reads the files whose references the tests' coverage needs, and only those: a release
    /// that adds no file has nothing for near-duplicate to compare, so the rest of the tree is
    /// not read for it.
    fn prefetch_references(&self) -> Result<()> {
        if !self.prefetched_references.get() {
            self.read_tree(false)?;
            self.prefetched_references.set(true);
        }
        Ok(())
    }

    /// Reads the blobs of the tree that are not known yet: every file when `everything`, else
    /// those whose references count. Returns how many the read budget left unread.
    fn read_tree(&self, everything: bool) -> Result<usize> {
        let (tree, classes) = (self.tree()?, self.classes()?);
        let wanted: Vec<(git2::Oid, bool)> = tree
            .files()
            .iter()
            .enumerate()
            .filter(|(i, f)| f.mode != git::Mode::Submodule && !classes.ignored(*i))
            .filter_map(|(i, f)| {
                // Files of code are read for what they mention when reach needs them; when the
                // whole tree is read here anyway, with their references, so that no file is read
                // twice.
                let refs = classes.wants_references(i, &self.needs, everything);
                (everything || refs).then_some((f.id, refs))
            })
            .collect();
        let progress = |done: usize, total: usize| self.progress.update("reading the release tree", done, total);
        let result = self.store.prefetch(&wanted, coverage::references, self.needs.read_budget, &progress);
        self.progress.finish();
        result
    }

    /// What the files of the `tests` class refer to, and which files they are named for.
    pub fn references(&self) -> Result<&coverage::References> {
        if let Some(refs) = self.references.get() {
            return Ok(refs);
        }
        let tree = self.tree()?;
        let mut refs = match self.kept_references() {
            Some(kept) => kept,
            None => self.read_references()?,
        };
        let read = |f: &git::TreeFile| Ok(String::from_utf8_lossy(&self.store.content(f.id)?).into_owned());
        refs.images = images::Images::build(tree, &read)?;
        refs.routes = routes::Routes::build(tree, &read)?;
        Ok(self.references.get_or_init(|| refs))
    }
}

impl Analysis<'_> {
    /// The references of the test files read from the tree, and kept for the next run when
    /// every one was read.
    fn read_references(&self) -> Result<coverage::References> {
        self.prefetch_references()?;
        let (tree, classes) = (self.tree()?, self.classes()?);
        let mut refs = coverage::References::default();
        for (position, file) in tree.files().iter().enumerate() {
            if !classes.reads_references(position) || file.mode == git::Mode::Submodule {
                continue;
            }
            refs.add_test_file(&file.path);
            if classes.refers(position) {
                match self.store.known_refs(file.id) {
                    Some(names) => refs.add(&file.path, &names),
                    None => refs.unread += 1,
                }
            }
        }
        let file = git::Sealed::in_git_dir(&self.repo.git_dir(), coverage::KEPT_FILE_NAME);
        if let Some((file, body)) = file.filter(|_| refs.unread == 0).zip(refs.encode_kept()) {
            keep_references(&file, self.range.release.tree, &self.policy.paths, &body);
        }
        Ok(refs)
    }

    /// The references kept by an earlier run, when they are of this tree and these classes, or
    /// of another tree and these classes and the diff between the two trees changes no file of
    /// the tests class: what the test files refer to and are named for depends on their paths
    /// and contents alone. A warm run on a 100,000-file tree spent a third of its time reading
    /// every test's references again.
    fn kept_references(&self) -> Option<coverage::References> {
        let file = git::Sealed::in_git_dir(&self.repo.git_dir(), coverage::KEPT_FILE_NAME)?;
        let kept = file.read()?;
        let (key, rest) = kept.strip_prefix(KEPT_REFERENCES_MAGIC.as_slice())?.split_at_checked(32)?;
        let mut rest = git::bytes::Reader::new(rest);
        let kept_tree = rest.oid()?;
        let body = rest.rest();
        let paths = &self.policy.paths;
        let release = self.range.release.tree;
        if key == classes::key(release, paths) {
            return coverage::References::decode_kept(body);
        }
        if key != classes::key(kept_tree, paths) {
            return None;
        }
        let changed = git::changed_paths(self.repo, kept_tree, release).ok()?;
        if changed.iter().any(|path| paths.tests.matches(path)) {
            return None;
        }
        let refs = coverage::References::decode_kept(body)?;
        // Kept again for this tree: the next run on it finds them as they are.
        keep_references(&file, release, paths, body);
        Some(refs)
    }
}

/// Keeps the encoded references of the release tree `tree`. References that cannot be kept
/// only cost the next run the reading.
fn keep_references(file: &git::Sealed, tree: Oid, paths: &config::PathClasses, body: &[u8]) {
    let mut header = [KEPT_REFERENCES_MAGIC.as_slice(), &classes::key(tree, paths)].concat();
    git::bytes::put_oid(&mut header, &tree);
    let _ = file.seal_and_write(&[&header, body]);
}

/// The header of [`coverage::KEPT_FILE_NAME`]; it changes whenever what is kept changes meaning.
const KEPT_REFERENCES_MAGIC: &[u8; 8] = b"GATEREF\x02";

/// The policy of the last deploy, as read from its tree.
enum DeployedPolicy {
    /// Nothing is deployed, or the policy file is not in the repository.
    None,
    Loaded(Box<Policy>),
    /// It does not load any more: why.
    Unreadable(String),
}
