//! Issue 11, part 2: `dependency-change` tells what ships from what does not, says each change
//! once, sees container images, and marks major upgrades and downgrades.

use crate::support::TestRepo;

/// The dependency-change findings of `json`, as (path, code, message).
fn changes(json: &serde_json::Value) -> Vec<(String, String, String)> {
    assert!(json["checks"].as_array().unwrap().iter().any(|c| c["id"] == "dependency-change"), "it ran");
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "dependency-change")
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap().to_string();
            (text("path"), text("code"), text("message"))
        })
        .collect()
}

fn details<'a>(json: &'a serde_json::Value, path: &str, code: &str) -> Vec<&'a str> {
    let finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "dependency-change" && f["path"] == path && f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding on {path}: {json:#}"));
    finding["details"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect()
}

/// The staged-rollout findings of a check to production.
fn staged(json: &serde_json::Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "staged-rollout")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

const PACKAGE: &str = r#"{
  "name": "web",
  "dependencies": { "express": "^4.19.2" },
  "devDependencies": { "jest": "^29.7.0", "eslint": "^8.57.0" }
}
"#;

/// Guards against: a release that only bumps test tools (devDependencies, requirements_tests.txt,
/// `[dependency-groups] dev`, an integration test's package.json) having to go through staging.
/// Development and test dependencies are reported apart and never require staging alone.
#[test]
fn development_and_test_dependencies_are_reported_apart_and_need_no_staging() {
    let repo = TestRepo::with_files(&[
        ("package.json", PACKAGE),
        ("requirements_tests.txt", "pytest==8.1.1\n"),
        (
            "pyproject.toml",
            "[project]\nname = \"app\"\ndependencies = [\"django>=4.2\"]\n\n[dependency-groups]\ndev = [\"ruff==0.4.1\"]\n",
        ),
        ("integration-tests/package.json", "{\"dependencies\": {\"playwright\": \"1.43.0\"}}\n"),
        ("bin/deploy.sh", "#!/bin/sh\nexit 0\n"),
        ("test/deploy.bats", "run bin/deploy.sh\n"),
    ]);
    repo.gate(&["record", "--env", "production"]).expect(0);
    repo.write("package.json", &PACKAGE.replace("^29.7.0", "^30.0.0"));
    repo.write("requirements_tests.txt", "pytest==8.2.0\n");
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"app\"\ndependencies = [\"django>=4.2\"]\n\n[dependency-groups]\ndev = [\"ruff==0.4.4\"]\n",
    );
    repo.write("integration-tests/package.json", "{\"dependencies\": {\"playwright\": \"1.44.0\"}}\n");
    repo.commit("test tools");

    let json = repo.gate(&["check", "--env", "production", "--format", "json"]).json();
    let found = changes(&json);
    assert!(found.iter().all(|(_, code, _)| code == "dev-packages-changed"), "{found:#?}");
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_eq!(details(&json, "package.json", "dev-packages-changed"), ["jest ^29.7.0 -> ^30.0.0 (major upgrade)"]);
    assert!(staged(&json).iter().all(|m| !m.contains("changes dependencies")), "{:?}", staged(&json));

    // A runtime dependency does require staging.
    repo.write("package.json", &PACKAGE.replace("^4.19.2", "^4.21.0"));
    repo.commit("express");
    let json = repo.gate(&["check", "--env", "production", "--format", "json"]).json();
    assert_eq!(details(&json, "package.json", "packages-changed"), ["express ^4.19.2 -> ^4.21.0"]);
    assert!(staged(&json).iter().any(|m| m.contains("the release changes dependencies (package.json)")), "{json:#}");
}

/// Guards against: every Go version change listed twice, once by go.mod and once by go.sum.
#[test]
fn go_sum_is_not_repeated_when_go_mod_says_the_change() {
    let go_mod = |v: &str| format!("module x\n\ngo 1.22\n\nrequire golang.org/x/sys {v}\n");
    let go_sum = |v: &str| format!("golang.org/x/sys {v} h1:abc=\ngolang.org/x/sys {v}/go.mod h1:def=\n");
    let repo = TestRepo::with_files(&[
        ("go.mod", &go_mod("v0.20.0")),
        ("go.sum", &go_sum("v0.20.0")),
        ("tools/go.sum", &go_sum("v0.20.0")),
    ]);
    let base = repo.rev("HEAD");
    repo.write("go.mod", &go_mod("v0.21.0"));
    repo.write("go.sum", &go_sum("v0.21.0"));
    repo.write("tools/go.sum", &go_sum("v0.21.0"));
    repo.commit("x/sys");
    let json = repo.gate(&["check", "--base", &base, "--format", "json"]).json();
    let paths: Vec<String> = changes(&json).into_iter().map(|(path, _, _)| path).collect();
    assert_eq!(paths, ["go.mod", "tools/go.sum"], "{json:#}");
    assert_eq!(details(&json, "go.mod", "packages-changed"), ["golang.org/x/sys v0.20.0 -> v0.21.0"]);
}

