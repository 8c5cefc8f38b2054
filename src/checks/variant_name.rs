//! `variant-name`: an added file or directory is named like a copy or version of another.
//!
//! Incident 000: `search_v2`, untested, sat beside `search` and was deployed to production by
//! accident. Names like `_v2`, `.bak`, ` copy`, `scripts_old/` mark files that were never meant
//! to ship, or were meant to replace something and did not.
//!
//! Not variants: migrations (named with versions by their tools), upgrade steps named by a
//! version range (`delta/v170-v180/`), and names that an earlier deploy of the target
//! environment already had (a file re-added every release cycle). A variant of any deployable
//! file blocks when no test covers it and its original exists (beside it, elsewhere by name, or
//! leaving with this release); a marked name with no original anywhere warns: a name alone
//! (`mysql_backup.sh`, `remove_old.sh`) is not a copy. `tested` in the JSON says whether a test
//! was found.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, FindingData, Output};
use crate::Result;
use crate::analysis::Needs;
use crate::analysis::names::{Markers, Variant, migration, variant_of};
use crate::config::{Policy, Severity};
use crate::config::{Problem, Settings};
use crate::git::{Change, ChangeSet, Status, TreeIndex, dir_name, file_name, stem};

pub struct VariantName;

const ID: &str = "variant-name";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct VariantSettings {
    /// Severity of a variant that no test covers.
    when_untested: Severity,
    /// Words that mark a copy or version when they end a name after `_`, `-`, `.` or a space.
    suffixes: Vec<String>,
    /// Extensions added to a whole file name: `app.py.bak`.
    extensions: Vec<String>,
    /// Path classes whose files are not reported (test fixtures are named `-v1` on purpose).
    skip_classes: Vec<toml::Spanned<String>>,
}

impl Default for VariantSettings {
    fn default() -> Self {
        VariantSettings {
            when_untested: Severity::Deny,
            suffixes: Vec::new(),
            extensions: Vec::new(),
            skip_classes: Vec::new(),
        }
    }
}

impl Settings for VariantSettings {
    fn problems(&self) -> Vec<Problem> {
        crate::config::class_problems(&self.skip_classes)
    }
}

static DOC: Doc = Doc {
    codes: &["marked-file", "marked-directory"],
    summary: "An added file or directory is named like a copy or version of another: search_v2.sh, app.py.bak, \
              report copy.sh, compose.yml_v2, scripts_old/.",
    why: "Incident 000: a proposed search_v2 script, untested, sat beside search and was deployed to two \
          production servers by accident. A name with a version or backup marker is a file that was never \
          meant to ship, or was meant to replace another and did not. One that no test covers blocks when its \
          original exists; a marked name with no original anywhere warns (a name alone is not a copy).",
    example: "variant-name  deny\n  bin/search_v2.sh: named like a new version of bin/search.sh (marker `_v2`), and no test covers it\n    \
              help: if it replaces search.sh, rename it over the original in this release; if both must ship, test it",
    config: "[checks.variant-name]\nseverity      = \"warn\"   # a variant that is tested\nwhen-untested = \"deny\"   # a variant no test covers\n\
             # Words that end a name after `_`, `-`, `.` or a space (search_v2.sh); `v{n}` glued to a word\n\
             # (installv2.sh) and `legacy` count only beside their original\n\
             suffixes   = [\"v{n}\", \"new\", \"old\", \"backup\", \"bak\", \"orig\", \"copy\", \"final\", \"fixed\",\n              \
             \"tmp\", \"temp\", \"draft\", \"wip\", \"dup\", \"prev\", \"updated\"]\n\
             extensions = [\"bak\", \"bk\", \"bkp\", \"bck\", \"backup\", \"orig\", \"old\", \"swp\", \"swo\", \"tmp\", \"save\", \"sav\", \"rej\", \"prev\"]",
};

impl Check for VariantName {
    type Settings = VariantSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Warn
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn needs(&self, _settings: &VariantSettings, needs: &mut Needs) {
        needs.test_references = true;
    }

