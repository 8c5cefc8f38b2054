//! Issue 10, the config audit on what real releases ship: each false-block class the backtest
//! corpus showed (docs/precision.md), in a minimal real-shaped repository.

use super::deployed;
use crate::support::TestRepo;

/// `gate check --env staging --format json`: the exit code, and the findings of `check`, which
/// must have run.
fn findings(repo: &TestRepo, check: &str) -> (i32, Vec<serde_json::Value>) {
    let run = repo.gate(&["check", "--env", "staging", "--format", "json"]);
    let json = run.json();
    let ran = json["checks"].as_array().unwrap().iter().any(|c| c["id"] == check);
    assert!(ran, "{check} did not run: {}", json["checks"]);
    let found = json["findings"].as_array().unwrap().iter().filter(|f| f["check"] == check).cloned().collect();
    (run.code, found)
}

#[test]
fn removing_one_list_item_is_one_change_not_a_shift_of_every_item_after_it() {
    let steps = |skip: bool| {
        let mut text = String::from("steps:\n");
        if !skip {
            text.push_str("  - name: lint\n    run: make lint\n");
        }
        text.push_str("  - name: build\n    run: make\n  - name: publish\n    with:\n      token: abc\n");
        text
    };
    let repo = deployed(&[("deploy/pipeline.yaml", &steps(false))]);
    repo.write("deploy/pipeline.yaml", &steps(true));
    repo.commit("drop the lint step");
    let (code, risk) = findings(&repo, "config-risk");
    assert_eq!((code, risk.len()), (0, 0), "the token did not change: {risk:?}");
    let run = repo.gate(&["check", "--env", "staging"]).expect(0);
    run.stdout_has("steps[name=lint].name: removed (was lint)")
        .stdout_has("steps[name=lint].run: removed")
        .stdout_lacks("steps[name=publish]");
}

#[test]
fn a_deleted_config_file_is_one_warning_line_and_removing_a_key_is_not_high_risk() {
    let repo = deployed(&[
        ("config/ldap.yaml", "zone: eu\nldap:\n  host: ldap.corp\n  bind_password: x\n  timeout: 5\n"),
        ("config/app.yaml", "app:\n  name: shop\n  api_token: abc\n"),
    ]);
    repo.remove("config/ldap.yaml");
    repo.write("config/app.yaml", "app:\n  name: shop\n");
    repo.commit("ldap goes, and the app no longer calls the API");
    let (code, risk) = findings(&repo, "config-risk");
    assert_eq!(code, 0, "{risk:?}");
    assert_eq!(risk.len(), 1, "{risk:?}");
    assert_eq!(risk[0]["severity"], "warn");
    assert_eq!(risk[0]["code"], "removed-file");
    assert_eq!(risk[0]["path"], "config/ldap.yaml");
    assert_eq!(risk[0]["message"], "removed: 4 keys, of which 3 high-risk");
    // A directory the release empties is one line for the directory.
    repo.gate(&["record", "--env", "staging"]);
    repo.remove("config/app.yaml");
    repo.commit("no config left");
    let (_, risk) = findings(&repo, "config-risk");
    assert_eq!(
        risk.iter().map(|f| f["path"].as_str().unwrap()).collect::<Vec<_>>(),
        Vec::<&str>::new(),
        "app.yaml had no high-risk key left"
    );
}

#[test]
fn a_word_pattern_matches_whole_words_of_a_key() {
    let repo = deployed(&[("config/app.env", "TOKENIZATION_ENGINE_PORT=8080\nGITHUB_TOKEN_FILE=/run/a\n")]);
    repo.write("config/app.env", "TOKENIZATION_ENGINE_PORT=9090\nGITHUB_TOKEN_FILE=/run/b\n");
    repo.commit("ports");
    let (_, risk) = findings(&repo, "config-risk");
    assert_eq!(risk.len(), 1, "{risk:?}");
    assert_eq!(risk[0]["message"], "changes 1 high-risk key (GITHUB_TOKEN_FILE)");
}

