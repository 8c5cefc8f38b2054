//! Reading real JUnit XML: every report of the corpus in tests/fixtures/junit (byte-exact copies
//! from public repositories; sources and licences in tests/fixtures/junit/SOURCES.md), with the
//! counts and verdict a person reading the file would give.

use std::path::PathBuf;

use gate::evidence::junit::{TestSummary, read_all};

use crate::support::TestRepo;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit").join(name)
}

fn read(name: &str) -> Result<TestSummary, gate::Error> {
    read_all(&[fixture(name).to_string_lossy().into_owned()])
}

/// (file, total, passed, failed, errored, skipped, flaky, a failing test it must name)
type Expected = (&'static str, u64, u64, u64, u64, u64, u64, Option<&'static str>);

const READABLE: &[Expected] = &[
    ("bazel_suite-logs.xml", 1, 0, 0, 1, 0, 0, Some("bazel/failing_absl_test")),
    ("cargo-nextest_retries-flaky.xml", 3, 2, 1, 0, 0, 1, Some("fixture-project::basic::test_failure_assert")),
    ("cargo-nextest_stress-duplicate-names.xml", 4, 4, 0, 0, 0, 0, None),
    (
        "catch2_require-failure.xml",
        1,
        0,
        1,
        0,
        0,
        0,
        Some("ut_detail_utility_is_constant_evaluated::is constant evaluated"),
    ),
    ("cunit_id-no-classname.xml", 4, 3, 1, 0, 0, 0, Some("DummyClass::loadFromXMLString_When_Should2Test")),
    (
        "dotnet-junit-logger_vstest-v1.xml",
        9,
        5,
        4,
        0,
        0,
        0,
        Some("UnitTestLibrary1.MathTests::Multiply_ReturnsEight(1,0)"),
    ),
    ("edge_nested-4-levels.xml", 5, 2, 3, 0, 0, 0, Some("TestA::A")),
    ("edge_no-attributes.xml", 4, 1, 1, 1, 1, 0, Some("(unnamed test)")),
    ("edge_testsuite-root-nested.xml", 5, 5, 0, 0, 0, 0, None),
    ("go-junit-report_build-failed.xml", 5, 2, 0, 3, 0, 0, Some("package/name/failing1::[build failed]")),
    ("go-junit-report_pass-fail-skip.xml", 5, 2, 1, 0, 2, 0, Some("package/fail::TestOne")),
    (
        "jest-junit_large-4239-cases.xml",
        4239,
        4207,
        2,
        0,
        30,
        0,
        Some("e2e/__tests__/jestChangedFiles.test.ts::gets changed files for hg"),
    ),
    ("jest-junit_main-with-failures.xml", 6, 1, 4, 0, 1, 0, Some("Test 1 › Test 1.1::Failing test")),
    ("jest-junit_suite-failed-to-run.xml", 2, 0, 0, 2, 0, 0, Some("Test suite failed to run::libs/foo.spec.ts")),
    ("mocha-junit-reporter_root-suite.xml", 1, 1, 0, 0, 0, 0, None),
    ("nette-tester_no-suite-name.xml", 4, 4, 0, 0, 0, 0, None),
    (
        "phpunit_phpt-failures.xml",
        12,
        10,
        2,
        0,
        0,
        0,
        Some("CLI Arguments::targeting-traits-with-coversclass-attribute-is-deprecated.phpt"),
    ),
    ("pytest_horovod-spark-fail.xml", 5, 3, 1, 0, 1, 0, Some("test.test_spark.SparkTests::test_rsh_events")),
    ("pytest_single-line-report.xml", 3, 1, 2, 0, 0, 0, Some("python.test_sample::test_with_error")),
    ("pytest_xunit2-with-properties.xml", 10, 6, 2, 0, 2, 0, Some("tests.test_lib::test_always_fail")),
    ("python-unittest-xmlrunner_acme.xml", 8, 4, 1, 1, 2, 0, Some("TestAcme::test_error")),
    ("quick-junit_all-elements.xml", 8, 3, 3, 1, 1, 1, Some("testsuite0::testcase5")),
    ("scalatest_sbt-properties.xml", 5, 5, 0, 0, 0, 0, None),
    (
        "surefire-testng_pulsar-808-cases.xml",
        808,
        793,
        1,
        0,
        14,
        0,
        Some("org.apache.pulsar.AddMissingPatchVersionTest::testVersionStrings"),
    ),
    (
        "surefire_email-errors-and-failures.xml",
        9,
        2,
        2,
        5,
        0,
        0,
        Some("action.surefire.report.email.EmailAddressTest::shouldNotContainInternationalizedHostNames"),
    ),
];

