//! Issue 13: freeze windows and deploy hours. Overlapping freeze windows are one freeze that
//! ends when the last of them does; outside the deploy hours a deploy waits for the next window
//! no freeze holds; an approval `--for freeze` lets either through.

use serde_json::Value;

use crate::support::TestRepo;

/// Staging runs the first commit of a repository whose gate.toml is `policy`; a release is
/// committed on top. Staging has no other requirement, so only the calendar can block it.
fn release(policy: &str) -> TestRepo {
    let repo = TestRepo::with_files(&[("README", "app\n"), ("gate.toml", policy)]);
    repo.gate(&["record", "--env", "staging", "--force", "--reason", "fixture"]).expect(0);
    repo.write("README", "app, documented\n");
    repo.commit("docs");
    repo
}

/// Sets the fixture clock forward to `when` (RFC 3339).
fn clock_at(repo: &TestRepo, when: &str) {
    let target: jiff::Timestamp = when.parse().unwrap();
    assert!(target.as_second() >= repo.now(), "the fixture clock only moves forward");
    repo.advance(target.as_second() - repo.now());
}

fn staging(repo: &TestRepo) -> crate::support::Run {
    repo.gate(&["check", "--env", "staging"])
}

/// The freeze-window findings of a JSON report, and whether the check ran.
fn freeze_findings(repo: &TestRepo) -> (Vec<Value>, bool) {
    let json = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    let ran = json["checks"].as_array().unwrap().iter().any(|c| c["id"] == "freeze-window");
    let findings = json["findings"].as_array().unwrap().iter().filter(|f| f["check"] == "freeze-window").cloned();
    (findings.collect(), ran)
}

const OFFICE_HOURS: &str =
    "[environments.staging]\ndeploy-hours = [\"Mon-Thu 09:00 .. 16:00\"]\ntimezone = \"Europe/Berlin\"\n";

