//! Issue 11, part 2: `untested-change` on repositories laid out like the corpus's. Tests that
//! gate did not find (Python packages, mirrored test trees, sourced shell scripts) made 12 of 12
//! sampled warnings noise; a mention of a name in a note made incident 000 pass.

use crate::support::TestRepo;

const SEARCH: &str = "#!/bin/sh\n# search the index for a term\nset -eu\ngrep -r \"$1\" /srv/index | head -n 20\n";

fn check_json(repo: &TestRepo, base: &str) -> serde_json::Value {
    repo.gate(&["check", "--base", base, "--format", "json"]).json()
}

/// The paths untested-change reports; it must have run.
#[track_caller]
fn untested(json: &serde_json::Value) -> Vec<String> {
    let ran = json["checks"].as_array().unwrap().iter().any(|c| c["id"] == "untested-change");
    assert!(ran, "untested-change did not run: {}", json["checks"]);
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "untested-change")
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

/// A release that adds `files` to a repository holding `deployed`: its JSON report.
fn release(deployed: &[(&str, &str)], files: &[(&str, &str)]) -> serde_json::Value {
    let repo = TestRepo::with_files(deployed);
    let base = repo.rev("HEAD");
    for (path, content) in files {
        repo.write(path, content);
    }
    repo.commit("release");
    check_json(&repo, &base)
}

/// Incident 000 stays caught: a line `search_v2.sh` in a note under tests/, a comment in a
/// test and a README are mentions, not tests.
#[test]
fn a_mention_is_not_a_test() {
    let json = release(
        &[("bin/search.sh", SEARCH), ("test/search.bats", "@test \"search\" {\n  run bin/search.sh needle\n}\n")],
        &[
            ("bin/search_v2.sh", &SEARCH.replace("head -n 20", "sort | head -n 50")),
            ("tests/notes.txt", "to do:\nsearch_v2.sh\n"),
            ("tests/README.md", "Run `bin/search_v2.sh` by hand for now.\n"),
            (
                "test/search.bats",
                "# search_v2.sh gets its own test next week\n@test \"search\" {\n  run bin/search.sh needle\n}\n",
            ),
            ("tests/fixtures/calls.sh", "bin/search_v2.sh needle\n"),
        ],
    );
    assert_eq!(untested(&json), ["bin/search_v2.sh"], "{json:#}");
}

/// `from pkg.api import X` covers `pkg/api/__init__.py` and `pkg/api.py`; an import relative to
/// an app root (`from dcim.models import Device`, run from `netbox/`) covers `netbox/dcim/models/`.
#[test]
fn python_packages_and_app_roots_are_covered_by_their_imports() {
    let json = release(
        &[("README.md", "# x\n")],
        &[
            ("pkg/api/__init__.py", "from .client import Client\n"),
            ("pkg/api/client.py", "class Client:\n    pass\n"),
            ("pkg/util.py", "def util():\n    return 1\n"),
            (
                "tests/test_api.py",
                "from pkg.api import Client\nfrom pkg.util import util\n\ndef test_client():\n    Client()\n",
            ),
            ("netbox/dcim/models/__init__.py", "from .devices import *\n"),
            ("netbox/dcim/models/devices.py", "class Device:\n    pass\n"),
            ("netbox/ipam/views.py", "def index():\n    return 'ipam'\n"),
            (
                "netbox/dcim/tests/test_models.py",
                "from django.test import TestCase\nfrom dcim.models import Device\n\nclass T(TestCase):\n    pass\n",
            ),
        ],
    );
    assert_eq!(untested(&json), ["netbox/ipam/views.py"], "{json:#}");
}

/// Tests that mirror the code's layout cover it: Rails `test/models/`, pytest `tests/api/`,
/// ChefSpec `spec/.../recipes/`, Go `_test.go` beside the file.
#[test]
fn mirrored_test_trees_cover_their_files() {
    let json = release(
        &[("README.md", "# x\n")],
        &[
            ("app/models/account.rb", "class Account\nend\n"),
            (
                "test/models/account_test.rb",
                "require 'test_helper'\nclass AccountTest < ActiveSupport::TestCase\nend\n",
            ),
            ("app/controllers/accounts_controller.rb", "class AccountsController\nend\n"),
            ("pkg/api/host.py", "def host():\n    return 'h'\n"),
            ("tests/api/test_host.py", "def test_host():\n    assert True\n"),
            ("cookbooks/web/recipes/default.rb", "package 'nginx'\n"),
            ("spec/cookbooks/web/recipes/default_spec.rb", "describe 'web::default' do\nend\n"),
            ("tools/report.py", "print('report')\n"),
        ],
    );
    assert_eq!(untested(&json), ["app/controllers/accounts_controller.rb", "tools/report.py"], "{json:#}");
}

