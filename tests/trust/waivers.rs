//! `gate waive` records a waiver as evidence bound to the release tree; nothing waives
//! `policy-change`, and a waiver that matches nothing says so.

use super::{LOOP, deployed, staging};

#[test]
fn a_recorded_waiver_silences_its_finding_on_this_tree_only() {
    let repo = deployed(&[("README", "app\n")]);
    repo.write("bin/sync.sh", LOOP);
    repo.commit("the sync daemon");
    staging(&repo).expect(1).stdout_has("deny   bin/sync.sh:2: an unbounded loop");
    repo.gate(&[
        "waive",
        "risky-pattern",
        "--path",
        "bin/sync.sh",
        "--reason",
        "the daemon loops",
        "--expires",
        "2027-01-31",
    ])
    .expect(0);
    staging(&repo)
        .expect(0)
        .stdout_has("waived bin/sync.sh:2: an unbounded loop")
        .stdout_has("waived: the daemon loops, until 2027-01-31 (waiver evidence recorded");
    // The same tree under another commit (a rebase) keeps it; another tree does not.
    repo.advance(60);
    repo.git(&["commit", "-q", "--amend", "-m", "the sync daemon, reworded"]);
    staging(&repo).expect(0);
    repo.write("bin/sync.sh", &format!("{LOOP}# more\n"));
    repo.commit("touch it");
    staging(&repo).expect(1).stdout_has("deny   bin/sync.sh:2: an unbounded loop");
}

#[test]
fn gate_waive_refuses_policy_change() {
    // Regression (issue 12): `gate waive policy-change --path '*'` let a release through.
    let repo = deployed(&[("README", "app\n")]);
    repo.write("gate.toml", "[checks.risky-pattern]\nseverity = \"off\"\n");
    repo.commit("policy");
    repo.gate(&["waive", "policy-change", "--path", "*", "--reason", "trust me", "--expires", "2027-01-31"])
        .expect(2)
        .stderr_has("policy-change cannot be waived")
        .stderr_has("gate evidence add approval --for policy-change");
    repo.gate(&["evidence", "list"]).expect(0).stdout_has("none recorded");
    staging(&repo).expect(1).stdout_has("deny   gate.toml: the release changes the gate policy");
}

#[test]
fn a_waiver_record_for_policy_change_written_by_hand_is_ignored() {
    let repo = deployed(&[("README", "app\n")]);
    repo.write("gate.toml", "[checks.risky-pattern]\nseverity = \"off\"\n");
    repo.commit("policy");
    let (tree, commit) = (repo.rev("HEAD^{tree}"), repo.rev("HEAD"));
    let record = format!(
        r#"{{"kind":"waiver","tree":"{tree}","commit":"{commit}","by":"Mallory <m@example.com>","at":"2026-11-02T09:00:00Z","detail":"trust me","waiver":{{"check":"policy-change","path":"*","expires":"2027-01-31"}}}}"#
    );
    repo.git(&["notes", "--ref", "gate", "add", "-m", &record, &tree]);
    staging(&repo)
        .expect(1)
        .stdout_has("the waiver evidence recorded 2026-11-02T09:00:00Z by Mallory <m@example.com> for policy-change is ignored: nothing waives policy-change")
        .stdout_has("deny   gate.toml: the release changes the gate policy");
}

#[test]
fn a_waiver_that_matches_no_finding_is_reported_as_unused() {
    let repo = deployed(&[("README", "app\n")]);
    repo.write("README", "app, documented\n");
    repo.commit("docs");
    repo.gate(&["waive", "risky-pattern", "--path", "bin/*.sh", "--reason", "just in case", "--expires", "2027-01-31"])
        .expect(0);
    staging(&repo).expect(0).stdout_has("is unused: no finding of risky-pattern matches bin/*.sh");
}
