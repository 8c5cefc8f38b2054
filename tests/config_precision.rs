//! Issue 10, precision on real releases: valid configuration that real projects ship must not
//! block a release. YAML is read as the spec and the yaml-test-suite say (plus libyaml's
//! leniency for closing brackets), templates are listed as not analysed, and the INI, `.env`
//! and `.properties` dialects that services read are read the same way.

use crate::support::TestRepo;

mod audit;
mod oracles;
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
        .stdout_has("services.web.healthcheck.test[=CMD]: added \"CMD\"")
        .stdout_has("services.web.healthcheck.interval: added 30s");
}

#[test]
fn templates_are_listed_as_not_analysed_never_as_syntax_errors() {
    // Regression (issue 10): a Helm chart's templates, Ansible's Jinja files and a Nomad
    // consul-template were read as YAML, INI and .env, and their tags blocked the release.
    let repo = deployed(&[("charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n")]);
    repo.write("charts/web/values.yaml", "image: web:1.0\nreplicas: 2\n");
    repo.write(
        "charts/web/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"web.fullname\" . }}\n  labels:\n    {{- include \"web.labels\" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicas }}\n",
    );
    repo.write(
        "charts/web/templates/_helpers.tpl",
        "{{- define \"web.fullname\" -}}\n{{ .Release.Name }}-web\n{{- end }}\n",
    );
    repo.write("config/nginx.conf.j2", "server {\n{% for port in ports %}\n  listen {{ port }};\n{% endfor %}\n}\n");
    repo.write("config/app.ini", "[server]\n{% if tls %}\ncert = /etc/tls/cert.pem\n{% endif %}\n");
    repo.write("deploy/nomad/app.env", "{{ range service \"db\" }}\nDB_HOST={{ .Address }}\n{{ end }}\n");
    repo.commit("chart");
    let json = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    let syntax: Vec<&serde_json::Value> =
        json["findings"].as_array().unwrap().iter().filter(|f| f["check"] == "config-syntax").collect();
    assert!(syntax.is_empty(), "{syntax:#?}");
    let templates: Vec<(&str, &str)> = json["not_analysed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["check"] == "config-syntax")
        .map(|n| (n["path"].as_str().unwrap(), n["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        templates,
        [
            ("charts/web/templates/deployment.yaml", "template: `{{` at line 4 in a templates/ directory"),
            ("config/app.ini", "template: `{%` at line 2"),
            ("config/nginx.conf.j2", "template: a .j2 file"),
            ("deploy/nomad/app.env", "template: `{{` at line 1"),
        ]
    );
    // values.yaml is the chart's data, read as usual.
    repo.gate(&["check", "--env", "staging"])
        .expect(0)
        .stdout_has("charts/web/values.yaml (YAML): new file, 2 keys")
        .stdout_has("config-syntax\n  note: 4 added files could not be analysed:\n")
        .stdout_has("charts/web/templates/deployment.yaml (template: `{{` at line 4 in a templates/ directory)");
}

#[test]
fn bare_ini_keys_env_quoting_and_properties_escapes_pass_and_diff_key_by_key() {
    // Regression (issue 10): each of these files is read by its service, and gate blocked it.
    let repo = deployed(&[
        ("etc/mysql/my.cnf", "[mysqld]\nport = 3306\n"),
        ("config/uwsgi.ini", "[uwsgi]\nmaster = true\n"),
        ("config/.env", "APP_NAME=gate\n"),
        ("config/app.properties", "greeting=hello\n"),
    ]);
    repo.write("etc/mysql/my.cnf", "[mysqld]\nport = 3306\nskip-name-resolve\n!includedir /etc/mysql/conf.d/\n");
    repo.write("config/uwsgi.ini", "[uwsgi]\nstrict\nmaster = true\n");
    repo.write(
        "config/.env",
        "APP_NAME=\"Gate Demo\" # shown in the title\nexport TLS_KEY=\"-----BEGIN KEY-----\nMIIB\n-----END KEY-----\"\n",
    );
    repo.write("config/app.properties", "greeting=caf\\u00e9\nmath\\=ok = yes\nnames = alpha, \\\n    beta\n");
    repo.commit("service settings");
    assert_eq!(syntax_findings(&repo), Vec::<serde_json::Value>::new());
    repo.gate(&["check", "--env", "staging"])
        .expect(0)
        .stdout_has("etc/mysql/my.cnf (INI)\n    mysqld.skip-name-resolve: added (no value)\n")
        .stdout_has("config/uwsgi.ini (INI)\n    uwsgi.strict: added (no value)\n")
        .stdout_has("APP_NAME: \"gate\" -> \"Gate Demo\"")
        .stdout_has("TLS_KEY: added \"-----BEGIN KEY-----\\nMIIB\\n-----END KEY-----\"")
        .stdout_has("greeting: \"hello\" -> \"café\"")
        .stdout_has("math=ok: added \"yes\"")
        .stdout_has("names: added \"alpha, beta\"");
}

#[test]
fn scripts_and_patches_named_like_env_files_and_env_shell_code_are_not_analysed() {
    // Regression (issue 10): `.env.sh`, `.env.patch` and a `.env` with an `if` were syntax errors.
    let repo = deployed(&[("config/.env", "A=1\n")]);
    repo.write("config/.env.sh", "#!/bin/sh\nexport A=1\nif [ -f .env.local ]; then . ./.env.local; fi\n");
    repo.write("config/.env.patch", "--- a/config/.env\n+++ b/config/.env\n@@ -1 +1 @@\n-A=1\n+A=2\n");
    repo.write("config/.env", "A=1\nif [ -f .env.local ]; then\n  . ./.env.local\nfi\n");
    repo.write("config/broken/.env", "A=1\nB\n");
    repo.commit("env loading");
    let json = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    let not_analysed: Vec<(&str, &str)> = json["not_analysed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["check"] == "config-syntax")
        .map(|n| (n["path"].as_str().unwrap(), n["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        not_analysed,
        [
            ("config/.env", "shell code, not KEY=value lines (`if` at line 2)"),
            ("config/.env.patch", "a patch, not configuration"),
            ("config/.env.sh", "a shell script, not configuration"),
        ]
    );
    // A `.env` that is broken, not a script, still blocks.
    let syntax = syntax_findings(&repo);
    let paths: Vec<&str> = syntax.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["config/broken/.env"]);
}
