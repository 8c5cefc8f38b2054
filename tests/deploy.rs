//! Issue 13: `gate deploy --env ENV -- COMMAND` checks, runs and records as one step, under a
//! per-environment lease; `gate evidence add KIND -- COMMAND` records evidence only when the
//! command succeeds.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TestRepo, finish};

fn passing_report() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/junit/nette-tester_no-suite-name.xml")
        .to_string_lossy()
        .into_owned()
}

/// Production runs the first commit; a release with passing tests is committed on top, not yet
/// in staging (the default pack: production wants tests, staging first and 30m of soak).
fn tested_release() -> TestRepo {
    let repo = TestRepo::with_files(&[("app/server.py", "def serve():\n    return 'ok'\n")]);
    repo.gate(&["record", "--env", "production", "--force", "--reason", "first deploy"]).expect(0);
    repo.write("app/server.py", "def serve():\n    return 'faster'\n");
    repo.commit("make it faster");
    repo.gate(&["evidence", "add", "tests", "--junit", &passing_report()]).expect(0);
    repo
}

/// A command that says it started (`started-NAME`), then runs until `go` exists: a deploy the
/// test holds open. It also ends when its directory is gone (the test is over: the command of a
/// killed gate outlives it) and after a minute, so that no test leaves it running.
fn held_open(name: &str) -> String {
    format!(
        "touch started-{name}; i=0; while [ ! -e go ] && [ -e started-{name} ] && [ $i -lt 1200 ]; \
         do i=$((i + 1)); sleep 0.05; done"
    )
}

fn wait_for(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a `gate deploy` that holds the lease on `env` until the test creates `go`.
fn start_deploy(repo: &TestRepo, env: &str, name: &str) -> Child {
    let command = held_open(name);
    let child = repo
        .gate_command(repo.path(), &["deploy", "--env", env, "--", "sh", "-c", &command])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&repo.path().join(format!("started-{name}")), "the first deploy to start its command");
    child
}

fn lease_refs(repo: &TestRepo) -> String {
    repo.git(&["for-each-ref", "refs/gate-leases/"])
}

#[test]
fn a_deploy_whose_check_passes_runs_the_command_and_records_it() {
    let repo = tested_release();
    let release = repo.rev("HEAD");
    let run = repo
        .gate(&["deploy", "--env", "staging", "--", "sh", "-c", "echo rolled out; echo staging > deployed-to"])
        .expect(0)
        .stderr_has("PASS: no blocking findings")
        .stderr_has(&format!(
            "gate: deploying {} to staging: sh -c 'echo rolled out; echo staging > deployed-to'",
            &release[..10]
        ))
        .stderr_has(&format!("recorded: {} deployed to staging by Dana Deployer", &release[..10]));
    // Standard output is the command's alone.
    assert_eq!(run.stdout, "rolled out\n");
    assert!(repo.path().join("deployed-to").exists());
    assert_eq!(repo.rev("refs/gate/deploys/staging^2"), release);
    repo.gate(&["status", "--env", "staging"]).expect(0).stdout_has(&format!("staging  {}", &release[..10]));
    assert_eq!(lease_refs(&repo), "", "the lease is given back");

    // After the soak, production: the same step, and the deploy record says what ran.
    repo.advance(31 * 60);
    repo.gate(&["deploy", "--env", "production", "--", "true"])
        .expect(0)
        .stderr_has("PASS: no blocking findings")
        .stderr_has("recorded: ");
    assert_eq!(repo.rev("refs/gate/deploys/production^2"), release);
    let json = repo.gate(&["evidence", "list", "--format", "json"]).expect(0).json();
    let deploys: Vec<&serde_json::Value> =
        json["records"].as_array().unwrap().iter().filter(|r| r["kind"] == "deploy").collect();
    assert_eq!(deploys.len(), 2);
    assert_eq!(deploys[1]["environment"], "production");
    assert_eq!(deploys[1]["run"]["program"], "true");
    assert_eq!(deploys[1]["run"]["exit"], 0);
    assert!(deploys[1]["run"]["duration-ms"].is_u64());
}

