//! Incident 003: a config push with an invalid auth-server address; incident 001: a dependency
//! the servers could not run; incident 002: an untested loop that never ended. What the release
//! changes in configuration, dependencies and code, read before it ships.

use crate::support::TestRepo;

const AUTH: &str = "auth:\n  ldap:\n    host: ldap.corp:389\n    url: ldaps://ldap.corp:636\n    bind_password: hunter2\n    timeout: 5\n";

/// Staging ran the first commit; the release changes what the test writes on top. Checked
/// against staging, which has no evidence requirements, so only the audit speaks.
fn deployed(files: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::with_files(files);
    repo.gate(&["record", "--env", "staging", "--force", "--reason", "fixture"]).expect(0);
    repo
}

fn findings(repo: &TestRepo, env: &str, check: &str) -> Vec<serde_json::Value> {
    let json = repo.gate(&["check", "--env", env, "--format", "json"]).json();
    json["findings"].as_array().unwrap().iter().filter(|f| f["check"] == check).cloned().collect()
}

fn messages(repo: &TestRepo, env: &str, check: &str) -> Vec<String> {
    findings(repo, env, check).iter().map(|f| f["message"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_incident_a_typo_in_the_auth_server_address_is_caught_with_the_key_level_diff() {
    let repo = deployed(&[("config/auth.yaml", AUTH)]);
    repo.write("config/auth.yaml", &AUTH.replace("ldap.corp:389", "ldap.crop:389"));
    repo.commit("move the auth servers");
    let run = repo.gate(&["check", "--env", "staging"]).expect(1);
    run.stdout_has("config-address")
        .stdout_has("deny   config/auth.yaml:3:11: auth.ldap.host = ldap.crop:389: `ldap.crop:389` is one edit away from the old value `ldap.corp:389`")
        .stdout_has("config changes")
        .stdout_has("config/auth.yaml (YAML)")
        .stdout_has("auth.ldap.host: ldap.corp:389 -> ldap.crop:389");
    // The same key-level diff in `gate diff`.
    repo.gate(&["diff", "--env", "staging"]).expect(0).stdout_has("auth.ldap.host: ldap.corp:389 -> ldap.crop:389");
}

#[test]
fn a_new_or_deleted_config_file_is_one_line_not_every_key() {
    let repo = deployed(&[("config/old.toml", "a = 1\nb = 2\n"), ("config/keep.yaml", "zone: eu\nretries: 3\n")]);
    repo.remove("config/old.toml");
    repo.write("config/auth.yaml", AUTH);
    repo.write("config/keep.yaml", "zone: us\nretries: 3\nalpha: 1\n");
    repo.commit("new auth file");
    let run = repo.gate(&["check", "--env", "staging"]).expect(0);
    let run = run
        .stdout_has("config/auth.yaml (YAML): new file, 4 keys")
        .stdout_has("config/old.toml (TOML): deleted, had 2 keys")
        .stdout_has("config/keep.yaml (YAML)\n    zone: eu -> us\n    alpha: added 1\n");
    let section = run.stdout.split("config changes").nth(1).unwrap();
    assert!(!section.contains("auth.ldap.host"), "{}", run.stdout);
    // JSON keeps every key, and says how the file changed.
    let json = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    let auth = json["config_changes"].as_array().unwrap().iter().find(|c| c["path"] == "config/auth.yaml").unwrap();
    assert_eq!(auth["status"], "added");
    assert_eq!(auth["changes"].as_array().unwrap().len(), 4);
}

#[test]
fn real_address_mistakes_are_findings() {
    let repo = deployed(&[("config/app.toml", "[db]\ndsn = \"postgres://app:secret@db.acme.io:5432/app\"\n")]);
    repo.write(
        "config/app.toml",
        "[db]\ndsn = \"postgres://app:pa/ss@db.acme.io:5432/app\"\n\n[ldap]\nurl = \"ldap:x.x.x.x:389\"\nhost = \"ldaps://ldap.acme.io\"\n\n[oidc]\nissuer = \"https://login.acme.io/\"\n\n[cache]\nhost = \"<your cache host>\"\nport = 70000\n",
    );
    repo.commit("new settings");
    let found = messages(&repo, "staging", "config-address").join("\n");
    for expected in [
        // The password is never shown, even in the finding about it.
        "db.dsn = \"postgres://app:(hidden)@db.acme.io:5432/app\"",
        "percent-encoded",
        "missing `//` after `ldap:`: write ldap://x.x.x.x:389",
        "ldap.host = \"ldaps://ldap.acme.io\": `ldaps://ldap.acme.io` is a URL where a host name is expected",
        "oidc.issuer = \"https://login.acme.io/\"",
        "trailing `/`",
        "cache.host = \"<your cache host>\": `<your cache host>` is a placeholder",
        "cache.port = 70000: port 70000 is out of range (1-65535)",
    ] {
        assert!(found.contains(expected), "missing {expected:?} in:\n{found}");
    }
    assert!(!found.contains("pa/ss"), "{found}");
}

#[test]
fn private_addresses_are_findings_in_production_only() {
    let repo = TestRepo::with_files(&[("config/app.yaml", "db:\n  host: db.acme.io\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.gate(&["record", "--env", "production", "--force", "--reason", "fixture"]).expect(0);
    repo.write("config/app.yaml", "db:\n  host: 127.0.0.1\n");
    repo.commit("point at the local database");
    assert!(messages(&repo, "staging", "config-address").is_empty());
    let production = messages(&repo, "production", "config-address");
    assert_eq!(production.len(), 1, "{production:?}");
    assert!(production[0].contains("`127.0.0.1` is a loopback address"), "{production:?}");
    assert!(production[0].contains("production"), "{production:?}");
}

#[test]
fn unchanged_values_and_templated_values_are_left_alone() {
    let repo = deployed(&[("config/app.yaml", "legacy:\n  host: <your legacy host>\n")]);
    repo.write(
        "config/app.yaml",
        "legacy:\n  host: <your legacy host>\nnew:\n  host: ${NEW_HOST}\n  url: \"{{ service_url }}\"\n",
    );
    repo.commit("templated");
    assert!(messages(&repo, "staging", "config-address").is_empty());
}

#[test]
fn a_config_file_that_no_longer_parses_is_located() {
    let repo = deployed(&[("config/app.yaml", "server:\n  port: 8080\n"), ("config/app.json", "{\"a\": 1}\n")]);
    repo.write("config/app.yaml", "server:\n  port: 8080\n   threads: 4\n");
    repo.write("config/app.json", "{\"a\": [1, 2,]}\n");
    repo.write("config/.env", "LDAP:\n  HOST: ldap.corp\n");
    repo.write_bytes("config/data.toml", b"\x00\x01binary");
    repo.commit("broken config");
    let run = repo.gate(&["check", "--env", "staging"]).expect(1);
    run.stdout_has("deny   config/app.yaml:3:11: YAML: mapping values are not allowed in this context\n")
        .stdout_has("deny   config/app.json:1:13: JSON: expected value at line 1 column 13\n")
        .stdout_has("deny   config/.env:1:1: .env: expected `KEY=value`, found `LDAP:` (it reads as YAML: is the file name wrong?)")
        .stdout_has("deny   config/data.toml:1:1: binary content where configuration is expected");
}

#[test]
fn hostile_config_files_end_in_bounded_time_with_a_finding() {
    let repo = deployed(&[("config/keep.yaml", "a: 1\n")]);
    let mut bomb = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let mut previous = 'a';
    for name in 'b'..='z' {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n{name}_host: changeme\n",
            vec![format!("*{previous}"); 9].join(",")
        ));
        previous = name;
    }
    repo.write("config/bomb.yaml", &bomb);
    repo.write("config/deep.json", &format!("{}1{}", "[".repeat(50_000), "]".repeat(50_000)));
    repo.write_bytes("config/latin1.properties", b"greeting=caf\xe9\n");
    repo.write("config/huge.json", &format!("{{\"data\": \"{}\"}}", "x".repeat(9 * 1024 * 1024)));
    repo.commit("hostile");
    let started = std::time::Instant::now();
    let run = repo.gate(&["check", "--env", "staging"]).expect(1);
    assert!(started.elapsed().as_secs() < 30, "took {:?}", started.elapsed());
    run.stdout_has("config/bomb.yaml:")
        .stdout_has("`changeme` is a placeholder")
        .stdout_has("deny   config/deep.json:")
        .stdout_has("deny   config/latin1.properties:1:13: not valid UTF-8 (byte 12)")
        .stdout_has("deny   config/huge.json: 9437196 bytes, over max-bytes (8388608): not parsed");
}

#[test]
fn a_file_of_no_known_format_is_listed_as_not_analysed() {
    let repo = deployed(&[("config/keep.yaml", "a: 1\n")]);
    repo.write("config/nginx.conf", "server {\n  listen 80;\n}\n");
    repo.write("config/app.cfg", "[server]\nport = 8080\n");
    repo.commit("nginx");
    let json = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    let not_analysed = json["not_analysed"].as_array().unwrap();
    assert!(
        not_analysed.iter().any(|n| n["check"] == "config-syntax" && n["path"] == "config/nginx.conf"),
        "{not_analysed:?}"
    );
    let formats: Vec<&str> =
        json["config_changes"].as_array().unwrap().iter().map(|c| c["format"].as_str().unwrap()).collect();
    assert!(formats.contains(&"TOML (read as TOML)"), "{formats:?}");
}

#[test]
fn risky_keys_need_approval_or_staging_first_and_secrets_are_never_shown() {
    let repo = TestRepo::with_files(&[("config/auth.yaml", AUTH)]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.gate(&["record", "--env", "production", "--force", "--reason", "fixture"]).expect(0);
    repo.write("config/auth.yaml", &AUTH.replace("hunter2", "correct-horse").replace("timeout: 5", "timeout: 50"));
    repo.commit("rotate the bind password");
    // Going to staging satisfies it (staging is where risky changes are tried).
    let staging = findings(&repo, "staging", "config-risk");
    assert_eq!(staging.len(), 1);
    assert!(staging[0]["waived"]["reason"].as_str().unwrap().contains("going to staging"), "{staging:?}");
    // Production wants the tree to have been through staging, or an approval.
    let production = findings(&repo, "production", "config-risk");
    assert_eq!(production[0]["message"], "changes 2 high-risk keys (auth.ldap.bind_password, auth.ldap.timeout)");
    assert!(production[0]["waived"].is_null());
    let details = production[0]["details"].to_string();
    assert!(
        details.contains("auth.ldap.bind_password: (hidden) -> (hidden)")
            && !details.contains("hunter2")
            && !details.contains("correct-horse"),
        "{details}"
    );
    let human = repo.gate(&["check", "--env", "production"]);
    assert!(!human.stdout.contains("hunter2") && !human.stdout.contains("correct-horse"), "{}", human.stdout);
    repo.gate(&["evidence", "add", "approval", "--for", "config-risk", "--detail", "rotation reviewed"]).expect(0);
    let approved = findings(&repo, "production", "config-risk");
    assert!(approved[0]["waived"]["reason"].as_str().unwrap().contains("rotation reviewed"), "{approved:?}");
}

#[test]
fn every_risky_pattern_fires_on_added_lines_only() {
    let repo = deployed(&[("bin/sync.sh", "#!/bin/sh\nwhile true; do\n  sync_once || break\ndone\n")]);
    repo.write(
        "bin/sync.sh",
        "#!/bin/sh\nset +e\nwhile true; do\n  sync_once || break\ndone\nwhile true; do\n  sync_forever\ndone\nchmod 777 /srv/cache\nrm -rf $CACHE_DIR/\ncurl -k https://auth.internal/token\n",
    );
    repo.write("config/app.yaml", "debug: true\n");
    repo.write("app/client.py", "import requests\nrequests.get(URL, verify=False)\n");
    repo.commit("quick fix before the weekend");
    let found: Vec<(String, u64, String)> = findings(&repo, "staging", "risky-pattern")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let rules: Vec<(&str, u64, String)> = found
        .iter()
        .map(|(path, line, message)| {
            (path.as_str(), *line, message.split("(rule `").nth(1).unwrap().split('`').next().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("app/client.py", 2, "tls-verify-off".to_string()),
            ("bin/sync.sh", 2, "errexit-off".to_string()),
            ("bin/sync.sh", 6, "unbounded-loop".to_string()),
            ("bin/sync.sh", 9, "world-writable".to_string()),
            ("bin/sync.sh", 10, "rm-rf-variable".to_string()),
            ("bin/sync.sh", 11, "tls-verify-off".to_string()),
            ("config/app.yaml", 1, "debug-enabled".to_string()),
        ],
        "{found:#?}"
    );
}

#[test]
fn users_add_rules_and_a_rule_that_contradicts_its_examples_is_a_policy_error() {
    let rule = "[checks.risky-pattern.rules.no-sudo]\npattern = '^\\s*sudo\\s'\npaths = [\"scripts/**\"]\nreason = \"sudo prompts hang unattended deploys\"\nseverity = \"warn\"\nfires = [\"sudo systemctl restart app\"]\npasses = [\"systemctl restart app\"]\n";
    let repo = deployed(&[("gate.toml", rule)]);
    repo.write("scripts/restart.sh", "sudo systemctl restart app\n");
    repo.commit("restart");
    let found = findings(&repo, "staging", "risky-pattern");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["severity"], "warn");
    assert!(found[0]["message"].as_str().unwrap().starts_with("sudo prompts hang unattended deploys (rule `no-sudo`)"));

    repo.write("gate.toml", &rule.replace("passes = [\"systemctl restart app\"]", "passes = [\"sudo -n true\"]"));
    repo.commit("a wrong example");
    repo.gate(&["check"])
        .expect(2)
        .stderr_has("rule `no-sudo` fires on its `passes` example \"sudo -n true\"")
        .stderr_has("--> gate.toml:2:");
}

#[test]
fn dependency_changes_are_listed_and_need_staging_first() {
    let lock = |serde: &str, extra: &str| {
        format!("version = 3\n\n[[package]]\nname = \"serde\"\nversion = \"{serde}\"\n{extra}")
    };
    let repo =
        TestRepo::with_files(&[("Cargo.lock", &lock("1.0.197", "")), ("mix.lock", "%{\"a\": {:hex, :a, \"1.0\"}}\n")]);
    repo.gate(&["record", "--env", "production", "--force", "--reason", "fixture"]).expect(0);
    repo.gate(&["evidence", "add", "approval", "--for", "all", "--detail", "reviewed"]).expect(0);
    repo.write("Cargo.lock", &lock("1.0.203", "\n[[package]]\nname = \"tokio\"\nversion = \"1.38.0\"\n"));
    repo.write("mix.lock", "%{\"a\": {:hex, :a, \"1.1\"}}\n");
    repo.commit("upgrade");
    let json = repo.gate(&["check", "--env", "production", "--format", "json"]).json();
    let dependency = json["findings"].as_array().unwrap().iter().find(|f| f["check"] == "dependency-change").unwrap();
    assert_eq!(dependency["message"], "2 packages change: 1 added, 1 changed");
    assert_eq!(dependency["details"], serde_json::json!(["+ tokio 1.38.0", "serde 1.0.197 -> 1.0.203"]));
    let staged: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "staged-rollout")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(staged.iter().any(|m| m.contains("the release changes dependencies (Cargo.lock)")), "{staged:?}");
    let not_analysed = json["not_analysed"].as_array().unwrap();
    assert!(
        not_analysed.iter().any(|n| n["path"] == "mix.lock" && n["reason"].as_str().unwrap().contains("mix.lock")),
        "{not_analysed:?}"
    );
}

/// Guards against: a config file read from the blob cache saying what its blob does not. Each
/// config file is read once per blob and path and kept in `GIT_DIR/gate/cache-v7.bin` (its keys
/// apart, in `cache-v7-apart.bin`); a warm run, and a run whose kept records are damaged, print
/// what a cold run prints.
#[test]
fn config_files_read_from_the_cache_say_what_a_cold_run_says() {
    let compose = "services:\n  web:\n    image: app:1\n    environment:\n      - DB_HOST=db\n      - DB_PORT=5432\n";
    let repo = deployed(&[
        ("config/auth.yaml", AUTH),
        (
            "config/app.json",
            "{\"servers\": [{\"name\": \"a\", \"url\": \"https://a.corp\"}, {\"name\": \"b\", \"url\": \"https://b.corp\"}],\n \"retries\": 3}\n",
        ),
        ("config/app.toml", "[db]\nhost = \"db.corp\"\nport = 5432\n"),
        ("deploy/compose.yaml", compose),
        ("config/old.ini", "[s]\na = 1\n"),
        ("config/app.yml", "a: 1\n"),
    ]);
    repo.write("config/auth.yaml", &AUTH.replace("ldap.corp:389", "ldap.crop:389"));
    repo.write(
        "config/app.json",
        "{\"servers\": [{\"name\": \"b\", \"url\": \"https://b.corp:8443\"}],\n \"retries\": 5}\n",
    );
    repo.write("config/app.toml", "[db]\nhost = \"db.corp\"\nport = 5433\n\n[cache]\nttl = 60\n");
    repo.remove("deploy/compose.yaml");
    repo.write("deploy/docker-compose.yml", &compose.replace("app:1", "app:2"));
    repo.remove("config/old.ini");
    repo.write("config/new.toml", "[feature]\nenabled = true\n");
    repo.write("config/app.yml", "a: 1\n b: 2\n");
    repo.write("config/templates/cm.yaml", "name: {{ .Release.Name }}\n");
    repo.commit("retune the services");
    // `gate record` warmed the cache with the deployed side: start cold.
    std::fs::remove_dir_all(repo.path().join(".git/gate")).unwrap();
    let check = || repo.gate(&["check", "--env", "staging", "--format", "json"]).expect(1);
    let cold = check();
    let json = cold.json();
    let changed: Vec<&str> =
        json["config_changes"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    for path in
        ["config/auth.yaml", "config/app.json", "config/app.toml", "deploy/docker-compose.yml", "config/new.toml"]
    {
        assert!(changed.contains(&path), "{path} in {changed:?}");
    }
    let findings = json["findings"].as_array().unwrap();
    let said = |check: &str, path: &str| findings.iter().any(|f| f["check"] == check && f["path"] == path);
    assert!(said("config-address", "config/auth.yaml"), "{findings:#?}");
    assert!(said("config-syntax", "config/app.yml"), "{findings:#?}");

    let warm = check();
    assert_eq!(cold.stdout, warm.stdout);
    let diff = || repo.gate(&["diff", "--env", "staging"]).expect(0).stdout;
    assert_eq!(diff(), diff());

    // Kept readings, diffs and keys that do not decode, sealed with the user's own key (so only
    // the records are wrong): each is derived from the blobs again, never believed, and the
    // cache's own records are replaced.
    let damaged = damage_kept_readings(&repo, "cache-v7.bin");
    assert!(damaged >= 10, "{damaged} kept readings");
    assert!(damage_kept_readings(&repo, "cache-v7-apart.bin") >= 10);
    assert_eq!(check().stdout, cold.stdout);
    assert_eq!(damage_kept_readings(&repo, "cache-v7.bin"), damaged, "every damaged reading was replaced");
    assert_eq!(check().stdout, cold.stdout);

    // The next release: its last deploy's side was read by the runs above, kept without its
    // keys, which come back from where they are kept apart for the new diffs.
    repo.write("config/auth.yaml", &AUTH.replace("timeout: 5", "timeout: 10"));
    repo.write(
        "config/app.json",
        "{\"servers\": [{\"name\": \"c\", \"url\": \"https://c.corp\"}],\n \"retries\": 5}\n",
    );
    repo.write("config/app.toml", "[db]\nhost = \"db.corp\"\nport = 5434\n");
    repo.write("deploy/docker-compose.yml", &compose.replace("app:1", "app:3"));
    repo.commit("the next release");
    let next = || repo.gate(&["check", "--base", "HEAD~1", "--format", "json"]);
    let from_kept = next();
    assert!(from_kept.stdout.contains("\"key\": \"db.port\""), "{}", from_kept.stdout);
    std::fs::remove_dir_all(repo.path().join(".git/gate")).unwrap();
    let cold = next();
    assert_eq!((from_kept.code, &from_kept.stdout), (cold.code, &cold.stdout));
}

/// Sets the first byte of every record kept in `file` of the repository's blob cache to one no
/// record starts with, and seals the file again with the user's key. Returns how many it
/// damaged; fails if one was damaged already.
fn damage_kept_readings(repo: &TestRepo, file: &str) -> usize {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    let cache = repo.path().join(".git/gate").join(file);
    let bytes = std::fs::read(&cache).unwrap();
    let mut body = bytes[..bytes.len() - 32].to_vec();
    let u32_at = |body: &[u8], at: usize| u32::from_le_bytes(body[at..at + 4].try_into().unwrap()) as usize;
    let mut at = 8;
    // Facts, test references, rule matches: walked past.
    let facts = u32_at(&body, at);
    at += 4;
    for _ in 0..facts {
        at += 1 + body[at] as usize + 8 + 1 + 4 + 4;
        at += 4 + 8 * u32_at(&body, at);
    }
    for (fixed, fingerprint) in [(0, 0), (10, 8)] {
        let count = u32_at(&body, at);
        at += 4;
        for _ in 0..count {
            at += 1 + body[at] as usize + fingerprint;
            let items = u32_at(&body, at);
            at += 4;
            for _ in 0..items {
                at += fixed;
                at += 2 + u16::from_le_bytes(body[at..at + 2].try_into().unwrap()) as usize;
            }
        }
    }
    let readings = u32_at(&body, at);
    at += 4;
    for _ in 0..readings {
        at += 1 + body[at] as usize + 8;
        let len = u32_at(&body, at);
        assert_ne!(body[at + 4], 0xee, "a damaged reading was kept");
        body[at + 4] = 0xee;
        at += 4 + len;
    }
    assert_eq!(at, body.len(), "the test read the whole cache");
    let key = std::fs::read(repo.home().join(".local/state/gate/cache.key")).unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(&body);
    body.extend_from_slice(&mac.finalize().into_bytes());
    std::fs::write(&cache, &body).unwrap();
    readings
}
