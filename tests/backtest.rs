//! `gate backtest`: past releases replayed through the checks, each against the one before it,
//! from tags in version order or from an environment's ledger. A backtest reports; it exits 0
//! unless a release could not be checked.

use crate::support::TestRepo;

const SEARCH: &str = "#!/bin/sh\n# search the index for a term\nset -eu\nterm=\"$1\"\nindex=/srv/search/index\ngrep -r \"$term\" \"$index\" | head -n 20\necho \"done\"\n";
const SEARCH_TEST: &str = "@test \"search finds\" {\n  run bin/search.sh needle\n  [ \"$status\" -eq 0 ]\n}\n";

/// Three releases: v1.2 (search and its test), v1.9 (a README change), v1.10 (an untested
/// `search_v2.sh` beside `search.sh`, incident 000). Tagged so that name order would put
/// v1.10 first.
fn released() -> TestRepo {
    let repo = TestRepo::with_files(&[("bin/search.sh", SEARCH), ("test/search.bats", SEARCH_TEST)]);
    repo.git(&["tag", "-a", "v1.2", "-m", "release 1.2"]);
    repo.write("README", "search, documented\n");
    repo.commit("docs");
    repo.git(&["tag", "v1.9"]);
    repo.write("bin/search_v2.sh", &SEARCH.replace("grep -r", "grep -rn").replace("head -n 20", "sort | head -n 50"));
    repo.commit("proposed search algorithm");
    repo.git(&["tag", "-a", "v1.10", "-m", "release 1.10"]);
    repo
}

fn releases(json: &serde_json::Value) -> &Vec<serde_json::Value> {
    json["releases"].as_array().unwrap()
}

#[test]
fn tags_are_replayed_in_version_order_and_the_untested_variant_is_blocked() {
    let repo = released();
    let run = repo.gate(&["backtest", "--tags", "v*"]).expect(0);
    run.stdout_has("gate backtest: 2 releases: tags matching v*, in version order")
        .stdout_has_row("v1.2..v1.9 pass")
        .stdout_has_row("v1.9..v1.10 BLOCKED")
        .stdout_has("deny near-duplicate 1, variant-name 1; warn untested-change 1")
        .stdout_has("summary: 2 releases checked, 1 blocked (50%)")
        .stdout_has_row("variant-name 1 0 1")
        .stdout_has_row("near-duplicate 1 0 1")
        .stdout_has_row("untested-change 0 1 0")
        .stdout_lacks("v1.10..v1.2")
        .stdout_lacks("bin/search_v2.sh:");
}

#[test]
fn a_hotfix_tagged_later_still_sorts_by_its_version() {
    // Version order, not tag date: v1.9.1 is tagged after v1.10, on a branch from v1.9.
    let repo = released();
    repo.git(&["checkout", "-q", "-b", "hotfix", "v1.9"]);
    repo.write("README", "search, documented, fixed\n");
    repo.commit("hotfix");
    repo.git(&["tag", "v1.9.1"]);
    repo.gate(&["backtest", "--tags", "v*"])
        .expect(0)
        .stdout_has_row("v1.2..v1.9 pass")
        .stdout_has_row("v1.9..v1.9.1 pass")
        .stdout_has_row("v1.9.1..v1.10 BLOCKED");
}

#[test]
fn details_show_each_blocking_finding() {
    let repo = released();
    repo.gate(&["backtest", "--tags", "v*", "--details"]).expect(0).stdout_has(
        "variant-name bin/search_v2.sh: named like a copy or version of bin/search.sh (marker `_v2`), and no test covers it",
    );
}

#[test]
fn a_release_that_passes_is_a_pass_and_the_run_exits_0() {
    let repo = released();
    repo.write("README", "search, documented better\n");
    repo.commit("more docs");
    repo.git(&["tag", "v1.11"]);
    let run = repo.gate(&["backtest", "--tags", "v*", "--last", "1"]).expect(0);
    run.stdout_has("gate backtest: 1 release: tags matching v*")
        .stdout_has_row("v1.10..v1.11 pass")
        .stdout_has("summary: 1 release checked, 0 blocked (0%)")
        .stdout_has("no findings")
        .stdout_lacks("v1.9..");
}