#[test]
fn schemas_api_descriptions_crds_and_translations_are_not_runtime_config() {
    let repo = deployed(&[("README.md", "x\n")]);
    repo.write(
        "deploy/values.schema.json",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"vault": {"properties": {"token": {"type": "string"}}}}}"#,
    );
    repo.write("api/openapi.yaml", "openapi: 3.0.0\nservers:\n  - url: api.example\ncomponents:\n  securitySchemes:\n    token:\n      type: http\n");
    repo.write(
        "deploy/crds/bundle.yaml",
        "kind: CustomResourceDefinition\nspec:\n  auth:\n    description: the secret\n---\nkind: CustomResourceDefinition\nspec:\n  password: x\n",
    );
    repo.write("src/lang/de-DE.json", r#"{"Push URL": "Push-URL", "Password": "Passwort", "Host": "Rechner"}"#);
    repo.write(
        "web/strings.json",
        &format!("{{{}}}", (0..12).map(|i| format!("\"Server host {i}\": \"x y\"")).collect::<Vec<_>>().join(",")),
    );
    repo.commit("schemas and strings");
    for check in ["config-risk", "config-address"] {
        let (code, found) = findings(&repo, check);
        assert_eq!((code, found.len()), (0, 0), "{check}: {found:?}");
    }
}

#[test]
fn examples_docs_test_harnesses_and_generated_files_are_not_config_that_ships() {
    let repo = deployed(&[("README.md", "x\n")]);
    let bad = "db:\n  host: <your db host>\n  password: changeme\n";
    for path in [
        "docs/snippets/db.yaml",
        "examples/compose.yml",
        "compose.example.yml",
        "config/app-sample.yml",
        "e2e/config.yaml",
        "integration-tests/config.yaml",
        ".gitlab-ci/jobs.yml",
        "generated/db.yaml",
    ] {
        repo.write(path, bad);
    }
    repo.write(".gitattributes", "generated/** linguist-generated\n");
    repo.commit("examples");
    for check in ["config-risk", "config-address"] {
        let (code, found) = findings(&repo, check);
        assert_eq!((code, found.len()), (0, 0), "{check}: {found:?}");
    }
    // The same file where a service reads it still blocks.
    repo.write("config/db.yaml", bad);
    repo.commit("real config");
    let (code, found) = findings(&repo, "config-address");
    assert_eq!(code, 1);
    assert_eq!(found[0]["path"], "config/db.yaml");
}

#[test]
fn kubernetes_and_listener_conventions_are_valid_addresses() {
    let repo = deployed(&[("README.md", "x\n")]);
    repo.write(
        "deploy/app.yaml",
        "spec:\n  ports:\n    - name: metrics\n      targetPort: metrics\n  listen_address: \":8080\"\n  bind: 0.0.0.0:80\n\
         rules:\n  - nonResourceURLs: /metrics\n    url: /healthz\nstorage:\n  s3:\n    endpoint: minio:9000\n  zookeeper:\n    dsn: zookeeper:2181\n\
         id:\n  server: 3f2504e0-4f89-11d3-9a0c-0305e82c3301\nreject_unknown_client_hostname: \"0\"\n",
    );
    repo.write("playbooks/site.yml", "- hosts: bastion[0]\n  roles: [ssh]\n");
    // netbox-docker 2.5.0: NGINX Unit proxies to a Unix socket.
    repo.write(
        "docker/nginx-unit.json",
        "{\"routes\": {\"status\": [{\"action\": {\"proxy\": \"http://unix:/opt/unit/unit.sock\"}}]}}\n",
    );
    repo.commit("conventions");
    let (code, found) = findings(&repo, "config-address");
    assert_eq!((code, found.len()), (0, 0), "{found:?}");
    // The advice to add a scheme stays where the key says url.
    repo.write("config/app.yaml", "auth:\n  token_url: auth.example.com:443/token\n");
    repo.commit("url without a scheme");
    let (code, found) = findings(&repo, "config-address");
    assert_eq!((code, found[0]["code"].as_str()), (1, Some("missing-scheme")));
}

