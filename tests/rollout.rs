//! Incidents 001-004: nothing reaches production without its tests passing on this exact tree,
//! a soak in staging, the evidence its environment asks for, outside a freeze, and with a deploy
//! to roll back to. The `default` pack asks production for tests, staging first and 30m of soak.

use std::path::PathBuf;

use crate::support::TestRepo;

fn report(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit").join(name).to_string_lossy().into_owned()
}

const PASSING: &str = "nette-tester_no-suite-name.xml";
const FAILING: &str = "go-junit-report_pass-fail-skip.xml";

/// Production runs the first commit; a release is committed on top.
fn release_after_a_deploy(policy: Option<&str>) -> TestRepo {
    let mut files = vec![("app/server.py", "def serve():\n    return 'ok'\n")];
    if let Some(policy) = policy {
        files.push(("gate.toml", policy));
    }
    let repo = TestRepo::with_files(&files);
    repo.gate(&["record", "--env", "production", "--force", "--reason", "first deploy"]).expect(0);
    repo.write("app/server.py", "def serve():\n    return 'faster'\n");
    repo.commit("make it faster");
    repo
}

fn production(repo: &TestRepo) -> crate::support::Run {
    repo.gate(&["check", "--env", "production"])
}

#[test]
fn a_release_with_passing_tests_and_a_soak_in_staging_passes() {
    let repo = release_after_a_deploy(None);
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(31 * 60);
    production(&repo).expect(0).stdout_has("PASS: no blocking findings");
}

#[test]
fn tests_that_ran_on_another_tree_do_not_count_and_the_message_says_which_tree() {
    let repo = release_after_a_deploy(None);
    let tested = repo.rev("HEAD");
    let tested_tree = repo.rev("HEAD^{tree}");
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    repo.write("app/server.py", "def serve():\n    while True:\n        pass\n");
    repo.commit("quick fix before the weekend");
    repo.gate(&["record", "--env", "staging", "--force", "--reason", "the quick fix"]).expect(0);
    repo.advance(31 * 60);
    production(&repo).expect(1).stdout_has(&format!(
        "deny   production requires passing tests for the release tree {}; tests were recorded for tree {} (commit {}, 1 commit before the release), which is not the tree that would ship",
        &repo.rev("HEAD^{tree}")[..10],
        &tested_tree[..10],
        &tested[..10]
    ));
}

#[test]
fn no_tests_at_all_blocks() {
    let repo = release_after_a_deploy(None);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(31 * 60);
    production(&repo)
        .expect(1)
        .stdout_has("production requires passing tests, and none are recorded for the release tree")
        .stdout_has("help: run the tests on this exact tree and record them: gate evidence add tests --junit");
}