#[test]
fn json_lists_each_release_with_its_counts_and_blocking_findings() {
    let repo = released();
    let run = repo.gate(&["backtest", "--tags", "v*", "--format", "json"]).expect(0);
    let json = run.json();
    assert_eq!(json["version"], 1);
    let list = releases(&json);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["base"], repo.rev("v1.2^{commit}"));
    assert_eq!(list[0]["base_rev"], "v1.2");
    assert_eq!(list[0]["release"], repo.rev("v1.9"));
    assert_eq!(list[0]["verdict"], "pass");
    assert_eq!(list[0]["deny"], serde_json::json!({}));
    assert_eq!(list[1]["release"], repo.rev("v1.10^{commit}"), "annotated tags are peeled to their commit");
    assert_eq!(list[1]["release_rev"], "v1.10");
    assert_eq!(list[1]["verdict"], "blocked");
    assert_eq!(list[1]["deny"], serde_json::json!({"near-duplicate": 1, "variant-name": 1}));
    assert_eq!(list[1]["warn"], serde_json::json!({"untested-change": 1}));
    let blocking = list[1]["blocking"].as_array().unwrap();
    let checks: Vec<&str> = blocking.iter().map(|b| b["check"].as_str().unwrap()).collect();
    assert_eq!(checks, ["near-duplicate", "variant-name"]);
    assert_eq!(blocking[1]["path"], "bin/search_v2.sh");
    assert!(blocking[1]["message"].as_str().unwrap().contains("named like a copy or version of bin/search.sh"));
    assert_eq!(json["summary"]["releases"], 2);
    assert_eq!(json["summary"]["blocked"], 1);
    assert_eq!(json["summary"]["undecided"], 0);
    assert_eq!(json["summary"]["blocked_by"], serde_json::json!({"near-duplicate": 1, "variant-name": 1}));

    let again = repo.gate(&["backtest", "--tags", "v*", "--format", "json"]).expect(0);
    assert_eq!(run.stdout, again.stdout, "same inputs, same bytes");
}

#[test]
fn evidence_checks_are_skipped_and_listed_as_skipped_not_passed() {
    // Production asks for test evidence, which no past release carries: `gate check` blocks on
    // it, the backtest does not judge it at all.
    let repo = TestRepo::with_files(&[("app/server.py", "def serve():\n    return 'ok'\n")]);
    repo.git(&["tag", "v1.0"]);
    repo.write("README", "server\n");
    repo.commit("docs");
    repo.git(&["tag", "v1.1"]);
    repo.gate(&["check", "--env", "production", "--base", "v1.0", "--release", "v1.1"])
        .expect(1)
        .stdout_has("test-evidence");

    let run = repo.gate(&["backtest", "--tags", "v*", "--env", "production", "--format", "json"]).expect(0);
    let json = run.json();
    let skipped: Vec<&str> = json["skipped"].as_array().unwrap().iter().map(|s| s["check"].as_str().unwrap()).collect();
    assert_eq!(
        skipped,
        [
            "test-evidence",
            "staged-rollout",
            "evidence",
            "evidence-trust",
            "freeze-window",
            "rollback-ready",
            "environment-lock"
        ]
    );
    assert_eq!(json["environment"], "production");
    assert_eq!(releases(&json)[0]["verdict"], "pass");
    assert!(!run.stdout.contains("\"test-evidence\": "), "not counted as a finding:\n{}", run.stdout);

    repo.gate(&["backtest", "--tags", "v*", "--env", "production"])
        .expect(0)
        .stdout_has("each as a release to production")
        .stdout_has("skipped: test-evidence, staged-rollout, evidence, evidence-trust, freeze-window, rollback-ready, environment-lock (evidence checks");
}