    fn run(&self, cx: &Context<'_>, settings: &VariantSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let markers = Markers::new(&settings.suffixes, &settings.extensions);
        let added = cx.changes.iter().filter(|c| {
            matches!(c.status, Status::Added | Status::Renamed | Status::Copied)
                && !cx.policy.paths.ignore.matches(&c.path)
                && !crate::config::in_classes(cx.policy, &settings.skip_classes, &c.path)
                && migration(&c.path).is_none()
        });
        let tree = cx.analysis.tree()?;
        // Copied directories are reported once, with the files added under them.
        let mut directories: BTreeMap<String, (Variant, Option<Original>, Vec<&Change>)> = BTreeMap::new();
        let mut earlier = 0;
        for change in added {
            if let Some((dir, variant, original)) = variant_directory(tree, cx.changes, &change.path, &markers) {
                directories.entry(dir).or_insert_with(|| (variant, original, Vec::new())).2.push(change);
            }
            let Some(variant) = variant_of(file_name(&change.path), &markers) else { continue };
            let original = find_original(tree, cx.changes, &change.path, &variant);
            if variant.inner && original.is_none() {
                continue;
            }
            if cx.analysis.deployed_before(&change.path)? {
                earlier += 1;
                continue;
            }
            let tested = cx.analysis.is_tested(&change.path)?;
            let untested = cx.analysis.is_untested(change)?;
            let found = Found { variant: &variant, original, tested, untested };
            out.findings.push(file_finding(&change.path, &found, settings, severity));
        }
        for (dir, (variant, original, files)) in directories {
            if cx.analysis.deployed_before(&files[0].path)? {
                earlier += 1;
                continue;
            }
            let (mut tested, mut untested) = (true, false);
            for change in &files {
                tested &= cx.analysis.is_tested(&change.path)?;
                untested |= cx.analysis.is_untested(change)?;
            }
            let found = Found { variant: &variant, original, tested, untested };
            out.findings.push(directory_finding(&dir, &found, files.len(), settings, severity));
        }
        if earlier > 0 {
            let (plural, verb) = if earlier == 1 { ("", "was") } else { ("s", "were") };
            out.notes.push(format!(
                "{ID}: {earlier} name{plural} marked as a copy or version {verb} deployed before (an earlier deploy had \
                 the same path); not reported as new variants"
            ));
        }
        Ok(())
    }
}

/// A variant, the original it names (if any) and what the tests say.
struct Found<'v> {
    variant: &'v Variant,
    original: Option<Original>,
    /// A test was found for it (for a directory: for every file added under it).
    tested: bool,
    /// It is deployable and no test covers it.
    untested: bool,
}

/// The file or directory a variant is named after.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Original {
    path: String,
    /// What this release does to it, when it is not in the release any more.
    fate: Option<String>,
}

/// A variant among the changes, for `gate diff`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VariantPair {
    pub path: String,
    pub marker: String,
    pub original: Option<String>,
}

/// The added files whose names mark them as variants, with the original each resembles; the
/// same reading as the check, without the test lookups.
pub fn variant_pairs(policy: &Policy, tree: &TreeIndex, changes: &ChangeSet) -> Result<Vec<VariantPair>> {
    let default = VariantSettings::default();
    let settings = policy.settings::<VariantSettings>(ID).unwrap_or(&default);
    let markers = Markers::new(&settings.suffixes, &settings.extensions);
    Ok(changes
        .iter()
        .filter(|c| matches!(c.status, Status::Added | Status::Renamed | Status::Copied))
        .filter(|c| !policy.paths.ignore.matches(&c.path))
        .filter(|c| migration(&c.path).is_none())
        .filter_map(|c| {
            let variant = variant_of(file_name(&c.path), &markers)?;
            let original = find_original(tree, changes, &c.path, &variant);
            if variant.inner && original.is_none() {
                return None;
            }
            Some(VariantPair { path: c.path.clone(), marker: variant.marker, original: original.map(|o| o.path) })
        })
        .collect())
}

/// The outermost directory of `path` whose name is a variant, with its reading and the
/// directory it is a copy of, if that exists beside it. A marker inside a name
/// (`app-backup-before-fixes/`) counts only when that directory exists.
fn variant_directory(
    tree: &TreeIndex,
    changes: &ChangeSet,
    path: &str,
    markers: &Markers,
) -> Option<(String, Variant, Option<Original>)> {
    let components: Vec<&str> = path.split('/').collect();
    let dirs = &components[..components.len().saturating_sub(1)];
    dirs.iter().enumerate().find_map(|(i, name)| {
        let variant = variant_of(name, markers)?;
        let parent = dirs[..i].join("/");
        let sibling =
            if parent.is_empty() { variant.original.clone() } else { format!("{parent}/{}", variant.original) };
        let original = if tree.has_dir(&sibling) {
            Some(Original { path: sibling, fate: None })
        } else {
            // The directory as the last deploy had it, when this release removes or moves it
            // (`app/` renamed to `app_old/`).
            let prefix = format!("{sibling}/");
            let leaves = |c: &Change| match c.status {
                Status::Deleted => c.path.starts_with(&prefix),
                Status::Renamed => c.old_path.as_deref().is_some_and(|old| old.starts_with(&prefix)),
                _ => false,
            };
            let moved = changes.iter().filter(|c| leaves(c)).any(|c| c.status == Status::Renamed);
            changes.iter().any(leaves).then(|| Original {
                path: sibling,
                fate: Some(if moved { "this release moves it away" } else { "this release removes it" }.to_string()),
            })
        };
        if variant.inner && original.is_none() {
            return None;
        }
        Some((dirs[..=i].join("/"), variant, original))
    })
}

