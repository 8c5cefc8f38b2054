//! The pre-commit framework's pre-push stage: the project's `.pre-commit-hooks.yaml` checked
//! by the real pre-commit, a `repo: local` hook made of its fields driving a real `git push`,
//! and `gate hook pre-commit` fed pre-commit's variables by hand.

use std::path::{Path, PathBuf};

use super::{SEARCH, commit_readme, commit_search_v2, published, push, remote_rev};
use crate::support::{Run, TestRepo, finish, python};

/// The project's own `.pre-commit-hooks.yaml`.
fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml")
}

#[test]
fn the_pre_commit_manifest_is_valid() {
    let output = std::process::Command::new(python::tool("pre-commit"))
        .args(["validate-manifest"])
        .arg(manifest())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `.pre-commit-config.yaml` with a `repo: local` hook made of the manifest's own fields, run
/// with `language: system` (building gate with cargo inside a test would take minutes).
fn local_pre_commit_config() -> String {
    let text = std::fs::read_to_string(manifest()).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let hook = &docs[0][0];
    assert_eq!(hook["language"].as_str(), Some("rust"), "the published hook builds gate with cargo");
    let list = |key: &str| {
        let items: Vec<String> = hook[key].as_vec().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        format!("[{}]", items.join(", "))
    };
    format!(
        concat!(
            "repos:\n",
            "- repo: local\n",
            "  hooks:\n",
            "  - id: {}\n",
            "    name: {}\n",
            "    entry: {}\n",
            "    language: system\n",
            "    stages: {}\n",
            "    pass_filenames: {}\n",
            "    always_run: {}\n",
        ),
        hook["id"].as_str().unwrap(),
        hook["name"].as_str().unwrap(),
        hook["entry"].as_str().unwrap(),
        list("stages"),
        hook["pass_filenames"].as_bool().unwrap(),
        hook["always_run"].as_bool().unwrap(),
    )
}

/// PATH with the directory of the gate under test first, so `entry: gate ...` runs it.
fn path_with_gate() -> std::ffi::OsString {
    let bin = Path::new(env!("CARGO_BIN_EXE_gate")).parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&rest))).unwrap()
}

/// `program ARGS` with the test environment, the gate under test first on PATH (the hook's
/// entry is `gate hook pre-commit`), and pre-commit's cache inside the temporary directory.
fn with_gate_on_path(repo: &TestRepo, program: &Path, args: &[&str]) -> std::process::Command {
    let template = repo.git_command(repo.path(), args);
    let mut command = std::process::Command::new(program);
    command.args(args).current_dir(repo.path()).env_clear();
    for (key, value) in template.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    command.env("PATH", path_with_gate()).env("PRE_COMMIT_HOME", repo.sibling("pre-commit-home"));
    command
}

#[test]
fn the_pre_commit_pre_push_stage_blocks_a_bad_push_and_passes_a_good_one() {
    let repo = published(&[]);
    repo.write(".pre-commit-config.yaml", &local_pre_commit_config());
    repo.commit("pre-commit");
    push(&repo, &["-q", "--no-verify", "origin", "main"]).expect(0);
    let installed = with_gate_on_path(&repo, &python::tool("pre-commit"), &["install", "--hook-type", "pre-push"])
        .output()
        .unwrap();
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));

    let git_push = |args: &[&str]| {
        let mut all = vec!["push"];
        all.extend_from_slice(args);
        let run = finish(with_gate_on_path(&repo, Path::new("git"), &all).output().unwrap());
        // pre-commit prints a failing hook's output on its standard output.
        Run { code: run.code, stdout: format!("{}{}", run.stdout, run.stderr), stderr: String::new() }
    };

    let before = remote_rev(&repo, "refs/heads/main");
    commit_search_v2(&repo);
    git_push(&["origin", "main"])
        .expect(1)
        .stdout_has("gate")
        .stdout_has("bin/search_v2.sh: named like a copy")
        .stdout_has("BLOCKED");
    assert_eq!(remote_rev(&repo, "refs/heads/main"), before);

    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let release = commit_readme(&repo, "# search\n");
    git_push(&["origin", "main"]).expect(0).stdout_has("Passed");
    assert_eq!(remote_rev(&repo, "refs/heads/main").as_deref(), Some(release.as_str()));
}