#[test]
fn a_failing_deploy_command_records_nothing_and_gate_exits_with_its_status() {
    let repo = tested_release();
    repo.gate(&["deploy", "--env", "staging", "--", "sh", "-c", "echo half done; exit 3"])
        .expect(3)
        .stdout_has("half done")
        .stderr_has("gate: the deploy command failed (exit status 3); nothing was recorded, and staging may be partly deployed: the ledger still says it runs nothing");
    repo.gate(&["status", "--env", "staging"]).expect(0).stdout_has("never deployed");
    assert_eq!(lease_refs(&repo), "");

    // A command killed by a signal: 128 + the signal, as a shell reports it.
    repo.gate(&["deploy", "--env", "staging", "--", "sh", "-c", "kill -9 $$"])
        .expect(137)
        .stderr_has("the deploy command failed (killed by signal 9); nothing was recorded");
    // A command that cannot be started is gate's error: exit 2, nothing recorded.
    repo.gate(&["deploy", "--env", "staging", "--", "./no-such-deploy.sh"])
        .expect(2)
        .stderr_has("gate: error: cannot run `./no-such-deploy.sh`");
    repo.gate(&["status", "--env", "staging"]).expect(0).stdout_has("never deployed");
    assert_eq!(lease_refs(&repo), "");
}

#[test]
fn a_blocked_check_never_runs_the_deploy_command() {
    let repo = tested_release();
    let marker = repo.path().join("deployed");
    let before = repo.rev("refs/gate/deploys/production");
    repo.gate(&["deploy", "--env", "production", "--", "touch", "deployed"])
        .expect(1)
        .stderr_has("deny   the release tree was never deployed to staging (production requires it)")
        .stderr_has("gate: not deployed: the check for production blocks")
        .stderr_has("the deploy command did not run");
    assert!(!marker.exists(), "the deploy command ran");
    assert_eq!(repo.rev("refs/gate/deploys/production"), before);
    assert_eq!(lease_refs(&repo), "");

    // A check that cannot decide (an unknown environment, a bad time-out) runs nothing either.
    repo.gate(&["deploy", "--env", "prod", "--", "touch", "deployed"]).expect(2);
    repo.gate(&["deploy", "--env", "staging", "--lease-timeout", "soon", "--", "touch", "deployed"])
        .expect(2)
        .stderr_has("--lease-timeout `soon` is not a duration");
    assert!(!marker.exists(), "the deploy command ran");
    // And there must be a command.
    repo.gate(&["deploy", "--env", "staging"]).expect(2);
}

