//! Issue 11, part 2: what `near-duplicate` and `variant-name` must not call a copy, and the
//! copies they must still catch, each in a small repository shaped like the real ones of the
//! backtest corpus (docs/precision.md).

use crate::support::TestRepo;

const DEPLOY: &str =
    "#!/bin/sh\n# deploy the app\nset -eu\nrsync -a build/ /srv/app/\nsystemctl restart app\necho deployed\n";

const SERVER: &str = "const http = require('http');\nconst port = process.env.PORT || 3000;\n\
                      const server = http.createServer((req, res) => {\n  res.end('ok');\n});\n\
                      server.listen(port);\nconsole.log('listening on', port);\n";

fn check_json(repo: &TestRepo, base: &str) -> serde_json::Value {
    repo.gate(&["check", "--base", base, "--format", "json"]).json()
}

/// The findings of `check`, which must have run.
#[track_caller]
fn findings<'a>(json: &'a serde_json::Value, check: &str) -> Vec<&'a serde_json::Value> {
    let ran = json["checks"].as_array().unwrap().iter().any(|c| c["id"] == check);
    assert!(ran, "{check} did not run: {}", json["checks"]);
    json["findings"].as_array().unwrap().iter().filter(|f| f["check"] == check).collect()
}

fn paths(json: &serde_json::Value, check: &str) -> Vec<String> {
    findings(json, check).iter().map(|f| f["path"].as_str().unwrap().to_string()).collect()
}

