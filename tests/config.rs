//! The policy file: strict parsing, every error located, all errors at once, exit code 2.

use crate::support::TestRepo;

fn repo_with_policy(policy: &str) -> TestRepo {
    TestRepo::with_files(&[("gate.toml", policy), ("a.txt", "a\n")])
}

#[test]
fn an_unknown_key_is_reported_at_its_line_and_column_with_a_suggestion() {
    let repo = repo_with_policy("[checks.blast-radius]\nmax-files = 10\nmax-comits = 5\n");
    repo.gate(&["check"])
        .expect(2)
        .stderr_has("error: unknown field `max-comits`, expected `max-files` or `max-commits` in [checks.blast-radius]")
        .stderr_has("--> gate.toml:3:1")
        .stderr_has("3 | max-comits = 5")
        .stderr_has("= help: did you mean `max-commits`?")
        .stderr_has("gate: error: the policy has 1 error: fix gate.toml and run gate again");
}

#[test]
fn all_errors_are_collected_and_shown_together() {
    let repo = repo_with_policy(
        "extend = [\"default\"]\n\
         [checks.blast-radios]\n\
         [checks.policy-change]\n\
         severity = \"dny\"\n\
         [paths]\n\
         scripts = [\"[oops\"]\n\
         [[waivers]]\n\
         check = \"policy-change\"\n\
         path = \"gate.toml\"\n\
         reason = \"\"\n\
         expires = \"2027-13-01\"\n",
    );
    let run = repo.gate(&["check"]).expect(2);
    for expected in [
        "unknown key `extend` at the top level",
        "--> gate.toml:1:1",
        "did you mean `extends`?",
        "unknown check `blast-radios` in [checks]",
        "--> gate.toml:2:9",
        "did you mean `blast-radius`?",
        "unknown variant `dny`",
        "--> gate.toml:4:12",
        "did you mean `deny`?",
        "invalid glob `[oops`",
        "--> gate.toml:6:12",
        "a waiver needs a reason",
        "`2027-13-01` is not a date",
        "the policy has 6 errors",
    ] {
        assert!(run.stderr.contains(expected), "missing {expected:?} in:\n{}", run.stderr);
    }
}

#[test]
fn a_toml_syntax_error_is_located() {
    let repo = repo_with_policy("[checks.blast-radius\nmax-files = 1\n");
    repo.gate(&["check"]).expect(2).stderr_has("--> gate.toml:1:").stderr_has("the policy has");
}

#[test]
fn a_wrong_type_is_located() {
    let repo = repo_with_policy("[checks.blast-radius]\nmax-files = \"many\"\n");
    repo.gate(&["check"])
        .expect(2)
        .stderr_has("invalid type: string \"many\", expected u64")
        .stderr_has("--> gate.toml:2:13");
}

#[test]
fn config_flag_reads_another_file_and_a_missing_one_exits_2() {
    let repo = repo_with_policy("");
    repo.write("ci/gate.toml", "[checks.blast-radius]\nseverity = \"deny\"\nmax-files = 1\n");
    repo.commit("ci policy");
    repo.gate(&["checks", "--config", "ci/gate.toml"])
        .expect(0)
        .stdout_has_row("blast-radius     deny      ci/gate.toml:2");
    repo.gate(&["check", "--config", "nowhere.toml"]).expect(2).stderr_has("cannot read the policy file nowhere.toml");
}

#[test]
fn packs_are_merged_in_order_and_the_source_of_each_setting_is_shown() {
    let repo =
        repo_with_policy("extends = [\"default\", \"ops/pack.toml\"]\n[checks.policy-change]\nseverity = \"warn\"\n");
    repo.write("ops/pack.toml", "[checks.blast-radius]\nseverity = \"deny\"\nmax-files = 7\n");
    repo.commit("pack");
    repo.gate(&["checks"])
        .expect(0)
        .stdout_has("policy: rules/default.toml < ops/pack.toml < gate.toml")
        .stdout_has_row("blast-radius     deny      ops/pack.toml:2; options from rules/default.toml:")
        .stdout_has_row("policy-change    warn      gate.toml:3");
}

#[test]
fn an_unknown_pack_and_a_missing_pack_file_are_errors() {
    let repo = repo_with_policy("extends = [\"defualt\", \"ops/missing.toml\"]\n");
    repo.gate(&["check"])
        .expect(2)
        .stderr_has("unknown rule pack `defualt`")
        .stderr_has("did you mean `default`?")
        .stderr_has("rule pack file `ops/missing.toml` does not exist");
}

#[test]
fn a_pack_cycle_is_an_error() {
    let repo = repo_with_policy("extends = [\"a.toml\"]\n");
    repo.write("a.toml", "extends = [\"b.toml\"]\n");
    repo.write("b.toml", "extends = [\"a.toml\"]\n");
    repo.commit("cycle");
    repo.gate(&["check"]).expect(2).stderr_has("`a.toml` extends itself");
}

#[test]
fn extends_empty_starts_from_nothing() {
    let repo = repo_with_policy("extends = []\n");
    let run = repo.gate(&["checks"]).expect(0);
    run.stdout_has("policy: gate.toml\n").stdout_has_row("blast-radius warn built-in").stdout_lacks("options from");
}

#[test]
fn an_invalid_environment_name_is_rejected() {
    let repo = repo_with_policy("[environments.\"Prod/EU\"]\n");
    repo.gate(&["check"]).expect(2).stderr_has("invalid environment name `Prod/EU`");
}
