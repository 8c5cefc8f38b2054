//! Issue 13: rolling back to a release the environment ran before is the move an on-call
//! engineer makes at 3 a.m., and soak is time spent running in the earlier environment.

use std::path::PathBuf;

use crate::support::TestRepo;

fn report(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit").join(name).to_string_lossy().into_owned()
}

const PASSING: &str = "nette-tester_no-suite-name.xml";

const GOOD: &str = "auth:\n  ldap:\n    host: ldap.corp\n    port: 389\n";
const TYPO: &str = "auth:\n  ldap:\n    host: ldap.crop\n    port: 389\n";

/// v1 went through staging to production the proper way; v2, with a typo in the LDAP host,
/// was pushed to production past the gate.
fn production_ran_v1_then_v2() -> TestRepo {
    let repo =
        TestRepo::with_files(&[("app/server.py", "def serve():\n    return 'ok'\n"), ("config/auth.yaml", GOOD)]);
    repo.git(&["tag", "v1"]);
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(31 * 60);
    repo.gate(&["record", "--env", "production", "--force", "--reason", "first deploy"]).expect(0);
    repo.advance(24 * 3600);
    repo.write("config/auth.yaml", TYPO);
    repo.commit("move LDAP");
    repo.git(&["tag", "v2"]);
    repo.gate(&["record", "--env", "production", "--force", "--reason", "hotfix, no time for staging"]).expect(0);
    repo.advance(600);
    repo
}

#[test]
fn rolling_back_to_a_release_production_ran_passes_and_says_rollback() {
    let repo = production_ran_v1_then_v2();
    let run = repo.gate(&["check", "--env", "production", "--release", "v1"]);
    run.expect(0)
        .stdout_has("rollback to the deploy of 2026-")
        .stdout_has("PASS")
        .stdout_lacks("does not descend")
        .stdout_lacks("never deployed to staging")
        .stdout_lacks("a typo?");
    let json = repo.gate(&["check", "--env", "production", "--release", "v1", "--format", "json"]).json();
    assert_eq!(json["rollback"]["tree"], repo.rev("v1^{tree}"), "{json:#}");

    // Back on v1, a return to v2 is a rollback too, to a deploy that was forced: the header says so.
    repo.gate(&["record", "--env", "production", "--release", "v1"]).expect(0);
    repo.gate(&["check", "--env", "production", "--release", "v2"])
        .stdout_has("rollback to the deploy of ")
        .stdout_has("note: that deploy was recorded past a blocking check: hotfix, no time for staging");
}

#[test]
fn a_rejected_tree_is_not_a_rollback_target() {
    let repo = production_ran_v1_then_v2();
    repo.gate(&["reject", "--release", "v1", "--reason", "leaks memory"]).expect(0);
    repo.gate(&["check", "--env", "production", "--release", "v1"])
        .expect(1)
        .stdout_lacks("rollback to the deploy of")
        .stdout_has("leaks memory");
}

#[test]
fn a_tree_that_never_ran_in_the_environment_is_not_a_rollback() {
    let repo = production_ran_v1_then_v2();
    // The tree of v1 plus one file: new to production, so it is a release like any other.
    repo.git(&["checkout", "-q", "v1"]);
    repo.write("app/extra.py", "x = 1\n");
    repo.commit("on top of v1");
    repo.gate(&["check", "--env", "production"]).expect(1).stdout_lacks("rollback to the deploy of");
}

/// A rollback inside a freeze goes through by default; `rollback = "approve"` asks for the same
/// approval as any other deploy inside the freeze.
#[test]
fn a_rollback_passes_a_freeze_unless_the_environment_asks_for_approval() {
    let repo = production_ran_v1_then_v2();
    // Every day, all day: whenever the test runs, production is frozen.
    let frozen = "[environments.staging]\n[environments.production]\nrequires = [\"staging\"]\nsoak = \"30m\"\n\
                  evidence = [\"tests\"]\nfreeze = [\"Mon 00:00 .. Sun 23:59\"]\n";
    std::fs::write(repo.sibling("frozen.toml"), frozen).unwrap();
    let policy = repo.sibling("frozen.toml").to_string_lossy().into_owned();
    repo.gate(&["check", "--env", "production", "--release", "v1", "--config", &policy])
        .expect(0)
        .stdout_has("rollback to the deploy of");
    let approve = format!("{frozen}rollback = \"approve\"\n");
    std::fs::write(repo.sibling("approve.toml"), approve).unwrap();
    let policy = repo.sibling("approve.toml").to_string_lossy().into_owned();
    repo.gate(&["check", "--env", "production", "--release", "v1", "--config", &policy])
        .expect(1)
        .stdout_has("production is frozen");
    repo.gate(&["evidence", "add", "approval", "--release", "v1", "--for", "rollback", "--detail", "LDAP outage"])
        .expect(0);
    repo.gate(&["check", "--env", "production", "--release", "v1", "--config", &policy]).expect(0);
}

