//! Binding and time: a record counts only for the tree its note is attached to, with a time
//! that is not in the future; records written while `GATE_NOW` set the clock do not count on
//! the real clock.

use crate::support::{TestRepo, finish};

use super::{deployed, staging};

/// An environment that asks for evidence and nothing else (a config change needs no staging).
const QA_TESTS: &str =
    "[environments.qa]\nevidence = [\"tests\"]\n\n[checks.staged-rollout]\nconfig-changes-require = []\n";
const QA_BACKUP: &str =
    "[environments.qa]\nevidence = [\"backup\"]\n\n[checks.staged-rollout]\nconfig-changes-require = []\n";

const PASSING: &str = "{\"total\":1,\"passed\":1,\"failed\":0,\"errored\":0,\"skipped\":0}";

fn junit(repo: &TestRepo, failures: usize) -> String {
    let cases: String = (0..failures).map(|i| format!("<testcase name='t{i}'><failure/></testcase>")).collect();
    repo.write("reports/junit.xml", &format!("<testsuite name='s'><testcase name='ok'/>{cases}</testsuite>\n"));
    "reports/junit.xml".to_string()
}

/// A record line as gate writes it, for the release tree (or `tree`), at `at`.
fn record(repo: &TestRepo, kind: &str, at: &str, extra: &str) -> String {
    let (tree, commit) = (repo.rev("HEAD^{tree}"), repo.rev("HEAD"));
    format!(
        r#"{{"kind":"{kind}","tree":"{tree}","commit":"{commit}","by":"Mallory <m@example.com>","at":"{at}"{extra}}}"#
    )
}

fn append_note(repo: &TestRepo, line: &str) {
    let tree = repo.rev("HEAD^{tree}");
    repo.git(&["notes", "--ref", "gate", "append", "-m", line, &tree]);
}

#[test]
fn evidence_copied_to_another_tree_does_not_count() {
    // Regression (issue 12): `git notes copy` carried an approval to a tree nobody approved.
    let repo = deployed(&[("gate.toml", "[environments.staging]\nevidence = [\"backup\"]\n")]);
    repo.write("README", "v1\n");
    repo.commit("v1");
    let approved = repo.rev("HEAD^{tree}");
    repo.gate(&["evidence", "add", "backup", "--detail", "snapshot 1"]).expect(0);
    staging(&repo).expect(0);
    repo.write("README", "v2\n");
    repo.commit("v2");
    repo.git(&["notes", "--ref", "gate", "copy", &approved, &repo.rev("HEAD^{tree}")]);
    staging(&repo)
        .expect(1)
        .stdout_has("deny   staging requires `backup` evidence, and none is recorded for the release tree")
        .stdout_has(&format!(
            "deny   backup evidence recorded 2026-11-02T09:02:00Z by Dana Deployer <dana@example.com> does not count: it names tree {} but its note is attached to tree {}",
            &approved[..10],
            &repo.rev("HEAD^{tree}")[..10]
        ));
}

#[test]
fn a_far_future_pass_does_not_hide_a_later_real_failure() {
    // Regression (issue 12): a record dated 9999-12-31 stayed the newest forever.
    let repo = TestRepo::with_files(&[("gate.toml", QA_TESTS)]);
    append_note(&repo, &record(&repo, "tests", "9999-12-31T00:00:00Z", &format!(r#","tests":{PASSING}"#)));
    let report = junit(&repo, 1);
    repo.gate(&["evidence", "add", "tests", "--junit", &report]).expect(0);
    repo.gate(&["check", "--env", "qa"])
        .expect(1)
        .stdout_has("deny   the tests of this release tree failed: 2 tests: 1 passed, 1 failed")
        .stdout_has("deny   tests evidence recorded 9999-12-31T00:00:00Z or later by Mallory <m@example.com> does not count: its time 9999-12-31T00:00:00Z or later is")
        .stdout_has("ahead of the clock (2026-11-02T09:01:00Z); a record cannot come from the future");
}

#[test]
fn a_record_a_few_minutes_ahead_of_the_clock_still_counts() {
    // CI machines' clocks drift; five minutes is tolerated, six is not.
    let repo = TestRepo::with_files(&[("gate.toml", QA_BACKUP)]);
    append_note(&repo, &record(&repo, "backup", "2026-11-02T09:05:59Z", ""));
    repo.gate(&["check", "--env", "qa"]).expect(0);
    let repo = TestRepo::with_files(&[("gate.toml", QA_BACKUP)]);
    append_note(&repo, &record(&repo, "backup", "2026-11-02T09:07:00Z", ""));
    repo.gate(&["check", "--env", "qa"]).expect(1).stdout_has("6m ahead of the clock");
}

#[test]
fn records_written_under_gate_now_do_not_count_on_the_real_clock() {
    let repo = deployed(&[(
        "gate.toml",
        "[environments.qa]\nevidence = [\"backup\"]\n\n[environments.prod]\nrequires = [\"staging\"]\nsoak = \"1m\"\n\n[checks.staged-rollout]\nconfig-changes-require = []\n",
    )]);
    repo.gate(&["evidence", "add", "backup", "--detail", "snapshot"]).expect(0);
    let tree = repo.rev("HEAD^{tree}");
    let note = repo.git(&["notes", "--ref", "gate", "show", &tree]);
    assert!(note.lines().all(|l| l.contains(r#""clock":"overridden""#)), "{note}");
    assert!(repo.git(&["log", "-1", "--format=%B", "refs/gate/deploys/staging"]).contains("Gate-Clock: overridden"));

    // Under GATE_NOW they count, and the verdict says the clock is not the real time.
    repo.advance(120);
    repo.gate(&["check", "--env", "qa"])
        .expect(0)
        .stdout_has("PASS: no blocking findings; the clock is set by GATE_NOW, not the real time");
    repo.gate(&["check", "--env", "prod"]).expect(0);

    // On the real clock, neither the backup nor the staging soak counts.
    let real = |env: &str| {
        let mut command = repo.gate_command(repo.path(), &["check", "--env", env]);
        command.env_remove("GATE_NOW");
        finish(command.output().unwrap())
    };
    real("qa")
        .expect(1)
        .stdout_has("deny   qa requires `backup` evidence, and none is recorded for the release tree")
        .stdout_has("does not count: it was written while GATE_NOW set the clock, so its time is not the real time");
    real("prod").expect(1).stdout_has("the release tree was never deployed to staging");
    assert!(!real("qa").stdout.contains("the clock is set by GATE_NOW"));
}