#[test]
fn the_ledger_of_an_environment_is_replayed_oldest_first() {
    let repo = TestRepo::with_files(&[("bin/search.sh", SEARCH), ("test/search.bats", SEARCH_TEST)]);
    let first = repo.rev("HEAD");
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("README", "search\n");
    let second = repo.commit("docs");
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("bin/search_v2.sh", &SEARCH.replace("grep -r", "grep -rn"));
    let third = repo.commit("search v2");
    repo.gate(&["record", "--env", "staging", "--force", "--reason", "deployed before gate"]).expect(0);
    repo.write("README", "search, undeployed\n");
    repo.commit("not deployed");

    let short = |id: &str| id[..10].to_string();
    repo.gate(&["backtest", "--env", "staging", "--details"])
        .expect(0)
        .stdout_has("gate backtest: 2 releases: deploys of staging from the ledger, oldest first")
        .stdout_has_row(&format!("{}..{} pass", short(&first), short(&second)))
        .stdout_has_row(&format!("{}..{} BLOCKED", short(&second), short(&third)))
        .stdout_has("variant-name bin/search_v2.sh: named like a copy or version of bin/search.sh")
        .stdout_has("summary: 2 releases checked, 1 blocked (50%)");

    let json = repo.gate(&["backtest", "--env", "staging", "--last", "1", "--format", "json"]).expect(0).json();
    assert_eq!(releases(&json).len(), 1);
    assert_eq!(releases(&json)[0]["base"], second);
    assert_eq!(releases(&json)[0]["release"], third);
}

/// v1.0, then v1.1 adds a file whose blob is then deleted from the object store, v1.2 drops
/// it again and v1.3 is an ordinary release.
fn with_a_missing_object() -> (TestRepo, String) {
    let repo = TestRepo::with_files(&[("app.sh", "echo app\n"), ("tests/app.bats", "run app.sh\n")]);
    repo.git(&["tag", "v1.0"]);
    repo.write("data.txt", "a blob that goes missing\n");
    repo.commit("data");
    repo.git(&["tag", "v1.1"]);
    let blob = repo.rev("HEAD:data.txt");
    repo.remove("data.txt");
    repo.commit("no data");
    repo.git(&["tag", "v1.2"]);
    repo.write("README", "app\n");
    repo.commit("docs");
    repo.git(&["tag", "v1.3"]);
    std::fs::remove_file(repo.path().join(".git/objects").join(&blob[..2]).join(&blob[2..])).unwrap();
    (repo, blob)
}

#[test]
fn a_release_gate_cannot_check_stops_the_run_with_exit_2() {
    let (repo, blob) = with_a_missing_object();
    let missing = format!("a file of the release range ({}) is not in this repository", &blob[..10]);
    repo.gate(&["backtest", "--tags", "v*"])
        .expect(2)
        .stdout_has_row("v1.0..v1.1 undecided")
        .stdout_has(&format!("could not check: {missing}; run `git fetch origin {blob}`"))
        .stdout_has("summary: 0 releases checked, 0 blocked (0%), 1 could not be checked")
        .stdout_lacks("v1.2..v1.3")
        .stderr_has(&format!("gate: error: release v1.1 could not be checked ({missing}"))
        .stderr_has("pass --keep-going to list it apart and go on");
}

#[test]
fn keep_going_lists_the_releases_gate_cannot_check_apart_and_exits_0() {
    let (repo, blob) = with_a_missing_object();
    repo.gate(&["backtest", "--tags", "v*", "--keep-going"])
        .expect(0)
        .stdout_has_row("v1.0..v1.1 undecided")
        .stdout_has_row("v1.2..v1.3 pass")
        .stdout_has("summary: 1 release checked, 0 blocked (0%), 2 could not be checked");

    let json = repo.gate(&["backtest", "--tags", "v*", "--keep-going", "--format", "json"]).expect(0).json();
    let list = releases(&json);
    assert_eq!(list[0]["verdict"], "undecided");
    assert!(list[0]["reason"].as_str().unwrap().contains(&blob[..10]), "{:#}", list[0]);
    assert_eq!(list[0]["deny"], serde_json::Value::Null, "no counts for a release that was not checked");
    assert_eq!(list[2]["verdict"], "pass");
    assert_eq!(json["summary"]["undecided"], 2);
    assert_eq!(json["summary"]["releases"], 1);
}

#[test]
fn excluded_tags_are_left_out_and_two_tags_are_the_least_a_backtest_needs() {
    let repo = released();
    repo.git(&["tag", "v1.11-rc1"]);
    repo.gate(&["backtest", "--tags", "v*", "--tags", "!*-rc*"]).expect(0).stdout_lacks("v1.11-rc1");
    repo.gate(&["backtest", "--tags", "v*"]).expect(0).stdout_has_row("v1.10..v1.11-rc1 pass");
    repo.gate(&["backtest", "--tags", "v1.2"])
        .expect(2)
        .stderr_has("tags matching v1.2: found 1; a backtest needs at least two");
    repo.gate(&["backtest"]).expect(2).stderr_has("--tags");
}
