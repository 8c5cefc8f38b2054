//! The machine formats of `gate check`: SARIF for GitHub code scanning, JUnit for CI test views,
//! workflow commands for GitHub annotations, Markdown for a job summary or a PR comment. One
//! release with findings of every kind, rendered in each, read back the way its consumer reads it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{TestRepo, python};

/// The policy staging runs with: a one-file blast radius (so any release is "too large", a
/// finding about the release as a whole), a waived `chmod 777` whose reason holds a `|`, and
/// one check switched off.
const POLICY: &str = "[checks.blast-radius]\nmax-files = 1\n\n[checks.dependency-change]\nseverity = \"off\"\n\n\
                      [[waivers]]\ncheck = \"risky-pattern\"\npath = \"tools/cleanup.sh\"\n\
                      reason = \"the cache is shared | on purpose\"\nexpires = \"2027-01-31\"\n";

const SYNC: &str = "#!/bin/sh\nwhile true; do echo \"100%\" | tee -a log; done\n";

const FORMATS: &[&str] = &["human", "json", "sarif", "junit", "github", "markdown", "gitlab"];

/// Staging runs the first commit; the release is a quick fix before the weekend: an unbounded
/// loop in `bin/sync.sh` and in `bin/a,b.sh` (deny, at a line), a JSON file that no longer
/// parses (deny, at a line and column), scripts no test covers (warn), the waived `chmod 777`,
/// and four files where the policy allows one.
fn quick_fix() -> TestRepo {
    let repo = TestRepo::with_files(&[("gate.toml", POLICY), ("bin/sync.sh", "#!/bin/sh\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("bin/sync.sh", SYNC);
    repo.write("bin/a,b.sh", "while true; do x; done\n");
    repo.write("tools/cleanup.sh", "chmod 777 /srv/cache\n");
    repo.write("config/app.json", "{\"a\": [1, 2,]}\n");
    repo.commit("quick fix before the weekend");
    repo
}

/// `gate check --env staging --format FORMAT --output FILE`, expecting `code`; the file's text.
fn check_to_file(repo: &TestRepo, format: &str, name: &str, code: i32) -> (PathBuf, String) {
    let path = repo.sibling(name);
    let run = repo.gate(&["check", "--env", "staging", "--format", format, "--output", path.to_str().unwrap()]);
    let run = run.expect(code);
    assert!(run.stdout.is_empty(), "the report went to the file, not stdout:\n{}", run.stdout);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

fn check_stdout(repo: &TestRepo, format: &str, code: i32) -> String {
    repo.gate(&["check", "--env", "staging", "--format", format]).expect(code).stdout
}

/// Validates `file` against the JSON schema `tests/fixtures/SCHEMA` with check-jsonschema.
fn validate(schema: &str, file: &Path) {
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(schema);
    let output = Command::new(python::tool("check-jsonschema"))
        .arg("--schemafile")
        .arg(&schema)
        .arg(file)
        .output()
        .expect("run check-jsonschema");
    assert!(
        output.status.success(),
        "{} does not validate against {}:\n{}{}",
        file.display(),
        schema.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn validate_sarif(file: &Path) {
    validate("sarif/sarif-schema-2.1.0.json", file);
}

fn validate_gitlab(file: &Path) {
    validate("gitlab/code-quality.schema.json", file);
}

#[test]
fn gitlab_code_quality_validates_and_its_fingerprints_are_stable_and_unique() {
    let repo = quick_fix();
    let (file, text) = check_to_file(&repo, "gitlab", "gl-code-quality-report.json", 1);
    validate_gitlab(&file);
    let issues: Value = serde_json::from_str(&text).unwrap();
    let issues = issues.as_array().unwrap();
    let find = |path: &str, check: &str| {
        issues.iter().find(|i| i["location"]["path"] == path && i["check_name"].as_str().unwrap().starts_with(check))
    };
    let lp = find("bin/sync.sh", "gate/risky-pattern/").expect("the loop");
    assert_eq!(lp["severity"], "blocker");
    assert_eq!(lp["check_name"], "gate/risky-pattern/unbounded-loop");
    assert_eq!(lp["location"]["lines"]["begin"], 2);
    assert!(lp["description"].as_str().unwrap().contains("help: "), "{lp}");
    assert_eq!(find("tools/cleanup.sh", "gate/risky-pattern/").expect("waived")["severity"], "info");
    assert_eq!(
        find("gate.toml", "gate/blast-radius/").expect("the release as a whole")["location"]["lines"]["begin"],
        1
    );
    let prints: BTreeSet<&str> = issues.iter().map(|i| i["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(prints.len(), issues.len(), "fingerprints are unique");
    // Lines inserted above a finding keep its fingerprint.
    repo.write("bin/sync.sh", &format!("#!/bin/sh\n# a comment\n{}", &SYNC["#!/bin/sh\n".len()..]));
    repo.commit("a comment above the loop");
    let (_, again) = check_to_file(&repo, "gitlab", "again.json", 1);
    let again: Value = serde_json::from_str(&again).unwrap();
    let moved = again
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["check_name"] == "gate/risky-pattern/unbounded-loop" && i["location"]["path"] == "bin/sync.sh")
        .unwrap();
    assert_eq!(moved["location"]["lines"]["begin"], 3);
    assert_eq!(moved["fingerprint"], lp["fingerprint"]);
}

/// (rule id, uri) -> (start line, fingerprint) of every result.
fn fingerprints(sarif: &Value) -> BTreeMap<(String, String), (u64, String)> {
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            (
                (
                    r["ruleId"].as_str().unwrap().to_string(),
                    location["artifactLocation"]["uri"].as_str().unwrap().into(),
                ),
                (
                    location["region"]["startLine"].as_u64().unwrap(),
                    r["partialFingerprints"]["gateFindingHash/v2"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn sarif_validates_against_the_schema_and_meets_github_code_scanning_rules() {
    let repo = quick_fix();
    let (file, text) = check_to_file(&repo, "sarif", "gate.sarif", 1);
    validate_sarif(&file);

    let sarif: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["tool"]["driver"]["name"], "gate");
    assert_eq!(run["properties"]["verdict"], "blocked");
    assert_eq!(run["properties"]["release"], repo.rev("HEAD").as_str());
    assert_eq!(run["properties"]["base"], repo.rev("HEAD~1").as_str());

    // One rule per check that ran, in the order they ran, at the level they ran at.
    let json = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    let ran: Vec<&str> = json["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ran);
    assert!(!ids.contains(&"dependency-change"), "a check that is off is no rule: {ids:?}");
    let blast = rules.iter().find(|r| r["id"] == "blast-radius").unwrap();
    assert_eq!(blast["name"], "BlastRadius");
    assert_eq!(blast["defaultConfiguration"]["level"], "warning");
    assert!(blast["help"]["markdown"].as_str().unwrap().contains("max-files"), "{blast:#}");

    // GitHub's rules: every result has a file location starting at line >= 1, column >= 1, a
    // rule index that points at its rule, and a fingerprint; no two fingerprints are alike.
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), json["findings"].as_array().unwrap().len());
    let mut seen = BTreeSet::new();
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"], "{result:#}");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(!location["artifactLocation"]["uri"].as_str().unwrap().is_empty());
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1, "{result:#}");
        assert!(location["region"]["startColumn"].as_u64().unwrap() >= 1, "{result:#}");
        let fingerprint = result["partialFingerprints"]["gateFindingHash/v2"].as_str().unwrap();
        assert!(seen.insert(fingerprint.to_string()), "fingerprint {fingerprint} twice");
    }

    let find = |rule: &str, uri: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri)
            .unwrap_or_else(|| panic!("no {rule} result at {uri}:\n{text}"))
    };
    let syntax = find("config-syntax", "config/app.json");
    assert_eq!(syntax["level"], "error");
    assert_eq!(
        syntax["locations"][0]["physicalLocation"]["region"],
        serde_json::json!({"startLine": 1, "startColumn": 13})
    );
    assert_eq!(
        syntax["message"]["text"],
        "JSON: expected value at line 1 column 13\nhelp: fix the syntax at line 1; a service that cannot parse its \
         configuration fails at start-up"
    );
    // A comma in a file name is percent-encoded in the URI.
    assert_eq!(find("risky-pattern", "bin/a%2Cb.sh")["level"], "error");
    // A finding about the release as a whole sits at line 1 of the policy file.
    let radius = find("blast-radius", "gate.toml");
    assert_eq!(radius["level"], "warning");
    assert_eq!(
        radius["locations"][0]["physicalLocation"]["region"],
        serde_json::json!({"startLine": 1, "startColumn": 1})
    );
    assert!(radius["message"]["text"].as_str().unwrap().contains("\n  bin/: 2 files\n"), "{radius:#}");
    // A waived finding is there, suppressed, with its reason.
    let waived = find("risky-pattern", "tools/cleanup.sh");
    assert_eq!(waived["suppressions"][0]["kind"], "external");
    assert_eq!(waived["suppressions"][0]["status"], "accepted");
    assert!(
        waived["suppressions"][0]["justification"].as_str().unwrap().starts_with("the cache is shared | on purpose"),
        "{waived:#}"
    );
    assert!(find("risky-pattern", "bin/sync.sh")["suppressions"].is_null());
}

#[test]
fn sarif_is_the_same_bytes_twice_and_fingerprints_survive_lines_moving() {
    let repo = quick_fix();
    let (_, first) = check_to_file(&repo, "sarif", "first.sarif", 1);
    assert_eq!(check_stdout(&repo, "sarif", 1), first, "two runs on the same release differ");
    let before = fingerprints(&serde_json::from_str(&first).unwrap());

    // A line inserted above the loop and above the broken JSON: the same findings, lower down.
    repo.write("bin/sync.sh", &SYNC.replace("#!/bin/sh\n", "#!/bin/sh\n# keep the cache warm\n"));
    repo.write("config/app.json", "\n{\"a\": [1, 2,]}\n");
    repo.commit("a comment");
    let (file, second) = check_to_file(&repo, "sarif", "second.sarif", 1);
    validate_sarif(&file);
    let after = fingerprints(&serde_json::from_str(&second).unwrap());

    for key in [("risky-pattern", "bin/sync.sh"), ("config-syntax", "config/app.json")] {
        let key = (key.0.to_string(), key.1.to_string());
        let ((line_before, old), (line_after, new)) = (&before[&key], &after[&key]);
        assert_eq!(line_after, &(line_before + 1), "{key:?} did not move");
        assert_eq!(old, new, "{key:?}: the fingerprint changed when the finding moved a line");
    }
    // The message itself moved too ("at line 2 column 13"): only positions were left out.
    assert!(second.contains("expected value at line 2 column 13"), "{second}");
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
}

#[test]
fn junit_has_one_case_per_check_and_fails_the_checks_with_deny_findings() {
    let repo = quick_fix();
    let (file, xml) = check_to_file(&repo, "junit", "gate.xml", 1);
    let summary = gate::evidence::junit::read_all(&[file.to_string_lossy().into_owned()]).unwrap();

    let json = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    let denied: BTreeSet<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "deny" && f["waived"].is_null())
        .map(|f| format!("gate::{}", f["check"].as_str().unwrap()))
        .collect();
    assert_eq!(denied.iter().map(String::as_str).collect::<Vec<_>>(), ["gate::config-syntax", "gate::risky-pattern"]);
    let ran = json["checks"].as_array().unwrap().len() as u64;

    assert_eq!(summary.total, gate::checks::CHECKS.len() as u64);
    assert_eq!(summary.skipped, summary.total - ran, "the check that is off is skipped");
    assert_eq!(summary.failed, denied.len() as u64);
    assert_eq!(summary.errored, 0);
    assert_eq!(summary.passed, summary.total - summary.failed - summary.skipped);
    assert_eq!(summary.failing.iter().cloned().collect::<BTreeSet<_>>(), denied);
    assert!(summary.mismatches.is_empty(), "the counts attributes disagree with the cases: {:?}", summary.mismatches);

    assert!(xml.contains(r#"<testcase classname="gate" name="dependency-change">"#), "{xml}");
    assert!(xml.contains(r#"<failure message="2 deny findings" type="deny">deny    bin/a,b.sh:1: "#), "{xml}");
    // The waived finding and the warnings are shown, not failed; text is escaped.
    assert!(xml.contains("waived  tools/cleanup.sh:1: makes files writable"), "{xml}");
    assert!(xml.contains("`while true; do echo &quot;100%&quot; | tee -a log; done`"), "{xml}");
    assert!(xml.contains("BLOCKED: 3 deny findings stop this release (4 warnings, 1 waived); the clock is set by GATE_NOW, not the real time</system-out>"), "{xml}");
}

#[test]
fn github_annotations_sit_on_the_file_and_line_and_escape_what_they_carry() {
    let repo = quick_fix();
    let out = check_stdout(&repo, "github", 1);
    let lines: Vec<&str> = out.lines().collect();
    let has = |line: &str| assert!(lines.contains(&line), "no line {line:?} in:\n{out}");
    let starts = |prefix: &str| {
        lines.iter().copied().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in:\n{out}"))
    };

    has("::error file=config/app.json,line=1,col=13,title=gate config-syntax::JSON: expected value at line 1 column \
         13%0Ahelp: fix the syntax at line 1; a service that cannot parse its configuration fails at start-up");
    // A comma in the path would end the property: %2C.
    starts("::error file=bin/a%2Cb.sh,line=1,title=gate risky-pattern::an unbounded loop with no exit in sight");
    // `%` in the message is %25, so the runner does not read `%0A`-like text in it.
    let sync = starts("::error file=bin/sync.sh,line=2,title=gate risky-pattern::");
    assert!(sync.contains("`while true; do echo \"100%25\" | tee -a log; done`%0Ahelp: change it"), "{sync}");
    // No path: no file; the supporting lines follow the message after %0A.
    let radius = starts("::warning title=gate blast-radius::4 files change since the last deploy of staging (cap 1)");
    assert!(radius.contains("%0A  bin/: 2 files%0A"), "{radius}");
    let waived = starts("::notice file=tools/cleanup.sh,line=1,title=gate risky-pattern::makes files writable");
    assert!(waived.contains("%0Awaived: the cache is shared | on purpose, until 2027-01-31 (gate.toml:"), "{waived}");
    starts("::warning file=bin/sync.sh,title=gate untested-change::no test covers this script%0A");
    has("::warning title=gate::the clock is set by GATE_NOW; times are not the real time");

    // Every line is a command, and the verdict comes last.
    assert!(lines.iter().all(|l| l.starts_with("::")), "{out}");
    assert_eq!(
        lines.last(),
        Some(
            &"::error title=gate::BLOCKED: 3 deny findings stop this release (4 warnings, 1 waived); the clock is set by GATE_NOW, not the real time"
        )
    );
}

#[test]
fn markdown_summarises_the_verdict_in_tables_a_renderer_cannot_break() {
    let repo = quick_fix();
    let out = check_stdout(&repo, "markdown", 1);
    assert!(
        out.starts_with(
            "## gate: BLOCKED — 3 deny findings stop this release (4 warnings, 1 waived); the clock is set by GATE\\_NOW, not the real time\n\n\
             - **Environment:** staging\n"
        ),
        "{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    let has = |line: &str| assert!(lines.contains(&line), "no line {line:?} in:\n{out}");
    has("- the clock is set by GATE\\_NOW; times are not the real time");
    has("### <code>config-syntax</code> (deny)");
    has("| Severity | Location | Finding |");
    has("| **deny** | <code>config/app.json:1:13</code> | JSON: expected value at line 1 column 13<br>help: fix the \
         syntax at line 1; a service that cannot parse its configuration fails at start-up |");
    has("| warn | (the release) | 4 files change since the last deploy of staging (cap 1)<br>help: deploy in smaller \
         steps, or raise \\[checks.blast-radius\\] max-files |");
    // A `|` in a message (inside code and out) never ends a cell: every row has exactly 3 cells.
    let sync = lines.iter().find(|l| l.starts_with("| **deny** | <code>bin/sync.sh:2</code>")).unwrap();
    assert!(sync.contains("<code>while true; do echo \"100%\" &#124; tee -a log; done</code>"), "{sync}");
    let waived = lines.iter().find(|l| l.starts_with("| waived | <code>tools/cleanup.sh:1</code>")).unwrap();
    assert!(waived.contains("waived: the cache is shared \\| on purpose, until 2027-01-31"), "{waived}");
    for row in lines.iter().filter(|l| l.starts_with('|')) {
        let cells = row.char_indices().filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\')).count();
        assert_eq!(cells, 4, "a row with other than 3 cells: {row}");
    }
    // Supporting lines fold away.
    assert!(
        out.contains("<details><summary>the release: 3 lines of detail</summary>\n\n```text\nbin/: 2 files\n"),
        "{out}"
    );
}

#[test]
fn the_exit_code_is_the_verdict_whatever_the_format() {
    let blocked = quick_fix();
    let passing = TestRepo::with_files(&[("bin/sync.sh", "#!/bin/sh\n")]);
    passing.gate(&["record", "--env", "staging"]).expect(0);
    passing.write("bin/sync.sh", "#!/bin/sh\nsync_once\n");
    passing.commit("sync once");
    for format in FORMATS {
        check_stdout(&blocked, format, 1);
        check_stdout(&passing, format, 0);
    }
    // A pass is said without an annotation; the machine formats agree with the exit code.
    let github = check_stdout(&passing, "github", 0);
    assert_eq!(
        github.lines().last(),
        Some("PASS: no blocking findings (1 warning); the clock is set by GATE_NOW, not the real time"),
        "{github}"
    );
    let markdown = check_stdout(&passing, "markdown", 0);
    assert!(
        markdown.starts_with(
            "## gate: PASS — no blocking findings (1 warning); the clock is set by GATE\\_NOW, not the real time\n"
        ),
        "{markdown}"
    );
    let (file, _) = check_to_file(&passing, "sarif", "pass.sarif", 0);
    validate_sarif(&file);
    let (file, _) = check_to_file(&passing, "junit", "pass.xml", 0);
    let summary = gate::evidence::junit::read_all(&[file.to_string_lossy().into_owned()]).unwrap();
    assert!(summary.passed(), "{summary:?}");
}

/// A release with thousands of findings still makes a Markdown report a pull-request comment
/// can hold (65,536 characters), with every blocking finding in it and the rest counted.
#[test]
fn markdown_stays_under_the_comment_limit_with_the_blockers_complete() {
    let repo = TestRepo::with_files(&[("README.md", "x\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    for i in 0..3000 {
        repo.write(&format!("scripts/job-{i:04}.sh"), &format!("#!/bin/sh\necho job {i}\n"));
    }
    for i in 0..120 {
        repo.write(&format!("bin/poll-{i:03}.sh"), &format!("#!/bin/sh\nwhile true; do poll {i}; done\n"));
    }
    repo.commit("a huge release");
    let markdown = check_stdout(&repo, "markdown", 1);
    let chars = markdown.chars().count();
    assert!(chars <= 65_536, "{chars} characters");
    for i in 0..120 {
        assert!(markdown.contains(&format!("bin/poll-{i:03}.sh:2")), "blocker {i} is missing");
    }
    assert!(markdown.contains("| <code>untested-change</code> | 3120 |"), "{}", &markdown[markdown.len() - 1500..]);
    // The human report puts the blockers first and summarises the long group of warnings.
    let human = check_stdout(&repo, "human", 1);
    let first_deny = human.find("deny   bin/poll-000.sh:2").unwrap();
    let first_warn = human.find("warn   ").unwrap();
    assert!(first_deny < first_warn, "{}", &human[..2000]);
    assert!(human.contains("… 3115 more untested-change warnings: --format json lists all"), "{}", &human[..3000]);
    assert!(human.lines().count() < 400, "{} lines", human.lines().count());
    let quiet = repo.gate(&["check", "--env", "staging", "--quiet"]).expect(1);
    assert!(!quiet.stdout.contains("warn   ") && quiet.stdout.contains("deny   bin/poll-119.sh:2"), "{}", quiet.stdout);
}