#[test]
fn returning_to_a_value_the_environment_ran_before_is_not_a_typo() {
    // Staging follows deploy tags here, so each step is deployed without gate judging it.
    let policy = "[environments.staging]\ndeploy-tags = \"staging-*\"\n";
    let repo = TestRepo::with_files(&[("gate.toml", policy), ("config/auth.yaml", "ldap:\n  host: ldap.corp:389\n")]);
    repo.git(&["tag", "staging-1"]);
    repo.write("config/auth.yaml", "ldap:\n  host: ldap.crop:389\n");
    repo.commit("the typo that went out");
    repo.git(&["tag", "staging-2"]);
    // A fresh typo is a finding...
    repo.write("config/auth.yaml", "ldap:\n  host: ldap.crp:389\n");
    repo.commit("another slip");
    let (_, found) = findings(&repo, "config-address");
    assert_eq!(found.iter().filter(|f| f["code"] == "typo").count(), 1, "{found:?}");
    // ...the fix, back to what staging ran at staging-1, is not.
    repo.write("config/auth.yaml", "ldap:\n  host: ldap.corp:389\n");
    repo.commit("back to the working host");
    let (_, found) = findings(&repo, "config-address");
    assert!(found.iter().all(|f| f["code"] != "typo"), "{found:?}");
}

#[test]
fn secrets_shaped_like_secrets_appear_in_no_format() {
    let repo = deployed(&[("config/app.yaml", "db:\n  dsn: postgres://app:old@db:5432/app\n")]);
    repo.write(
        "config/app.yaml",
        // A `/` in the password: config-address reports the DSN, so every format quotes it.
        "db:\n  dsn: postgres://app:hunter/2@db.acme.io:5432/app\ngithub:\n  auth_header: \"token ghp_abcdefghijklmnopqrstuvwxyz0123456789\"\n",
    );
    repo.commit("new credentials");
    for format in ["human", "json", "sarif", "junit", "github", "markdown", "gitlab"] {
        let run = repo.gate(&["check", "--env", "staging", "--format", format]);
        assert!(run.code == 1 || run.code == 0, "{format}: {}", run.stderr);
        for secret in ["hunter/2", "abcdefghijklmnopqrstuvwxyz0123456789"] {
            assert!(!run.stdout.contains(secret), "{format} shows {secret}:\n{}", run.stdout);
        }
        assert!(run.stdout.contains("postgres://app:(hidden)@db.acme.io"), "{format}:\n{}", run.stdout);
    }
    repo.gate(&["diff", "--env", "staging"]).stdout_lacks("hunter/2").stdout_lacks("qrstuvwxyz0123456789");
}

#[test]
fn a_file_that_did_not_parse_at_the_last_deploy_either_is_a_note_not_a_block() {
    // The broken file went out before gate watched: recorded past the check that blocks it.
    let repo = TestRepo::with_files(&[("config/app.json", "{\"a\": [1, 2,]}\n")]);
    repo.gate(&["record", "--env", "staging", "--force", "--reason", "deployed before gate"]).expect(0);
    repo.write("config/app.json", "{\"a\": [1, 2,], \"b\": 1}\n");
    repo.commit("touch a file that was already broken");
    let (code, found) = findings(&repo, "config-syntax");
    assert_eq!((code, found.len()), (0, 0), "{found:?}");
    repo.gate(&["check", "--env", "staging"]).expect(0).stdout_has("it did not parse at the last deploy either");
    // Breaking a file that parsed is still a block.
    repo.write("config/good.json", "{}\n");
    repo.commit("good");
    repo.gate(&["record", "--env", "staging"]);
    repo.write("config/good.json", "{\n");
    repo.commit("broken");
    let (code, found) = findings(&repo, "config-syntax");
    assert_eq!((code, found.len()), (1, 1), "{found:?}");
}

#[test]
fn a_config_file_moved_with_edits_is_diffed_as_one_file() {
    let defaults = "kubeadm_init_timeout: 300s\nkube_token_dir: /etc/kubernetes/tokens\ncluster: one\n";
    let repo = deployed(&[("roles/kubespray-defaults/defaults/main.yml", defaults)]);
    repo.remove("roles/kubespray-defaults/defaults/main.yml");
    repo.write("roles/kubespray_defaults/defaults/main.yml", &defaults.replace("one", "two"));
    repo.commit("rename the role");
    let (code, risk) = findings(&repo, "config-risk");
    assert_eq!((code, risk.len()), (0, 0), "{risk:?}");
    repo.gate(&["check", "--env", "staging"]).expect(0).stdout_has("cluster: one -> two");
}

