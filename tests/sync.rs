//! `gate sync`: the ledger and evidence travel between clones through a remote, merged without
//! dropping a record or a deploy, even when clones write at the same time.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::{TestRepo, finish};

/// A bare remote made from `origin`, and `names` clones of it with their own identities.
fn remote_and_clones(origin: &TestRepo, names: &[&str]) -> (PathBuf, Vec<PathBuf>) {
    let remote = origin.sibling("remote.git");
    let top = origin.path().parent().unwrap();
    origin.git_in(top, &["clone", "-q", "--bare", origin.path().to_str().unwrap(), remote.to_str().unwrap()]);
    let clones = names
        .iter()
        .map(|name| {
            let dir = origin.sibling(name);
            origin.git_in(top, &["clone", "-q", remote.to_str().unwrap(), dir.to_str().unwrap()]);
            origin.git_in(&dir, &["config", "user.name", name]);
            origin.git_in(&dir, &["config", "user.email", &format!("{name}@example.com")]);
            dir
        })
        .collect();
    (remote, clones)
}

fn commit_in(origin: &TestRepo, dir: &Path, file: &str) -> String {
    std::fs::write(dir.join(file), format!("{file}\n")).unwrap();
    origin.git_in(dir, &["add", "-A"]);
    origin.git_in(dir, &["commit", "-q", "-m", file]);
    origin.git_in(dir, &["rev-parse", "HEAD"]).trim().to_string()
}

#[test]
fn sync_brings_another_clones_deploys_and_evidence_and_shares_its_own() {
    let origin = TestRepo::with_files(&[("README", "app\n")]);
    let (_, clones) = remote_and_clones(&origin, &["ann", "ben"]);
    let (ann, ben) = (&clones[0], &clones[1]);
    origin.gate_in(ann, &["record", "--env", "staging"], &[]).expect(0);
    origin.gate_in(ann, &["evidence", "add", "backup", "--detail", "snapshot by ann"], &[]).expect(0);
    origin
        .gate_in(ann, &["sync"], &[])
        .expect(0)
        .stdout_has("synced with origin:")
        .stdout_has("refs/gate/deploys/staging  new on origin")
        .stdout_has("refs/notes/gate            new on origin");

    origin
        .gate_in(ben, &["sync"], &[])
        .expect(0)
        .stdout_has("refs/gate/deploys/staging  fetched")
        .stdout_has("refs/notes/gate            fetched");
    origin.gate_in(ben, &["evidence", "list"], &[]).expect(0).stdout_has("snapshot by ann");
    origin.gate_in(ben, &["status", "--env", "staging"], &[]).expect(0).stdout_has("by ann <ann@example.com>");

    // Both write meanwhile: ann a deploy, ben evidence on the same tree. Nothing is lost.
    commit_in(&origin, ann, "a.txt");
    origin.gate_in(ann, &["record", "--env", "staging"], &[]).expect(0);
    origin.gate_in(ben, &["evidence", "add", "backup", "--detail", "snapshot by ben"], &[]).expect(0);
    origin.gate_in(ann, &["sync"], &[]).expect(0).stdout_has("refs/gate/deploys/staging  ahead");
    origin.gate_in(ben, &["sync"], &[]).expect(0).stdout_has("refs/notes/gate            merged: 1 note joined");
    origin.gate_in(ann, &["sync"], &[]).expect(0).stdout_has("refs/notes/gate            fast-forwarded");
    origin
        .gate_in(ann, &["evidence", "list", "--release", "HEAD~1"], &[])
        .expect(0)
        .stdout_has("snapshot by ann")
        .stdout_has("snapshot by ben");
}

#[test]
fn two_clones_writing_and_syncing_at_once_lose_nothing() {
    let origin = TestRepo::with_files(&[("README", "app\n")]);
    let (remote, clones) = remote_and_clones(&origin, &["ann", "ben"]);
    let base = origin.rev("HEAD");
    let rounds = 3;
    let mut deployed = Vec::new();
    for round in 0..rounds {
        for (index, dir) in clones.iter().enumerate() {
            // Each deploys its own commit and approves the shared first tree.
            deployed.push(commit_in(&origin, dir, &format!("{index}-{round}.txt")));
            origin.gate_in(dir, &["record", "--env", "staging"], &[]).expect(0);
            let detail = format!("clone {index} round {round}");
            origin
                .gate_in(
                    dir,
                    &["evidence", "add", "approval", "--for", "all", "--detail", &detail, "--release", &base],
                    &[],
                )
                .expect(0);
        }
        let children: Vec<_> = clones
            .iter()
            .map(|dir| {
                origin.gate_command(dir, &["sync"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
            })
            .collect();
        for child in children {
            finish(child.wait_with_output().unwrap()).expect(0);
        }
    }
    for dir in &clones {
        origin.gate_in(dir, &["sync"], &[]).expect(0);
    }

    // A third clone sees every deploy and every approval.
    let top = origin.path().parent().unwrap();
    let carl = origin.sibling("carl");
    origin.git_in(top, &["clone", "-q", remote.to_str().unwrap(), carl.to_str().unwrap()]);
    origin.gate_in(&carl, &["sync"], &[]).expect(0);
    let log = origin.git_in(&carl, &["log", "--first-parent", "--format=%B", "refs/gate/deploys/staging"]);
    for commit in &deployed {
        assert!(log.contains(&format!("Gate-Commit: {commit}")), "deploy of {commit} lost:\n{log}");
    }
    assert_eq!(log.matches("Gate-Commit: ").count(), deployed.len(), "each deploy once:\n{log}");
    let json =
        origin.gate_in(&carl, &["evidence", "list", "--release", &base, "--format", "json"], &[]).expect(0).json();
    let mut details: Vec<String> = json["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "approval")
        .map(|r| r["detail"].as_str().unwrap().to_string())
        .collect();
    details.sort();
    let mut expected: Vec<String> =
        (0..rounds).flat_map(|round| (0..2).map(move |index| format!("clone {index} round {round}"))).collect();
    expected.sort();
    assert_eq!(details, expected);
    // The merged ledger is still one gate reads without complaint.
    origin.gate_in(&carl, &["status", "--env", "staging"], &[]).expect(0);
}

#[test]
fn sync_no_push_fetches_and_merges_but_leaves_the_remote_alone() {
    let origin = TestRepo::with_files(&[("README", "app\n")]);
    let (remote, clones) = remote_and_clones(&origin, &["ann", "ben"]);
    origin.gate_in(&clones[0], &["record", "--env", "staging"], &[]).expect(0);
    origin.gate_in(&clones[0], &["sync"], &[]).expect(0);
    origin.gate_in(&clones[1], &["evidence", "add", "backup", "--detail", "local only"], &[]).expect(0);
    let before = origin.git_in(&remote, &["for-each-ref", "refs/gate", "refs/notes"]);
    origin
        .gate_in(&clones[1], &["sync", "--no-push"], &[])
        .expect(0)
        .stdout_has("fetched from origin:")
        .stdout_has("refs/gate/deploys/staging  fetched");
    assert_eq!(origin.git_in(&remote, &["for-each-ref", "refs/gate", "refs/notes"]), before, "nothing was pushed");
    origin.gate_in(&clones[1], &["evidence", "list"], &[]).expect(0).stdout_has("local only").stdout_has("deploy");
}

#[test]
fn sync_says_what_is_wrong_with_an_unreachable_remote() {
    let repo = TestRepo::with_files(&[("README", "app\n")]);
    repo.gate(&["sync", "nowhere"]).expect(2).stderr_has("cannot reach nowhere");
}