/// (file, what the error must say)
const REFUSED: &[(&str, &str)] = &[
    ("edge_non-junit-root.xml", "its root element is <suites>, not <testsuites> or <testsuite>"),
    ("pytest_no-cases-but-tests.xml", "it has no test cases although it claims 6"),
    ("surefire_empty-suite-utc-timestamp.xml", "it has no test cases: an empty report is not evidence"),
];

#[test]
fn every_report_of_the_corpus_reads_as_a_person_would_read_it() {
    for (name, total, passed, failed, errored, skipped, flaky, failing) in READABLE {
        let summary = read(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let counts = (summary.total, summary.passed, summary.failed, summary.errored, summary.skipped, summary.flaky);
        assert_eq!(counts, (*total, *passed, *failed, *errored, *skipped, *flaky), "{name}");
        assert_eq!(summary.passed(), *failed == 0 && *errored == 0, "{name}: verdict");
        if let Some(test) = failing {
            assert!(summary.failing.iter().any(|f| f == test), "{name}: {test:?} not among {:?}", summary.failing);
        }
    }
}

#[test]
fn the_corpus_is_covered_entirely() {
    let mut names: Vec<String> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    let mut known: Vec<String> =
        READABLE.iter().map(|r| r.0).chain(REFUSED.iter().map(|r| r.0)).map(String::from).collect();
    known.sort();
    assert_eq!(names, known);
}

#[test]
fn reports_whose_counts_lie_are_counted_from_their_test_cases_and_flagged() {
    let mocha = read("mocha-junit-reporter_root-suite.xml").unwrap();
    assert_eq!(mocha.total, 1);
    assert_eq!(mocha.mismatches.len(), 1);
    assert!(mocha.mismatches[0].ends_with("says 15515 tests, lists 1"), "{:?}", mocha.mismatches);
    let jest = read("jest-junit_suite-failed-to-run.xml").unwrap();
    assert!(!jest.passed(), "tests=\"0\" with errored suites is a failure");
}

#[test]
fn refused_reports_name_the_file_and_say_why() {
    for (name, why) in REFUSED {
        let err = read(name).expect_err(name).to_string();
        assert!(err.contains(name) && err.contains(why), "{name}: {err}");
    }
}

#[test]
fn truncated_malformed_and_empty_reports_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(fixture("pytest_xunit2-with-properties.xml")).unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("truncated.xml", &full[..full.len() / 2], "truncated"),
        ("cut-in-a-tag.xml", &full[..full.len() - 30], "truncated"),
        ("mismatched.xml", b"<testsuites><testsuite><testcase name='a'></testsuite></testsuites>", "malformed XML"),
        ("empty.xml", b"", "no XML element at all"),
        ("text.xml", b"all tests passed\n", "no XML element at all"),
        ("self-closing.xml", b"<testsuites/>", "no test cases"),
        ("two-roots.xml", b"<testsuite><testcase name='a'/></testsuite><testsuite/>", "second root element"),
        ("bad-entity.xml", b"<testsuite><testcase name='&nope;'/></testsuite>", "attribute name"),
    ];
    // A suite whose set-up failed fails, though no test case says so.
    let setup = dir.path().join("setup.xml");
    std::fs::write(&setup, b"<testsuite name='db'><error message='no database'/><testcase name='a'/></testsuite>")
        .unwrap();
    let summary = read_all(&[setup.to_string_lossy().into_owned()]).unwrap();
    assert_eq!((summary.total, summary.errored, summary.passed()), (2, 1, false));
    assert_eq!(summary.failing, ["db (suite)"]);
    for (name, bytes, why) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = read_all(&[path.to_string_lossy().into_owned()]).expect_err(name).to_string();
        assert!(err.contains(why), "{name}: {err}");
    }
}