#[test]
fn keys_that_moved_with_their_value_formatting_and_empty_new_keys_are_not_risky_changes() {
    let repo = deployed(&[
        ("roles/etcd/defaults/main.yml", "etcd_election_timeout: \"5000\"\netcd_data_dir: /var/lib/etcd\n"),
        ("roles/cloud/defaults/main.yml", "cloud_secret_key: \"{{ lookup('env','OS_SECRET_KEY') }}\"\n"),
        ("deploy/values.yaml", "webhook:\n  cert:\n    duration: 8760h\n"),
    ]);
    repo.write("roles/etcd/defaults/main.yml", "etcd_data_dir: /var/lib/etcd\n");
    repo.write("roles/etcd_defaults/defaults/main.yml", "etcd_election_timeout: \"5000\"\n");
    repo.write("roles/cloud/defaults/main.yml", "cloud_secret_key: \"{{ lookup('env', 'OS_SECRET_KEY') }}\"\n");
    repo.write(
        "deploy/values.yaml",
        "webhook:\n  cert:\n    duration: 8760h\n    privateKey: {}\nvault:\n  enableTokenCache: false\n",
    );
    repo.commit("split etcd defaults, reformat, a new empty settings table");
    let (code, risk) = findings(&repo, "config-risk");
    assert_eq!((code, risk.len()), (0, 0), "{risk:?}");
    // A new value is still a risky change.
    repo.write("roles/etcd_defaults/defaults/main.yml", "etcd_election_timeout: \"9000\"\n");
    repo.commit("raise it");
    let (_, risk) = findings(&repo, "config-risk");
    assert_eq!(risk.len(), 1, "{risk:?}");
}

#[test]
fn a_placeholder_the_deployed_file_already_had_and_a_renamed_file_are_not_new_mistakes() {
    let compose = "services:\n  mail:\n    image: mail:1\n    hostname: mail\n    domainname: example.com\n    ports: [\"25:25\"]\n";
    let repo = deployed(&[("docker-compose.yml", compose)]);
    repo.write(
        "docker-compose.yml",
        &compose.replace("hostname: mail\n    domainname: example.com", "hostname: mail.example.com"),
    );
    repo.commit("one hostname key");
    let (code, found) = findings(&repo, "config-address");
    assert_eq!((code, found.len()), (0, 0), "{found:?}");
    // Renamed with an edit: the values that did not change are not judged again.
    repo.gate(&["record", "--env", "staging"]);
    repo.remove("docker-compose.yml");
    repo.write(
        "compose.yaml",
        &compose
            .replace("mail:1", "mail:2")
            .replace("domainname: example.com", "domainname: example.com\n    restart: always"),
    );
    repo.commit("compose.yaml is the new name");
    let (code, found) = findings(&repo, "config-address");
    assert_eq!((code, found.len()), (0, 0), "{found:?}");
    // A placeholder the release brings is still a finding.
    repo.write("config/ldap.yaml", "ldap:\n  host: ldap.example.com\n");
    repo.commit("not filled in");
    let (code, found) = findings(&repo, "config-address");
    assert_eq!((code, found[0]["code"].as_str()), (1, Some("placeholder")));
}

/// Issue 14: a private key or a cloud access key committed in a file that ships is a
/// risky-pattern finding, and no format shows the key.
#[test]
fn a_committed_private_key_or_cloud_key_is_a_finding_with_the_value_masked() {
    let repo = deployed(&[("README.md", "x\n")]);
    repo.write("config/aws.yaml", "aws:\n  access_key_id: AKIAIOSFODNN7EXAMPLE\n");
    // (Private keys with key material: tests/risky.rs.)
    repo.commit("credentials");
    let (code, found) = findings(&repo, "risky-pattern");
    assert_eq!(code, 1);
    let paths: Vec<&str> =
        found.iter().filter(|f| f["code"] == "committed-secret").map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["config/aws.yaml"], "{found:?}");
    for format in ["human", "json", "sarif", "github", "gitlab", "markdown", "junit"] {
        let run = repo.gate(&["check", "--env", "staging", "--format", format]);
        assert!(!run.stdout.contains("IOSFODNN7EXAMPLE"), "{format}: {}", run.stdout);
    }
}