fn notes(json: &serde_json::Value) -> Vec<String> {
    json["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect()
}

/// Guards against: one release drawing thousands of findings from a committed virtualenv and
/// hashed build assets. Installed packages, build artefacts and bundles are never analysed;
/// scripts that merely live in a `target/` or `build/` directory still are.
#[test]
fn virtualenvs_installed_packages_and_build_artefacts_are_not_analysed() {
    let repo = TestRepo::with_files(&[("bin/deploy.sh", DEPLOY), ("web/server.js", SERVER)]);
    let base = repo.rev("HEAD");
    for dir in
        ["venv/lib/python3.12/site-packages/pkg", ".venv/lib/python3.12/site-packages/pkg", "lib/site-packages/pkg"]
    {
        repo.write(&format!("{dir}/deploy_v2.sh"), DEPLOY);
        repo.write(&format!("{dir}/__pycache__/x.cpython-312.pyc"), "compiled\n");
    }
    for path in [
        "dist/server.js",
        "build/lib/server.js",
        "out/server.js",
        "target/classes/server.js",
        "web/static/server.min.js",
        "web/static/server-3f2a1b9c.js",
        "web/static/server.3f2a1b9c0d.js",
    ] {
        repo.write(path, SERVER);
    }
    // A script in a build or target directory is deployed: docker-mailserver keeps its
    // container's scripts in target/scripts/.
    repo.write("target/scripts/startup.sh", &DEPLOY.replace("deployed", "started"));
    repo.write("web/backup-20250503.js", SERVER);
    repo.commit("vendored, built and bundled");

    let json = check_json(&repo, &base);
    for check in ["variant-name", "untested-change", "risky-pattern"] {
        let found = paths(&json, check);
        assert!(found.iter().all(|p| !p.contains("site-packages") && !p.contains("venv")), "{check}: {found:?}");
    }
    let copies = paths(&json, "near-duplicate");
    assert_eq!(copies, ["target/scripts/startup.sh", "web/backup-20250503.js"], "{json:#}");
    assert_eq!(paths(&json, "untested-change"), ["target/scripts/startup.sh"]);
}

/// Guards against: Django, Rails, Alembic and Flyway migrations blocking as copies of one
/// another, and `_v2` in a migration's name read as a copy marker (maybe-finance v0.4.2).
#[test]
fn generated_migrations_are_not_copies_that_block() {
    let django = "from django.db import migrations\n\n\ndef fix(apps, schema_editor):\n    Check = apps.get_model('api', 'Check')\n    \
                  for check in Check.objects.filter(tz='UTC'):\n        check.tz = 'Etc/UTC'\n        check.save()\n\n\n\
                  class Migration(migrations.Migration):\n    dependencies = [('api', '0106_x')]\n    operations = [migrations.RunPython(fix)]\n";
    let rails = "class UpdateImports < ActiveRecord::Migration[7.2]\n  def change\n    add_column :imports, :mic, :string\n    \
                 add_index :imports, :mic\n  end\nend\n";
    let sql = "ALTER TABLE App ADD COLUMN Owner VARCHAR(64);\nALTER TABLE App ADD INDEX IX_Owner (Owner);\nUPDATE App SET Owner = '';\n";
    let repo = TestRepo::with_files(&[
        ("hc/api/migrations/0107_fix_legacy_timezones.py", django),
        ("db/migrate/20250101000000_update_imports_for_operating_mic.rb", rails),
        ("scripts/flyway/configdb/V1.1.1__extend_appId.sql", sql),
        ("alembic/versions/1a2b3c_add_owner.py", django),
    ]);
    let base = repo.rev("HEAD");
    repo.write("hc/api/migrations/0121_fix_legacy_timezones_ii.py", &django.replace("0106_x", "0120_y"));
    repo.write("db/migrate/20250220153958_update_imports_for_operating_mic_v2.rb", &rails.replace(":mic", ":mic_code"));
    repo.write("scripts/flyway/configdb/V2.0.1__extend_appId_again.sql", sql);
    repo.write("scripts/sql/delta/v170-v180/apolloconfigdb-v170-v180.sql", sql);
    repo.write("alembic/versions/4d5e6f_add_owner_v2.py", django);
    repo.commit("migrations");

    let json = check_json(&repo, &base);
    assert!(findings(&json, "near-duplicate").is_empty(), "{json:#}");
    assert!(findings(&json, "variant-name").is_empty(), "{json:#}");
    // An untested new migration is still an untested change.
    assert!(paths(&json, "untested-change").contains(&"hc/api/migrations/0121_fix_legacy_timezones_ii.py".to_string()));
}

/// Guards against: `deploy.sh` reported as "a copy of deploy copy.sh" when both are new. The
/// pair is reported once, on the file named like a copy.
#[test]
fn a_pair_added_together_is_reported_once_on_the_copy() {
    let repo = TestRepo::with_files(&[("README.md", "# app\n")]);
    let base = repo.rev("HEAD");
    repo.write("ops/deploy.sh", DEPLOY);
    repo.write("ops/deploy copy.sh", DEPLOY);
    let sync =
        "#!/bin/sh\n# sync the cache\nset -eu\nredis-cli FLUSHDB\ncurl -fsS http://localhost/warm\necho synced\n";
    repo.write("tools/sync.sh", sync);
    repo.write("tools/sync2.sh", &sync.replace("synced", "synced again"));
    repo.commit("scripts, twice");

    let json = check_json(&repo, &base);
    let pairs: Vec<(String, String)> = findings(&json, "near-duplicate")
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["data"]["other"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("ops/deploy copy.sh".to_string(), "ops/deploy.sh".to_string()),
            ("tools/sync2.sh".into(), "tools/sync.sh".into())
        ],
        "{json:#}"
    );
}