#[test]
fn entities_are_never_expanded() {
    // Regression guard against the "billion laughs": a DTD that defines entities is not loaded, so
    // a reference in an attribute is an error and one in a body is left alone, in bounded time.
    let dir = tempfile::tempdir().unwrap();
    let mut dtd = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE testsuites [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        dtd.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&lol{};", i - 1).repeat(10).replace("&lol0;", "&lol;")
        ));
    }
    dtd.push_str("]>\n");
    let in_body = format!(
        "{dtd}<testsuites><testsuite><testcase name=\"a\"><failure>&lol9;</failure></testcase></testsuite></testsuites>"
    );
    let in_attribute = format!("{dtd}<testsuites><testsuite><testcase name=\"&lol9;\"/></testsuite></testsuites>");
    let body = dir.path().join("body.xml");
    let attribute = dir.path().join("attribute.xml");
    std::fs::write(&body, in_body).unwrap();
    std::fs::write(&attribute, in_attribute).unwrap();
    let started = std::time::Instant::now();
    let summary = read_all(&[body.to_string_lossy().into_owned()]).unwrap();
    assert_eq!((summary.total, summary.failed), (1, 1));
    let err = read_all(&[attribute.to_string_lossy().into_owned()]).expect_err("undefined entity").to_string();
    assert!(err.contains("attribute name"), "{err}");
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn recording_tests_evidence_from_reports_and_globs() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let reports = repo.path().join("reports/unit");
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::copy(fixture("go-junit-report_pass-fail-skip.xml"), reports.join("go.xml")).unwrap();
    std::fs::copy(fixture("nette-tester_no-suite-name.xml"), reports.join("php.xml")).unwrap();
    repo.gate(&["evidence", "add", "tests", "--junit", "reports/**/*.xml"])
        .expect(0)
        .stdout_has("recorded tests evidence for tree")
        .stdout_has("9 tests: 6 passed, 1 failed, 2 skipped — FAILING: package/fail::TestOne");
    let json = repo.gate(&["evidence", "list", "--format", "json"]).expect(0).json();
    let tests = &json["records"][0]["tests"];
    assert_eq!(tests["total"], 9);
    assert_eq!(tests["files"].as_array().unwrap().len(), 2);
    repo.gate(&["evidence", "list"])
        .expect(0)
        .stdout_has("tests      2026-11-02 09:01 UTC by Dana Deployer <dana@example.com>: FAILED, 9 tests");
}

#[test]
fn an_unusable_report_exits_2_and_records_nothing() {
    let repo = TestRepo::with_files(&[("a.txt", "a\n")]);
    let good = fixture("nette-tester_no-suite-name.xml");
    let bad = fixture("edge_non-junit-root.xml");
    repo.gate(&["evidence", "add", "tests", "--junit", good.to_str().unwrap(), bad.to_str().unwrap()])
        .expect(2)
        .stderr_has("edge_non-junit-root.xml is not a usable JUnit report: its root element is <suites>")
        .stderr_has("nothing was recorded");
    let truncated = repo.sibling("truncated.xml");
    let full = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    repo.gate(&["evidence", "add", "tests", "--junit", truncated.to_str().unwrap()])
        .expect(2)
        .stderr_has("truncated.xml is not a usable JUnit report: it ends")
        .stderr_has("the file is truncated");
    repo.gate(&["evidence", "add", "tests", "--junit", "reports/*.xml"])
        .expect(2)
        .stderr_has("no file matches --junit reports/*.xml");
    repo.gate(&["evidence", "add", "tests", "--junit", "missing.xml"])
        .expect(2)
        .stderr_has("no JUnit report at missing.xml");
    repo.gate(&["evidence", "add", "tests"]).expect(2).stderr_has("gate evidence add tests --junit FILE");
    repo.gate(&["evidence", "add", "backup", "--junit", good.to_str().unwrap()])
        .expect(2)
        .stderr_has("--junit goes with evidence of kind `tests`");
    repo.gate(&["evidence", "list"]).expect(0).stdout_has("none recorded");
}