#[test]
fn settings_of_a_feature_a_new_switch_leaves_off_and_new_keys_read_from_the_environment_set_nothing() {
    // Backtest: external-secrets v2.3.0 added `vault.enableTokenCache: false` with its
    // `tokenCacheSize`; maybe v0.1.0 added a storage service whose secret is read from ENV.
    let repo =
        deployed(&[("deploy/values.yaml", "concurrent: 1\n"), ("config/storage.yml", "local:\n  service: Disk\n")]);
    repo.write(
        "deploy/values.yaml",
        "concurrent: 1\nvault:\n  enableTokenCache: false\n  tokenCacheSize: 262144\nmetrics:\n  enabled: false\n  auth:\n    token: abc\n",
    );
    repo.write(
        "config/storage.yml",
        "local:\n  service: Disk\ncloudflare:\n  service: S3\n  secret_access_key: <%= ENV['CLOUDFLARE_SECRET_ACCESS_KEY'] %>\n  session_token: ${R2_TOKEN}\n",
    );
    repo.commit("a token cache, off; R2 storage from the environment");
    let (code, risk) = findings(&repo, "config-risk");
    assert_eq!((code, risk.len()), (0, 0), "{risk:?}");

    // Switched on, the feature's settings are risky changes; a secret written in the file, or an
    // environment lookup with a default, still counts. (Staging takes risky changes first, so
    // they are findings there, satisfied.)
    repo.write(
        "deploy/values.yaml",
        "concurrent: 1\nvault:\n  enableTokenCache: true\n  tokenCacheSize: 262144\nmetrics:\n  enabled: false\n  auth:\n    token: abc\n",
    );
    repo.write(
        "config/storage.yml",
        "local:\n  service: Disk\ncloudflare:\n  service: S3\n  secret_access_key: <%= ENV['CLOUDFLARE_SECRET_ACCESS_KEY'] %>\n  session_token: ${R2_TOKEN}\n  password: ${R2_PASSWORD:-hunter2}\n  api_token: 8c1f0e\n",
    );
    repo.commit("switch it on; more storage keys");
    let (_, risk) = findings(&repo, "config-risk");
    let messages: Vec<&str> = risk.iter().map(|f| f["message"].as_str().unwrap()).collect();
    assert!(
        messages.contains(&"changes 2 high-risk keys (vault.enableTokenCache, vault.tokenCacheSize)"),
        "{messages:?}"
    );
    assert!(messages.contains(&"changes 2 high-risk keys (cloudflare.password, cloudflare.api_token)"), "{messages:?}");
}

