//! Reading JUnit XML from real test runners: pytest, jest, surefire, go-junit-report, gotestsum,
//! cargo-nextest, Catch2, CUnit, Bazel, PHPUnit, vstest and others.
//!
//! The verdict comes from the `<testcase>` elements, never from the count attributes (runners get
//! them wrong, and a truncated file keeps the counts of the whole run). The reader streams the
//! file, never loads a DTD or resolves an entity beyond XML's five predefined ones, and refuses
//! what is not a complete JUnit report: another vocabulary, malformed or truncated XML, a report
//! without a single test case. Those are errors, never "0 tests, passed".
//!
//! Outcome of one test case, in order: a `<failure>` (or only `<rerunFailure>`s) is a failure;
//! else an `<error>` (or only `<rerunError>`s) is an error; else `<skipped>` is a skip; else a
//! `status` attribute decides (`failed`, `error`, `skipped`/`disabled`/`notrun`, ...); else it
//! passed. `<flakyFailure>`/`<flakyError>` alone mean it passed on a retry. A `<failure>` or
//! `<error>` directly on a `<testsuite>` (its set-up failed) counts as one failed test.

use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::Path;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Reports larger than this are refused rather than read.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;
/// Elements nested deeper than this are refused (no runner nests suites anywhere near it).
const MAX_DEPTH: usize = 256;
/// Failing test names kept in a record.
const MAX_FAILING: usize = 50;
/// Test files and class names kept in a record, to tell which scripts the tests exercised.
const MAX_COVERS: usize = 5000;

/// What a set of JUnit reports says, summed over the files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSummary {
    pub total: u64,
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    pub skipped: u64,
    /// Passed only on a retry (counted in `passed` too).
    #[serde(default)]
    pub flaky: u64,
    /// Names of failed and errored tests, at most 50.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<String>,
    /// The report files read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Where a file's own count attribute disagrees with its test cases: `FILE: says N, lists M`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<String>,
    /// Test source files (`file` attributes) and class names the tests ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<String>,
}

impl TestSummary {
    /// Passed: at least one test ran and none failed or errored.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.errored == 0 && self.executed() > 0
    }

    /// Tests that ran (not skipped).
    pub fn executed(&self) -> u64 {
        self.passed + self.failed + self.errored
    }

    /// `1204 tests: 1200 passed, 2 failed, 1 errored, 1 skipped`.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} passed", self.passed)];
        for (n, word) in [(self.failed, "failed"), (self.errored, "errored"), (self.skipped, "skipped")] {
            if n > 0 {
                parts.push(format!("{n} {word}"));
            }
        }
        if self.flaky > 0 {
            parts.push(format!("{} flaky (passed on retry)", self.flaky));
        }
        format!("{} test{}: {}", self.total, if self.total == 1 { "" } else { "s" }, parts.join(", "))
    }

    fn add(&mut self, file: FileResult) {
        let total = file.total();
        self.total += total;
        self.passed += file.passed;
        self.failed += file.failed;
        self.errored += file.errored;
        self.skipped += file.skipped;
        self.flaky += file.flaky;
        let room = MAX_FAILING.saturating_sub(self.failing.len());
        self.failing.extend(file.failing.into_iter().take(room));
        if let Some(declared) = file.declared
            && declared != total
        {
            self.mismatches.push(format!("{}: says {declared} tests, lists {total}", file.path));
        }
        self.files.push(file.path);
        let mut covers: BTreeSet<String> = std::mem::take(&mut self.covers).into_iter().collect();
        covers.extend(file.covers);
        self.covers = covers.into_iter().take(MAX_COVERS).collect();
    }
}

/// Reads every report and sums them. Any file that is not a complete JUnit report is an error
/// naming that file, and nothing is summed.
pub fn read_all(paths: &[String]) -> Result<TestSummary> {
    let mut summary = TestSummary::default();
    for path in paths {
        summary.add(read_file(Path::new(path), path)?);
    }
    Ok(summary)
}

