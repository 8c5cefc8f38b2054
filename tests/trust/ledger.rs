//! The ledger: `gate record` runs the check first; entries are validated when read; deploy
//! tags are ordered by commits, not by the dates their taggers' clocks gave them.

use crate::support::TestRepo;

use super::{LOOP, deployed, staging};

#[test]
fn record_refuses_a_release_its_check_blocks_and_writes_nothing() {
    // Regression (issue 12): `gate record` wrote a deploy of a release gate would have blocked,
    // which then counted as a staging soak for production.
    let repo = deployed(&[("README", "app\n")]);
    let ledger = repo.rev("refs/gate/deploys/staging");
    repo.write("bin/sync.sh", LOOP);
    repo.commit("the quick fix");
    repo.gate(&["record", "--env", "staging"])
        .expect(1)
        .stdout_has("deny   bin/sync.sh:2: an unbounded loop")
        .stderr_has("gate: refused: the check for staging blocks")
        .stderr_has("nothing was recorded. Fix the findings, or record it anyway with --force --reason TEXT");
    assert_eq!(repo.rev("refs/gate/deploys/staging"), ledger, "the ledger did not move");
    repo.gate(&["evidence", "list"]).expect(0).stdout_has("none recorded");

    repo.gate(&["record", "--env", "staging", "--force"]).expect(2).stderr_has("--reason");
    repo.gate(&["record", "--env", "staging", "--force", "--reason", "incident 42: the loop is the fix"])
        .expect(0)
        .stdout_has("forced past a blocking check (1 deny finding stops this release")
        .stdout_has("): incident 42: the loop is the fix");
    let entry = repo.git(&["log", "-1", "--format=%B", "refs/gate/deploys/staging"]);
    assert!(entry.contains("Gate-Forced: incident 42: the loop is the fix"), "{entry}");
    repo.gate(&["status", "--env", "staging"])
        .expect(0)
        .stdout_has("forced past a blocking check: incident 42: the loop is the fix");
    repo.gate(&["evidence", "list"]).expect(0).stdout_has("(forced: incident 42: the loop is the fix)");
    repo.write("README", "app, documented\n");
    repo.commit("docs");
    staging(&repo).expect(0).stdout_has(
        "was recorded past a blocking check by Dana Deployer <dana@example.com>: incident 42: the loop is the fix",
    );
}

#[test]
fn a_release_that_passes_is_recorded_without_ceremony() {
    let repo = deployed(&[("README", "app\n")]);
    repo.write("README", "v2\n");
    repo.commit("v2");
    let run = repo.gate(&["record", "--env", "staging"]).expect(0);
    assert!(!run.stdout.contains("forced"), "{}", run.stdout);
}

/// Points the staging ledger at a commit made with `git commit-tree`.
fn forge(repo: &TestRepo, tree: &str, parents: &[&str], environment: &str) {
    let deployed = repo.rev("HEAD");
    let message = format!(
        "gate: deployed {short} to {environment}\n\nGate-Environment: {environment}\nGate-Commit: {deployed}\nGate-Tree: {tree}\nGate-By: Mallory <m@example.com>\nGate-At: 2026-11-01T00:00:00Z\n",
        short = &deployed[..10]
    );
    let mut args = vec!["commit-tree", tree, "-m", &message];
    for parent in parents {
        args.extend(["-p", parent]);
    }
    let forged = repo.git(&args).trim().to_string();
    repo.git(&["update-ref", "refs/gate/deploys/staging", &forged]);
}

#[test]
fn a_forged_ledger_entry_stops_the_run_with_the_fix() {
    // Regression (issue 12): any commit whose message looked right was read as a deploy.
    let repo = deployed(&[("README", "app\n")]);
    let root = repo.rev("refs/gate/deploys/staging^1");
    repo.write("README", "v2\n");
    let release = repo.commit("v2");
    let tree = repo.rev("HEAD^{tree}");
    let fix = "restore the ref from its reflog (`git reflog refs/gate/deploys/staging`) or from the remote";

    forge(&repo, &tree, &[&release], "staging");
    staging(&repo)
        .expect(2)
        .stderr_has("which is not a gate ledger entry: it has 1 parent where gate writes two")
        .stderr_has(fix);

    forge(&repo, &repo.rev("HEAD~1^{tree}"), &[&root, &release], "staging");
    staging(&repo).expect(2).stderr_has("its tree").stderr_has("is not the tree of the deployed commit");

    forge(&repo, &tree, &[&repo.rev("HEAD~1"), &release], "staging");
    staging(&repo).expect(2).stderr_has("is neither an entry of staging nor the ledger's root");

    forge(&repo, &tree, &[&root, &release], "production");
    staging(&repo).expect(2).stderr_has("it records a deploy to `production`, not to staging");
}

#[test]
fn the_last_deploy_tag_is_the_newest_in_commit_order_not_by_tagger_date() {
    // Regression (issue 12): a tag with a later tagger date on an older commit became the
    // last deploy, so a release was compared with the wrong base.
    let repo = TestRepo::with_files(&[("gate.toml", "[environments.staging]\ndeploy-tags = \"deploy/staging/*\"\n")]);
    let old = repo.rev("HEAD");
    repo.write("a.txt", "a\n");
    let new = repo.commit("a");
    let tag = |name: &str, commit: &str, date: &str| {
        let mut command = repo.git_command(repo.path(), &["tag", "-a", name, commit, "-m", "deployed"]);
        command.env("GIT_COMMITTER_DATE", date);
        assert!(command.status().unwrap().success());
    };
    tag("deploy/staging/b", &new, "@1790000000 +0000");
    tag("deploy/staging/a", &old, "@1799999999 +0000");
    repo.write("b.txt", "b\n");
    repo.commit("b");
    staging(&repo)
        .expect(0)
        .stdout_has(&format!("base     {}  last deploy of staging", &new[..10]))
        .stdout_has("(tag deploy/staging/b)");
}