/// The file `path` looks like a variant of: the original name in the same directory first, then
/// a file this release removes or renames away from beside it (the copy is of the file as the
/// last deploy had it), then the same name elsewhere (closest directory first), then the same
/// stem with another extension. A marker inside a name counts only with an original beside it.
fn find_original(tree: &TreeIndex, changes: &ChangeSet, path: &str, variant: &Variant) -> Option<Original> {
    let original_name = variant.original.as_str();
    let dir = dir_name(path);
    let beside = if dir.is_empty() { original_name.to_string() } else { format!("{dir}/{original_name}") };
    if tree.contains(&beside) && beside != path {
        return Some(Original { path: beside, fate: None });
    }
    let gone = changes.iter().find_map(|c| match c.status {
        Status::Deleted if c.path == beside => Some("this release removes it".to_string()),
        Status::Renamed if c.old_path.as_deref() == Some(beside.as_str()) && c.path != path => {
            Some(format!("this release renames it to {}", c.path))
        }
        Status::Renamed if c.old_path.as_deref() == Some(beside.as_str()) => Some("is that file renamed".to_string()),
        _ => None,
    });
    if let Some(fate) = gone {
        return Some(Original { path: beside, fate: Some(fate) });
    }
    if variant.inner {
        return None;
    }
    let closest = |files: Vec<&str>| {
        files
            .into_iter()
            .filter(|p| *p != path)
            .max_by(|a, b| {
                let score = |p: &str| (common_prefix(p, path), (strsim::normalized_levenshtein(p, path) * 1e6) as i64);
                score(a).cmp(&score(b)).then(b.cmp(a))
            })
            .map(|p| Original { path: p.to_string(), fate: None })
    };
    closest(tree.named(original_name).map(|f| f.path.as_str()).collect())
        .or_else(|| closest(tree.with_stem(stem(original_name)).map(|f| f.path.as_str()).collect()))
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.split('/').zip(b.split('/')).take_while(|(x, y)| x == y).count()
}

fn raised(severity: Severity, untested: bool, settings: &VariantSettings) -> Severity {
    if untested { severity.max(settings.when_untested) } else { severity }
}

fn file_finding(path: &str, found: &Found<'_>, settings: &VariantSettings, severity: Severity) -> Finding {
    let variant = found.variant;
    let mut message = match &found.original {
        Some(Original { path: original, fate: None }) => {
            format!("named like a copy or version of {original} (marker `{}`)", variant.marker)
        }
        Some(Original { path: original, fate: Some(fate) }) => {
            format!("named like a copy or version of {original}, and {fate} (marker `{}`)", variant.marker)
        }
        None => format!(
            "named like a copy or version (marker `{}`), but no original `{}` exists in the release or leaves with it",
            variant.marker, variant.original
        ),
    };
    if found.untested {
        message.push_str(", and no test covers it");
    }
    if found.untested && found.original.is_none() {
        message.push_str(
            "; a name alone does not make a copy, so it warns (near-duplicate blocks a copy of another file)",
        );
    }
    let help = match &found.original {
        Some(Original { path: original, fate: None }) => format!(
            "if it replaces {}, rename it over the original in this release; if both must ship, test it and waive: \
             gate waive {ID} --path {path} --reason \"...\" --expires YYYY-MM-DD",
            file_name(original)
        ),
        Some(Original { path: original, fate: Some(_) }) => format!(
            "if it is the old {} kept for safety, keep it out of the release; if it must ship, test it and waive: \
             gate waive {ID} --path {path} --reason \"...\" --expires YYYY-MM-DD",
            file_name(original)
        ),
        None => format!(
            "if it is a leftover, remove it; if the name is right, waive: gate waive {ID} --path {path} --reason \"...\" --expires YYYY-MM-DD"
        ),
    };
    let level = raised(severity, found.untested && found.original.is_some(), settings);
    Finding::new(ID, "marked-file", level, message, help).at(path).with_data(FindingData::Variant {
        marker: variant.marker.clone(),
        original: found.original.as_ref().map(|o| o.path.clone()),
        tested: found.tested,
    })
}

fn directory_finding(
    dir: &str,
    found: &Found<'_>,
    files: usize,
    settings: &VariantSettings,
    severity: Severity,
) -> Finding {
    let variant = found.variant;
    let plural = if files == 1 { "" } else { "s" };
    let mut message = match &found.original {
        Some(Original { path, fate: None }) => {
            format!(
                "directory named like a copy of {path}/ (marker `{}`), {files} file{plural} added under it",
                variant.marker
            )
        }
        Some(Original { path, fate: Some(fate) }) => format!(
            "directory named like a copy of {path}/, and {fate} (marker `{}`), {files} file{plural} added under it",
            variant.marker
        ),
        None => {
            format!("directory named like a copy (marker `{}`), {files} file{plural} added under it", variant.marker)
        }
    };
    if found.untested {
        message.push_str("; files in it have no test");
    }
    if found.untested && found.original.is_none() {
        message.push_str("; no directory it copies exists or leaves with it, so it warns");
    }
    let help = format!(
        "if it is a copy kept for safety, keep it out of the release; if it is meant to ship, waive: \
         gate waive {ID} --path '{dir}/' --reason \"...\" --expires YYYY-MM-DD"
    );
    Finding::new(
        ID,
        "marked-directory",
        raised(severity, found.untested && found.original.is_some(), settings),
        message,
        help,
    )
    .at(format!("{dir}/"))
    .with_data(FindingData::Variant {
        marker: variant.marker.clone(),
        original: found.original.as_ref().map(|o| format!("{}/", o.path)),
        tested: found.tested,
    })
}