/// Shell tests that `source` or `.` a script, or run it by path, cover it; test scripts are
/// never untested scripts themselves.
#[test]
fn sourced_and_executed_shell_scripts_are_tested_and_test_scripts_are_not_scripts() {
    let json = release(
        &[("README.md", "# x\n")],
        &[
            ("lib/helpers.sh", "say() { echo \"$1\"; }\n"),
            ("lib/net.sh", "ping_host() { ping -c1 \"$1\"; }\n"),
            ("bin/backup", "#!/bin/sh\ntar czf /backup/x.tgz /srv\n"),
            ("target/scripts/startup.sh", "#!/bin/sh\necho start\n"),
            ("test/helpers.bats", "setup() {\n  source \"$BATS_TEST_DIRNAME/../lib/helpers.sh\"\n  . lib/net.sh\n}\n"),
            ("test/backup.bats", "@test \"backup\" {\n  run \"${REPO}/bin/backup\"\n}\n"),
            ("target/scripts/helpers/_unit-test/mail-test.sh", "#!/bin/sh\nexit 0\n"),
            ("scripts/check_test.sh", "#!/bin/sh\nexit 0\n"),
            ("ci/tests/test-deploy.sh", "#!/bin/sh\nexit 0\n"),
        ],
    );
    assert_eq!(untested(&json), ["target/scripts/startup.sh"], "{json:#}");
}

/// What covered code loads is covered: the test that runs a module runs what it imports, and a
/// tested deploy script runs the library it sources. A file nothing covered loads stays untested.
#[test]
fn what_covered_code_loads_is_covered_too() {
    let json = release(
        &[("README.md", "# x\n")],
        &[
            ("app/views.py", "from app.format import money\n\ndef index():\n    return money(1)\n"),
            ("app/format.py", "def money(x):\n    return f'{x} EUR'\n"),
            ("app/report.py", "def report():\n    return 'r'\n"),
            ("tests/test_views.py", "from app.views import index\n\ndef test_index():\n    assert index()\n"),
            ("bin/deploy.sh", "#!/bin/sh\n. \"$(dirname \"$0\")/../lib/common.sh\"\nsync_files\n"),
            ("lib/common.sh", "sync_files() { rsync -a build/ /srv/app/; }\n"),
            ("test/deploy.bats", "@test \"deploy\" {\n  run bin/deploy.sh\n}\n"),
        ],
    );
    assert_eq!(untested(&json), ["app/report.py"], "{json:#}");
}

/// Guards against: maybe's model concerns (`app/models/transaction/transferable.rb`) reported
/// untested although the tested model includes them by their bare name, which Ruby looks up in
/// the class first. A concern nothing includes stays untested.
#[test]
fn a_concern_a_tested_class_includes_by_its_bare_name_is_covered() {
    let json = release(
        &[("README.md", "# x\n")],
        &[
            (
                "app/models/transaction.rb",
                "class Transaction < ApplicationRecord\n  include Entryable, Transferable\nend\n",
            ),
            (
                "app/models/transaction/transferable.rb",
                "module Transaction::Transferable\n  def transfer?\n    true\n  end\nend\n",
            ),
            (
                "app/models/transaction/splittable.rb",
                "module Transaction::Splittable\n  def split?\n    false\n  end\nend\n",
            ),
            (
                "test/controllers/transfers_controller_test.rb",
                "class TransfersControllerTest < ActionDispatch::IntegrationTest\n  test 'x' do\n    assert Transaction.new.transfer?\n  end\nend\n",
            ),
        ],
    );
    assert_eq!(untested(&json), ["app/models/transaction/splittable.rb"], "{json:#}");
}