/// Guards against: `src/server.js` renamed to `server_old.js` with edits, and a new `server.js`
/// written, passing as a rewrite: the copy is compared with the file as the last deploy had it.
#[test]
fn a_copy_of_an_original_the_release_renames_or_removes_is_compared_with_the_deployed_one() {
    let repo =
        TestRepo::with_files(&[("src/server.js", SERVER), ("src/util.js", SERVER.replace("ok", "util").as_str())]);
    let base = repo.rev("HEAD");
    repo.write("src/server_old.js", &SERVER.replace("3000", "3001"));
    repo.write("src/server.js", "import { serve } from './app.js';\nserve({ port: 3000 });\nexport default serve;\n");
    repo.remove("src/util.js");
    repo.write("src/util_backup.js", &SERVER.replace("ok", "util").replace("3000", "3002"));
    repo.commit("rewrite the server, keep the old one");

    let json = check_json(&repo, &base);
    let copies = findings(&json, "near-duplicate");
    let old = copies.iter().find(|f| f["path"] == "src/server_old.js").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(old["data"]["other"], "src/server.js");
    assert!(
        old["message"]
            .as_str()
            .unwrap()
            .contains("similar to src/server.js as the last deploy had it (this release rewrites it)"),
        "{}",
        old["message"]
    );
    let util = copies.iter().find(|f| f["path"] == "src/util_backup.js").unwrap_or_else(|| panic!("{json:#}"));
    assert!(
        util["message"].as_str().unwrap().contains("src/util.js as the last deploy had it (this release removes it)")
    );
    let variant = findings(&json, "variant-name");
    let util = variant.iter().find(|f| f["path"] == "src/util_backup.js").unwrap();
    assert_eq!(util["data"]["original"], "src/util.js");
    assert!(util["message"].as_str().unwrap().contains("and this release removes it"), "{}", util["message"]);
}

/// Variant recall (mitexleo/backup101): the release rewrites `backup101.sh` and adds
/// `backup_old.sh`, byte for byte the script as the base had it. git calls it a copy of
/// `backup101.sh`, and a copy of a file is not excused as "where it came from" (only a rename
/// is): near-duplicate names the original, as the last deploy had it.
#[test]
fn a_copy_of_the_deployed_version_of_a_file_the_release_rewrites_names_it() {
    let repo = TestRepo::with_files(&[("backup101.sh", DEPLOY)]);
    let base = repo.rev("HEAD");
    repo.write("backup_old.sh", DEPLOY);
    repo.write("backup101.sh", &DEPLOY.replace("echo deployed", "echo deployed at \"$(date)\"\nlogger deployed"));
    repo.commit("Updated the script");

    let json = check_json(&repo, &base);
    let copies = findings(&json, "near-duplicate");
    let old = copies.iter().find(|f| f["path"] == "backup_old.sh").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(old["data"]["other"], "backup101.sh");
    assert_eq!(old["severity"], "deny", "{old:#}");
    assert!(
        old["message"]
            .as_str()
            .unwrap()
            .starts_with("an exact copy of backup101.sh as the last deploy had it (this release rewrites it)"),
        "{}",
        old["message"]
    );
}

/// Held-out (merge leftovers): `deploy.sh.orig` and `deploy.sh~` are copies of a script, though
/// their own names match no script pattern; near-duplicate blocks them as it blocks an untested
/// copy of a script, not only variant-name.
#[test]
fn a_script_name_with_a_marker_after_it_is_a_copy_of_a_script() {
    let repo = TestRepo::with_files(&[("ops/deploy.sh", DEPLOY)]);
    let base = repo.rev("HEAD");
    repo.write("ops/deploy.sh.orig", &DEPLOY.replace("echo deployed", "echo deployed to prod"));
    repo.write("ops/deploy.sh~", DEPLOY);
    repo.commit("merge");
    let json = check_json(&repo, &base);
    let copies = findings(&json, "near-duplicate");
    let severities: Vec<(&str, &str)> =
        copies.iter().map(|f| (f["path"].as_str().unwrap(), f["severity"].as_str().unwrap())).collect();
    assert_eq!(severities, [("ops/deploy.sh.orig", "deny"), ("ops/deploy.sh~", "deny")], "{json:#}");
}

