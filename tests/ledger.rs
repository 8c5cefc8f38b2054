//! The ledger: deploys recorded in git, by compare-and-swap, with a history that travels with
//! fetch and push; or an environment's existing deploy tags.

use std::process::Stdio;

use crate::support::{TestRepo, finish};

#[test]
fn record_writes_a_ledger_entry_git_itself_can_read() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let deployed = repo.rev("HEAD");
    repo.gate(&["record", "--env", "staging"])
        .expect(0)
        .stdout_has(&format!("recorded: {} deployed to staging by Dana Deployer <dana@example.com>", &deployed[..10]))
        .stdout_has("share it: gate sync (or: git push origin 'refs/gate/*:refs/gate/*'");

    // The entry's tree is the deployed tree and its second parent the deployed commit, so plain
    // git answers "what would ship" and "what is pending".
    assert_eq!(repo.rev("refs/gate/deploys/staging^2"), deployed);
    assert_eq!(repo.rev("refs/gate/deploys/staging^{tree}"), repo.rev("HEAD^{tree}"));
    repo.write("b.txt", "b\n");
    repo.commit("b");
    assert_eq!(repo.git(&["diff", "--name-only", "refs/gate/deploys/staging", "HEAD"]), "b.txt\n");
    assert_eq!(repo.git(&["rev-list", "--count", "refs/gate/deploys/staging..HEAD"]), "1\n");
}

