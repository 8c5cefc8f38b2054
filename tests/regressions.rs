//! Bugs that reached users, each pinned by the scenario that showed it.

use crate::support::TestRepo;

/// Guards against: `[checks.risky-pattern.rules.unbounded-loop]` with only `severity = "off"`
/// (as rules/default.toml tells users to write) exiting 2 with "missing field `pattern`". The
/// user's layer completes the pack's rule; it is not validated alone.
#[test]
fn a_pack_rule_switched_off_by_severity_alone_is_off() {
    let repo = TestRepo::with_files(&[("bin/old.sh", "#!/bin/sh\n")]);
    repo.write("bin/poll.sh", "#!/bin/sh\nwhile true; do\n  poll\ndone\n");
    repo.commit("a poller");
    let base = repo.rev("HEAD~1");
    repo.gate(&["check", "--base", &base]).expect(1).stdout_has("risky-pattern").stdout_has("bin/poll.sh:2");

    repo.write("gate.toml", "[checks.risky-pattern.rules.unbounded-loop]\nseverity = \"off\"\n");
    repo.commit("the poller is meant to run forever");
    let run = repo.gate(&["check", "--base", &base, "--format", "json"]);
    let json = run.json();
    let checks: Vec<&str> = json["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(checks.contains(&"risky-pattern"), "risky-pattern must still run: {checks:?}");
    let risky: Vec<_> = json["findings"].as_array().unwrap().iter().filter(|f| f["check"] == "risky-pattern").collect();
    assert!(risky.is_empty(), "the rule is off, yet: {risky:?}");
}

/// Guards against: a rule of the user's own that misses its pattern still being an error, at its
/// file and line, now that options are validated after merging.
#[test]
fn a_new_rule_without_a_pattern_is_an_error_at_its_line() {
    let repo = TestRepo::with_files(&[("gate.toml", "\n[checks.risky-pattern.rules.mine]\nreason = \"mine\"\n")]);
    repo.gate(&["check"]).expect(2).stderr_has("missing field `pattern`").stderr_has("--> gate.toml:2:");
}

/// Guards against: `gate check --output FILE` from a terminal writing ANSI colour codes into
/// FILE. Colour belongs to the stream written: a file gets none unless `--color always`.
#[test]
fn a_report_written_to_a_file_has_no_colour_unless_asked() {
    let repo = TestRepo::with_files(&[("bin/search.sh", "#!/bin/sh\necho search\n")]);
    repo.write("bin/search_v2.sh", "#!/bin/sh\necho search v2\n");
    repo.commit("v2");
    let file = repo.sibling("report.txt");
    let out = file.to_str().unwrap();
    let base = repo.rev("HEAD~1");
    // CLICOLOR_FORCE stands for the terminal: it colours standard output...
    let run = repo.gate_in(repo.path(), &["check", "--base", &base], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]);
    assert!(run.stdout.contains("\x1b["), "standard output should be coloured: {}", run.stdout);
    // ...but not a file.
    repo.gate_in(
        repo.path(),
        &["check", "--base", &base, "--output", out],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")],
    )
    .expect(1);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("variant-name"), "{text}");
    assert!(!text.contains('\x1b'), "colour codes in the file: {text:?}");
    repo.gate(&["check", "--base", &base, "--output", out, "--color", "always"]).expect(1);
    assert!(std::fs::read_to_string(&file).unwrap().contains("\x1b["));
}

/// Guards against: `gate check --config /abs/path/outside/the/repo.toml` always exiting 2
/// ("repo path ... should be relative"), because the deployed policy was read from that path
/// in the base tree.
#[test]
fn a_policy_file_outside_the_repository_works_with_a_base() {
    let repo = TestRepo::with_files(&[("app.txt", "one\n")]);
    repo.write("app.txt", "two\n");
    repo.commit("two");
    let policy = repo.sibling("ci-policy.toml");
    std::fs::write(&policy, "[checks.blast-radius]\nseverity = \"deny\"\nmax-files = 5\n").unwrap();
    let base = repo.rev("HEAD~1");
    repo.gate(&["check", "--base", &base, "--config", policy.to_str().unwrap()]).expect(0).stdout_has("PASS");
}

