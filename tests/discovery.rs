//! Finding the repository: from a subdirectory, from a hook (GIT_DIR set), in a bare repository.

use crate::support::TestRepo;

#[test]
fn works_from_a_subdirectory() {
    let repo = TestRepo::with_files(&[("deep/dir/a.txt", "a\n")]);
    repo.gate_in(&repo.path().join("deep/dir"), &["check"], &[]).expect(0);
}

#[test]
fn works_with_git_dir_set_as_in_a_hook() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let elsewhere = repo.sibling("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let git_dir = repo.path().join(".git");
    repo.gate_in(
        &elsewhere,
        &["check", "--format", "json"],
        &[("GIT_DIR", git_dir.to_str().unwrap()), ("GIT_WORK_TREE", repo.path().to_str().unwrap())],
    )
    .expect(0);
}

#[test]
fn works_in_a_bare_repository_reading_the_policy_from_the_release() {
    let repo = TestRepo::with_files(&[
        ("gate.toml", "[checks.blast-radius]\nseverity = \"deny\"\nmax-files = 1\n"),
        ("a.txt", "a\n"),
    ]);
    let bare = repo.sibling("bare.git");
    repo.git_in(
        repo.path().parent().unwrap(),
        &["clone", "-q", "--bare", repo.path().to_str().unwrap(), bare.to_str().unwrap()],
    );
    repo.gate_in(&bare, &["check"], &[]).expect(1).stdout_has("2 files change in the whole release");
}

#[test]
fn outside_a_repository_is_an_error_that_says_what_to_do() {
    let repo = TestRepo::new();
    let outside = repo.sibling("outside");
    std::fs::create_dir_all(&outside).unwrap();
    repo.gate_in(&outside, &["check"], &[("GIT_CEILING_DIRECTORIES", repo.sibling("").to_str().unwrap())])
        .expect(2)
        .stderr_has("gate: error: not inside a git repository; run gate from a repository's directory");
}

#[test]
fn an_empty_repository_is_an_error() {
    let repo = TestRepo::new();
    repo.gate(&["check"]).expect(2).stderr_has("the repository has no commits yet");
}