/// Staging got v2 at 11:00 and went back to v1 at 11:05: by 12:00 v2 has run in staging for five
/// minutes, not an hour, and the message tells that story.
#[test]
fn an_interrupted_soak_counts_only_the_time_it_ran() {
    let repo = TestRepo::with_files(&[("app/server.py", "def serve():\n    return 'ok'\n")]);
    repo.git(&["tag", "v1"]);
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(31 * 60);
    repo.gate(&["evidence", "add", "approval", "--for", "rollback", "--detail", "first deploy"]).expect(0);
    repo.gate(&["record", "--env", "production"]).expect(0);
    repo.write("app/server.py", "def serve():\n    return 'faster'\n");
    repo.commit("faster");
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(5 * 60);
    repo.gate(&["record", "--env", "staging", "--release", "v1"]).expect(0);
    repo.advance(55 * 60);
    repo.gate(&["check", "--env", "production"])
        .expect(1)
        .stdout_has("production requires 30m of soak in staging (from the default pack)")
        .stdout_has(": staging ran the release tree 09:33\u{2013}09:38 (5m), then it was replaced (by tree ")
        .stdout_has("a soak is one unbroken period");
    // Back in staging: the soak counts from the new period only, and the message says so.
    repo.gate(&["record", "--env", "staging", "--release", "main"]).expect(0);
    repo.advance(12 * 60);
    repo.gate(&["check", "--env", "production"]).expect(1).stdout_has("in staging for 12m of 30m (since ");
    repo.advance(19 * 60);
    repo.gate(&["check", "--env", "production"]).expect(0);
}

/// docs/rollout.md's worked trunk-based example, step by step, with the policy it shows.
#[test]
fn the_trunk_based_example_of_docs_rollout_md_is_true() {
    let doc = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/rollout.md")).unwrap();
    let example = doc.split("## A worked example: trunk-based").nth(1).unwrap();
    let policy = example.split("```toml\n").nth(1).unwrap().split("```").next().unwrap();
    let policy = policy.trim_start_matches("# gate.toml\n");
    let repo = TestRepo::with_files(&[("gate.toml", policy), ("app/server.py", "def serve():\n    return 'ok'\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.gate(&["record", "--env", "production", "--force", "--reason", "adopting gate"]).expect(0);

    // 1. A pull request: content blocks, what production still needs is listed.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("app/server.py", "def serve():\n    return 'faster'\n");
    repo.commit("faster");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"]);
    assert!(example.contains("gate check --env production --stage review"));
    repo.gate(&["check", "--env", "production", "--stage", "review"])
        .expect(0)
        .stdout_has("before production this release still needs");

    // 2. Tests recorded for the merged tree, only because they passed.
    std::fs::create_dir_all(repo.path().join("reports")).unwrap();
    let copy = format!("cp '{}' reports/unit.xml", report(PASSING));
    repo.gate(&["evidence", "add", "tests", "--junit", "reports/*.xml", "--", "sh", "-c", &copy]).expect(0);

    // 3. Staging: check, deploy, record.
    let good = repo.rev("HEAD");
    repo.gate(&["deploy", "--env", "staging", "--", "sh", "-c", "echo deployed to staging"])
        .expect(0)
        .stdout_has("deployed to staging");

    // 4. Production, an hour later (Monday 10:33 in Berlin: no freeze).
    repo.gate(&["deploy", "--env", "production", "--", "true"]).expect(1).stderr_has("of soak in staging");
    repo.advance(61 * 60);
    repo.gate(&["deploy", "--env", "production", "--", "true"]).expect(0);

    // 5. A bad release went out; on Friday at 17:00 in Berlin production is failing and frozen.
    repo.write("app/server.py", "def serve():\n    return 'broken'\n");
    repo.commit("broken");
    repo.gate(&["record", "--env", "production", "--force", "--reason", "the bad release"]).expect(0);
    let friday_1700_berlin = 1_793_980_800; // 2026-11-06 16:00 UTC
    repo.advance(friday_1700_berlin - repo.now());
    repo.write("app/server.py", "def serve():\n    return 'forward fix'\n");
    repo.commit("forward fix");
    repo.gate(&["deploy", "--env", "production", "--", "true"]).expect(1).stderr_has("production is frozen");
    repo.gate(&["deploy", "--env", "production", "--release", &good, "--", "true"])
        .expect(0)
        .stderr_has("rollback to the deploy of");
    repo.gate(&["reject", "--release", "HEAD~1", "--reason", "broke production"]).expect(0);
}
