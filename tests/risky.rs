//! Issue 11, part 2: `risky-pattern` made safe by the lines around a match, in repositories
//! shaped like the corpus's (docker-mailserver's startup scripts, an uptime-kuma provider).

use crate::support::TestRepo;

/// The risky-pattern findings of a release adding `files`, as (path, line, rule).
fn risky(files: &[(&str, &str)]) -> Vec<(String, u64, String)> {
    let repo = TestRepo::with_files(&[("README.md", "# x\n")]);
    let base = repo.rev("HEAD");
    for (path, content) in files {
        repo.write(path, content);
    }
    repo.commit("release");
    let json = repo.gate(&["check", "--base", &base, "--format", "json"]).json();
    assert!(json["checks"].as_array().unwrap().iter().any(|c| c["id"] == "risky-pattern"), "risky-pattern ran");
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "risky-pattern")
        .map(|f| {
            let path = f["path"].as_str().unwrap().to_string();
            (path, f["line"].as_u64().unwrap_or(0), f["code"].as_str().unwrap().to_string())
        })
        .collect()
}

fn found(path: &str, line: u64, rule: &str) -> (String, u64, String) {
    (path.to_string(), line, rule.to_string())
}

/// Guards against: a commented-out `curl -k`, a `# verify=False` note and a `// rejectUnauthorized:
/// false` reading as TLS verification off. Comments are not code, by each language's syntax.
#[test]
fn comments_are_not_code() {
    let found_ = risky(&[
        (
            "bin/token.sh",
            "#!/bin/sh\n# curl -k https://auth.internal/token\ncurl -fsS https://auth.internal/token # was -k\n",
        ),
        (
            "app/client.py",
            "import requests\n# requests.get(url, verify=False)\nrequests.get(url)  # verify=False is gone\n",
        ),
        (
            "web/fetch.js",
            "// rejectUnauthorized: false,\n/*\n  rejectUnauthorized: false\n*/\nconst agent = new https.Agent();\n",
        ),
        ("deploy/values.yaml", "# debug: true\ndebug: false\n"),
        ("bin/real.sh", "#!/bin/sh\ncurl -k https://auth.internal/token\n"),
    ]);
    assert_eq!(found_, [found("bin/real.sh", 2, "tls-verify-off")]);
}

/// Guards against: docker-mailserver's `rm -rf "${SERVICEDIR}"`, set from a fixed prefix on the
/// line before, blocking; traefik's `trap 'rm -rf "${workdir}"' EXIT` (empty, `rm -rf ""` names
/// no file); and `set +e` that the script turns back on.
#[test]
fn patterns_made_safe_by_the_lines_around_them_are_excused() {
    let found_ = risky(&[
        (
            "target/scripts/startup/mail_state.sh",
            "#!/bin/bash\nfor SERVICEDIR in lib/amavis lib/clamav; do\n  SERVICEDIR=\"/var/${SERVICEDIR}\"\n  rm -rf \"${SERVICEDIR}\"\ndone\n",
        ),
        ("bin/guarded.sh", "#!/bin/sh\nrm -rf \"${BUILD_DIR:?}\"/\n"),
        ("hack/test-changelog.sh", "#!/bin/bash\nworkdir=\"$(mktemp -d)\"\ntrap 'rm -rf \"${workdir}\"' EXIT\n"),
        ("bin/contents.sh", "#!/bin/sh\nrm -rf \"${WORKDIR}\"/*\n"),
        ("bin/probe.sh", "#!/bin/sh\nset -e\nset +e\nping -c1 db\nset -e\nrestart\n"),
        ("bin/scoped.sh", "#!/bin/sh\nset -e\nprobe() {\n  set +e\n  ping -c1 \"$1\"\n}\n( set +e; probe db )\n"),
        ("bin/unguarded.sh", "#!/bin/sh\nTARGET=\"$1\"\nrm -rf \"$TARGET\"/\n"),
        ("bin/errexit.sh", "#!/bin/sh\nset +e\nmigrate\nrestart\n"),
    ]);
    assert_eq!(
        found_,
        [
            found("bin/contents.sh", 2, "rm-rf-variable"),
            found("bin/errexit.sh", 2, "errexit-off"),
            found("bin/unguarded.sh", 3, "rm-rf-variable")
        ]
    );
}

/// `--verify=false` and `verify=False` are TLS only where they are TLS options.
#[test]
fn verify_false_is_tls_only_where_it_is_a_tls_option() {
    let found_ = risky(&[
        ("bin/plugins.sh", "#!/bin/sh\nhelm plugin install https://github.com/databus23/helm-diff --verify=false\n"),
        ("app/stats.py", "import numpy as np\nnp.testing.assert_allclose(a, b, verify=False)\n"),
        ("app/api.py", "import requests\nrequests.post(url, json=body, verify=False)\n"),
        ("bin/pull.sh", "#!/bin/sh\nskopeo copy --tls-verify=false docker://a docker://b\n"),
    ]);
    assert_eq!(found_, [found("app/api.py", 2, "tls-verify-off"), found("bin/pull.sh", 2, "tls-verify-off")]);
}