/// Guards against: 483 warnings on taiga-back 6.8.0, a release that changed the copyright line
/// of every file. A script whose code did not change is not an untested change; the report says
/// how many were left out.
#[test]
fn a_change_to_comments_only_is_not_an_untested_change() {
    let repo = TestRepo::with_files(&[
        (
            "app/views.py",
            "# Copyright (c) 2021 Kaleidos Ventures SL\nimport os\n\ndef index():\n    return os.getcwd()\n",
        ),
        ("bin/run.sh", "#!/bin/sh\n# Copyright 2021\nexec app\n"),
    ]);
    let base = repo.rev("HEAD");
    repo.write(
        "app/views.py",
        "# Copyright (c) 2021-present Kaleidos INC\nimport os\n\n\ndef index():\n        return os.getcwd()\n",
    );
    repo.write("bin/run.sh", "#!/bin/sh\n# Copyright 2021-present\nexec app --verbose\n");
    repo.commit("licence headers, and one real change");
    let json = check_json(&repo, &base);
    assert_eq!(untested(&json), ["bin/run.sh"], "{json:#}");
    let notes: Vec<&str> = json["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(notes.iter().any(|n| n.contains("1 untested script changes only in comments")), "{notes:?}");
}

/// The real catches stay: an untested new upgrade script and a new migration are reported.
#[test]
fn an_untested_upgrade_script_is_still_reported() {
    let json = release(
        &[("bin/deploy.sh", "#!/bin/sh\nexec deploy\n"), ("test/deploy.bats", "run bin/deploy.sh\n")],
        &[
            ("scripts/upgrade-to-v2.sh", "#!/bin/sh\npsql -f /srv/upgrade.sql\n"),
            (
                "db/migrate/20250101000000_add_owner.rb",
                "class AddOwner < ActiveRecord::Migration[7.2]\n  def up\n    Account.find_each { |a| a.update!(owner: a.creator) }\n  end\nend\n",
            ),
            ("scripts/helm/values.yaml", "replicas: 2\n"),
        ],
    );
    assert_eq!(untested(&json), ["db/migrate/20250101000000_add_owner.rb", "scripts/upgrade-to-v2.sh"], "{json:#}");
}

/// `gate explain untested-change` says how to teach gate the repository's own test layout.
#[test]
fn explain_says_how_to_teach_gate_the_test_layout() {
    let repo = TestRepo::with_files(&[("README.md", "# x\n")]);
    repo.gate(&["explain", "untested-change"])
        .expect(0)
        .stdout_has("a test tree mirrors its directory")
        .stdout_has("Teach gate your own test layout")
        .stdout_has("[paths]\n  tests = [")
        .stdout_has("test-files = [");
}

/// Backtest (maybe v0.5.0): ten of 23 untested-change warnings were Rails migrations. A schema
/// migration is applied by its tool, not run by a test of its own; the report counts them in a
/// note. A script beside them is still reported, and so is a migration that rewrites data
/// (an_untested_upgrade_script_is_still_reported, generated_migrations_are_not_copies_that_block).
#[test]
fn migrations_are_counted_in_a_note_not_reported_one_by_one() {
    let migration = "class AddThemeToUsers < ActiveRecord::Migration[7.2]\n  def change\n    add_column :users, :theme, :string\n  end\nend\n";
    let json = release(
        &[("README.md", "# app\n")],
        &[
            ("db/migrate/20250410144939_add_theme_to_users.rb", migration),
            (
                "app/migrations/0042_theme.py",
                "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    operations = []\n",
            ),
            ("bin/search.sh", SEARCH),
        ],
    );
    assert_eq!(untested(&json), ["bin/search.sh"]);
    let notes: Vec<&str> = json["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(
        notes.contains(&"untested-change: 2 schema migrations (Django, Rails) not reported: the migration tool applies them, not a test; review them with the schema they change"),
        "{notes:?}"
    );
}

/// Backtest (sampled warnings, issue 11 part 4): a CI docs script under `.github/` is not
/// deployed; a root `test.sh` is the repository's test runner, not an untested script; Rails'
/// `config/environments/production.rb` and a service's `configuration/configuration.py` are
/// configuration no test runs (named in a note). A script beside them is still reported, and so
/// is a Python module that merely has "config" in its name.
#[test]
fn ci_scripts_test_runners_and_configuration_code_are_not_untested_scripts() {
    let json = release(
        &[("README.md", "# app\n")],
        &[
            (".github/workflows/scripts/docs/build-docs.sh", "#!/bin/sh\nmkdocs build\n"),
            ("test.sh", "#!/bin/sh\nset -e\ndocker compose -f docker-compose.test.yml up -d\n"),
            ("config/environments/production.rb", "Rails.application.configure do\n  config.force_ssl = true\nend\n"),
            ("config/environments/test.rb", "Rails.application.configure do\n  config.eager_load = false\nend\n"),
            (
                "configuration/configuration.py",
                "import os\nALLOWED_HOSTS = os.environ.get('ALLOWED_HOSTS', '*').split(' ')\n",
            ),
            ("app/services/modules_config.py", "def modules_config(project):\n    return project.modules\n"),
            ("bin/search.sh", SEARCH),
        ],
    );
    assert_eq!(untested(&json), ["app/services/modules_config.py", "bin/search.sh", "config/environments/test.rb"]);
    let notes: Vec<&str> = json["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(
        notes.contains(&"untested-change: 2 files of configuration written as code (Python configuration, Rails environment) not reported: configuration/configuration.py, config/environments/production.rb; no test runs the configuration of the environment it is for, so a staged rollout is what proves it"),
        "{notes:?}"
    );
}

/// Guards against: 152 warnings on docker-mailserver, whose bats tests run the container image.
/// The Dockerfile installs `target/scripts/` under `/usr/local/bin/`; a test names files by their
/// installed path, and starting the image runs the start command (here supervisord and the
/// programs it starts on its own), the build runs its `RUN` scripts, and what those source by
/// installed path or by pattern is loaded too. A program started only on demand, and a copied
/// script nothing runs, stay untested.
#[test]
fn a_test_that_runs_the_image_covers_what_the_image_installs_and_runs() {
    let dockerfile = "FROM debian:13 AS build\n\
        COPY target/scripts/build/packages.sh /build/\n\
        RUN /bin/bash /build/packages.sh && rm -r /build\n\n\
        FROM build\n\
        COPY target/supervisor/supervisord.conf /etc/supervisor/supervisord.conf\n\
        COPY target/supervisor/conf.d/* /etc/supervisor/conf.d/\n\
        COPY \\\n  target/scripts/*.sh \\\n  /usr/local/bin/\n\
        COPY target/scripts/helpers /usr/local/bin/helpers\n\
        COPY target/scripts/setup.d /usr/local/bin/setup.d\n\
        RUN chmod +x /usr/local/bin/*\n\
        ENTRYPOINT [\"/usr/bin/dumb-init\", \"--\"]\n\
        CMD [\"supervisord\", \"-c\", \"/etc/supervisor/supervisord.conf\"]\n";
    let json = release(
        &[("README.md", "# mail\n")],
        &[
            ("Dockerfile", dockerfile),
            (
                "target/supervisor/supervisord.conf",
                "[supervisord]\nnodaemon=true\n\n[include]\nfiles = /etc/supervisor/conf.d/*.conf\n",
            ),
            (
                "target/supervisor/conf.d/services.conf",
                "[program:mailserver]\nautostart=true\ncommand=/usr/local/bin/start-mailserver.sh\n\n\
                 [program:update-check]\nautostart=false\ncommand=/bin/bash -l -c /usr/local/bin/update-check.sh\n",
            ),
            ("target/scripts/build/packages.sh", "#!/bin/bash\napt-get install -y postfix\n"),
            (
                "target/scripts/start-mailserver.sh",
                "#!/bin/bash\nsource /usr/local/bin/helpers/index.sh\nsource /usr/local/bin/setup-stack.sh\n_setup\n",
            ),
            (
                "target/scripts/setup-stack.sh",
                "function _setup() {\n  for FILE in /usr/local/bin/setup.d/*.sh; do\n    source \"${FILE}\"\n  done\n}\n",
            ),
            ("target/scripts/setup.d/postfix.sh", "function _setup_postfix() { postconf -e 'a=b'; }\n"),
            ("target/scripts/helpers/index.sh", "DIR='/usr/local/bin/helpers'\nsource \"${DIR}/log.sh\"\n"),
            ("target/scripts/helpers/log.sh", "function _log() { echo \"$*\"; }\n"),
            ("target/scripts/update-check.sh", "#!/bin/bash\ncurl -fsS https://example.com/VERSION\n"),
            ("target/scripts/unused.sh", "#!/bin/bash\necho unused\n"),
            (
                "test/tests/accounts.bats",
                "@test \"accounts are listed\" {\n  run docker exec mail /usr/local/bin/list-accounts.sh\n  assert_success\n}\n",
            ),
            ("target/scripts/list-accounts.sh", "#!/bin/bash\ncat /tmp/accounts\n"),
        ],
    );
    assert_eq!(untested(&json), ["target/scripts/unused.sh", "target/scripts/update-check.sh"], "{json:#}");
}

/// Without a test that names a path of the image, starting the image is not a test: the same
/// scripts stay untested.
#[test]
fn an_image_no_test_runs_covers_nothing() {
    let json = release(
        &[("README.md", "# mail\n")],
        &[
            (
                "Dockerfile",
                "FROM debian:13\nCOPY target/scripts/*.sh /usr/local/bin/\nCMD [\"/usr/local/bin/start.sh\"]\n",
            ),
            ("target/scripts/start.sh", "#!/bin/bash\nexec postfix start-fg\n"),
            ("test/tests/unit.bats", "@test \"math\" {\n  run expr 1 + 1\n}\n"),
        ],
    );
    assert_eq!(untested(&json), ["target/scripts/start.sh"], "{json:#}");
}

/// Guards against: docuseal's request and system specs call controllers by route, not by a file
/// named for them. A route helper (`visit submit_form_path(slug:)`) covers the controller of
/// its resource, a URL (`get '/api/submitters'`) a namespaced controller; a controller no test
/// requests stays untested.
#[test]
fn request_and_system_tests_cover_the_controllers_they_route_to() {
    let controller =
        |name: &str| format!("class {name} < ApplicationController\n  def show\n    head :ok\n  end\nend\n");
    let json = release(
        &[("spec/rails_helper.rb", "require 'spec_helper'\n")],
        &[
            ("app/controllers/submit_form_controller.rb", &controller("SubmitFormController")),
            ("app/controllers/api/submitters_controller.rb", &controller("Api::SubmittersController")),
            ("app/controllers/submit_form_decline_controller.rb", &controller("SubmitFormDeclineController")),
            (
                "spec/system/signing_form_spec.rb",
                "RSpec.describe 'Signing Form' do\n  it 'opens' do\n    visit submit_form_path(slug: 'x')\n  end\nend\n",
            ),
            (
                "spec/requests/submitters_spec.rb",
                "describe 'Submitter API' do\n  it 'lists' do\n    get '/api/submitters', headers: {}\n  end\nend\n",
            ),
        ],
    );
    assert_eq!(untested(&json), ["app/controllers/submit_form_decline_controller.rb"], "{json:#}");
}

/// Sampled warning (docuseal): `resource :esign, controller: 'esign_settings'` inside
/// `scope '/settings', as: :settings` is requested as `settings_esign_path`, and a resource
/// nested in `resources :templates` as `template_versions_path`; the routes file says which
/// controller answers. A renamed controller no test requests stays untested.
#[test]
fn controllers_the_routes_rename_or_nest_are_covered_by_the_names_the_routes_give() {
    let controller =
        |name: &str| format!("class {name} < ApplicationController\n  def show\n    head :ok\n  end\nend\n");
    let routes = "Rails.application.routes.draw do\n\
        \x20 resources :templates, only: %i[show] do\n\
        \x20   resources :versions, only: %i[index], controller: 'templates_versions'\n\
        \x20   resources :restore, only: %i[create], controller: 'templates_restore'\n\
        \x20 end\n\
        \x20 scope '/settings', as: :settings do\n\
        \x20   resource :esign, only: %i[show], controller: 'esign_settings'\n\
        \x20 end\n\
        end\n";
    let json = release(
        &[("spec/rails_helper.rb", "require 'spec_helper'\n"), ("config/routes.rb", routes)],
        &[
            ("app/controllers/esign_settings_controller.rb", &controller("EsignSettingsController")),
            ("app/controllers/templates_versions_controller.rb", &controller("TemplatesVersionsController")),
            ("app/controllers/templates_restore_controller.rb", &controller("TemplatesRestoreController")),
            (
                "spec/system/esign_spec.rb",
                "RSpec.describe 'eSign' do\n  it 'opens' do\n    visit settings_esign_path\n  end\nend\n",
            ),
            (
                "spec/requests/versions_spec.rb",
                "describe 'Versions' do\n  it 'lists' do\n    get template_versions_path(template)\n  end\nend\n",
            ),
        ],
    );
    assert_eq!(untested(&json), ["app/controllers/templates_restore_controller.rb"], "{json:#}");
}

/// Guards against: maybe's 56 helper warnings. Rails mixes helpers into the views; a helper
/// whose method a view calls is exercised by the test of the controller that renders the view
/// (or, for a layout, of any controller). A helper no rendered view calls stays untested, and a
/// word in the markup is not a call.
#[test]
fn a_helper_called_by_a_view_of_a_tested_controller_is_covered() {
    let json = release(
        &[("test/test_helper.rb", "require 'rails/test_help'\n")],
        &[
            (
                "app/controllers/accounts_controller.rb",
                "class AccountsController < ApplicationController\n  def index; end\nend\n",
            ),
            (
                "test/controllers/accounts_controller_test.rb",
                "class AccountsControllerTest < ActionDispatch::IntegrationTest\n  test 'index' do\n    get '/accounts'\n  end\nend\n",
            ),
            ("app/views/accounts/index.html.erb", "<h1>Accounts</h1>\n<%= account_balance(@account) %>\n"),
            ("app/views/layouts/application.html.erb", "<title><%= page_title %></title>\n"),
            ("app/views/budgets/show.html.erb", "<p>budget_label is shown</p>\n<%= budget_label(@b) %>\n"),
            (
                "app/helpers/accounts_helper.rb",
                "module AccountsHelper\n  def account_balance(a)\n    a.balance\n  end\nend\n",
            ),
            (
                "app/helpers/application_helper.rb",
                "module ApplicationHelper\n  def page_title\n    'Maybe'\n  end\nend\n",
            ),
            ("app/helpers/budgets_helper.rb", "module BudgetsHelper\n  def budget_label(b)\n    b.name\n  end\nend\n"),
            ("app/helpers/unused_helper.rb", "module UnusedHelper\n  def accounts\n    []\n  end\nend\n"),
        ],
    );
    assert_eq!(untested(&json), ["app/helpers/budgets_helper.rb", "app/helpers/unused_helper.rb"], "{json:#}");
}

/// Guards against: the reach index kept for the release tree (`GIT_DIR/gate/reach-v2.bin`)
/// answering other than a fresh one. A second run reads it and says the same; a damaged one is
/// built again, never believed.
#[test]
fn a_kept_reach_index_says_what_a_fresh_one_says() {
    let repo = TestRepo::with_files(&[("README.md", "# x\n")]);
    let base = repo.rev("HEAD");
    repo.write("app/views.py", "from app.format import money\n\ndef index():\n    return money(1)\n");
    repo.write("app/format.py", "def money(x):\n    return f'{x} EUR'\n");
    repo.write("app/report.py", "def report():\n    return 'r'\n");
    repo.write("tests/test_views.py", "from app.views import index\n\ndef test_index():\n    assert index()\n");
    repo.commit("views");
    let kept = repo.path().join(".git/gate/reach-v2.bin");
    let fresh = check_json(&repo, &base);
    assert!(kept.exists(), "the run should keep its reach index");
    assert_eq!(untested(&fresh), ["app/report.py"], "{fresh:#}");
    assert_eq!(check_json(&repo, &base), fresh);
    std::fs::write(&kept, b"GATERCH\x02 not what gate wrote").unwrap();
    assert_eq!(check_json(&repo, &base), fresh);
}

/// Guards against: the next release's run, which updates the path classes and the reach index
/// kept for the previous release tree by the diff between the two trees, answering other than a
/// run with nothing kept. The next release deletes a file that loaded another, changes a tested
/// file to load one that was untested, adds an untested file that loads one and a test with the
/// file it tests; the one after changes the `tests` class itself.
#[test]
fn a_reach_index_updated_by_the_diff_says_what_a_fresh_one_says() {
    let repo = TestRepo::with_files(&[("README.md", "# x\n")]);
    let base = repo.rev("HEAD");
    let check = |release: &str| repo.gate(&["check", "--base", &base, "--release", release, "--format", "json"]).json();
    let fresh = |release: &str| {
        std::fs::remove_dir_all(repo.path().join(".git/gate")).unwrap();
        check(release)
    };
    repo.write("app/views.py", "from app.format import money\n\ndef index():\n    return money(1)\n");
    repo.write("app/format.py", "from app.util import pad\n\ndef money(x):\n    return pad(x)\n");
    repo.write("app/util.py", "def pad(x):\n    return f' {x}'\n");
    repo.write("app/report.py", "def report():\n    return 'r'\n");
    repo.write("tests/test_views.py", "from app.views import index\n\ndef test_index():\n    assert index()\n");
    let first = repo.commit("views");
    assert_eq!(untested(&check(&first)), ["app/report.py"]);

    repo.remove("app/format.py");
    repo.write("app/views.py", "from app.report import report\n\ndef index():\n    return report()\n");
    repo.write("app/charts.py", "from app.util import pad\n\ndef draw():\n    return pad(2)\n");
    repo.write("app/jobs.py", "def run():\n    return 3\n");
    repo.write("tests/test_jobs.py", "from app.jobs import run\n\ndef test_run():\n    assert run()\n");
    let next = repo.commit("report");
    let updated = check(&next);
    assert_eq!(untested(&updated), ["app/charts.py", "app/util.py"], "{updated:#}");
    assert_eq!(updated, fresh(&next));

    // A kept index that does not verify is not updated: the next run builds one.
    check(&first);
    std::fs::write(repo.path().join(".git/gate/reach-v2.bin"), b"GATERCH\x02 not what gate wrote").unwrap();
    assert_eq!(check(&next), updated);

    repo.write("gate.toml", "[paths]\ntests = [\"tests/test_views.py\"]\n");
    let classes = repo.commit("tests class");
    check(&next);
    let reclassed = check(&classes);
    // tests/test_jobs.py is a script now, and untested; app/jobs.py still has a test at the
    // path its test template names.
    assert_eq!(untested(&reclassed), ["app/charts.py", "app/util.py", "tests/test_jobs.py"], "{reclassed:#}");
    assert_eq!(reclassed, fresh(&classes));
}

/// Guards against: the references of the test files kept for the previous release tree
/// (`GIT_DIR/gate/references-v2.bin`) answering for a release that changed a test. They are
/// used while the diff between the trees changes no file of the tests class, and read again
/// when it does; a damaged file is never believed. Every answer equals a run with nothing kept.
#[test]
fn kept_test_references_are_used_only_while_no_test_changes() {
    let repo = TestRepo::with_files(&[("README.md", "# x\n")]);
    let base = repo.rev("HEAD");
    let check = |release: &str| repo.gate(&["check", "--base", &base, "--release", release, "--format", "json"]).json();
    let fresh = |release: &str| {
        std::fs::remove_dir_all(repo.path().join(".git/gate")).unwrap();
        check(release)
    };
    // The run on `release`, which must find `untested` and say what a run with nothing kept says.
    let answers = |release: &str, untested_files: &[&str]| {
        let run = check(release);
        assert_eq!(untested(&run), untested_files, "{run:#}");
        assert_eq!(run, fresh(release));
        run
    };
    let kept = repo.path().join(".git/gate/references-v2.bin");
    let batch_test = "from app.jobs import run\n\ndef test_run():\n    assert run()\n";
    repo.write("app/views.py", "def index():\n    return 1\n");
    repo.write("app/report.py", "def report():\n    return 'r'\n");
    repo.write("tests/test_pages.py", "from app.views import index\n\ndef test_index():\n    assert index()\n");
    let first = repo.commit("views");
    assert_eq!(untested(&check(&first)), ["app/report.py"]);
    assert!(kept.exists(), "the run should keep the tests' references");

    // No test changes: the kept references answer, and say what reading the tests says.
    repo.write("app/jobs.py", "def run():\n    return 3\n");
    let jobs = repo.commit("jobs");
    answers(&jobs, &["app/jobs.py", "app/report.py"]);

    // A test that imports the new file, under a name of its own: the references are read again.
    check(&jobs);
    repo.write("tests/test_batch.py", batch_test);
    let tested = repo.commit("a test for jobs");
    let reread = answers(&tested, &["app/report.py"]);

    // A test removed: read again too.
    check(&tested);
    repo.remove("tests/test_batch.py");
    let removed = repo.commit("drop the jobs test");
    answers(&removed, &["app/jobs.py", "app/report.py"]);

    // A re-run of an older release (its answers kept) between two new ones, then a release
    // whose parent is not the tree the references were kept for: each says what a fresh run
    // says.
    check(&tested);
    check(&first);
    repo.write("tests/test_batch.py", batch_test);
    let back = repo.commit("the jobs test again");
    answers(&back, &["app/report.py"]);
    check(&first);
    repo.write("app/mail.py", "def send():\n    return 4\n");
    let mail = repo.commit("mail");
    answers(&mail, &["app/mail.py", "app/report.py"]);

    // Damaged: not believed.
    check(&tested);
    std::fs::write(&kept, b"GATEREF\x02 not what gate wrote").unwrap();
    assert_eq!(check(&tested), reread);
}