#[test]
fn overlapping_freeze_windows_are_one_freeze_that_ends_with_the_last_window() {
    // Regression: on Saturday 2026-12-26 the dated window said the freeze ended at midnight,
    // in a second finding beside the weekend's, while the weekend freeze held until Monday.
    let repo = release(
        "[environments.staging]\nfreeze = [\"Fri 15:00 .. Mon 09:00\", \"2026-12-24 .. 2026-12-26\"]\ntimezone = \"Europe/Berlin\"\n",
    );
    clock_at(&repo, "2026-12-26T11:00:00Z");
    staging(&repo)
        .expect(1)
        .stdout_has("deny   staging is frozen (Fri 15:00 .. Mon 09:00 and 2026-12-24 00:00 .. 2026-12-27 00:00, Europe/Berlin): it is Sat 2026-12-26 12:00 there, the freeze ends Mon 2026-12-28 09:00 (in 45h)")
        .stdout_lacks("2026-12-27 00:00 (in");
    let (findings, _) = freeze_findings(&repo);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["code"], "frozen");
    let subject = "Fri 15:00 .. Mon 09:00, 2026-12-24 00:00 .. 2026-12-27 00:00";
    assert_eq!(findings[0]["subject"], subject);
    // On Sunday only the weekend holds; it is the same freeze, with the same identity.
    clock_at(&repo, "2026-12-27T11:00:00Z");
    let (findings, _) = freeze_findings(&repo);
    assert_eq!((findings.len(), findings[0]["subject"].as_str()), (1, Some(subject)));
    clock_at(&repo, "2026-12-28T08:00:00Z");
    let (findings, ran) = freeze_findings(&repo);
    assert!(ran && findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_freeze_of_one_window_keeps_its_message_and_identity() {
    let repo = release("[environments.staging]\nfreeze = [\"Mon 09:30 .. Mon 17:00\", \"2026-12-24\"]\n");
    clock_at(&repo, "2026-11-02T10:00:00Z");
    staging(&repo).expect(1).stdout_has(
        "deny   staging is frozen (Mon 09:30 .. Mon 17:00, UTC): it is Mon 2026-11-02 10:00 there, the freeze ends Mon 2026-11-02 17:00 (in 7h)",
    );
    let (findings, _) = freeze_findings(&repo);
    assert_eq!(findings[0]["subject"], "Mon 09:30 .. Mon 17:00");
}

#[test]
fn outside_deploy_hours_a_deploy_is_blocked_until_the_next_window() {
    // Thursday 17:10 in Berlin.
    let repo = release(OFFICE_HOURS);
    clock_at(&repo, "2026-11-05T16:10:00Z");
    staging(&repo)
        .expect(1)
        .stdout_has("deny   staging deploys Mon-Thu 09:00 .. 16:00 (Europe/Berlin): it is Thu 2026-11-05 17:10 there, the next window opens Mon 2026-11-09 09:00 (in 3d 15h)")
        .stdout_has("help: wait for the next window, or have this release approved: gate evidence add approval --for freeze");
    let (findings, _) = freeze_findings(&repo);
    assert_eq!((findings.len(), &findings[0]["code"]), (1, &Value::from("outside-deploy-hours")));
}

#[test]
fn inside_deploy_hours_a_deploy_passes() {
    // Wednesday 11:00 in Berlin.
    let repo = release(OFFICE_HOURS);
    clock_at(&repo, "2026-11-04T10:00:00Z");
    staging(&repo).expect(0).stdout_has("PASS: no blocking findings");
    let (findings, ran) = freeze_findings(&repo);
    assert!(ran && findings.is_empty(), "{findings:#?}");
}

#[test]
fn an_approval_for_freeze_lets_a_deploy_through_outside_deploy_hours() {
    let repo = release(OFFICE_HOURS);
    clock_at(&repo, "2026-11-07T10:00:00Z");
    staging(&repo).expect(1).stdout_has("deny   staging deploys Mon-Thu 09:00 .. 16:00");
    repo.gate(&["evidence", "add", "approval", "--for", "rollback", "--detail", "not this one"]).expect(0);
    staging(&repo).expect(1).stdout_has("deny   staging deploys Mon-Thu 09:00 .. 16:00");
    repo.gate(&["evidence", "add", "approval", "--for", "freeze", "--detail", "incident fix, on-call lead"]).expect(0);
    staging(&repo)
        .expect(0)
        .stdout_has("waived staging deploys Mon-Thu 09:00 .. 16:00")
        .stdout_has("incident fix, on-call lead");
}

#[test]
fn the_next_window_skips_the_hours_a_freeze_holds() {
    let repo = release(
        "[environments.staging]\ndeploy-hours = [\"Mon-Thu 09:00 .. 16:00\"]\nfreeze = [\"2026-12-21 .. 2026-12-31\"]\ntimezone = \"Europe/Berlin\"\n",
    );
    // Thursday 2026-12-17 17:10 in Berlin: Monday's window is frozen, and the week after.
    clock_at(&repo, "2026-12-17T16:10:00Z");
    staging(&repo).expect(1).stdout_has(
        "deny   staging deploys Mon-Thu 09:00 .. 16:00 (Europe/Berlin): it is Thu 2026-12-17 17:10 there, the next window opens Mon 2027-01-04 09:00 (in 17d 15h), after the freeze (2026-12-21 00:00 .. 2027-01-01 00:00)",
    );
    // Inside the hours but frozen: frozen, and the freeze ends on a Friday, outside the hours.
    clock_at(&repo, "2026-12-22T09:00:00Z");
    staging(&repo).expect(1).stdout_has(
        "deny   staging is frozen (2026-12-21 00:00 .. 2027-01-01 00:00, Europe/Berlin): it is Tue 2026-12-22 10:00 there, the freeze ends Fri 2027-01-01 00:00 (in 9d 14h), and the next deploy window (Mon-Thu 09:00 .. 16:00) opens Mon 2027-01-04 09:00 (in 12d 23h)",
    );
    let (findings, _) = freeze_findings(&repo);
    assert_eq!((findings.len(), &findings[0]["code"]), (1, &Value::from("frozen")));
}

#[test]
fn a_deploy_hours_entry_that_does_not_parse_is_a_policy_error_where_it_is_written() {
    let repo = TestRepo::with_files(&[(
        "gate.toml",
        "[environments.staging]\ndeploy-hours = [\"Mon-Thu 09:00 .. 16:00\", \"weekdays 9 to 5\", \"Fri 16:00 .. 09:00\"]\n",
    )]);
    staging(&repo)
        .expect(2)
        .stderr_has("gate.toml:2:43")
        .stderr_has(
            "`weekdays 9 to 5` is not a deploy-hours window; write days and times like `Mon-Thu 09:00 .. 16:00`",
        )
        .stderr_has("gate.toml:2:62")
        .stderr_has("`Fri 16:00 .. 09:00` ends before it starts");
}
