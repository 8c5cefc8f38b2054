//! Evidence: facts bound to a release tree, stored as git notes.

use std::process::Stdio;

use crate::support::{TestRepo, finish};

#[test]
fn evidence_is_bound_to_the_tree_and_survives_a_rebuild_of_the_commit() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    repo.gate(&["evidence", "add", "backup", "--detail", "snapshot 42"])
        .expect(0)
        .stdout_has("recorded backup evidence");
    repo.gate(&["evidence", "list"])
        .expect(0)
        .stdout_has("backup")
        .stdout_has("by Dana Deployer <dana@example.com>: snapshot 42");

    // Same tree, different commit (an amend): the evidence still applies.
    repo.advance(60);
    repo.git(&["commit", "-q", "--amend", "-m", "reworded"]);
    repo.gate(&["evidence", "list"]).expect(0).stdout_has("snapshot 42").stdout_has("(from commit");

    // Another tree: none.
    repo.write("a.txt", "changed\n");
    repo.commit("change");
    repo.gate(&["evidence", "list"]).expect(0).stdout_has("none recorded");
}

#[test]
fn git_notes_reads_what_gate_writes() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    repo.gate(&["evidence", "add", "approval", "--for", "all", "--detail", "ok"]).expect(0);
    let note = repo.git(&["notes", "--ref", "gate", "show", &repo.rev("HEAD^{tree}")]);
    let record: serde_json::Value = serde_json::from_str(note.trim()).unwrap();
    assert_eq!(record["kind"], "approval");
    assert_eq!(record["detail"], "ok");
    assert_eq!(record["tree"], repo.rev("HEAD^{tree}"));
}

#[test]
fn concurrent_evidence_writes_all_survive() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let children: Vec<_> = (0..6)
        .map(|i| {
            // Pairs of writers add identical records: both copies must land.
            repo.gate_command(
                repo.path(),
                &["evidence", "add", "approval", "--for", "all", "--detail", &format!("writer {}", i / 2)],
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
    let json = repo.gate(&["evidence", "list", "--format", "json"]).expect(0).json();
    let mut details: Vec<String> =
        json["records"].as_array().unwrap().iter().map(|r| r["detail"].as_str().unwrap().to_string()).collect();
    details.sort();
    assert_eq!(details, (0..6).map(|i| format!("writer {}", i / 2)).collect::<Vec<_>>());
}

#[test]
fn an_unreadable_note_stops_the_check() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let tree = repo.rev("HEAD^{tree}");
    repo.git(&["notes", "--ref", "gate", "add", "-m", "not json", &tree]);
    repo.gate(&["check"]).expect(2).stderr_has("evidence for tree").stderr_has("is unreadable");
}

#[test]
fn kinds_are_checked() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    repo.gate(&["evidence", "add", "Not A Kind"]).expect(2).stderr_has("`Not A Kind` is not an evidence kind");
    repo.gate(&["evidence", "add", "deploy"]).expect(2).stderr_has("gate record --env ENV");
}

/// A record that is JSON but not a record gate can trust (a time that does not parse, an id
/// that is not an object id, a kind that is not a kind) stops the run too: skipping it could
/// hide a failure, and reading `yesterday` as some time could make it count.
#[test]
fn a_record_with_a_bad_time_id_or_kind_stops_the_check() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let tree = repo.rev("HEAD^{tree}");
    let commit = repo.rev("HEAD");
    for (record, why) in [
        (
            format!(r#"{{"kind":"approval","tree":"{tree}","commit":"{commit}","by":"x","at":"yesterday"}}"#),
            "its time `yesterday` is not an RFC 3339 timestamp",
        ),
        (
            format!(r#"{{"kind":"approval","tree":"abc","commit":"{commit}","by":"x","at":"2026-11-20T10:00:00Z"}}"#),
            "its tree `abc` is not an object id",
        ),
        (
            format!(
                r#"{{"kind":"Approval!","tree":"{tree}","commit":"{commit}","by":"x","at":"2026-11-20T10:00:00Z"}}"#
            ),
            "`Approval!` is not an evidence kind",
        ),
    ] {
        repo.git(&["notes", "--ref", "gate", "add", "-f", "-m", &record, &tree]);
        repo.gate(&["check"]).expect(2).stderr_has("is unreadable").stderr_has(why).stderr_has("git notes --ref gate");
    }
}

/// Issue 14: a kind that no environment asks for and no check reads is recorded with a
/// warning and a suggestion, not silently (a misspelt `aproval` would count for nothing).
#[test]
fn evidence_of_a_kind_nothing_asks_for_says_so() {
    let repo = TestRepo::with_files(&[("gate.toml", "[environments.production]\nevidence = [\"backup\"]\n")]);
    repo.gate(&["evidence", "add", "aproval", "--detail", "x"])
        .expect(0)
        .stderr_has("warning: no environment asks for `aproval` evidence")
        .stderr_has("did you mean `approval`?");
    repo.gate(&["evidence", "add", "bakup", "--detail", "x"]).expect(0).stderr_has("did you mean `backup`?");
    let run = repo.gate(&["evidence", "add", "backup", "--detail", "snapshot 42"]).expect(0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}