#[test]
fn failing_tests_block_and_are_named() {
    let repo = release_after_a_deploy(None);
    repo.gate(&["evidence", "add", "tests", "--junit", &report(FAILING)]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(31 * 60);
    production(&repo)
        .expect(1)
        .stdout_has("deny   the tests of this release tree failed: 5 tests: 2 passed, 1 failed, 2 skipped")
        .stdout_has("package/fail::TestOne");
    // A passing rerun on the same tree supersedes it.
    repo.advance(60);
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    production(&repo).expect(0);
}

#[test]
fn skipping_staging_blocks() {
    let repo = release_after_a_deploy(None);
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    let run = production(&repo).expect(1);
    run.stdout_has("staged-rollout")
        .stdout_has("deny   the release tree was never deployed to staging (production requires it)")
        .stdout_has("help: deploy this release to staging first, then record it: gate record --env staging");
}

#[test]
fn a_soak_that_is_too_short_blocks_with_the_time_left() {
    let repo = release_after_a_deploy(None);
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(12 * 60);
    production(&repo).expect(1).stdout_has(
        "deny   production requires 30m of soak in staging (from the default pack): the release tree has been in staging for 12m of 30m (since 09:02), 18m to go",
    );
}

#[test]
fn a_config_change_needs_staging_even_where_the_environment_does_not() {
    let repo = release_after_a_deploy(Some("[environments.canary]\n"));
    repo.gate(&["record", "--env", "canary", "--release", "HEAD~1", "--force", "--reason", "fixture"]).expect(0);
    repo.write("config/auth.yaml", "ldap:\n  host: ldap.corp:389\n");
    repo.commit("point at the new auth servers");
    repo.gate(&["check", "--env", "canary"]).expect(1).stdout_has(
        "the release tree was never deployed to staging (the release changes configuration (config/auth.yaml))",
    );
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(31 * 60);
    repo.gate(&["check", "--env", "canary"]).expect(0);
}

#[test]
fn other_evidence_kinds_and_their_age_are_required() {
    let repo = release_after_a_deploy(Some(
        "[environments.production]\nevidence = [\"tests\", \"backup\"]\nevidence-max-age = { backup = \"24h\" }\n",
    ));
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(31 * 60);
    production(&repo)
        .expect(1)
        .stdout_has("deny   production requires `backup` evidence no older than 24h, and none is recorded");
    repo.gate(&["evidence", "add", "backup", "--detail", "snapshot 42"]).expect(0);
    production(&repo).expect(0);
    repo.advance(25 * 3600);
    production(&repo)
        .expect(1)
        .stdout_has("deny   production requires `backup` evidence no older than 24h; the newest is 25h old (recorded by Dana Deployer <dana@example.com>)");
}

#[test]
fn a_deploy_inside_a_freeze_is_blocked_until_approved() {
    // The fixture clock starts on Monday 2026-11-02 09:00 UTC, which is 10:00 in Berlin.
    let repo = release_after_a_deploy(Some(
        "[environments.production]\nfreeze = [\"Mon 09:30 .. Mon 17:00\", \"2026-12-24 .. 2026-12-26\"]\ntimezone = \"Europe/Berlin\"\n",
    ));
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(31 * 60);
    production(&repo)
        .expect(1)
        .stdout_has("deny   production is frozen (Mon 09:30 .. Mon 17:00, Europe/Berlin): it is Mon 2026-11-02 10:33 there, the freeze ends Mon 2026-11-02 17:00 (in 6h 27m)");
    repo.gate(&[
        "evidence",
        "add",
        "approval",
        "--for",
        "freeze",
        "--detail",
        "incident fix, approved by the on-call lead",
    ])
    .expect(0);
    production(&repo)
        .expect(0)
        .stdout_has("waived production is frozen")
        .stdout_has("waived: approved by Dana Deployer <dana@example.com>: incident fix, approved by the on-call lead");
}

#[test]
fn a_freeze_window_that_does_not_parse_is_a_policy_error() {
    let repo = TestRepo::with_files(&[(
        "gate.toml",
        "[environments.production]\nfreeze = [\"Friday afternoon\"]\ntimezone = \"Mars/Olympus\"\nsoak = \"a while\"\nrequires = [\"stagin\"]\n",
    )]);
    let run = repo.gate(&["check", "--env", "production"]).expect(2);
    run.stderr_has("`Friday afternoon` is not a freeze window")
        .stderr_has("unknown time zone `Mars/Olympus`")
        .stderr_has("`a while` is not a duration")
        .stderr_has("production requires `stagin`, which is not an environment")
        .stderr_has("did you mean `staging`?");
}

#[test]
fn the_first_deploy_to_production_has_nothing_to_roll_back_to() {
    let repo = TestRepo::with_files(&[("app/server.py", "def serve():\n    return 'ok'\n")]);
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(31 * 60);
    production(&repo).expect(1).stdout_has(
        "deny   no deploy of production is recorded: there is nothing to roll back to if this release fails",
    );
    repo.gate(&["evidence", "add", "approval", "--for", "rollback", "--detail", "first deploy"]).expect(0);
    production(&repo).expect(0);
}

#[test]
fn a_release_that_does_not_descend_from_the_last_deploy_is_blocked() {
    let repo = release_after_a_deploy(None);
    repo.gate(&["record", "--env", "production", "--force", "--reason", "fixture"]).expect(0);
    let deployed = repo.rev("HEAD");
    // History rewritten underneath production: the release is built on the commit before it.
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    repo.write("app/other.py", "x = 1\n");
    repo.commit("rewritten");
    repo.gate(&["evidence", "add", "tests", "--junit", &report(PASSING)]).expect(0);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.advance(31 * 60);
    production(&repo).expect(1).stdout_has(&format!(
        "deny   the release does not descend from the last deploy of production ({})",
        &deployed[..10]
    ));
}

#[test]
fn test_results_that_name_a_script_count_as_its_test() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("bin/rotate-logs.sh", "#!/bin/sh\nset -eu\nfind /var/log/app -mtime +7 -delete\n");
    repo.commit("log rotation");
    repo.write(
        "reports/bats.xml",
        "<testsuite name='bats'><testcase classname='bin/rotate-logs.sh' name='deletes old logs'/></testsuite>\n",
    );
    let before = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    assert!(before["findings"].as_array().unwrap().iter().any(|f| f["check"] == "untested-change"));
    repo.gate(&["evidence", "add", "tests", "--junit", "reports/bats.xml"]).expect(0);
    let after = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    assert!(!after["findings"].as_array().unwrap().iter().any(|f| f["check"] == "untested-change"), "{after:#}");
}

