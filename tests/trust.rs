//! Issue 12: a release cannot pass on evidence or waivers it made for itself. Each test is an
//! attack that once let a release through; each now exits 1 (or 2) and the report says what
//! was rejected.

use crate::support::TestRepo;

mod deployable;
mod ledger;
mod policy;
mod records;
mod signing;
mod waivers;

/// A script with a pattern the `risky-pattern` check blocks (incident 002).
const LOOP: &str = "#!/bin/sh\nwhile true; do sync_cache; done\n";

/// Staging runs the first commit of a repository holding `files`.
fn deployed(files: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::with_files(files);
    repo.gate(&["record", "--env", "staging", "--force", "--reason", "fixture"]).expect(0);
    repo
}

fn staging(repo: &TestRepo) -> crate::support::Run {
    repo.gate(&["check", "--env", "staging"])
}
