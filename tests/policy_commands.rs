//! `gate init`, `gate checks`, `gate explain`, `gate waive`: the commands around the policy.

use crate::support::TestRepo;

#[test]
fn init_writes_a_policy_that_passes_validation_and_refuses_to_overwrite() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    repo.gate(&["init"]).expect(0).stdout_has("wrote");
    let text = std::fs::read_to_string(repo.path().join("gate.toml")).unwrap();
    assert!(text.starts_with("# gate.toml"), "{text}");
    repo.gate(&["checks"]).expect(0).stdout_has_row("policy-change    deny      gate.toml:");
    repo.gate(&["init"]).expect(2).stderr_has("already exists; pass --force to overwrite it");
    repo.gate(&["init", "--force"]).expect(0);
}

#[test]
fn checks_lists_every_check_with_severity_and_source() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    repo.gate(&["checks"])
        .expect(0)
        .stdout_has("policy: rules/default.toml\n")
        .stdout_has("CHECK")
        .stdout_has_row("blast-radius     warn      built-in; options from rules/default.toml:")
        .stdout_has_row("policy-change    deny      built-in");
}

#[test]
fn explain_prints_what_why_example_and_config() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    repo.gate(&["explain", "blast-radius"])
        .expect(0)
        .stdout_has("blast-radius (default severity: warn)")
        .stdout_has("Why:")
        .stdout_has("Example:")
        .stdout_has("Configuration:")
        .stdout_has("max-files");
    repo.gate(&["explain", "blast-radios"])
        .expect(2)
        .stderr_has("unknown check `blast-radios`; did you mean `blast-radius`?");
}

#[test]
fn waive_records_a_waiver_for_the_release_tree_and_leaves_gate_toml_alone() {
    let repo = TestRepo::with_files(&[("gate.toml", "# our policy\n[checks.blast-radius]\nmax-files = 1\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("a.txt", "a\n");
    repo.write("b.txt", "b\n");
    repo.commit("two files");
    repo.gate(&["check", "--env", "staging"]).expect(0).stdout_has("warn   2 files change");

    repo.gate(&["waive", "blast-radius", "--path", "*", "--reason", "bulk import", "--expires", "2026-12-31"])
        .expect(0)
        .stdout_has("recorded a waiver for blast-radius on * until 2026-12-31 for tree")
        .stdout_has("share it: gate sync (or: git push origin 'refs/notes/gate:refs/notes/gate')");
    let text = std::fs::read_to_string(repo.path().join("gate.toml")).unwrap();
    assert_eq!(text, "# our policy\n[checks.blast-radius]\nmax-files = 1\n", "gate.toml is not edited");
    repo.gate(&["evidence", "list"])
        .expect(0)
        .stdout_has("waiver")
        .stdout_has(": blast-radius on * until 2026-12-31: bulk import");

    // The release tree is the same, so no policy changed and nothing else needs approval.
    repo.gate(&["check", "--env", "staging", "--deny-warnings"])
        .expect(0)
        .stdout_has("waived 2 files change")
        .stdout_has("waived: bulk import, until 2026-12-31 (waiver evidence recorded 2026-11-02T09:")
        .stdout_has("PASS: no blocking findings (1 waived)");

    // Another tree does not carry it.
    repo.write("c.txt", "c\n");
    repo.commit("one more");
    repo.gate(&["check", "--env", "staging"]).expect(0).stdout_has("warn   3 files change");
}

#[test]
fn an_expired_waiver_no_longer_applies_and_says_so() {
    let repo = TestRepo::with_files(&[(
        "gate.toml",
        "[checks.blast-radius]\nmax-files = 1\n\n[[waivers]]\ncheck = \"blast-radius\"\npath = \"*\"\nreason = \"old\"\nexpires = 2026-10-01\n",
    )]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("a.txt", "a\n");
    repo.write("b.txt", "b\n");
    repo.commit("two files");
    repo.gate(&["check", "--env", "staging"])
        .expect(0)
        .stdout_has("warn   2 files change since the last deploy of staging (cap 1) (the waiver at gate.toml:5 expired on 2026-10-01)");
}

#[test]
fn waive_rejects_bad_input_and_records_nothing() {
    let repo = TestRepo::with_files(&[("gate.toml", "")]);
    repo.gate(&["waive", "blast-radios", "--path", "*", "--reason", "x", "--expires", "2027-01-01"])
        .expect(2)
        .stderr_has("did you mean `blast-radius`?");
    repo.gate(&["waive", "blast-radius", "--path", "*", "--reason", "x", "--expires", "2020-01-01"])
        .expect(2)
        .stderr_has("is in the past");
    repo.gate(&["waive", "blast-radius", "--path", "*", "--reason", "x", "--expires", "soon"])
        .expect(2)
        .stderr_has("`soon` is not a date");
    assert_eq!(std::fs::read_to_string(repo.path().join("gate.toml")).unwrap(), "");
    repo.gate(&["evidence", "list"]).expect(0).stdout_has("none recorded");
}

#[test]
fn version_completions_and_man_page_come_from_the_cli_definition() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let version = repo.gate(&["--version"]).expect(0).stdout;
    let commit = version.trim().strip_prefix("gate 0.1.0 (").and_then(|rest| rest.strip_suffix(')')).unwrap();
    assert!(commit == "unknown" || (commit.len() == 10 && commit.chars().all(|c| c.is_ascii_hexdigit())), "{version}");
    for shell in ["bash", "zsh", "fish"] {
        let script = repo.gate(&["completions", shell]).expect(0).stdout;
        assert!(script.contains("evidence") && script.contains("deny-warnings"), "{shell}: {script}");
    }
    repo.gate(&["man"]).expect(0).stdout_has(".TH gate 1").stdout_has("deployment safety gate");
    repo.gate(&["completions", "tcsh"]).expect(2);
}
