//! Test fixtures: real git repositories in temporary directories, built with the git command
//! line under a fixed clock so commit ids are stable, and the real `gate` binary run with a
//! clean environment (no GIT_* or GATE_* leaking in from the developer's shell, HOME inside
//! the temporary directory, colour off).

#![allow(dead_code)]

pub mod python;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// 2026-11-02 09:00:00 UTC, a Monday: the fixture clock starts here.
pub const EPOCH: i64 = 1_793_610_000;

pub struct TestRepo {
    dir: tempfile::TempDir,
    /// Seconds since the epoch; every commit advances it by a minute.
    clock: std::cell::Cell<i64>,
    root: PathBuf,
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, code, "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts a line that reads `row` once runs of spaces are collapsed (for tables whose
    /// column widths depend on the longest check id).
    #[track_caller]
    pub fn stdout_has_row(self, row: &str) -> Self {
        let squeeze = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let row = squeeze(row);
        assert!(
            self.stdout.lines().any(|line| squeeze(line).starts_with(&row)),
            "stdout has no row {row:?}\n--- stdout\n{}",
            self.stdout
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(self, needle: &str) -> Self {
        assert!(!self.stdout.contains(needle), "stdout has {needle:?}\n--- stdout\n{}", self.stdout);
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl TestRepo {
    /// An empty repository on branch `main`.
    pub fn new() -> TestRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).expect("create repo dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("create home");
        let repo = TestRepo { dir, clock: std::cell::Cell::new(EPOCH), root };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Dana Deployer"]);
        repo.git(&["config", "user.email", "dana@example.com"]);
        repo
    }

    /// A repository whose first commit holds `files`.
    pub fn with_files(files: &[(&str, &str)]) -> TestRepo {
        let repo = TestRepo::new();
        for (path, content) in files {
            repo.write(path, content);
        }
        repo.commit("initial");
        repo
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// A directory beside the repository, for clones and other repositories.
    pub fn sibling(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn now(&self) -> i64 {
        self.clock.get()
    }

    /// Moves the fixture clock forward.
    pub fn advance(&self, seconds: i64) {
        self.clock.set(self.clock.get() + seconds);
    }

    /// The fixture clock as RFC 3339, for GATE_NOW.
    pub fn now_rfc3339(&self) -> String {
        let ts = jiff::Timestamp::from_second(self.clock.get()).expect("valid time");
        ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    pub fn write(&self, path: &str, content: &str) {
        let full = self.root.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
    }

    pub fn write_bytes(&self, path: &str, content: &[u8]) {
        let full = self.root.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
    }

    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.root.join(path)).expect("remove");
    }

    /// Stages everything and commits at the fixture clock; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        self.advance(60);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.rev("HEAD")
    }

    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", rev]).trim().to_string()
    }

    /// Runs git in the repository; panics when it fails.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.root, args)
    }

    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.git_command(dir, args).output().expect("run git");
        assert!(output.status.success(), "git {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A git command with the clean test environment.
    pub fn git_command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        command.args(args).current_dir(dir);
        self.clean_env(&mut command);
        command
    }

    fn clean_env(&self, command: &mut Command) {
        let date = format!("@{} +0000", self.clock.get());
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("LANG", "C")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("NO_COLOR", "1")
            .env("GATE_NOW", self.now_rfc3339());
    }

    /// Runs the gate binary in the repository.
    pub fn gate(&self, args: &[&str]) -> Run {
        self.gate_in(&self.root, args, &[])
    }

    /// Runs the gate binary in `dir` with extra environment variables.
    pub fn gate_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.gate_command(dir, args);
        for (key, value) in env {
            command.env(key, value);
        }
        finish(command.output().expect("run gate"))
    }

    pub fn gate_command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gate"));
        command.args(args).current_dir(dir).stdin(Stdio::null());
        self.clean_env(&mut command);
        command
    }
}

pub fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