/// Issue 13: a pull request's merge commit is a tree nobody deployed to staging and nobody tested
/// yet. As a required check (`--stage review`) it passes on its content and says what it still
/// needs; right before rollout (`--stage deploy`, the default with --env) the same tree blocks.
#[test]
fn a_merge_commit_passes_at_review_and_blocks_at_deploy() {
    let repo = release_after_a_deploy(None);
    repo.git(&["checkout", "-q", "-b", "feature", "HEAD~1"]);
    repo.write("app/cache.py", "def cache():\n    return {}\n");
    repo.commit("a cache");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"]);

    let review = repo.gate(&["check", "--env", "production", "--stage", "review"]).expect(0);
    review
        .stdout_has("PASS: no blocking findings")
        .stdout_has("before production this release still needs (not blocking at review)")
        .stdout_has("test-evidence")
        .stdout_has("staged-rollout")
        .stdout_has("the release tree was never deployed to staging");
    let json = repo.gate(&["check", "--env", "production", "--stage", "review", "--format", "json"]).json();
    assert_eq!(json["stage"], "review");
    let needs: Vec<&str> =
        json["still_needs"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap()).collect();
    assert!(needs.contains(&"test-evidence") && needs.contains(&"staged-rollout"), "{needs:?}");
    assert!(json["findings"].as_array().unwrap().iter().all(|f| f["check"] != "staged-rollout"));

    production(&repo).expect(1).stdout_has("deny   the release tree was never deployed to staging");
    repo.gate(&["check", "--env", "production", "--stage", "deploy"]).expect(1);
}

