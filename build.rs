//! Records the commit gate is built from, for `gate --version`: `0.1.0 (3f2a9c1b7e)`, or
//! `unknown` when the source is not a git checkout (a crate tarball).

use std::process::Command;

/// What `git ARGS` prints, trimmed; `None` if git is missing, fails or prints nothing.
fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|text| !text.is_empty())
}

fn main() {
    let commit = git(&["rev-parse", "--short=10", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=GATE_COMMIT={commit}");

    // Build again when HEAD moves: the HEAD file, the branch it names, and packed refs. Their
    // paths come from git, so that a linked worktree (where `.git` is a file) is followed too:
    // its HEAD is its own, its branches and packed refs the main repository's.
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
        if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"]) {
            println!("cargo:rerun-if-changed={packed}");
        }
        if let Ok(text) = std::fs::read_to_string(&head)
            && let Some(reference) = text.trim().strip_prefix("ref: ")
            && let Some(path) = git(&["rev-parse", "--git-path", reference])
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