/// Guards against: a cold and a warm run printing different JSON (`tests_searched` 173 vs
/// 174) when identical empty files sit in a package and in the tests: the blob was read once,
/// without its references, for whichever path came first.
#[test]
fn cold_and_warm_runs_print_the_same_bytes() {
    let repo = TestRepo::with_files(&[
        ("app/__init__.py", ""),
        ("app/core.py", "def core():\n    return 1\n"),
        ("tests/__init__.py", ""),
        ("tests/test_core.py", "from app.core import core\n"),
    ]);
    repo.write("app/helper.py", "def helper():\n    return 2\n");
    repo.commit("helper");
    let base = repo.rev("HEAD~1");
    let cache = repo.path().join(".git/gate/cache-v7.bin");
    let _ = std::fs::remove_file(&cache);
    let cold = repo.gate(&["check", "--base", &base, "--format", "json"]);
    assert!(cache.exists(), "the cold run should leave a cache");
    let warm = repo.gate(&["check", "--base", &base, "--format", "json"]);
    assert!(cold.stdout.contains("\"tests_searched\": 2"), "{}", cold.stdout);
    assert_eq!(cold.stdout, warm.stdout);
}

/// Guards against: the kept listing of the release tree (`GIT_DIR/gate/listing-v1.bin`) saying
/// something the tree does not. A listing of an earlier tree is brought up to date by the
/// trees' diff, and a damaged or foreign one is walked past: each run prints what a run without
/// any listing prints.
#[test]
fn a_kept_listing_is_updated_by_the_diff_and_never_believed_when_damaged() {
    let repo = TestRepo::with_files(&[
        ("app/core.py", "def core():\n    return 1\n"),
        ("app/old.py", "def old():\n    return 0\n"),
        ("tests/test_core.py", "from app.core import core\n"),
    ]);
    let listing = repo.path().join(".git/gate/listing-v1.bin");
    let base = repo.rev("HEAD");
    repo.write("app/extra.py", "def extra():\n    return 3\n");
    repo.commit("extra");
    repo.gate(&["check", "--base", &base, "--format", "json"]);
    assert!(listing.exists(), "a run should keep the listing of its release tree");
    repo.remove("app/old.py");
    repo.write("app/helper.py", "def helper():\n    return 2\n");
    repo.write("tests/test_helper.py", "from app.helper import helper\n");
    repo.commit("helper");
    let patched = repo.gate(&["check", "--base", &base, "--format", "json"]);
    std::fs::remove_file(&listing).unwrap();
    let walked = repo.gate(&["check", "--base", &base, "--format", "json"]);
    assert_eq!(patched.stdout, walked.stdout);
    std::fs::write(&listing, b"GATELST\x01 a listing gate did not write").unwrap();
    let damaged = repo.gate(&["check", "--base", &base, "--format", "json"]);
    assert_eq!(walked.stdout, damaged.stdout);
}