#[test]
fn a_second_deploy_to_the_same_environment_refuses_or_waits_while_the_first_holds_the_lease() {
    let repo = tested_release();
    let first = start_deploy(&repo, "staging", "first");
    let pid = first.id();

    repo.gate(&["deploy", "--env", "staging", "--", "touch", "second-ran"])
        .expect(2)
        .stderr_has("gate: error: another deploy to staging is running: the lease is held by Dana Deployer <dana@example.com> on ")
        .stderr_has(&format!("(pid {pid}) since 2026-11-02 "))
        .stderr_has("it expires 2026-11-02 ")
        .stderr_has("wait for it to end (or pass --wait)");
    assert!(!repo.path().join("second-ran").exists());
    repo.gate(&["status", "--env", "staging"]).expect(0).stdout_has("DEPLOYING: the lease is held by Dana Deployer");
    // Another environment has its own lease.
    repo.gate(&["deploy", "--env", "production", "--", "true"]).expect(1).stderr_has("not deployed");

    // With --wait, the third deploy runs once the first one ends, and checks against it.
    let log = repo.sibling("third.log");
    let mut third = repo
        .gate_command(repo.path(), &["deploy", "--env", "staging", "--wait", "--", "touch", "third-ran"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log).unwrap().contains("waiting for the lease on staging") {
        assert!(Instant::now() < deadline, "the third deploy does not wait");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!repo.path().join("third-ran").exists());
    std::fs::write(repo.path().join("go"), "").unwrap();
    finish(first.wait_with_output().unwrap()).expect(0).stderr_has("recorded: ");
    assert!(third.wait().unwrap().success());
    let third = std::fs::read_to_string(&log).unwrap();
    assert!(third.contains("already recorded: "), "the third deploy did not see the first one's record:\n{third}");
    assert!(repo.path().join("third-ran").exists());
    assert_eq!(lease_refs(&repo), "");
}

#[test]
fn an_expired_lease_is_taken_over_and_the_deploy_that_lost_it_records_nothing() {
    let repo = tested_release();
    let first = start_deploy(&repo, "staging", "first");
    // Two hours later the first deploy's lease (1h) has expired.
    repo.advance(2 * 3600);
    repo.gate(&["deploy", "--env", "staging", "--", "touch", "second-ran"])
        .expect(0)
        .stderr_has("gate: took over the lease on staging from Dana Deployer <dana@example.com> on ")
        .stderr_has("it expired 2026-11-02 ")
        .stderr_has("recorded: ");
    assert!(repo.path().join("second-ran").exists());
    let recorded = repo.rev("refs/gate/deploys/staging");

    std::fs::write(repo.path().join("go"), "").unwrap();
    finish(first.wait_with_output().unwrap())
        .expect(2)
        .stderr_has("the deploy command succeeded, but the lease on staging expired while it ran and was taken over")
        .stderr_has("nothing was recorded; find out what staging runs, then record it: gate record --env staging");
    assert_eq!(repo.rev("refs/gate/deploys/staging"), recorded, "the deploy that lost its lease recorded nothing");
    assert_eq!(lease_refs(&repo), "");
}

/// Where gate can tell that the process holding a lease is gone (Linux), a lease left by a
/// killed deploy does not wait for its time-out.
#[cfg(target_os = "linux")]
#[test]
fn a_lease_left_by_a_killed_deploy_is_taken_over_at_once() {
    let repo = tested_release();
    let mut first = start_deploy(&repo, "staging", "first");
    let pid = first.id();
    first.kill().unwrap();
    first.wait().unwrap();
    repo.gate(&["status", "--env", "staging"]).expect(0).stdout_has("DEPLOYING: the lease is held by");
    repo.gate(&["deploy", "--env", "staging", "--", "true"])
        .expect(0)
        .stderr_has("took over the lease on staging from Dana Deployer <dana@example.com> on ")
        .stderr_has(&format!("process {pid} is no longer running"))
        .stderr_has("recorded: ");
    // The killed gate's command is still waiting: let it end.
    std::fs::write(repo.path().join("go"), "").unwrap();
    assert_eq!(lease_refs(&repo), "");
}

#[test]
fn a_lease_ref_gate_did_not_write_stops_the_deploy() {
    let repo = tested_release();
    repo.git(&["update-ref", "refs/gate-leases/staging", "HEAD"]);
    repo.gate(&["deploy", "--env", "staging", "--", "touch", "deployed"])
        .expect(2)
        .stderr_has("refs/gate-leases/staging is not a lease gate wrote")
        .stderr_has("git update-ref -d refs/gate-leases/staging");
    assert!(!repo.path().join("deployed").exists());
}

/// Incident 004: a host died with no backup. `gate evidence add backup -- ./backup.sh` records
/// the backup only when the script succeeds.
#[test]
fn evidence_from_a_command_is_recorded_only_when_the_command_succeeds() {
    let repo = TestRepo::with_files(&[
        ("gate.toml", "[environments.staging]\nevidence = [\"backup\"]\n"),
        ("app/server.py", "def serve():\n    return 'ok'\n"),
    ]);
    repo.write("backup.sh", "#!/bin/sh\necho \"dumped the database\"\n");
    repo.write("broken-backup.sh", "#!/bin/sh\necho 'disk full' >&2\nexit 4\n");
    for script in ["backup.sh", "broken-backup.sh"] {
        let path = repo.path().join(script);
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&path, permissions).unwrap();
    }
    repo.gate(&["check", "--env", "staging"]).expect(1).stdout_has("backup");

    repo.gate(&["evidence", "add", "backup", "--", "./broken-backup.sh"])
        .expect(4)
        .stderr_has("gate: `./broken-backup.sh` failed (exit status 4); no backup evidence was recorded");
    repo.gate(&["evidence", "list"]).expect(0).stdout_has("none recorded");
    repo.gate(&["check", "--env", "staging"]).expect(1);

    let run = repo
        .gate(&["evidence", "add", "backup", "--detail", "nightly dump", "--", "./backup.sh"])
        .expect(0)
        .stderr_has("recorded backup evidence for tree")
        .stderr_has("(ran ./backup.sh, exit 0 after ");
    assert_eq!(run.stdout, "dumped the database\n", "standard output is the command's");
    repo.gate(&["evidence", "list"])
        .expect(0)
        .stdout_has("by Dana Deployer <dana@example.com>: nightly dump (ran ./backup.sh, exit 0 after ");
    let json = repo.gate(&["evidence", "list", "--format", "json"]).expect(0).json();
    let records = json["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["run"]["program"], "./backup.sh");
    assert_eq!(records[0]["run"]["exit"], 0);
    assert!(records[0]["run"]["duration-ms"].is_u64());
    repo.gate(&["check", "--env", "staging"]).expect(0);

    // The forms without a command are unchanged.
    repo.gate(&["evidence", "add", "backup", "--detail", "by hand"]).expect(0).stdout_has("recorded backup evidence");
    // A command runs on the working tree; the evidence is for HEAD's tree, and gate says so.
    repo.write("app/server.py", "def serve():\n    return 'edited'\n");
    repo.gate(&["evidence", "add", "backup", "--", "./backup.sh"])
        .expect(0)
        .stderr_has("gate: warning: 1 tracked file differs from HEAD's commit; the command runs on the working tree");
}

/// With `--junit`, the reports are read after the command ran, and must be the ones it wrote.
#[test]
fn test_evidence_from_a_command_reads_the_reports_it_wrote() {
    let repo = TestRepo::with_files(&[("app/server.py", "def serve():\n    return 'ok'\n")]);
    std::fs::create_dir_all(repo.path().join("reports")).unwrap();
    let copy = format!("cp '{}' reports/unit.xml", passing_report());
    repo.gate(&["evidence", "add", "tests", "--junit", "reports/*.xml", "--", "sh", "-c", &copy])
        .expect(0)
        .stderr_has("recorded tests evidence")
        .stderr_has("(ran sh, exit 0 after ");
    repo.gate(&["evidence", "list"]).expect(0).stdout_has("passed,").stdout_has("(ran sh, exit 0");

    // A report left from an earlier run is not this run's result.
    let old = repo.path().join("reports/unit.xml");
    let file = std::fs::File::options().write(true).open(&old).unwrap();
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600)).unwrap();
    repo.gate(&["evidence", "add", "tests", "--junit", "reports/unit.xml", "--", "true"])
        .expect(2)
        .stderr_has("reports/unit.xml is older than this run of `true`");
    // A failing test run records nothing, whatever its reports say.
    repo.gate(&[
        "evidence",
        "add",
        "tests",
        "--junit",
        "reports/unit.xml",
        "--",
        "sh",
        "-c",
        "touch reports/unit.xml; exit 1",
    ])
    .expect(1)
    .stderr_has("no tests evidence was recorded");
    // `tests` evidence comes from reports: a command alone is not enough.
    repo.gate(&["evidence", "add", "tests", "--", "true"]).expect(2).stderr_has("gate evidence add tests --junit");
}
