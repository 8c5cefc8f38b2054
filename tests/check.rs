//! `gate check` end to end: a deploy is recorded, a release is made, and the verdict, the exit
//! code and the report are what a release owner needs.

use crate::support::TestRepo;

fn deployed_repo() -> TestRepo {
    let repo = TestRepo::with_files(&[("app/run.sh", "#!/bin/sh\necho run\n"), ("README", "app\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo
}

#[test]
fn a_small_release_after_a_recorded_deploy_passes() {
    let repo = deployed_repo();
    let deployed = repo.rev("HEAD");
    repo.write("README", "app, now documented\n");
    let release = repo.commit("docs");

    let run = repo.gate(&["check", "--env", "staging"]).expect(0);
    assert!(run.stderr.is_empty(), "nothing on stderr (no progress off a terminal): {}", run.stderr);
    let run = run
        .stdout_has("gate check: release to staging")
        .stdout_has(&format!("base     {}  last deploy of staging", &deployed[..10]))
        .stdout_has("changes  1 file")
        .stdout_has("PASS: no blocking findings");
    assert!(run.stdout.contains(&release[..10]), "{}", run.stdout);
}

#[test]
fn changing_the_policy_blocks_until_the_release_is_approved() {
    let repo = deployed_repo();
    repo.write("gate.toml", "[checks.blast-radius]\nmax-files = 1000\n");
    repo.commit("loosen the gate");

    repo.gate(&["check", "--env", "staging"])
        .expect(1)
        .stdout_has("policy-change")
        .stdout_has("deny   gate.toml: the release changes the gate policy (added)")
        .stdout_has("help: have this release approved: gate evidence add approval")
        .stdout_has("BLOCKED: 1 deny finding stops this release");

    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed by Sam"]).expect(0);
    repo.gate(&["check", "--env", "staging"])
        .expect(0)
        .stdout_has("waived gate.toml: the release changes the gate policy")
        .stdout_has("approved by Dana Deployer <dana@example.com>: reviewed by Sam")
        .stdout_has("PASS: no blocking findings (1 waived)");
}

#[test]
fn a_release_cannot_switch_off_the_policy_check_for_itself() {
    // Regression guard: the severity of policy-change comes from the deployed policy when that
    // is stricter, so turning the check off in the same release does not let it through.
    let repo = deployed_repo();
    repo.write("gate.toml", "[checks.policy-change]\nseverity = \"off\"\n");
    repo.commit("switch off the policy check");
    repo.gate(&["check", "--env", "staging"]).expect(1).stdout_has("the release changes the gate policy");
}

#[test]
fn approval_for_another_tree_does_not_count() {
    let repo = deployed_repo();
    repo.write("gate.toml", "[checks.blast-radius]\nmax-files = 1000\n");
    repo.commit("loosen the gate");
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed"]).expect(0);
    repo.write("gate.toml", "[checks.blast-radius]\nmax-files = 2000\n");
    repo.commit("loosen it more");
    repo.gate(&["check", "--env", "staging"]).expect(1).stdout_has("BLOCKED");
}

#[test]
fn a_large_release_warns_and_deny_warnings_blocks_it() {
    let repo = deployed_repo();
    repo.write("gate.toml", "[checks.blast-radius]\nmax-files = 2\nmax-commits = 1\n");
    repo.commit("policy");
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed"]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    for i in 0..3 {
        repo.write(&format!("app/file{i}.txt"), "x\n");
        repo.commit(&format!("file {i}"));
    }

    let run = repo.gate(&["check", "--env", "staging"]).expect(0);
    run.stdout_has("warn   3 files change since the last deploy of staging (cap 2)")
        .stdout_has("app/: 3 files")
        .stdout_has("warn   the release carries more than 1 commit since the last deploy of staging (cap 1)")
        .stdout_has("PASS: no blocking findings (2 warnings)");

    repo.gate(&["check", "--env", "staging", "--deny-warnings"])
        .expect(1)
        .stdout_has("BLOCKED: 2 blocking findings stop this release");
}

#[test]
fn json_report_is_versioned_sorted_and_byte_for_byte_repeatable() {
    let repo = deployed_repo();
    repo.write("gate.toml", "[checks.blast-radius]\nmax-files = 1\n");
    repo.write("app/extra.sh", "echo extra\n");
    repo.commit("policy and a script");
    let first = repo.gate(&["check", "--env", "staging", "--format", "json"]).expect(1);
    let second = repo.gate(&["check", "--env", "staging", "--format", "json"]).expect(1);
    assert_eq!(first.stdout, second.stdout, "same inputs must give the same bytes");

    let json = first.json();
    assert_eq!(json["version"], 2);
    assert_eq!(json["verdict"], "blocked");
    assert_eq!(json["environment"], "staging");
    assert_eq!(json["release"], repo.rev("HEAD"));
    assert_eq!(json["base"], repo.rev("HEAD~1"));
    let findings = json["findings"].as_array().unwrap();
    let checks: Vec<&str> = findings.iter().map(|f| f["check"].as_str().unwrap()).collect();
    assert_eq!(checks, ["blast-radius", "policy-change", "untested-change"], "findings sorted by check");
    assert_eq!(findings[1]["severity"], "deny");
    assert_eq!(findings[1]["path"], "gate.toml");
    assert!(findings[1]["message"].as_str().unwrap().contains("changes the gate policy"));
    assert!(!first.stdout.contains('\u{1b}'), "no colour codes in JSON");
}

#[test]
fn report_written_with_output_goes_to_the_file_not_stdout() {
    let repo = deployed_repo();
    let out = repo.sibling("report.json");
    let run =
        repo.gate(&["check", "--env", "staging", "--format", "json", "--output", out.to_str().unwrap()]).expect(0);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["verdict"], "pass");
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let repo = deployed_repo();
    repo.write("gate.toml", "");
    repo.commit("empty policy");
    let coloured = repo.gate(&["check", "--env", "staging", "--color", "always"]).expect(1);
    assert!(coloured.stdout.contains("\u{1b}["), "--color always colours:\n{}", coloured.stdout);
    let plain = repo.gate(&["check", "--env", "staging"]).expect(1);
    assert!(!plain.stdout.contains("\u{1b}["), "NO_COLOR turns colour off:\n{}", plain.stdout);
    let forced = repo
        .gate_in(repo.path(), &["check", "--env", "staging"], &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")])
        .expect(1);
    assert!(forced.stdout.contains("\u{1b}["), "CLICOLOR_FORCE colours a pipe:\n{}", forced.stdout);
}

#[test]
fn with_no_deploy_recorded_the_whole_tree_is_checked_and_the_report_says_so() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    repo.gate(&["check", "--env", "staging"])
        .expect(0)
        .stdout_has("base     none: the whole release tree is checked as a first deploy")
        .stdout_has("changes  2 files")
        .stdout_has("no deploy of staging is recorded in the ledger (refs/gate/deploys/staging)")
        .stdout_has("git fetch origin 'refs/gate/*:refs/gate/*'");
}

#[test]
fn check_runs_on_built_in_defaults_without_any_setup() {
    let repo = TestRepo::with_files(&[("x.sh", "echo x\n")]);
    repo.gate(&["check"]).expect(0).stdout_has("no environment was given (--env) and no --base").stdout_has("PASS");
}

#[test]
fn base_argument_wins_over_the_ledger() {
    let repo = deployed_repo();
    let first = repo.rev("HEAD");
    repo.write("one.txt", "1\n");
    repo.commit("one");
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("two.txt", "2\n");
    repo.commit("two");
    repo.gate(&["check", "--env", "staging", "--base", &first])
        .expect(0)
        .stdout_has(&format!("base     {} (--base {first})", &first[..10]))
        .stdout_has("changes  2 files");
}

#[test]
fn an_annotated_tag_release_is_peeled_to_its_commit() {
    let repo = deployed_repo();
    repo.write("one.txt", "1\n");
    let commit = repo.commit("one");
    repo.git(&["tag", "-a", "v1.0", "-m", "release 1.0"]);
    let run = repo.gate(&["check", "--env", "staging", "--release", "v1.0", "--format", "json"]).expect(0);
    assert_eq!(run.json()["release"], commit);
    assert_eq!(run.json()["release_rev"], "v1.0");
}

#[test]
fn unknown_environment_is_an_error_with_a_suggestion() {
    let repo = deployed_repo();
    repo.gate(&["check", "--env", "prodution"])
        .expect(2)
        .stderr_has("gate: error: unknown environment `prodution`; did you mean `production`?");
}

#[test]
fn unknown_release_revision_exits_2() {
    let repo = deployed_repo();
    repo.gate(&["check", "--release", "no-such-branch"]).expect(2).stderr_has("unknown revision `no-such-branch`");
}

#[test]
fn bad_arguments_exit_2() {
    let repo = deployed_repo();
    let run = repo.gate(&["check", "--format", "yaml"]).expect(2);
    assert!(run.stderr.contains("invalid value 'yaml'"), "{}", run.stderr);
}

#[test]
fn a_reader_that_goes_away_does_not_change_the_verdict() {
    // `gate check | head -1`: the reader closes the pipe before gate writes; the exit code must
    // still be the verdict, not an error about the pipe.
    let repo = deployed_repo();
    repo.write("gate.toml", "[checks.blast-radius]\nmax-files = 1000\n");
    repo.commit("loosen the gate");
    let mut child = repo
        .gate_command(repo.path(), &["check", "--env", "staging"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// `GATE_READS_LOG` lists what a run read, so a benchmark can time `git cat-file --batch` over
/// exactly those blobs. A cold run reads the added script and the file beside it; a re-run on
/// the same release knows them from its cache and reads neither. A file it cannot open is an
/// error, not an empty list.
#[test]
fn the_reads_log_lists_the_blobs_a_run_read() {
    let repo = TestRepo::with_files(&[("app/core.py", "def core():\n    return 1\n"), ("README", "app\n")]);
    let base = repo.rev("HEAD");
    repo.write("app/helper.py", "def helper():\n    return 2\n");
    repo.commit("helper");
    let log = repo.sibling("reads.txt");
    let log_arg = log.to_str().unwrap();
    let listed = || -> Vec<String> {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        std::fs::remove_file(&log).ok();
        text.lines().map(str::to_string).collect()
    };
    let root = repo.path().to_path_buf();
    repo.gate_in(&root, &["check", "--base", &base], &[("GATE_READS_LOG", log_arg)]).expect(0);
    let cold = listed();
    for path in ["app/helper.py", "app/core.py"] {
        let id = repo.rev(&format!("HEAD:{path}"));
        assert!(cold.contains(&id), "the cold run read {path} ({id}); listed: {cold:?}");
    }
    for id in &cold {
        assert_eq!(repo.git(&["cat-file", "-t", id]).trim(), "blob", "only blobs are listed: {id}");
    }

    repo.gate_in(&root, &["check", "--base", &base], &[("GATE_READS_LOG", log_arg)]).expect(0);
    let warm = listed();
    assert!(warm.is_empty(), "a re-run reads nothing it knows: {warm:?}");

    let unwritable = repo.sibling("no-such-dir/reads.txt");
    repo.gate_in(&root, &["check", "--base", &base], &[("GATE_READS_LOG", unwritable.to_str().unwrap())])
        .expect(2)
        .stderr_has("cannot open")
        .stderr_has("GATE_READS_LOG");
}