/// README's "In 30 seconds" flow, command by command, says what the README says it says.
#[test]
fn the_readme_30_second_flow_is_true_as_written() {
    let readme = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("## In 30 seconds").nth(1).unwrap().split("\n## ").next().unwrap();
    let repo = TestRepo::with_files(&[
        ("gate.toml", "[checks.blast-radius]\nmax-files = 50\n"),
        ("web/index.html", "<p>ok</p>\n"),
    ]);
    assert!(section.contains("gate record --env staging ") && section.contains("gate record --env production\n"));
    repo.gate(&["record", "--env", "staging"]).expect(0).stdout_has("the first deploy recorded for staging");
    repo.gate(&["record", "--env", "production"]).expect(0);
    repo.write("gate.toml", "[checks.blast-radius]\nmax-files = 500\n");
    repo.write("web/index.html", "<p>faster</p>\n");
    repo.write("web/app.css", "p { color: red; }\n");
    repo.commit("Loosen the gate");
    repo.gate(&["diff", "--env", "production"]).expect(0).stdout_has("gate.toml");
    std::fs::create_dir_all(repo.path().join("reports")).unwrap();
    std::fs::copy(report(PASSING), repo.path().join("reports/unit.xml")).unwrap();
    repo.gate(&["evidence", "add", "tests", "--junit", "reports/*.xml"]).expect(0);
    let blocked = repo.gate(&["check", "--env", "staging"]).expect(1);
    for line in section
        .lines()
        .filter(|l| l.starts_with("  deny") || l.starts_with("         help") || l.starts_with("BLOCKED"))
    {
        assert!(blocked.stdout.contains(line.trim_end()), "README line {line:?} not in:\n{}", blocked.stdout);
    }
    assert!(blocked.stdout.contains("changes  3 files"), "{}", blocked.stdout);
    let approve = section.lines().find(|l| l.starts_with("gate evidence add approval")).unwrap();
    let args: Vec<String> = shell_words(approve.split('#').next().unwrap());
    let args: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    repo.gate(&args).expect(0);
    // The user's own deploy script, beside the repository's files.
    repo.write("deploy.sh", "#!/bin/sh\necho \"deployed to $1\"\n");
    let script = repo.path().join("deploy.sh");
    let mut permissions = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).unwrap();
    assert!(section.contains("gate deploy --env staging -- ./deploy.sh staging "));
    repo.gate(&["deploy", "--env", "staging", "--", "./deploy.sh", "staging"])
        .expect(0)
        .stdout_has("deployed to staging")
        .stderr_has("recorded: ");
    assert!(section.contains("# ... 30 minutes later"), "the README must say the soak passes first");
    repo.advance(31 * 60);
    assert!(section.contains("gate deploy --env production -- ./deploy.sh production "));
    let deployed = repo.gate(&["deploy", "--env", "production", "--", "./deploy.sh", "production"]).expect(0);
    let deployed = deployed.stdout_has("deployed to production").stderr_has("PASS: no blocking findings (1 waived)");
    assert!(!deployed.stderr.contains("warning"), "{}", deployed.stderr);
    assert!(section.contains("PASS: no blocking findings (1 waived)"));
}

/// Words of a README command line: spaces split, double quotes group.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut word, mut quoted) = (String::new(), false);
    for c in line.trim().chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Issue 13, stop the line: a lock stops every deploy-stage check of its environment (not the
/// review of a pull request), with who and why; unlocking lifts it. A rejected tree is refused
/// by every environment at every stage. `gate status` shows both.
#[test]
fn lock_unlock_and_reject_change_the_verdict() {
    let repo = release_after_a_deploy(Some("[environments.staging]\n"));
    repo.gate(&["check", "--env", "staging"]).expect(0);
    repo.gate(&["lock", "--env", "staging", "--reason", "incident 1234: database failover"])
        .expect(0)
        .stdout_has("locked staging");
    repo.gate(&["lock", "--env", "staging", "--reason", "again"])
        .expect(2)
        .stderr_has("already locked by Dana Deployer");
    repo.gate(&["check", "--env", "staging"])
        .expect(1)
        .stdout_has("deny   staging is locked by Dana Deployer <dana@example.com> since 2026-11-02 09:")
        .stdout_has(": incident 1234: database failover");
    repo.gate(&["check", "--env", "staging", "--stage", "review"]).expect(0).stdout_has("staging is locked");
    repo.gate(&["status", "--env", "staging"]).expect(0).stdout_has("LOCKED by Dana Deployer");
    repo.gate(&["unlock", "--env", "staging"]).expect(0).stdout_has("unlocked staging");
    repo.gate(&["unlock", "--env", "staging"]).expect(2).stderr_has("staging is not locked");
    repo.gate(&["check", "--env", "staging"]).expect(0);

    repo.gate(&["reject", "--reason", "corrupts sessions"]).expect(0).stdout_has("rejected tree");
    for stage in ["review", "deploy"] {
        repo.gate(&["check", "--env", "staging", "--stage", stage])
            .expect(1)
            .stdout_has("deny   this release tree was rejected by Dana Deployer <dana@example.com>")
            .stdout_has("corrupts sessions");
    }
    repo.gate(&["status"]).expect(0).stdout_has("rejected tree").stdout_has("corrupts sessions");
    repo.gate(&["reject", "--reason", "  "]).expect(2).stderr_has("a reason is required");
}