/// Markers in the middle of a name, as the corpus has them; a marker word inside a name whose
/// original does not exist beside it is a name, not a copy.
#[test]
fn markers_in_the_middle_of_a_name_are_recognised() {
    let repo = TestRepo::with_files(&[
        ("docker-compose.yml", "services:\n  web:\n    image: app:1\n"),
        ("Dockerfile", "FROM node:20\nCOPY . /app\nCMD [\"node\", \"app\"]\n"),
        ("app/index.ts", "export const x = 1;\n"),
    ]);
    let base = repo.rev("HEAD");
    repo.write("docker-compose.yml_v1_v2_coexisting", "services:\n  web:\n    image: app:2\n");
    repo.write("Dockerfile.final-all-in-one", "FROM node:22\nCOPY . /app\n");
    repo.write("app-backup-before-typescript-fixes/index.ts", "export const x = 0;\n");
    repo.write("tools/create-new-user.sh", "#!/bin/sh\nuseradd \"$1\"\n");
    repo.commit("copies kept for safety");

    let json = check_json(&repo, &base);
    let found = findings(&json, "variant-name");
    let original = |path: &str| {
        let f = found.iter().find(|f| f["path"] == path).unwrap_or_else(|| panic!("no finding for {path}: {json:#}"));
        f["data"]["original"].as_str().unwrap().to_string()
    };
    assert_eq!(original("docker-compose.yml_v1_v2_coexisting"), "docker-compose.yml");
    assert_eq!(original("Dockerfile.final-all-in-one"), "Dockerfile");
    assert_eq!(original("app-backup-before-typescript-fixes/"), "app/");
    assert_eq!(found.len(), 3, "create-new-user.sh is a name, not a copy: {json:#}");
}