#[test]
fn a_helm_switch_that_keeps_what_renders_a_computed_secret_and_a_placeholder_set_nothing_new() {
    // Backtest: external-secrets v2.5.0 wrapped its `serviceaccounts/token` rule in a new switch
    // that defaults on; kubespray v2.27.0 computed a new secret from a template; mailcow renamed
    // a key of its example override, whose value is `<your-secure-token>`.
    let rule = "  - apiGroups: [\"\"]\n    resources: [\"serviceaccounts/token\"]\n    verbs: [create]\n";
    let role = |guarded: bool, extra: &str| {
        let rule = if guarded {
            format!("  {{{{- if .Values.rbac.tokenCreate }}}}\n{rule}  {{{{- end }}}}\n")
        } else {
            rule.to_string()
        };
        format!("kind: ClusterRole\nrules:\n  - apiGroups: [\"\"]\n    resources: [secrets]\n{rule}{extra}")
    };
    let repo = deployed(&[
        ("charts/eso/Chart.yaml", "apiVersion: v2\nname: eso\nversion: 1.0.0\n"),
        ("charts/eso/values.yaml", "rbac:\n  create: true\n"),
        ("charts/eso/templates/role.yaml", &role(false, "")),
        ("roles/oci/tasks/main.yml", "- name: check\n  assert:\n    that: [oci_key | length > 0]\n"),
        (
            "exporter/docker-compose.override.yml",
            "services:\n  exporter:\n    environment:\n      EXPORTER_TOKEN: \"<your-secure-token>\"\n",
        ),
    ]);
    repo.write("charts/eso/values.yaml", "rbac:\n  create: true\n  tokenCreate: true\n");
    repo.write("charts/eso/templates/role.yaml", &role(true, ""));
    repo.write(
        "roles/oci/tasks/main.yml",
        "- name: check\n  assert:\n    that: [oci_key | length > 0]\n- name: cloud config\n  set_fact:\n    oci_cloud_config_secret: \"{{ lookup('template', 'cloud-config.yml.j2') | b64encode }}\"\n",
    );
    repo.write(
        "exporter/docker-compose.override.yml",
        "services:\n  exporter:\n    environment:\n      EXPORTER_SECURITY_TOKEN: \"<your-secure-token>\"\n",
    );
    repo.commit("an optional token rule, on; OCI cloud config; the exporter's new variable name");
    let (code, risk) = findings(&repo, "config-risk");
    assert_eq!((code, risk.len()), (0, 0), "{risk:?}");
    repo.gate(&["record", "--env", "staging"]);

    // A switch that adds what renders, a computed secret whose computation changes, and a
    // placeholder replaced by a value are risky changes.
    repo.write("charts/eso/values.yaml", "rbac:\n  create: true\n  tokenCreate: true\n  tokenReview: true\n");
    repo.write(
        "charts/eso/templates/role.yaml",
        &role(true, "  {{- if .Values.rbac.tokenReview }}\n  - apiGroups: [\"\"]\n    resources: [tokenreviews]\n    verbs: [create]\n  {{- end }}\n"),
    );
    repo.write(
        "roles/oci/tasks/main.yml",
        "- name: check\n  assert:\n    that: [oci_key | length > 0]\n- name: cloud config\n  set_fact:\n    oci_cloud_config_secret: \"{{ lookup('template', 'cloud-config-v2.yml.j2') | b64encode }}\"\n",
    );
    repo.write(
        "exporter/docker-compose.override.yml",
        "services:\n  exporter:\n    environment:\n      EXPORTER_SECURITY_TOKEN: \"3f9c1a\"\n",
    );
    repo.commit("token reviews, a new cloud config, a real token");
    let (_, risk) = findings(&repo, "config-risk");
    let mut messages: Vec<String> =
        risk.iter().map(|f| format!("{}: {}", f["path"].as_str().unwrap(), f["message"].as_str().unwrap())).collect();
    messages.sort();
    assert_eq!(
        messages,
        [
            "charts/eso/values.yaml: changes 1 high-risk key (rbac.tokenReview)",
            "exporter/docker-compose.override.yml: changes 1 high-risk key (services.exporter.environment.EXPORTER_SECURITY_TOKEN)",
            "roles/oci/tasks/main.yml: changes 1 high-risk key ([name=cloud config].set_fact.oci_cloud_config_secret)",
        ]
    );
}

#[test]
fn a_chart_unit_test_suite_and_a_null_port_are_not_deployed_mistakes() {
    // Held-out backtest, prometheus-community/helm-charts: kube-prometheus-stack keeps its
    // helm-unittest suites in `unittests/`; a chart's values leave `nodePort: null` for the
    // cluster to pick.
    let repo = deployed(&[
        ("charts/stack/values.yaml", "service:\n  port: 9113\n  nodePort: 30113\n"),
        ("charts/stack/unittests/ingress_test.yaml", "tests:\n  - it: works\n    set:\n      tls: []\n"),
    ]);
    repo.write("charts/stack/values.yaml", "service:\n  port: 9113\n  nodePort: null\n");
    repo.write(
        "charts/stack/unittests/ingress_test.yaml",
        "tests:\n  - it: works\n    set:\n      tls:\n        - secretName: web-tls\n",
    );
    repo.commit("let the cluster pick the node port; test the ingress TLS secret");
    assert_eq!(findings(&repo, "config-address").1.len(), 0);
    assert_eq!(findings(&repo, "config-risk").1.len(), 0);
    // A port that is not a number still is a finding.
    repo.write("charts/stack/values.yaml", "service:\n  port: 9113\n  nodePort: nul\n");
    repo.commit("typo");
    let (code, found) = findings(&repo, "config-address");
    assert_eq!((code, found.len()), (1, 1), "{found:?}");
}