/// Lines over 4 KiB and files with a NUL byte are scanned too; a script too large to scan is a
/// finding, not a note.
#[test]
fn long_lines_nul_bytes_and_large_scripts_are_not_skipped() {
    let long = format!("#!/bin/sh\nX='{}'; chmod 777 /srv/app\n", "a".repeat(10_000));
    let repo = TestRepo::with_files(&[("README.md", "# x\n")]);
    let base = repo.rev("HEAD");
    repo.write("bin/long.sh", &long);
    repo.write_bytes("bin/installer.sh", b"#!/bin/sh\nchmod 777 /opt/app\nexit 0\n__PAYLOAD__\n\x00\x01\x02binary\n");
    let big: String = "echo filler line for a very large generated script\n".repeat(200_000);
    repo.write("bin/huge.sh", &big);
    repo.commit("scripts");
    let json = repo.gate(&["check", "--base", &base, "--format", "json"]).json();
    let risky: Vec<(&str, &str)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "risky-pattern")
        .map(|f| (f["path"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        risky,
        [
            ("bin/huge.sh", "too-large-to-scan"),
            ("bin/installer.sh", "world-writable"),
            ("bin/long.sh", "world-writable")
        ],
        "{json:#}"
    );
    let long_finding = json["findings"].as_array().unwrap().iter().find(|f| f["path"] == "bin/long.sh").unwrap();
    assert!(long_finding["message"].as_str().unwrap().contains("chmod 777 /srv/app"), "{long_finding}");
}

/// Issue 14: a private key or cloud access key committed in a file that ships is a finding, and
/// the report never shows the key; test fixtures and documentation are not deployed.
#[test]
fn a_committed_private_key_or_access_key_is_a_finding_with_the_value_masked() {
    let key = "AKIAIOSFODNN7EXAMPLE";
    let repo = TestRepo::with_files(&[("README.md", "# x\n")]);
    let base = repo.rev("HEAD");
    repo.write("config/aws.env", &format!("AWS_ACCESS_KEY_ID={key}\nAWS_REGION=eu-west-1\n"));
    repo.write(
        "deploy/tls/server.key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7xRq3jof2fhURHfBUH3dHPXLHig5V9Jw5gqeg\n-----END RSA PRIVATE KEY-----\n",
    );
    // A placeholder is not a key, nor is a demo's key.
    repo.write("web/smtp.vue", "<textarea placeholder=\"-----BEGIN PRIVATE KEY-----\n...\"></textarea>\n");
    repo.write(
        "demo-setups/relay/key.pem",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIOc6wqZmSDmT336K4O26dMk1RCVc0+cmnsO2eK4P5K5yoAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n",
    );
    repo.write("tests/fixtures/aws.env", &format!("AWS_ACCESS_KEY_ID={key}\n"));
    repo.write("docs/setup.md", &format!("Set `AWS_ACCESS_KEY_ID={key}`.\n"));
    repo.write(
        "docker-compose.yml",
        "services:\n  db:\n    environment:\n      DATABASE_URL: postgres://app:app@db/app\n",
    );
    repo.commit("keys");
    let run = repo.gate(&["check", "--base", &base, "--format", "json"]);
    assert!(!run.stdout.contains("IOSFODNN7EXAMPLE"), "the key is shown:\n{}", run.stdout);
    let json = run.json();
    let secrets: Vec<(&str, u64)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "risky-pattern" && f["code"] == "committed-secret")
        .map(|f| (f["path"].as_str().unwrap(), f["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(secrets, [("config/aws.env", 1), ("deploy/tls/server.key", 1)], "{json:#}");
    let human = repo.gate(&["check", "--base", &base]).expect(1);
    assert!(!human.stdout.contains("IOSFODNN7EXAMPLE"), "{}", human.stdout);
}

/// Backtest (uptime-kuma 2.1.2): a notification provider turned certificate checks off only
/// when the user ticks "unsafe TLS" for a router with a self-signed certificate. An explicit
/// insecure opt-in guarding the line is the user's choice; the same line behind any other
/// condition, or none, is still TLS verification off.
#[test]
fn tls_verification_off_behind_an_explicit_insecure_opt_in_is_the_users_choice() {
    let guarded = "async function send(notification) {\n    const config = {};\n\
                   if (notification.teltonikaUnsafeTls) {\n        config.httpsAgent = new https.Agent({\n\
                   rejectUnauthorized: false, // Danger! Disables SSL verification\n        });\n    }\n}\n";
    let unguarded = guarded.replace("notification.teltonikaUnsafeTls", "notification.debug");
    let hits = risky(&[("server/providers/teltonika.js", guarded), ("server/providers/other.js", &unguarded)]);
    assert_eq!(hits, [found("server/providers/other.js", 5, "tls-verify-off")]);
}

/// gate's own `cargo run -- check`: 16 of its 18 deny findings were fixture strings in Rust
/// `#[cfg(test)]` modules (`"curl -k $URL"`, fake `AKIA...` keys). Test code inside a source
/// file does not ship; the same line in the code that does still blocks.
#[test]
fn rust_test_modules_are_test_code_not_what_ships() {
    let source = "pub fn fetch(url: &str) -> String {\n    format!(\"GET {url}\")\n}\n\n#[cfg(test)]\nmod tests {\n    \
                  #[test]\n    fn masks() {\n        let fixture = \"curl -k https://x\";\n        \
                  let key = \"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\";\n        assert!(!fixture.is_empty() && !key.is_empty());\n    }\n}\n";
    let shipped = source.replace("format!(\"GET {url}\")", "std::process::Command::new(\"sh\").arg(\"-c\").arg(format!(\"curl -k {url}\")).output().map(|_| String::new()).unwrap_or_default()");
    let hits = risky(&[("src/fetch.rs", source), ("src/shipped.rs", &shipped)]);
    assert_eq!(hits, [found("src/shipped.rs", 2, "tls-verify-off")]);
}
