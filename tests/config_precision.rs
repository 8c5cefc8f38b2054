//! Issue 10, precision on real releases: valid configuration that real projects ship must not
//! block a release. YAML is read as the spec and the yaml-test-suite say (plus libyaml's
//! leniency for closing brackets), templates are listed as not analysed, and the INI, `.env`
//! and `.properties` dialects that services read are read the same way.

use crate::support::TestRepo;

mod yaml_test_suite;

/// Staging ran the first commit; the release changes what the test writes on top.
fn deployed(files: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::with_files(files);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo
}

fn syntax_findings(repo: &TestRepo) -> Vec<serde_json::Value> {
    let json = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    json["findings"].as_array().unwrap().iter().filter(|f| f["check"] == "config-syntax").cloned().collect()
}

#[test]
fn a_compose_healthcheck_whose_closing_bracket_sits_left_of_its_items_passes() {
    // Regression (issue 10): libyaml, PyYAML and Compose read this; gate blocked it as invalid.
    let repo = deployed(&[("docker-compose.yml", "services:\n  web:\n    image: web:1.0\n")]);
    repo.write(
        "docker-compose.yml",
        "services:\n  web:\n    image: web:1.0\n    healthcheck:\n      test: [\n          \"CMD\", \"curl\", \"-f\", \"http://localhost\"\n      ]\n      interval: 30s\n",
    );
    repo.commit("healthcheck");
    assert_eq!(syntax_findings(&repo), Vec::<serde_json::Value>::new());
    repo.gate(&["check", "--env", "staging"])
        .expect(0)
        .stdout_has("docker-compose.yml (YAML)")
        .stdout_has("services.web.healthcheck.test[0]: added \"CMD\"")
        .stdout_has("services.web.healthcheck.interval: added 30s");
}