/// Guards against: the answers kept for a re-run of the same release (near-duplicate's matches,
/// how each changed file is tested, the commit count, a lockfile's packages) answering for
/// other settings. On one release and base, a policy with other thresholds, caps and test globs
/// gets its own answers, the first policy gets its own back, and every run says what a run with
/// nothing kept says.
#[test]
fn answers_kept_for_a_release_follow_the_settings() {
    let search = "#!/bin/sh\n# search the index for a term\nset -eu\nterm=\"$1\"\nindex=/srv/search/index\n\
                  grep -r \"$term\" \"$index\" | head -n 20\necho \"found\"\necho \"done\"\n";
    let repo = TestRepo::with_files(&[("README.md", "# x\n"), ("requirements.txt", "requests==2.31.0\n")]);
    let base = repo.rev("HEAD");
    repo.write("bin/search.sh", search);
    repo.commit("search");
    repo.write("bin/search_v2.sh", &search.replace("head -n 20", "head -n 50"));
    repo.write("app/jobs.py", "def run():\n    return 3\n");
    repo.write("checks/jobs_check.py", "from app.jobs import run\n\ndef test_run():\n    assert run()\n");
    repo.write("requirements.txt", "requests==2.32.0\n");
    repo.commit("search v2, jobs");
    let policy = |name: &str, text: &str| {
        let path = repo.sibling(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let loose =
        policy("loose.toml", "[checks.near-duplicate]\nthreshold = 0.8\n[checks.blast-radius]\nmax-commits = 1\n");
    // Each differs from `loose` in one thing only.
    let threshold = policy(
        "threshold.toml",
        "[checks.near-duplicate]\nthreshold = 0.999\n[checks.blast-radius]\nmax-commits = 1\n",
    );
    let cap = policy("cap.toml", "[checks.near-duplicate]\nthreshold = 0.8\n[checks.blast-radius]\nmax-commits = 5\n");
    let tests = policy(
        "tests.toml",
        "[checks.near-duplicate]\nthreshold = 0.8\n[checks.blast-radius]\nmax-commits = 1\n[paths]\ntests = [\"checks/**\"]\n",
    );
    let check = |config: &str| repo.gate(&["check", "--base", &base, "--config", config, "--format", "json"]).json();
    let fresh = |config: &str| {
        let _ = std::fs::remove_dir_all(repo.path().join(".git/gate"));
        check(config)
    };
    let found = |json: &serde_json::Value| -> Vec<String> {
        let mut found: Vec<String> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {} {}", f["check"].as_str().unwrap(), f["code"].as_str().unwrap(), f["path"]))
            .collect();
        found.sort();
        found
    };

    let first = fresh(&loose);
    let listed = found(&first);
    for expected in ["near-duplicate near-copy \"bin/search_v2.sh\"", "untested-change untested-script \"app/jobs.py\""]
    {
        assert!(listed.iter().any(|f| f == expected), "{expected} in {listed:#?}");
    }
    assert!(listed.iter().any(|f| f.starts_with("blast-radius too-many-commits")), "{listed:#?}");
    assert_eq!(check(&loose), first, "a re-run reads what the first run kept");

    let without = |run: &serde_json::Value, prefix: &str| {
        let listed = found(run);
        assert!(!listed.iter().any(|f| f.starts_with(prefix)), "no {prefix} in {listed:#?}");
        assert!(listed.len() < found(&first).len(), "{listed:#?}");
    };
    check(&loose);
    let other = check(&threshold);
    without(&other, "near-duplicate");
    assert_eq!(other, fresh(&threshold));
    check(&loose);
    let other = check(&cap);
    without(&other, "blast-radius");
    assert_eq!(other, fresh(&cap));
    check(&loose);
    let other = check(&tests);
    without(&other, "untested-change untested-script \"app/jobs.py\"");
    assert_eq!(other, fresh(&tests));

    assert_eq!(check(&loose), first);
    assert_eq!(check(&loose), first);
}

/// Guards against: blobs read straight from the pack files (issue 15) being judged differently
/// from the same blobs loose, or a damaged pack being read as if whole. Packed, the release gets
/// the verdict it gets loose; with the bytes of one of its blobs damaged, the run stops with
/// exit 2 and names the blob, instead of judging a file gate could not read.
#[test]
fn a_packed_release_reads_as_it_reads_loose_and_a_damaged_pack_stops_the_run() {
    let mut files: Vec<(String, String)> = (0..40)
        .map(|i| (format!("app/mod{i}.py"), format!("def f{i}():\n    return {i}\n# shared body line\n")))
        .collect();
    files.push(("tests/test_mod1.py".into(), "from app.mod1 import f1\n".into()));
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let repo = TestRepo::with_files(&files);
    let base = repo.rev("HEAD");
    let helper: String = (0..200).map(|l| format!("def helper_{l}(x):\n    return x + {l}\n")).collect();
    repo.write("app/helper.py", &helper);
    repo.commit("helper");
    let check = ["check", "--base", base.as_str(), "--format", "json"];
    let loose = repo.gate(&check);
    std::fs::remove_dir_all(repo.path().join(".git/gate")).unwrap();
    repo.git(&["repack", "-a", "-d", "-q"]);
    let packed = repo.gate(&check);
    assert_eq!(loose.stdout, packed.stdout);
    assert_eq!(loose.code, packed.code);

    let blob = repo.rev("HEAD:app/helper.py");
    let pack_dir = repo.path().join(".git/objects/pack");
    let idx = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .unwrap();
    let listing = repo.git(&["verify-pack", "-v", idx.to_str().unwrap()]);
    let row: Vec<&str> = listing.lines().find(|l| l.starts_with(&blob)).unwrap().split_whitespace().collect();
    let (stored, offset): (usize, usize) = (row[3].parse().unwrap(), row[4].parse().unwrap());
    let pack = idx.with_extension("pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    for byte in &mut bytes[offset + stored / 3..offset + stored / 2] {
        *byte ^= 0x55;
    }
    std::fs::remove_file(&pack).unwrap();
    std::fs::write(&pack, bytes).unwrap();
    std::fs::remove_dir_all(repo.path().join(".git/gate")).unwrap();
    repo.gate(&check)
        .expect(2)
        .stderr_has(&format!("cannot read blob {blob}"))
        .stderr_has("run `git fsck` to find the damage");
}
