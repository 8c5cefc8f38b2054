//! Issue 13: `gate evidence add KIND -- COMMAND` records evidence only when the command
//! succeeds.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::TestRepo;

fn passing_report() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/junit/nette-tester_no-suite-name.xml")
        .to_string_lossy()
        .into_owned()
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