/// Guards against: a `.bak` of a `.py`, a `_v2.js` and a copy of a config file only warning
/// with `tested: true` because they are not in the `scripts` class. A marked copy of any
/// deployable file blocks when nothing tests it; `tested` is true only when a test was found.
#[test]
fn a_marked_copy_of_any_deployable_file_blocks_when_nothing_tests_it() {
    let repo = TestRepo::with_files(&[
        ("app/models.py", "class Model:\n    pass\n"),
        ("web/search.js", "export function search() {}\n"),
        ("web/render.js", "export function render() {}\n"),
        ("config/app.yml", "port: 80\n"),
        ("docs/guide.md", "# Guide\n"),
    ]);
    let base = repo.rev("HEAD");
    repo.write("app/models.py.bak", "class Model:\n    old = True\n");
    repo.write("web/search_v2.js", "export function search() { return 2; }\n");
    repo.write("config/app.yml_old", "port: 8080\n");
    repo.write("docs/guide_v2.md", "# Guide, again\n");
    repo.write("web/render_v2.js", "export function render() { return 2; }\n");
    repo.write("web/render_v2.test.js", "import { render } from './render_v2.js';\ntest('r', () => render());\n");
    repo.commit("variants");

    let run = repo.gate(&["check", "--base", &base, "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let json = run.json();
    let found = findings(&json, "variant-name");
    let of = |path: &str| *found.iter().find(|f| f["path"] == path).unwrap_or_else(|| panic!("{path}: {json:#}"));
    for path in ["app/models.py.bak", "web/search_v2.js", "config/app.yml_old"] {
        assert_eq!(of(path)["severity"], "deny", "{path}");
        assert_eq!(of(path)["data"]["tested"], false, "{path}");
    }
    // Documentation is not deployed: its copy warns, and nothing tested it.
    assert_eq!(of("docs/guide_v2.md")["severity"], "warn");
    assert_eq!(of("docs/guide_v2.md")["data"]["tested"], false);
    assert_eq!(of("web/render_v2.js")["severity"], "warn");
    assert_eq!(of("web/render_v2.js")["data"]["tested"], true);
}

/// Guards against: a file re-added every release cycle (a maintenance page, a seasonal
/// script) reported as a new variant each time. A name an earlier deploy had is not new.
#[test]
fn a_marked_name_an_earlier_deploy_had_is_not_a_new_variant() {
    let repo = TestRepo::with_files(&[("bin/deploy.sh", DEPLOY)]);
    repo.write("bin/deploy_old.sh", "#!/bin/sh\necho the old way\n");
    repo.commit("keep the old deploy for the migration week");
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.remove("bin/deploy_old.sh");
    repo.commit("migration week is over");
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("bin/deploy_old.sh", "#!/bin/sh\necho the old way\n");
    repo.write("bin/deploy_new.sh", "#!/bin/sh\necho the new way\n");
    repo.commit("migration week again");

    let json = repo.gate(&["check", "--env", "staging", "--format", "json"]).json();
    assert_eq!(paths(&json, "variant-name"), ["bin/deploy_new.sh"], "{json:#}");
    assert!(
        notes(&json).iter().any(|n| n.contains("1 name marked as a copy or version was deployed before")),
        "{json:#}"
    );
}

/// Backtest (apollo v2.3.0): three SQL snippets, each a 15-line licence header and one or two
/// statements, were "87% similar" and blocked the release. Likeness in comments is not a fork;
/// a copy whose code is the same is one, whatever its comments say.
#[test]
fn files_alike_only_in_their_licence_header_are_not_near_duplicates() {
    let licence: String = (1..=15).map(|n| format!("-- Licensed under the Apache License, line {n}\n")).collect();
    let repo = TestRepo::with_files(&[("README", "app\n")]);
    let base = repo.rev("HEAD");
    repo.write("sql/setup.sql", &format!("{licence}CREATE DATABASE app;\nUSE app;\n"));
    repo.write("sql/use.sql", &format!("{licence}USE app;\n"));
    repo.write("sql/h2.sql", &format!("{licence}CREATE ALIAS UNIX_TIMESTAMP FOR \"x\";\n"));
    let script = "#!/bin/sh\nset -eu\nrsync -a build/ /srv/app/\nsystemctl restart app\ncurl -fsS localhost/health\necho deployed\n";
    repo.write("bin/deploy.sh", script);
    repo.write("bin/deploy_v2.sh", &format!("# the new deploy, rewritten comments\n{script}"));
    repo.commit("sql snippets, and a copy of the deploy script");
    let json = check_json(&repo, &base);
    let found = paths(&json, "near-duplicate");
    assert_eq!(found, ["bin/deploy_v2.sh"], "{:#}", json["findings"]);
}

/// Guards against: vcpkg's new test ports blocking a release as copies of other ports, each port
/// a directory with its own `portfile.cmake`. A file every package of a layout has warns; a
/// distinctive script in a second place, or a package directory named like a copy, still blocks.
#[test]
fn a_file_each_package_of_a_layout_has_warns_and_a_copied_script_still_blocks() {
    let run =
        |service: &str| format!("#!/bin/sh\nset -eu\ncd /srv/{service}\nexec ./server --port 8080\necho started\n");
    let repo = TestRepo::with_files(&[
        ("services/api/run.sh", &run("app")),
        ("services/web/run.sh", &run("web")),
        ("services/mail/run.sh", &run("mail")),
        ("services/queue/run.sh", &run("queue")),
        ("bin/search.sh", DEPLOY),
    ]);
    let base = repo.rev("HEAD");
    repo.write("services/billing/run.sh", &run("app"));
    repo.commit("a billing service");
    let json = check_json(&repo, &base);
    let found = findings(&json, "near-duplicate");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["severity"], "warn");
    assert!(
        found[0]["message"].as_str().unwrap().ends_with(
            "and no test covers it; 3 other directories have a run.sh too: a file each package of a layout has, so it warns"
        ),
        "{}",
        found[0]["message"]
    );
    assert_eq!(json["verdict"], "pass");

    repo.write("tools/search.sh", DEPLOY);
    repo.write("services/api-v2/run.sh", &run("app"));
    repo.commit("search again, and the api once more");
    let json = check_json(&repo, &base);
    let denied: Vec<&str> = findings(&json, "near-duplicate")
        .iter()
        .filter(|f| f["severity"] == "deny")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(denied, ["services/api-v2/run.sh", "tools/search.sh"], "{json}");
}
