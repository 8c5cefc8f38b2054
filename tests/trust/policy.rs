//! Waivers and severities: nothing in the release waives or lowers `policy-change`, and what a
//! release loosens in its own gate.toml waits until that policy is deployed.

use super::{LOOP, deployed, staging};

#[test]
fn a_release_that_waives_policy_change_in_its_own_gate_toml_is_blocked() {
    // Regression (issue 12): one commit added a [[waivers]] entry for policy-change, switched
    // the other checks off, and passed.
    let repo = deployed(&[("README", "app\n")]);
    repo.write(
        "gate.toml",
        "[checks.risky-pattern]\nseverity = \"off\"\n\n[[waivers]]\ncheck = \"policy-change\"\npath = \"*\"\nreason = \"trust me\"\nexpires = \"2027-12-31\"\n",
    );
    repo.write("bin/sync.sh", LOOP);
    repo.commit("waive the gate");
    staging(&repo)
        .expect(1)
        .stdout_has("deny   gate.toml: the release changes the gate policy (added)")
        .stdout_has("the waiver at gate.toml:5 for policy-change is ignored: nothing waives policy-change")
        .stdout_has("the release lowers risky-pattern from deny to off; that is not in force until the release's policy is deployed")
        .stdout_has("deny   bin/sync.sh:2: an unbounded loop");
}

#[test]
fn an_approved_policy_change_still_cannot_switch_checks_off_before_it_is_deployed() {
    let repo = deployed(&[("README", "app\n")]);
    repo.write("gate.toml", "[checks.risky-pattern]\nseverity = \"off\"\n");
    repo.write("bin/sync.sh", LOOP);
    repo.commit("switch off risky-pattern");
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed by Sam"]).expect(0);
    staging(&repo)
        .expect(1)
        .stdout_has("waived gate.toml: the release changes the gate policy")
        .stdout_has("the release lowers risky-pattern from deny to off")
        .stdout_has("deny   bin/sync.sh:2: an unbounded loop")
        .stdout_has("BLOCKED: 1 deny finding stops this release");
}

#[test]
fn a_waiver_the_release_adds_waits_for_its_deploy_and_one_already_deployed_applies() {
    let waiver = "[[waivers]]\ncheck = \"risky-pattern\"\npath = \"bin/sync.sh\"\nreason = \"the loop is the daemon\"\nexpires = \"2027-12-31\"\n";
    let repo = deployed(&[("README", "app\n")]);
    repo.write("gate.toml", waiver);
    repo.write("bin/sync.sh", LOOP);
    repo.commit("the sync daemon, waived");
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed"]).expect(0);
    staging(&repo)
        .expect(1)
        .stdout_has("the waiver at gate.toml:2 (risky-pattern on bin/sync.sh) is not in force until deployed")
        .stdout_has("deny   bin/sync.sh:2: an unbounded loop");

    // Deployed with the waiver, a later release that touches the script is waived.
    let repo = deployed(&[("README", "app\n"), ("gate.toml", waiver)]);
    repo.write("bin/sync.sh", LOOP);
    repo.commit("the sync daemon");
    staging(&repo).expect(0).stdout_has("waived: the loop is the daemon, until 2027-12-31 (gate.toml:2)");

    // A release that rewrites the reason has a waiver the deployed policy does not have.
    repo.write("gate.toml", &waiver.replace("the loop is the daemon", "whatever"));
    repo.commit("reword the waiver");
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed"]).expect(0);
    staging(&repo).expect(1).stdout_has("is not in force until deployed");
}

#[test]
fn the_floor_is_read_from_the_deployed_gate_toml_and_its_own_extends() {
    // Regression (issue 12): the deployed policy was read from the first pack the release's
    // gate.toml extended, not from the deployed gate.toml, so its own settings gave no floor.
    let repo = deployed(&[
        (
            "gate.toml",
            "extends = [\"default\", \"ops/pack.toml\"]\n\n[checks.blast-radius]\nseverity = \"deny\"\nmax-files = 1\n",
        ),
        ("ops/pack.toml", "[checks.near-duplicate]\nthreshold = 0.9\n"),
    ]);
    repo.write(
        "gate.toml",
        "extends = [\"default\", \"ops/pack.toml\"]\n\n[checks.blast-radius]\nseverity = \"warn\"\nmax-files = 1\n",
    );
    repo.write("a.txt", "a\n");
    repo.commit("relax the blast radius");
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed"]).expect(0);
    staging(&repo)
        .expect(1)
        .stdout_has("the release lowers blast-radius from deny to warn")
        .stdout_has("deny   2 files change since the last deploy of staging (cap 1)");
}

#[test]
fn an_approval_names_what_it_approves_and_covers_nothing_else() {
    // Regression (issue 12): one approval waived policy-change, freeze-window, rollback-ready
    // and config-risk at once.
    let repo = deployed(&[
        ("README", "app\n"),
        ("gate.toml", "[environments.staging]\nfreeze = [\"Mon 00:00 .. Mon 23:59\"]\n"),
    ]);
    repo.write("README", "app, documented\n");
    repo.commit("docs");
    staging(&repo).expect(1).stdout_has("deny   staging is frozen");
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed the policy"]).expect(0);
    staging(&repo).expect(1).stdout_has("deny   staging is frozen");
    repo.gate(&["evidence", "add", "approval", "--for", "freeze", "--detail", "incident fix"]).expect(0);
    staging(&repo).expect(0).stdout_has("waived staging is frozen").stdout_has("incident fix");

    repo.gate(&["evidence", "add", "approval", "--detail", "x"])
        .expect(2)
        .stderr_has("an approval must say what it approves");
    repo.gate(&["evidence", "add", "approval", "--for", "freeze"]).expect(2).stderr_has("an approval needs a --detail");
    repo.gate(&["evidence", "add", "backup", "--for", "freeze"]).expect(2).stderr_has("--for goes with approvals");
}

#[test]
fn an_approval_recorded_without_a_purpose_approves_nothing() {
    let repo = deployed(&[("README", "app\n")]);
    repo.write("gate.toml", "[checks.blast-radius]\nmax-files = 1000\n");
    repo.commit("policy");
    let (tree, commit) = (repo.rev("HEAD^{tree}"), repo.rev("HEAD"));
    let record = format!(
        r#"{{"kind":"approval","tree":"{tree}","commit":"{commit}","by":"Old <old@example.com>","at":"2026-11-02T09:00:00Z","detail":"ok"}}"#
    );
    repo.git(&["notes", "--ref", "gate", "add", "-m", &record, &tree]);
    staging(&repo)
        .expect(1)
        .stdout_has("deny   gate.toml: the release changes the gate policy")
        .stdout_has("warn   approval evidence recorded 2026-11-02T09:00:00Z by Old <old@example.com> does not count: it does not say what it approves");
}