#[test]
fn the_pre_commit_hook_outside_the_pre_push_stage_cannot_decide() {
    let repo = published(&[]);
    repo.gate(&["hook", "pre-commit"])
        .expect(2)
        .stderr_has("PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF are not set")
        .stderr_has("stages: [pre-push]");
}

#[test]
fn the_pre_commit_hook_checks_from_ref_to_to_ref_with_the_branch_filter() {
    let repo = published(&[("gate.toml", "[hooks.pre-push]\nbranches = [\"main\"]\n")]);
    let from = repo.rev("HEAD");
    let to = commit_search_v2(&repo);
    let env = |branch: &'static str| {
        vec![
            ("PRE_COMMIT_FROM_REF", from.clone()),
            ("PRE_COMMIT_TO_REF", to.clone()),
            ("PRE_COMMIT_REMOTE_NAME", "origin".to_string()),
            ("PRE_COMMIT_REMOTE_BRANCH", format!("refs/heads/{branch}")),
            ("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main".to_string()),
        ]
    };
    let run = |vars: Vec<(&str, String)>| {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        repo.gate_in(repo.path(), &["hook", "pre-commit"], &vars)
    };
    run(env("main"))
        .expect(1)
        .stdout_has("gate: refs/heads/main -> origin refs/heads/main")
        .stdout_has(&format!("base     {} (--base origin/main)", &from[..10]))
        .stdout_has("BLOCKED");
    run(env("scratch")).expect(0).stdout_has("skipped, [hooks.pre-push] branches");
}

#[test]
fn the_pre_commit_hook_checks_a_push_the_remote_shares_no_history_with_as_a_first_deploy() {
    // pre-commit passes no PRE_COMMIT_FROM_REF when the pushed history reaches a root commit the
    // remote lacks: only the refs. The whole release tree is new.
    let repo = TestRepo::with_files(&[("bin/search.sh", SEARCH)]);
    commit_search_v2(&repo);
    let vars = [
        ("PRE_COMMIT_REMOTE_NAME", "origin"),
        ("PRE_COMMIT_REMOTE_URL", "/nowhere/remote.git"),
        ("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/main"),
        ("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main"),
    ];
    repo.gate_in(repo.path(), &["hook", "pre-commit"], &vars)
        .expect(1)
        .stdout_has("base     none: the whole release tree is checked as a first deploy")
        .stdout_has("origin has none of this history")
        .stdout_has("BLOCKED");
}

/// The published `gate-system` hook, as a user's `.pre-commit-config.yaml` names it: pre-commit
/// fetches the hook repository (here a git repository holding this project's manifest) at a
/// rev, and runs the `gate` on PATH with no toolchain.
#[test]
fn the_gate_system_hook_runs_the_gate_on_path_under_the_real_pre_commit() {
    let repo = published(&[]);
    let hooks = TestRepo::new();
    hooks.write(".pre-commit-hooks.yaml", &std::fs::read_to_string(manifest()).unwrap());
    let rev = hooks.commit("the manifest");
    repo.write(
        ".pre-commit-config.yaml",
        &format!("repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: gate-system\n", hooks.path().display()),
    );
    repo.commit("pre-commit");
    push(&repo, &["-q", "--no-verify", "origin", "main"]).expect(0);
    let installed = with_gate_on_path(&repo, &python::tool("pre-commit"), &["install", "--hook-type", "pre-push"])
        .output()
        .unwrap();
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
    commit_search_v2(&repo);
    let run = finish(with_gate_on_path(&repo, Path::new("git"), &["push", "origin", "main"]).output().unwrap());
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 1, "{all}");
    assert!(all.contains("gate (system)") && all.contains("bin/search_v2.sh: named like a copy"), "{all}");
}
