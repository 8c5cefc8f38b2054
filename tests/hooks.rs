//! The pre-push hook: installed with `gate hook install`, run by the real `git push` into a bare
//! remote beside the repository; git's pre-push protocol fed to `gate hook pre-push` directly;
//! `[hooks.pre-push]`. The pre-commit framework's pre-push stage is in `hooks/pre_commit.rs`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::{Run, TestRepo, finish};

mod pre_commit;

const SEARCH: &str = "#!/bin/sh\n# search the index for a term\nset -eu\nterm=\"$1\"\nindex=/srv/search/index\ngrep -r \"$term\" \"$index\" | head -n 20\necho \"done\"\n";
const SEARCH_TEST: &str = "@test \"search finds\" {\n  run bin/search.sh needle\n  [ \"$status\" -eq 0 ]\n}\n";

/// A repository with `bin/search.sh` and its test, pushed to a bare `origin` beside it, with
/// `extra` files in the first commit; no hook installed yet.
fn published(extra: &[(&str, &str)]) -> TestRepo {
    let mut files = vec![("bin/search.sh", SEARCH), ("test/search.bats", SEARCH_TEST)];
    files.extend_from_slice(extra);
    let repo = TestRepo::with_files(&files);
    let remote = repo.sibling("remote.git");
    repo.git(&["init", "-q", "--bare", "-b", "main", remote.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    repo
}

/// `published`, with gate's pre-push hook installed.
fn guarded() -> TestRepo {
    let repo = published(&[]);
    repo.gate(&["hook", "install"]).expect(0);
    repo
}

/// Commits the incident-000 change: an untested copy of `bin/search.sh` named `_v2`.
fn commit_search_v2(repo: &TestRepo) -> String {
    repo.write("bin/search_v2.sh", &SEARCH.replace("grep -r", "grep -rn").replace("head -n 20", "sort | head -n 50"));
    repo.commit("proposed search algorithm")
}

/// Commits a harmless change.
fn commit_readme(repo: &TestRepo, text: &str) -> String {
    repo.write("README.md", text);
    repo.commit("readme")
}

/// Runs `git push ARGS` in the repository.
fn push(repo: &TestRepo, args: &[&str]) -> Run {
    let mut all = vec!["push"];
    all.extend_from_slice(args);
    finish(repo.git_command(repo.path(), &all).output().unwrap())
}

/// The commit a ref of the remote points at, if it exists.
fn remote_rev(repo: &TestRepo, reference: &str) -> Option<String> {
    let remote = repo.sibling("remote.git");
    let output = repo.git_command(&remote, &["rev-parse", "--verify", "-q", reference]).output().unwrap();
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs `gate hook pre-push origin URL` with `input` as git's standard input.
fn pre_push(repo: &TestRepo, input: &str) -> Run {
    let url = repo.sibling("remote.git");
    let mut child = repo
        .gate_command(repo.path(), &["hook", "pre-push", "origin", url.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    finish(child.wait_with_output().unwrap())
}

fn hook_file(repo: &TestRepo) -> PathBuf {
    repo.path().join(".git/hooks/pre-push")
}

const ZERO: &str = "0000000000000000000000000000000000000000";

// ---- pushes through the installed hook ----

#[test]
fn a_clean_push_passes_and_arrives_on_the_remote() {
    let repo = guarded();
    let release = commit_readme(&repo, "# search\n");

    push(&repo, &["origin", "main"])
        .expect(0)
        .stderr_has("gate: refs/heads/main -> origin refs/heads/main")
        .stderr_has("PASS");
    assert_eq!(remote_rev(&repo, "refs/heads/main").as_deref(), Some(release.as_str()));
}

#[test]
fn an_untested_search_v2_is_blocked_and_nothing_is_pushed() {
    let repo = guarded();
    let before = remote_rev(&repo, "refs/heads/main");
    commit_search_v2(&repo);

    push(&repo, &["origin", "main"])
        .expect(1)
        .stderr_has(
            "bin/search_v2.sh: named like a copy or version of bin/search.sh (marker `_v2`), and no test covers it",
        )
        .stderr_has("BLOCKED: 2 deny findings stop this release")
        .stderr_has("gate: push to origin blocked by refs/heads/main: git pushes none of the refs");
    assert_eq!(remote_rev(&repo, "refs/heads/main"), before, "the remote must not move");
}

#[test]
fn a_bad_second_ref_blocks_the_whole_push_and_is_named() {
    // Regression guard: judging only the first (or last) line of git's input lets a bad ref
    // through behind a good one.
    let repo = guarded();
    repo.git(&["checkout", "-q", "-b", "good-branch"]);
    commit_readme(&repo, "# search\n");
    repo.git(&["checkout", "-q", "-b", "bad-branch", "main"]);
    commit_search_v2(&repo);

    let run = push(&repo, &["origin", "good-branch", "bad-branch"]).expect(1);
    let run = run
        .stderr_has("gate: refs/heads/good-branch -> origin refs/heads/good-branch")
        .stderr_has("gate: refs/heads/bad-branch -> origin refs/heads/bad-branch")
        .stderr_has("gate: push to origin blocked by refs/heads/bad-branch: git pushes none of the refs");
    assert!(!run.stderr.contains("blocked by refs/heads/good-branch"), "{}", run.stderr);
    assert_eq!(remote_rev(&repo, "refs/heads/good-branch"), None, "git aborts the whole push");
    assert_eq!(remote_rev(&repo, "refs/heads/bad-branch"), None);
}

#[test]
fn an_annotated_tag_is_peeled_to_its_commit_and_checked() {
    let repo = guarded();
    let release = commit_search_v2(&repo);
    repo.git(&["tag", "-a", "v2.0.0", "-m", "search v2"]);
    assert_ne!(repo.rev("v2.0.0"), release, "the tag is a tag object, not the commit");

    push(&repo, &["origin", "v2.0.0"])
        .expect(1)
        .stderr_has("gate: refs/tags/v2.0.0 -> origin refs/tags/v2.0.0")
        .stderr_has(&format!("release  {}  refs/tags/v2.0.0  proposed search algorithm", &release[..10]))
        .stderr_has("bin/search_v2.sh: named like a copy");
    assert_eq!(remote_rev(&repo, "refs/tags/v2.0.0"), None);
}

#[test]
fn deleting_a_branch_passes_without_a_check() {
    let repo = guarded();
    repo.git(&["checkout", "-q", "-b", "experiment"]);
    commit_search_v2(&repo);
    push(&repo, &["--no-verify", "-q", "origin", "experiment"]).expect(0);

    let run = push(&repo, &["origin", "--delete", "experiment"]).expect(0);
    let run = run.stderr_has("deletes origin's refs/heads/experiment; nothing to check");
    assert!(!run.stderr.contains("gate check"), "nothing is checked:\n{}", run.stderr);
    assert_eq!(remote_rev(&repo, "refs/heads/experiment"), None);
}

#[test]
fn sharing_the_ledger_is_not_a_release_and_passes() {
    let repo = guarded();
    repo.gate(&["record", "--env", "staging"]).expect(0);
    push(&repo, &["origin", "refs/gate/*:refs/gate/*"])
        .expect(0)
        .stderr_has("origin refs/gate/deploys/staging: skipped, not a branch or tag");
    assert!(remote_rev(&repo, "refs/gate/deploys/staging").is_some());
}

#[test]
fn a_new_branch_is_checked_from_the_newest_commit_the_remote_has() {
    let repo = guarded();
    let on_remote = repo.rev("main");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    commit_readme(&repo, "# search\n");
    commit_search_v2(&repo);

    // Both commits the remote lacks are in the range, so the v2 copy added one commit back is
    // found; the branch's own history on the remote starts at main.
    push(&repo, &["origin", "feature"])
        .expect(1)
        .stderr_has(&format!("base     {} (--base origin/main)", &on_remote[..10]))
        .stderr_has("changes  2 files")
        .stderr_has("refs/heads/feature is new on origin: compared with origin/main, the newest of its commits origin already has");
}

#[test]
fn an_existing_branch_is_checked_from_the_remote_commit() {
    let repo = guarded();
    let on_remote = repo.rev("main");
    commit_readme(&repo, "# one\n");
    commit_readme(&repo, "# two\n");

    push(&repo, &["origin", "main"])
        .expect(0)
        .stderr_has(&format!("base     {} (--base origin/main)", &on_remote[..10]))
        .stderr_has("the base is origin's refs/heads/main as it is now");
}

#[test]
fn a_branch_with_no_history_on_the_remote_is_checked_as_a_first_deploy() {
    let repo = guarded();
    repo.git(&["checkout", "-q", "--orphan", "pages"]);
    repo.git(&["rm", "-rq", "--cached", "."]);
    std::fs::remove_dir_all(repo.path().join("bin")).unwrap();
    std::fs::remove_dir_all(repo.path().join("test")).unwrap();
    commit_readme(&repo, "# pages\n");

    push(&repo, &["origin", "pages"])
        .expect(0)
        .stderr_has("base     none: the whole release tree is checked as a first deploy")
        .stderr_has("refs/heads/pages is new on origin and shares no history with origin's remote-tracking refs");
}

// ---- git's pre-push protocol, fed by hand ----

#[test]
fn lines_are_read_from_the_right_so_a_local_ref_may_hold_spaces() {
    let repo = published(&[]);
    let release = commit_readme(&repo, "# search\n");
    let input = format!("HEAD^{{/readme and more}} {release} refs/heads/fix {ZERO}\n");

    pre_push(&repo, &input)
        .expect(0)
        .stdout_has("gate: HEAD^{/readme and more} -> origin refs/heads/fix")
        .stdout_has(&format!("release  {}  HEAD^{{/readme and more}}  readme", &release[..10]));
}

#[test]
fn sha256_object_names_are_read_and_a_deletion_needs_no_check() {
    let repo = published(&[]);
    let input = format!("(delete) {} refs/heads/old {}\n", "0".repeat(64), "ab".repeat(32));
    pre_push(&repo, &input).expect(0).stdout_has("deletes origin's refs/heads/old; nothing to check");
}

#[test]
fn empty_input_is_nothing_to_push_and_passes() {
    let repo = published(&[]);
    let run = pre_push(&repo, "").expect(0);
    assert_eq!(run.stdout, "");
}

#[test]
fn a_remote_commit_this_clone_lacks_stops_with_the_fetch_to_run() {
    // Someone pushed since the last fetch: what the push would overwrite is unknown here, and
    // gate does not guess a base for it.
    let repo = published(&[]);
    let release = commit_readme(&repo, "# search\n");
    let theirs = "1234567890123456789012345678901234567890";
    let run = pre_push(&repo, &format!("refs/heads/main {release} refs/heads/main {theirs}\n")).expect(2);
    let run = run.stderr_has("origin's refs/heads/main is at 1234567890, which this repository does not have");
    let run = run.stderr_has("run `git fetch origin`");
    assert_eq!(run.stderr.lines().count(), 1, "one line to act on:\n{}", run.stderr);
}

#[test]
fn a_line_gate_cannot_read_is_an_error() {
    let repo = published(&[]);
    pre_push(&repo, "refs/heads/main 1234 refs/heads/main\n")
        .expect(2)
        .stderr_has("cannot read line 1 of git's pre-push input");
}

// ---- [hooks.pre-push] ----

#[test]
fn branches_outside_hooks_pre_push_branches_are_skipped() {
    let repo = published(&[("gate.toml", "[hooks.pre-push]\nbranches = [\"main\", \"release/*\"]\n")]);
    repo.gate(&["hook", "install"]).expect(0);
    repo.git(&["checkout", "-q", "-b", "wip/search"]);
    commit_search_v2(&repo);

    push(&repo, &["origin", "wip/search"])
        .expect(0)
        .stderr_has("gate: refs/heads/wip/search -> origin refs/heads/wip/search: skipped, [hooks.pre-push] branches (gate.toml:2) does not include `wip/search`");
    // The copy is on the remote now, but only on a branch the hook skips: it was never judged,
    // so a new checked branch is compared with what the checked branches hold.
    push(&repo, &["origin", "wip/search:release/1.0"])
        .expect(1)
        .stderr_has("base     ")
        .stderr_has("(--base origin/main)")
        .stderr_has("BLOCKED");
    push(&repo, &["origin", "wip/search:main"]).expect(1).stderr_has("BLOCKED");
}

#[test]
fn a_release_cannot_skip_itself_by_editing_the_branch_filter() {
    let repo = published(&[("gate.toml", "[hooks.pre-push]\nbranches = [\"main\"]\n")]);
    repo.gate(&["hook", "install"]).expect(0);
    repo.write("gate.toml", "[hooks.pre-push]\nbranches = [\"release/*\"]\n");
    commit_search_v2(&repo);

    push(&repo, &["origin", "main"])
        .expect(1)
        .stderr_has("checked although this release's policy skips it")
        .stderr_has("bin/search_v2.sh: named like a copy");
}

#[test]
fn tags_outside_hooks_pre_push_tags_are_skipped() {
    let repo = published(&[("gate.toml", "[hooks.pre-push]\ntags = [\"v*\"]\n")]);
    repo.gate(&["hook", "install"]).expect(0);
    commit_search_v2(&repo);
    repo.git(&["tag", "nightly"]);
    repo.git(&["tag", "v2.0.0"]);

    push(&repo, &["origin", "nightly"]).expect(0).stderr_has("skipped, [hooks.pre-push] tags (gate.toml:2)");
    push(&repo, &["origin", "v2.0.0"]).expect(1).stderr_has("BLOCKED");
}

#[test]
fn with_an_environment_the_base_is_its_last_deploy() {
    let repo = published(&[("gate.toml", "[hooks.pre-push]\nenvironment = \"staging\"\n")]);
    let deployed = repo.rev("HEAD");
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.gate(&["hook", "install"]).expect(0);
    commit_readme(&repo, "# one\n");
    push(&repo, &["-q", "--no-verify", "origin", "main"]).expect(0);
    commit_readme(&repo, "# two\n");

    // origin has "# one", but staging still runs the first commit: that is the base.
    push(&repo, &["origin", "main"])
        .expect(0)
        .stderr_has("gate check: release to staging")
        .stderr_has(&format!("base     {}  last deploy of staging", &deployed[..10]));
}

#[test]
fn hooks_pre_push_is_parsed_strictly() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    repo.write(
        "gate.toml",
        "[hooks.pre-push]\nbranchs = [\"main\"]\ntags = [\"v[\"]\nenvironment = \"prod\"\n\n[hooks.pre-pushh]\n",
    );
    repo.gate(&["checks"])
        .expect(2)
        .stderr_has("unknown field `branchs`")
        .stderr_has("--> gate.toml:2:1")
        .stderr_has("did you mean `branches`?")
        .stderr_has("unknown hook `pre-pushh` in [hooks]")
        .stderr_has("did you mean `pre-push`?");
    repo.write("gate.toml", "[hooks.pre-push]\ntags = [\"v[\"]\nenvironment = \"prod\"\n");
    repo.gate(&["checks"])
        .expect(2)
        .stderr_has("invalid glob `v[`")
        .stderr_has("--> gate.toml:2:9")
        .stderr_has("[hooks.pre-push] environment `prod` is not an environment")
        .stderr_has("--> gate.toml:3:15");
    repo.write("gate.toml", "[hook.pre-push]\n");
    repo.gate(&["checks"])
        .expect(2)
        .stderr_has("unknown key `hook` at the top level")
        .stderr_has("did you mean `hooks`?");
}

// ---- install and uninstall ----

#[test]
fn install_writes_an_executable_hook_that_runs_this_gate() {
    let repo = published(&[]);
    repo.gate(&["hook", "install"])
        .expect(0)
        .stdout_has(&format!("installed the pre-push hook: {}", hook_file(&repo).display()));
    let script = std::fs::read_to_string(hook_file(&repo)).unwrap();
    assert!(script.starts_with("#!/bin/sh\n# installed by gate"), "{script}");
    assert!(script.contains(&format!("gate='{}'", env!("CARGO_BIN_EXE_gate"))), "{script}");
    assert_executable(&hook_file(&repo));

    // Installing again rewrites gate's own hook; nothing is chained.
    repo.gate(&["hook", "install"]).expect(0);
    assert!(!repo.path().join(".git/hooks/pre-push.gate-chained").exists());
}

#[test]
fn install_respects_core_hooks_path() {
    let repo = published(&[]);
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let hook = repo.path().join(".githooks/pre-push");
    repo.gate(&["hook", "install"]).expect(0).stdout_has(&format!("installed the pre-push hook: {}", hook.display()));
    assert_executable(&hook);
    assert!(!hook_file(&repo).exists());

    commit_search_v2(&repo);
    push(&repo, &["origin", "main"]).expect(1).stderr_has("BLOCKED");
}

#[test]
fn a_worktree_installs_into_the_shared_hooks_directory() {
    let repo = published(&[]);
    let worktree = repo.sibling("worktree");
    repo.git(&["worktree", "add", "-q", "-b", "side", worktree.to_str().unwrap()]);
    repo.gate_in(&worktree, &["hook", "install"], &[]).expect(0);
    assert!(hook_file(&repo).exists(), "worktrees share the main repository's hooks");
}

#[test]
fn install_refuses_to_replace_a_hook_it_did_not_write() {
    let repo = published(&[]);
    let foreign = "#!/bin/sh\necho lint\n";
    write_hook(&hook_file(&repo), foreign);

    repo.gate(&["hook", "install"])
        .expect(2)
        .stderr_has("pre-push already exists and gate did not write it")
        .stderr_has("gate hook install --force");
    assert_eq!(std::fs::read_to_string(hook_file(&repo)).unwrap(), foreign);
}

#[test]
fn force_keeps_the_old_hook_and_runs_it_first_with_the_same_input() {
    let repo = published(&[]);
    let seen = repo.sibling("seen-by-old-hook");
    let foreign = format!("#!/bin/sh\necho \"$1 $2\" > '{}'\ncat >> '{}'\n", seen.display(), seen.display());
    write_hook(&hook_file(&repo), &foreign);

    repo.gate(&["hook", "install", "--force"])
        .expect(0)
        .stdout_has("the hook that was there is kept as pre-push.gate-chained and runs first");
    let chained = repo.path().join(".git/hooks/pre-push.gate-chained");
    assert_eq!(std::fs::read_to_string(&chained).unwrap(), foreign);
    assert_executable(&chained);

    // Both hooks see git's arguments and the whole of its input.
    let release = commit_readme(&repo, "# search\n");
    push(&repo, &["origin", "main"]).expect(0).stderr_has("PASS");
    let remote = repo.sibling("remote.git");
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert!(seen.starts_with(&format!("origin {}\n", remote.display())), "{seen}");
    assert!(seen.contains(&format!("refs/heads/main {release} refs/heads/main ")), "{seen}");

    // When the old hook fails, the push stops with it, before gate's check.
    write_hook(&chained, "#!/bin/sh\necho 'lint failed' >&2\nexit 3\n");
    let before = remote_rev(&repo, "refs/heads/main");
    commit_readme(&repo, "# search, again\n");
    let run = push(&repo, &["origin", "main"]).expect(1).stderr_has("lint failed");
    assert!(!run.stderr.contains("gate check"), "{}", run.stderr);
    assert_eq!(remote_rev(&repo, "refs/heads/main"), before);
}

#[test]
fn uninstall_removes_only_gates_hook_and_restores_the_one_it_kept() {
    let repo = published(&[]);
    let foreign = "#!/bin/sh\nexit 0\n";
    write_hook(&hook_file(&repo), foreign);
    repo.gate(&["hook", "install", "--force"]).expect(0);

    repo.gate(&["hook", "uninstall"])
        .expect(0)
        .stdout_has("removed gate's pre-push hook")
        .stdout_has("restored the hook gate had kept: pre-push.gate-chained is pre-push again");
    assert_eq!(std::fs::read_to_string(hook_file(&repo)).unwrap(), foreign);
    assert_executable(&hook_file(&repo));
    assert!(!repo.path().join(".git/hooks/pre-push.gate-chained").exists());

    repo.gate(&["hook", "uninstall"])
        .expect(2)
        .stderr_has("pre-push was not installed by gate, so it is left as it is");
    assert_eq!(std::fs::read_to_string(hook_file(&repo)).unwrap(), foreign);

    std::fs::remove_file(hook_file(&repo)).unwrap();
    repo.gate(&["hook", "uninstall"]).expect(0).stdout_has("nothing to remove");
}

fn write_hook(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    set_mode(path, 0o755);
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[track_caller]
fn assert_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755, "{} has mode {mode:o}", path.display());
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

#[cfg(not(unix))]
fn assert_executable(_path: &Path) {}