/// Guards against: `redis:7` becoming `valkey/valkey:8` going unseen. Container images in
/// compose files, Kubernetes manifests and Dockerfiles are dependencies.
#[test]
fn container_images_are_dependencies() {
    let compose = "services:\n  cache:\n    image: redis:7\n  web:\n    build: .\n";
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:1.4.2\n";
    let repo = TestRepo::with_files(&[
        ("docker-compose.yml", compose),
        ("deploy/api.yaml", deployment),
        ("Dockerfile", "FROM node:20-alpine AS build\nRUN npm ci\nFROM build\nCMD [\"node\", \"server.js\"]\n"),
        (".github/workflows/ci.yml", "jobs:\n  test:\n    container:\n      image: node:20\n"),
    ]);
    repo.gate(&["record", "--env", "production"]).expect(0);
    repo.write("docker-compose.yml", &compose.replace("redis:7", "valkey/valkey:8"));
    repo.write("deploy/api.yaml", &deployment.replace("1.4.2", "1.5.0"));
    repo.write("Dockerfile", "FROM node:22-alpine AS build\nRUN npm ci\nFROM build\nCMD [\"node\", \"server.js\"]\n");
    repo.write(".github/workflows/ci.yml", "jobs:\n  test:\n    container:\n      image: node:22\n");
    repo.commit("images");

    let json = repo.gate(&["check", "--env", "production", "--format", "json"]).json();
    let found: Vec<(String, String)> = changes(&json).into_iter().map(|(p, c, _)| (p, c)).collect();
    assert_eq!(
        found,
        [
            ("Dockerfile".to_string(), "images-changed".to_string()),
            ("deploy/api.yaml".into(), "images-changed".into()),
            ("docker-compose.yml".into(), "images-changed".into()),
        ],
        "CI images do not ship: {json:#}"
    );
    assert_eq!(details(&json, "docker-compose.yml", "images-changed"), ["+ valkey/valkey 8", "- redis 7"]);
    assert_eq!(details(&json, "Dockerfile", "images-changed"), ["node 20-alpine -> 22-alpine (major upgrade)"]);
    assert!(staged(&json).iter().any(|m| m.contains("the release changes dependencies")), "{json:#}");
}

/// pom.xml `<properties>` versions count; Pipfile and Podfile.lock are read; majors and
/// downgrades are marked.
#[test]
fn maven_properties_pipfile_and_podfile_lock_are_read() {
    let pom = |spring: &str| {
        format!(
            "<project><properties><spring.version>{spring}</spring.version></properties><dependencies>\
             <dependency><groupId>org.springframework</groupId><artifactId>spring-web</artifactId>\
             <version>${{spring.version}}</version></dependency></dependencies></project>\n"
        )
    };
    let repo = TestRepo::with_files(&[
        ("pom.xml", &pom("6.1.6")),
        ("Pipfile", "[packages]\nrequests = \"==2.31.0\"\n\n[dev-packages]\npytest = \"*\"\n"),
        ("ios/Podfile.lock", "PODS:\n  - Alamofire (5.9.1)\n\nCOCOAPODS: 1.15.2\n"),
    ]);
    let base = repo.rev("HEAD");
    repo.write("pom.xml", &pom("5.3.31"));
    repo.write("Pipfile", "[packages]\nrequests = \"==2.32.3\"\n\n[dev-packages]\npytest = \"*\"\n");
    repo.write("ios/Podfile.lock", "PODS:\n  - Alamofire (5.8.0)\n\nCOCOAPODS: 1.15.2\n");
    repo.commit("versions");
    let json = repo.gate(&["check", "--base", &base, "--format", "json"]).json();
    assert_eq!(
        details(&json, "pom.xml", "packages-changed"),
        ["org.springframework:spring-web 6.1.6 -> 5.3.31 (major downgrade)"]
    );
    assert_eq!(details(&json, "Pipfile", "packages-changed"), ["requests ==2.31.0 -> ==2.32.3"]);
    assert_eq!(details(&json, "ios/Podfile.lock", "packages-changed"), ["Alamofire 5.9.1 -> 5.8.0 (downgrade)"]);
    let messages: Vec<String> = changes(&json).into_iter().map(|(_, _, m)| m).collect();
    assert!(messages.contains(&"1 package changes: 1 changed (1 downgrade)".to_string()), "{messages:?}");
}