#[derive(Debug, Default)]
struct FileResult {
    path: String,
    passed: u64,
    failed: u64,
    errored: u64,
    skipped: u64,
    flaky: u64,
    failing: Vec<String>,
    /// The root element's `tests` attribute, if it has one.
    declared: Option<u64>,
    /// The largest `tests` attribute of any suite, for the message about an empty report.
    claimed: u64,
    covers: BTreeSet<String>,
}

impl FileResult {
    fn total(&self) -> u64 {
        self.passed + self.failed + self.errored + self.skipped
    }
}

/// The elements inside a `<testcase>` that decide its outcome.
#[derive(Debug, Default)]
struct Case {
    name: String,
    classname: String,
    suite: String,
    status: String,
    failure: bool,
    error: bool,
    skipped: bool,
    rerun_failure: bool,
    rerun_error: bool,
    flaky: bool,
}

fn read_file(path: &Path, shown: &str) -> Result<FileResult> {
    let invalid = |what: String| {
        Error::with_fix(
            format!("{shown} is not a usable JUnit report: {what}"),
            "nothing was recorded; fix or regenerate the report and run again",
        )
    };
    let metadata = std::fs::metadata(path).map_err(|err| Error::io(format!("cannot read {shown}"), &err))?;
    if metadata.len() > MAX_BYTES {
        return Err(invalid(format!("it is {} bytes, over the {MAX_BYTES}-byte limit", metadata.len())));
    }
    let file = std::fs::File::open(path).map_err(|err| Error::io(format!("cannot read {shown}"), &err))?;
    let mut reader = Reader::from_reader(BufReader::new(file));
    reader.config_mut().check_end_names = true;

    let mut result = FileResult { path: shown.to_string(), ..FileResult::default() };
    let mut stack: Vec<String> = Vec::new();
    let mut suites: Vec<String> = Vec::new();
    let mut case: Option<Case> = None;
    let mut root_seen = false;
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|err| {
            if reader.buffer_position() >= metadata.len() {
                invalid(format!(
                    "it ends in the middle of markup ({err}): the file is truncated (was the test runner killed?)"
                ))
            } else {
                invalid(format!("malformed XML near byte {}: {err}", reader.error_position()))
            }
        })?;
        match event {
            Event::Start(element) | Event::Empty(element) if root_seen && stack.is_empty() => {
                let name = local_name(&element);
                return Err(invalid(format!("a second root element <{name}> after the report ends")));
            }
            Event::Start(ref element) | Event::Empty(ref element) => {
                let empty = matches!(event, Event::Empty(_));
                let name = local_name(element);
                if !root_seen {
                    root_seen = true;
                    if name != "testsuites" && name != "testsuite" {
                        return Err(invalid(format!(
                            "its root element is <{name}>, not <testsuites> or <testsuite> (another report format?)"
                        )));
                    }
                    result.declared = attribute(element, "tests", shown)?.and_then(|t| t.trim().parse().ok());
                }
                if name == "testsuite" || name == "testsuites" {
                    let claimed = attribute(element, "tests", shown)?.and_then(|t| t.trim().parse().ok()).unwrap_or(0);
                    result.claimed = result.claimed.max(claimed);
                }
                match name.as_str() {
                    "testsuite" => suites.push(attribute(element, "name", shown)?.unwrap_or_default()),
                    "testcase" if case.is_none() => {
                        let mut new = Case {
                            name: attribute(element, "name", shown)?.unwrap_or_default(),
                            classname: attribute(element, "classname", shown)?.unwrap_or_default(),
                            suite: suites.last().cloned().unwrap_or_default(),
                            status: attribute(element, "status", shown)?.unwrap_or_default().to_lowercase(),
                            ..Case::default()
                        };
                        if let Some(file) = attribute(element, "file", shown)?.filter(|f| !f.is_empty()) {
                            result.covers.insert(file);
                        }
                        if !new.classname.is_empty() {
                            result.covers.insert(new.classname.clone());
                        }
                        if empty {
                            finish(&mut result, std::mem::take(&mut new));
                        } else {
                            case = Some(new);
                        }
                    }
                    // A failure or error on a suite itself (set-up failed, the suite did not
                    // load) is a failure, though no test case carries it.
                    "failure" | "error" if stack.last().is_some_and(|parent| parent == "testsuite") => {
                        let suite = suites.last().cloned().unwrap_or_default();
                        let name = if suite.is_empty() { "(suite)".to_string() } else { format!("{suite} (suite)") };
                        let failure = name_of_event(&event) == "failure";
                        finish(&mut result, Case { name, failure, error: !failure, ..Case::default() });
                    }
                    outcome if stack.last().is_some_and(|parent| parent == "testcase") => {
                        if let Some(case) = case.as_mut() {
                            match outcome {
                                "failure" => case.failure = true,
                                "error" => case.error = true,
                                "skipped" => case.skipped = true,
                                "rerunFailure" => case.rerun_failure = true,
                                "rerunError" => case.rerun_error = true,
                                "flakyFailure" | "flakyError" => case.flaky = true,
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
                if empty {
                    if name == "testsuite" {
                        suites.pop();
                    }
                } else {
                    if stack.len() >= MAX_DEPTH {
                        return Err(invalid(format!("elements nest deeper than {MAX_DEPTH} levels")));
                    }
                    stack.push(name);
                }
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                if name == "testsuite" {
                    suites.pop();
                }
                if name == "testcase"
                    && let Some(done) = case.take()
                {
                    finish(&mut result, done);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !root_seen {
        return Err(invalid("it has no XML element at all (empty or not XML)".to_string()));
    }
    if let Some(open) = stack.last() {
        return Err(invalid(format!("it ends inside <{open}>: the file is truncated (was the test runner killed?)")));
    }
    if result.total() == 0 {
        let claim = if result.claimed > 0 { format!(" although it claims {}", result.claimed) } else { String::new() };
        return Err(invalid(format!("it has no test cases{claim}: an empty report is not evidence that tests passed")));
    }
    Ok(result)
}

fn finish(result: &mut FileResult, case: Case) {
    let status = case.status.as_str();
    let failed = case.failure || (case.rerun_failure && !case.error) || matches!(status, "failed" | "failure" | "fail");
    let errored = !failed && (case.error || case.rerun_error || matches!(status, "error" | "errored"));
    let skipped = !failed
        && !errored
        && (case.skipped
            || matches!(status, "skipped" | "skip" | "disabled" | "notrun" | "not run" | "ignored" | "pending"));
    if failed || errored {
        result.failing.push(display_name(&case));
    }
    match (failed, errored, skipped) {
        (true, _, _) => result.failed += 1,
        (_, true, _) => result.errored += 1,
        (_, _, true) => result.skipped += 1,
        _ => {
            result.passed += 1;
            if case.flaky {
                result.flaky += 1;
            }
        }
    }
}

/// `classname::name`, falling back to the suite's name when there is no class.
fn display_name(case: &Case) -> String {
    let group = if case.classname.is_empty() { &case.suite } else { &case.classname };
    match (group.is_empty(), case.name.is_empty()) {
        (true, true) => "(unnamed test)".to_string(),
        (true, false) => case.name.clone(),
        (false, true) => group.clone(),
        (false, false) if group == &case.name => case.name.clone(),
        (false, false) => format!("{group}::{}", case.name),
    }
}

fn name_of_event(event: &Event<'_>) -> String {
    match event {
        Event::Start(element) | Event::Empty(element) => local_name(element),
        _ => String::new(),
    }
}

fn local_name(element: &BytesStart<'_>) -> String {
    let name = element.local_name();
    let name: &str = name.as_ref();
    name.to_string()
}

/// An attribute's value with entities resolved (only XML's predefined ones and character
/// references; anything else is an error, so no DTD-defined entity is ever expanded).
fn attribute(element: &BytesStart<'_>, key: &str, shown: &str) -> Result<Option<String>> {
    for attr in element.attributes() {
        let attr = attr.map_err(|err| {
            Error::with_fix(
                format!("{shown} is not a usable JUnit report: bad attribute: {err}"),
                "nothing was recorded",
            )
        })?;
        let local = attr.key.local_name();
        let name: &str = local.as_ref();
        if name == key {
            let value = attr.normalized_value(XmlVersion::Implicit1_0).map_err(|err| {
                Error::with_fix(
                    format!("{shown} is not a usable JUnit report: attribute {key}: {err}"),
                    "nothing was recorded",
                )
            })?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}