#[test]
fn history_keeps_every_deploy_newest_first() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let mut deployed = Vec::new();
    for i in 0..3 {
        repo.write("a.txt", &format!("{i}\n"));
        deployed.push(repo.commit(&format!("v{i}")));
        repo.gate(&["record", "--env", "production", "--force", "--reason", "fixture"]).expect(0);
    }
    let log = repo.git(&["log", "--first-parent", "--format=%s", "refs/gate/deploys/production"]);
    let mut expected: Vec<String> =
        deployed.iter().rev().map(|id| format!("gate: deployed {} to production", &id[..10])).collect();
    expected.push("gate: ledger of production begins".to_string());
    assert_eq!(log.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn concurrent_records_all_land_in_the_history() {
    // Regression guard: a read-modify-write without compare-and-swap loses one of two records
    // made at the same moment. With the clock fixed, the first writers build byte-identical
    // entries; creating the ref with libgit2's `force = false` let two of them "succeed".
    // Each writer records another release: recording the last deploy again writes nothing.
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let writers = 8;
    let releases: Vec<String> = (0..writers)
        .map(|i| {
            repo.write("a.txt", &format!("{i}\n"));
            repo.commit(&format!("release {i}"))
        })
        .collect();
    let children: Vec<_> = releases
        .iter()
        .map(|release| {
            repo.gate_command(
                repo.path(),
                &["record", "--env", "production", "--release", release, "--force", "--reason", "fixture"],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        finish(child.wait_with_output().unwrap()).expect(0);
    }
    let count = repo.git(&["rev-list", "--first-parent", "--count", "refs/gate/deploys/production"]);
    // The walk also counts the parentless commit the ledger begins with.
    assert_eq!(count.trim(), (writers + 1).to_string());
}

#[test]
fn status_shows_last_deploys_and_what_is_pending() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let deployed = repo.rev("HEAD");
    repo.gate(&["record", "--env", "production", "--force", "--reason", "fixture"]).expect(0);
    repo.write("b.txt", "b\n");
    repo.commit("b");
    repo.write("c.txt", "c\n");
    repo.commit("c");
    repo.gate(&["status"])
        .expect(0)
        .stdout_has(&format!("production  {}  2026-11-02 09:01 UTC", &deployed[..10]))
        .stdout_has("by Dana Deployer <dana@example.com>, from ledger")
        .stdout_has("pending at HEAD")
        .stdout_has("2 commits, 2 files")
        .stdout_has("staging     never deployed (nothing in refs/gate/deploys/staging)");
    let json = repo.gate(&["status", "--format", "json"]).expect(0).json();
    let production = &json["environments"][0];
    assert_eq!(production["name"], "production");
    assert_eq!(production["last_deploy"]["commit"], deployed);
    assert_eq!(production["pending"]["files"], 2);
}

#[test]
fn diff_lists_what_would_ship_with_exact_renames_and_copies() {
    let repo = TestRepo::with_files(&[("bin/search.sh", "#!/bin/sh\ngrep -r \"$1\" .\n"), ("old.txt", "old\n")]);
    repo.gate(&["record", "--env", "production", "--force", "--reason", "fixture"]).expect(0);
    repo.git(&["mv", "old.txt", "new.txt"]);
    repo.write("bin/search_v2.sh", "#!/bin/sh\ngrep -r \"$1\" .\n");
    repo.write_bytes("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0binary");
    repo.write("bin/search.sh", "#!/bin/sh\ngrep -rn \"$1\" .\n");
    std::os::unix::fs::symlink("bin/search.sh", repo.path().join("search")).unwrap();
    repo.commit("release");

    let run = repo.gate(&["diff", "--env", "production"]).expect(0);
    run.stdout_has("M  bin/search.sh  (")
        .stdout_has("C  bin/search.sh -> bin/search_v2.sh  (25 B)  <- variant of bin/search.sh (marker `_v2`)")
        .stdout_has("A  logo.png  (binary, 17 B)")
        .stdout_has("R  old.txt -> new.txt")
        .stdout_has("A  search  (symlink, 13 B)")
        .stdout_has("5 files would ship: 2 added, 1 modified, 0 deleted, 1 renamed, 1 copied");

    let json = repo.gate(&["diff", "--env", "production", "--format", "json"]).expect(0).json();
    let renamed = json["changes"].as_array().unwrap().iter().find(|c| c["status"] == "renamed").unwrap();
    assert_eq!(renamed["old_path"], "old.txt");
    assert_eq!(renamed["path"], "new.txt");
    assert_eq!(renamed["old"]["id"], renamed["new"]["id"]);
    let png = json["changes"].as_array().unwrap().iter().find(|c| c["path"] == "logo.png").unwrap();
    assert_eq!(png["binary"], true);
    assert_eq!(png["new"]["mode"], "file");
    assert_eq!(json["variants"][0]["path"], "bin/search_v2.sh");
    assert_eq!(json["variants"][0]["original"], "bin/search.sh");
}

#[test]
fn an_environment_can_follow_existing_deploy_tags() {
    let repo = TestRepo::with_files(&[("gate.toml", "[environments.staging]\ndeploy-tags = \"deploy/staging/*\"\n")]);
    let first = repo.rev("HEAD");
    repo.git(&["tag", "-a", "deploy/staging/2026-11-02", "-m", "deployed"]);
    repo.write("b.txt", "b\n");
    repo.commit("b");
    repo.gate(&["check", "--env", "staging"])
        .expect(0)
        .stdout_has(&format!("base     {}  last deploy of staging", &first[..10]))
        .stdout_has("(tag deploy/staging/2026-11-02)")
        .stdout_has("changes  1 file");
    repo.gate(&["record", "--env", "staging"])
        .expect(2)
        .stderr_has("deploys of staging are read from tags matching `deploy/staging/*`, not from the ledger");
}

#[test]
fn a_ledger_ref_that_is_not_a_ledger_entry_stops_the_run() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    repo.git(&["update-ref", "refs/gate/deploys/production", "HEAD"]);
    repo.gate(&["check", "--env", "production"])
        .expect(2)
        .stderr_has("refs/gate/deploys/production points at")
        .stderr_has("which is not a gate ledger entry");
}

#[test]
fn a_shallow_clone_missing_the_last_deploy_exits_2_with_the_fetch_command() {
    let origin = TestRepo::with_files(&[("a.txt", "a\n")]);
    origin.gate(&["record", "--env", "staging"]).expect(0);
    for i in 0..3 {
        origin.write("a.txt", &format!("{i}\n"));
        origin.commit(&format!("c{i}"));
    }
    let clone = origin.sibling("clone");
    let url = format!("file://{}", origin.path().display());
    origin.git_in(origin.path().parent().unwrap(), &["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()]);
    origin.git_in(&clone, &["fetch", "-q", "--depth", "1", "origin", "refs/gate/*:refs/gate/*"]);

    origin
        .gate_in(&clone, &["check", "--env", "staging"], &[])
        .expect(2)
        .stderr_has("the last deploy of staging (")
        .stderr_has("is not in this clone: the clone is shallow")
        .stderr_has("run `git fetch --unshallow origin`");

    // Following the advice fixes it.
    origin.git_in(&clone, &["fetch", "-q", "--unshallow", "origin"]);
    origin.gate_in(&clone, &["check", "--env", "staging"], &[]).expect(0).stdout_has("changes  1 file");
}

#[test]
fn a_clone_without_the_ledger_says_which_fetch_brings_it() {
    let origin = TestRepo::with_files(&[("a.txt", "a\n")]);
    origin.gate(&["record", "--env", "staging"]).expect(0);
    let clone = origin.sibling("clone");
    let url = format!("file://{}", origin.path().display());
    origin.git_in(origin.path().parent().unwrap(), &["clone", "-q", &url, clone.to_str().unwrap()]);
    origin
        .gate_in(&clone, &["check", "--env", "staging"], &[])
        .expect(0)
        .stdout_has("no deploy of staging is recorded")
        .stdout_has("git fetch origin 'refs/gate/*:refs/gate/*'");
    origin.git_in(&clone, &["fetch", "-q", "origin", "refs/gate/*:refs/gate/*"]);
    origin.gate_in(&clone, &["check", "--env", "staging"], &[]).expect(0).stdout_has("last deploy of staging");
}

/// Guards against `gate status` printing a wrong pending count with exit 0: in a shallow clone
/// the walk from HEAD to the last deploy stops where the history does.
#[test]
fn status_in_a_shallow_clone_says_the_pending_count_is_incomplete() {
    let origin = TestRepo::with_files(&[("a.txt", "a\n")]);
    origin.gate(&["record", "--env", "staging"]).expect(0);
    let deployed = origin.rev("HEAD");
    for i in 0..3 {
        origin.write("a.txt", &format!("{i}\n"));
        origin.commit(&format!("c{i}"));
    }
    let clone = origin.sibling("clone");
    let url = format!("file://{}", origin.path().display());
    origin.git_in(origin.path().parent().unwrap(), &["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()]);
    origin.git_in(&clone, &["fetch", "-q", "--depth", "1", "origin", "refs/gate/*:refs/gate/*", &deployed]);
    origin
        .gate_in(&clone, &["status"], &[])
        .expect(0)
        .stdout_has("at least 1 commit (the clone is shallow; for the full count: git fetch --unshallow origin)");
    // Unshallowed, the count is the real one.
    origin.git_in(&clone, &["fetch", "-q", "--unshallow", "origin"]);
    origin.gate_in(&clone, &["status"], &[]).expect(0).stdout_has("3 commits, 1 file");
}

/// Issue 14: recording the same release twice says so instead of writing a duplicate entry.
#[test]
fn recording_the_last_deploy_again_says_already_recorded_and_writes_nothing() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    let entry = repo.rev("refs/gate/deploys/staging");
    repo.gate(&["record", "--env", "staging"]).expect(0).stdout_has("already recorded:").stdout_has("nothing written");
    assert_eq!(repo.rev("refs/gate/deploys/staging"), entry);
}
