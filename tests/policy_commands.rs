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
fn waive_adds_a_valid_waiver_that_silences_the_finding() {
    let repo = TestRepo::with_files(&[("gate.toml", "# our policy\n[checks.blast-radius]\nmax-files = 1\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("a.txt", "a\n");
    repo.write("b.txt", "b\n");
    repo.commit("two files");
    repo.gate(&["check", "--env", "staging"]).expect(0).stdout_has("warn   2 files change");

    repo.gate(&["waive", "blast-radius", "--path", "*", "--reason", "bulk import", "--expires", "2026-12-31"])
        .expect(0)
        .stdout_has("added a waiver for blast-radius on * until 2026-12-31");
    let text = std::fs::read_to_string(repo.path().join("gate.toml")).unwrap();
    assert!(text.starts_with("# our policy\n"), "existing text and comments are kept:\n{text}");
    assert!(text.contains("[[waivers]]\ncheck   = \"blast-radius\""), "{text}");

    // Until it is committed, the edit is not part of the release and does not count.
    repo.gate(&["check", "--env", "staging"])
        .expect(0)
        .stdout_has("warn   2 files change")
        .stdout_has("gate.toml in the working tree differs from the release's; the release's committed policy is used");

    repo.commit("waive the bulk import");
    // The waiver is a policy change, which needs approval; and a waiver the release adds to its
    // own policy is not in force until that policy is deployed.
    repo.gate(&["check", "--env", "staging", "--deny-warnings"])
        .expect(1)
        .stdout_has("warn   3 files change")
        .stdout_has("(blast-radius on *) is not in force until deployed: the deployed policy does not have it")
        .stdout_has("the release changes the gate policy");
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed"]).expect(0);
    repo.gate(&["check", "--env", "staging"]).expect(0).stdout_has("PASS: no blocking findings (1 warning, 1 waived)");
    // Once the policy is deployed, the waiver is in force.
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("c.txt", "c\n");
    repo.write("d.txt", "d\n");
    repo.commit("two more files");
    repo.gate(&["check", "--env", "staging", "--deny-warnings"])
        .expect(0)
        .stdout_has("waived: bulk import, until 2026-12-31 (gate.toml:")
        .stdout_has("PASS: no blocking findings (1 waived)");
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
fn waive_rejects_bad_input_without_touching_the_file() {
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
