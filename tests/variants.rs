//! Incident 000: an untested `search_v2` beside `search` shipped by accident. `variant-name`,
//! `near-duplicate` and `untested-change` on real repositories.

use crate::support::TestRepo;

const SEARCH: &str = "#!/bin/sh\n# search the index for a term\nset -eu\nterm=\"$1\"\nindex=/srv/search/index\ngrep -r \"$term\" \"$index\" | head -n 20\necho \"done\"\n";

/// A repository whose deployed state has `bin/search.sh` and a test for it, recorded as the
/// last deploy of staging.
fn deployed(extra: &[(&str, &str)]) -> TestRepo {
    let mut files = vec![
        ("bin/search.sh", SEARCH),
        ("test/search.bats", "@test \"search finds\" {\n  run bin/search.sh needle\n  [ \"$status\" -eq 0 ]\n}\n"),
    ];
    files.extend_from_slice(extra);
    let repo = TestRepo::with_files(&files);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo
}

fn check_json(repo: &TestRepo) -> (i32, serde_json::Value) {
    let run = repo.gate(&["check", "--env", "staging", "--format", "json"]);
    let json = run.json();
    (run.code, json)
}

/// The findings of `check`, which must have run: "no finding" from a check that was off would
/// prove nothing.
#[track_caller]
fn findings<'a>(json: &'a serde_json::Value, check: &str) -> Vec<&'a serde_json::Value> {
    let ran = json["checks"].as_array().unwrap().iter().any(|c| c["id"] == check);
    assert!(ran, "{check} did not run: {}", json["checks"]);
    json["findings"].as_array().unwrap().iter().filter(|f| f["check"] == check).collect()
}

fn paths(json: &serde_json::Value, check: &str) -> Vec<String> {
    findings(json, check).iter().map(|f| f["path"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_incident_an_untested_search_v2_beside_search_is_blocked_with_the_pair_and_its_differences() {
    let repo = deployed(&[]);
    repo.write("bin/search_v2.sh", &SEARCH.replace("grep -r", "grep -rn").replace("head -n 20", "sort | head -n 50"));
    repo.commit("proposed search algorithm");

    let run = repo.gate(&["check", "--env", "staging"]).expect(1);
    let run = run
        .stdout_has("deny   bin/search_v2.sh: named like a copy or version of bin/search.sh (marker `_v2`), and no test covers it")
        .stdout_has("deny   bin/search_v2.sh: 85% similar to bin/search.sh (file names 75% alike); differs in 2 lines, and no test covers it")
        .stdout_has("-    6: grep -r \"$term\" \"$index\" | head -n 20")
        .stdout_has("+    6: grep -rn \"$term\" \"$index\" | sort | head -n 50")
        .stdout_has("warn   bin/search_v2.sh: no test covers this script")
        .stdout_has("looked for a test file at test/search_v2.bats")
        .stdout_has("BLOCKED: 2 deny findings stop this release (1 warning)");
    assert!(!run.stdout.contains("bin/search.sh: "), "the original is not a finding:\n{}", run.stdout);

    let (_, json) = check_json(&repo);
    let pair = &findings(&json, "near-duplicate")[0]["data"];
    assert_eq!(pair["kind"], "pair");
    assert_eq!(pair["other"], "bin/search.sh");
    assert_eq!(pair["similarity"], 0.857);
    assert_eq!(pair["name_similarity"], 0.75);
    assert_eq!(pair["identical"], false);
    assert_eq!(pair["tested"], false);
    assert_eq!(pair["diff"].as_array().unwrap().len(), 2);
}

#[test]
fn a_tested_variant_only_warns() {
    let repo = deployed(&[]);
    repo.write("bin/search_v2.sh", &SEARCH.replace("grep -r", "grep -rn"));
    repo.write("test/search_v2.bats", "@test \"v2\" {\n  run bin/search_v2.sh needle\n}\n");
    repo.commit("search v2, with its test");
    let (code, json) = check_json(&repo);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(findings(&json, "variant-name")[0]["severity"], "warn");
    assert_eq!(findings(&json, "near-duplicate")[0]["severity"], "warn");
    assert!(findings(&json, "untested-change").is_empty());
}

#[test]
fn a_script_referred_to_by_a_test_counts_as_tested() {
    let repo = deployed(&[]);
    repo.write("bin/deploy.sh", "#!/bin/sh\nset -eu\nrsync -a build/ /srv/app/\nsystemctl restart app\n");
    repo.write(
        "tests/test_release.py",
        "import subprocess\n\ndef test_deploy():\n    subprocess.run(['bin/deploy.sh', '--dry-run'], check=True)\n",
    );
    repo.write("tools/report.py", "import sys\n\ndef main():\n    print(sys.argv)\n");
    repo.write("tests/test_tools.py", "from tools import report\n\ndef test_report():\n    report.main()\n");
    repo.write("bin/cleanup.sh", "#!/bin/sh\nset -eu\nfind /tmp -name 'app-*' -mtime +7 -delete\n");
    repo.commit("scripts");
    let (_, json) = check_json(&repo);
    assert_eq!(paths(&json, "untested-change"), ["bin/cleanup.sh"]);
    let untested = &findings(&json, "untested-change")[0];
    assert_eq!(untested["message"], "no test covers this script");
    assert!(untested["data"]["tests_searched"].as_u64().unwrap() >= 3);
}

#[test]
fn every_marker_shape_is_recognised_and_names_its_original() {
    let repo = deployed(&[
        ("app/app.py", "print('app')\n"),
        ("deploy/compose.yml", "services: {}\n"),
        ("lib/report.sh", "echo report\n"),
        ("src/main.c", "int main(void) { return 0; }\n"),
        ("scripts/build.sh", "make\n"),
    ]);
    let shapes = [
        ("bin/search-v3.sh", "bin/search.sh", "-v3"),
        ("bin/search_new.sh", "bin/search.sh", "_new"),
        ("bin/search_old.sh", "bin/search.sh", "_old"),
        ("bin/search_backup.sh", "bin/search.sh", "_backup"),
        ("bin/search-final.sh", "bin/search.sh", "-final"),
        ("bin/search-fixed.sh", "bin/search.sh", "-fixed"),
        ("lib/report copy.sh", "lib/report.sh", " copy"),
        ("lib/report (1).sh", "lib/report.sh", " (1)"),
        ("app/app.py.bak", "app/app.py", ".bak"),
        ("app/app.py.orig", "app/app.py", ".orig"),
        ("app/app.py.old", "app/app.py", ".old"),
        ("app/app.py~", "app/app.py", "~"),
        ("app/.app.py.swp", "app/app.py", ".swp (editor swap file)"),
        ("app/app.py.bak.20250503_071148", "app/app.py", ".bak.20250503_071148"),
        ("deploy/compose.yml_v2", "deploy/compose.yml", "_v2"),
        // Held-out repositories (backtest/variants.toml): `start.sh.bk`, `deploy.sh.bak.1744999690`.
        ("scripts/build.sh.bk", "scripts/build.sh", ".bk"),
        ("lib/report.sh.bak.1744999690", "lib/report.sh", ".bak.1744999690"),
    ];
    for (path, _, _) in shapes {
        repo.write(path, &format!("a rewrite of {path}, nothing like the original\n"));
    }
    repo.write("src-backup/main.c", "int main(void) { return 1; }\n");
    repo.write("scripts_old/build.sh", "make all\n");
    repo.commit("variants of every shape");

    let (_, json) = check_json(&repo);
    let found = findings(&json, "variant-name");
    for (path, original, marker) in shapes {
        let finding =
            found.iter().find(|f| f["path"] == path).unwrap_or_else(|| panic!("no finding for {path}: {json:#}"));
        assert_eq!(finding["data"]["original"], original, "{path}");
        assert_eq!(finding["data"]["marker"], marker, "{path}");
    }
    let dirs: Vec<_> = found.iter().filter(|f| f["path"].as_str().unwrap().ends_with('/')).collect();
    assert_eq!(dirs.len(), 2, "{dirs:#?}");
    assert_eq!(dirs[0]["path"], "scripts_old/");
    assert_eq!(dirs[0]["data"]["original"], "scripts/");
    assert_eq!(dirs[1]["path"], "src-backup/");
    assert_eq!(dirs[1]["data"]["original"], "src/");
    assert_eq!(found.len(), shapes.len() + 2, "nothing else fires: {json:#}");
}

#[test]
fn real_names_that_only_look_like_variants_do_not_fire() {
    let repo = deployed(&[("lib/sha.js", "module.exports = 'sha'\n")]);
    for path in [
        "lib/sha1.js",
        "lib/md5.js",
        "lib/base64.sh",
        "net/http2.go",
        "net/ipv6.conf",
        "cloud/s3.py",
        "auth/oauth2.py",
        "text/utf8.c",
        "arch/x86_64.S",
        "tools/copy_dist.py",
        "ui/ContentCopy.js",
        "ui/App.test.js",
    ] {
        repo.write(path, &format!("// {path}\n"));
    }
    repo.commit("real names");
    let (_, json) = check_json(&repo);
    assert!(findings(&json, "variant-name").is_empty(), "{json:#}");
}

#[test]
fn nothing_under_ignored_paths_fires() {
    let repo = deployed(&[]);
    repo.write("vendor/lib/search_v2.sh", SEARCH);
    repo.write("node_modules/x/index.js.bak", "x\n");
    repo.write("third_party/copy/search.sh", SEARCH);
    repo.commit("vendored");
    let (_, json) = check_json(&repo);
    for check in ["variant-name", "near-duplicate", "untested-change"] {
        assert!(findings(&json, check).is_empty(), "{check}: {json:#}");
    }
}

#[test]
fn a_near_copy_with_an_innocent_name_is_found_by_content() {
    let repo = deployed(&[]);
    repo.write("bin/lookup.sh", &SEARCH.replace("head -n 20", "head -n 5"));
    repo.commit("lookup");
    let (_, json) = check_json(&repo);
    assert!(findings(&json, "variant-name").is_empty());
    assert_eq!(paths(&json, "near-duplicate"), ["bin/lookup.sh"]);
    assert_eq!(findings(&json, "near-duplicate")[0]["data"]["other"], "bin/search.sh");
}

#[test]
fn a_variant_that_is_a_rewrite_is_a_variant_but_not_a_near_duplicate() {
    let repo = deployed(&[]);
    repo.write(
        "bin/search_v2.sh",
        "#!/usr/bin/env python3\nimport sys\nfrom index import query\nfor hit in query(sys.argv[1]):\n    print(hit)\n",
    );
    repo.commit("rewrite");
    let (_, json) = check_json(&repo);
    assert_eq!(paths(&json, "variant-name"), ["bin/search_v2.sh"]);
    assert!(findings(&json, "near-duplicate").is_empty(), "{json:#}");
}

#[test]
fn the_original_may_live_in_another_directory() {
    let repo = deployed(&[]);
    repo.write("tools/search_v2.sh", "echo rewritten\n");
    repo.commit("v2 elsewhere");
    let (_, json) = check_json(&repo);
    let finding = &findings(&json, "variant-name")[0];
    assert_eq!(finding["data"]["original"], "bin/search.sh");
    repo.write("tools/index_v2.sh", "echo nothing like it exists\n");
    repo.commit("v2 of nothing");
    let (_, json) = check_json(&repo);
    let orphan = findings(&json, "variant-name").into_iter().find(|f| f["path"] == "tools/index_v2.sh").unwrap();
    assert_eq!(orphan["data"]["original"], serde_json::Value::Null);
    assert!(orphan["message"].as_str().unwrap().contains("no original `index.sh` exists in the release"));
    assert_eq!(orphan["severity"], "warn", "a name alone is not a copy: {orphan:#}");
    let v2 = findings(&json, "variant-name").into_iter().find(|f| f["path"] == "tools/search_v2.sh").unwrap();
    assert_eq!(v2["severity"], "deny");
}

/// Held-out controls (backtest/variants-heldout.toml): `mysql_backup.sh` dumps a database,
/// `remove_old.sh` is a deploy hook that deletes the old build, `deploy-backup.sh` deploys the
/// backup service. Each is named with a marker and has no original anywhere: they warn, and the
/// release passes. `installv2.sh` beside `install.sh` is a copy (a version glued to the word);
/// `ipv6.sh` beside `ip.sh` is not.
#[test]
fn a_marked_name_with_no_original_warns_and_a_glued_version_beside_its_original_blocks() {
    let repo = deployed(&[("ops/ip.sh", "#!/bin/sh\nip -4 addr show\n")]);
    repo.write("ops/mysql_backup.sh", "#!/bin/sh\nmysqldump --all-databases | gzip > /backup/db.sql.gz\n");
    repo.write("ops/remove_old.sh", "#!/bin/sh\nrm -f /srv/app/app-*.jar\n");
    repo.write("ops/deploy-backup.sh", "#!/bin/sh\nkubectl apply -f backup/\n");
    repo.write("ops/ipv6.sh", "#!/bin/sh\nip -6 addr show\n");
    repo.commit("ops scripts");
    let (code, json) = check_json(&repo);
    assert_eq!(code, 0, "{json:#}");
    let severities: Vec<(String, String)> = findings(&json, "variant-name")
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["severity"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        severities,
        [
            ("ops/deploy-backup.sh".to_string(), "warn".to_string()),
            ("ops/mysql_backup.sh".into(), "warn".into()),
            ("ops/remove_old.sh".into(), "warn".into())
        ]
    );

    repo.write("ops/install.sh", "#!/bin/sh\nset -e\ncurl -fsSL https://get.example.com | sh\nsystemctl enable edge\n");
    repo.commit("installer");
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("ops/installv2.sh", "#!/bin/sh\nset -e\ncurl -fsSL https://get.example.com/v2 | sh\n");
    repo.commit("second installer");
    let (code, json) = check_json(&repo);
    assert_eq!(code, 1, "{json:#}");
    let v2 = &findings(&json, "variant-name")[0];
    assert_eq!(
        (v2["path"].as_str(), v2["data"]["original"].as_str()),
        (Some("ops/installv2.sh"), Some("ops/install.sh"))
    );
    assert_eq!(v2["severity"], "deny");
}

/// Held-out (ericmichael/llm-deployment): `app/` moved to `app_old/` while a new app is written
/// elsewhere. The copied directory names the one the last deploy had, and blocks.
#[test]
fn a_copied_directory_names_the_directory_the_release_moves_away() {
    let repo = deployed(&[("app/main.py", "print('v1')\n"), ("app/agent.py", "def run():\n    return 1\n")]);
    repo.git(&["mv", "app", "app_old"]);
    repo.write("service/main.py", "print('v2')\n");
    repo.commit("keep the old app");
    let (code, json) = check_json(&repo);
    assert_eq!(code, 1, "{json:#}");
    let dir = findings(&json, "variant-name").into_iter().find(|f| f["path"] == "app_old/").unwrap();
    assert_eq!(dir["data"]["original"], "app/");
    assert_eq!(dir["severity"], "deny");
    assert!(dir["message"].as_str().unwrap().contains("a copy of app/, and this release moves it away"), "{dir:#}");
}

#[test]
fn an_exact_copy_is_found_by_blob_id() {
    let repo = deployed(&[]);
    repo.write("ops/find.sh", SEARCH);
    repo.commit("copy");
    repo.gate(&["check", "--env", "staging"])
        .expect(1)
        .stdout_has("deny   ops/find.sh: an exact copy of bin/search.sh (file names 33% alike), and no test covers it");
    // A copy under the same name is tested by the original's test file (test/{stem}.bats), so it warns.
    repo.write("ops/search.sh", SEARCH);
    repo.commit("copy under the same name");
    repo.gate(&["check", "--env", "staging"])
        .stdout_has("warn   ops/search.sh: an exact copy of bin/search.sh (file names 100% alike)");
}

/// Guards against: an identical PNG reported as "an exact copy" that blocks like a forked
/// script. Binary files are never near-duplicates; their exact copies are a count in the notes.
#[test]
fn binary_files_are_never_near_duplicates_and_tiny_files_are_not_analysed() {
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let repo = deployed(&[]);
    repo.write_bytes("assets/logo.png", png);
    repo.commit("a logo");
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write_bytes("assets/logo-dark.png", png);
    repo.write_bytes("assets/icon.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR other");
    repo.write("bin/noop.sh", "true\n");
    repo.commit("assets");
    let run = repo.gate(&["check", "--env", "staging"]);
    run.stdout_has("note: 1 added file could not be analysed:").stdout_has("bin/noop.sh (1 line, under min-lines (3))");
    let (_, json) = check_json(&repo);
    assert!(findings(&json, "near-duplicate").is_empty(), "{json:#}");
    let not_analysed = json["not_analysed"].as_array().unwrap();
    assert_eq!(not_analysed.len(), 1, "{not_analysed:#?}");
    assert_eq!(not_analysed[0]["path"], "bin/noop.sh");
    let notes: Vec<&str> = json["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(
        notes.iter().any(|n| n.contains("1 added binary file is an exact copy of files already in the release")),
        "{notes:#?}"
    );
}

#[test]
fn a_waiver_silences_one_finding_and_shows_it_as_waived() {
    // The waiver is in the deployed policy: one the release adds to its own gate.toml is not in
    // force until deployed (tests/trust.rs).
    let repo = deployed(&[(
        "gate.toml",
        "[[waivers]]\ncheck = \"near-duplicate\"\npath = \"bin/search_v2.sh\"\nreason = \"kept for rollback until v3\"\nexpires = \"2027-01-31\"\n",
    )]);
    repo.write("bin/search_v2.sh", SEARCH);
    repo.commit("v2");
    let run = repo.gate(&["check", "--env", "staging"]).expect(1);
    run.stdout_has("waived bin/search_v2.sh: an exact copy of bin/search.sh")
        .stdout_has("waived: kept for rollback until v3, until 2027-01-31 (gate.toml:2)")
        .stdout_has("deny   bin/search_v2.sh: named like a copy or version of bin/search.sh");
}

#[test]
fn caps_are_said_in_the_report() {
    let repo = deployed(&[]);
    repo.write("gate.toml", "[checks.near-duplicate]\nmax-read-bytes = 1\n");
    repo.commit("tiny read budget");
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed"]).expect(0);
    repo.write("bin/lookup.sh", SEARCH);
    repo.commit("lookup");
    // A cold cache: `gate record` ran the check for the fixture's deploy and warmed it.
    std::fs::remove_dir_all(repo.path().join(".git/gate")).unwrap();
    let (_, json) = check_json(&repo);
    let notes: Vec<&str> = json["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(notes.iter().any(|n| n.contains("the read cap (max-read-bytes = 1) was reached")), "{notes:#?}");
}

#[test]
fn a_second_run_reads_from_the_cache_and_says_the_same() {
    let repo = deployed(&[]);
    repo.write("bin/search_v2.sh", &SEARCH.replace("grep -r", "grep -rn"));
    repo.commit("v2");
    let first = repo.gate(&["check", "--env", "staging", "--format", "json"]);
    assert!(repo.path().join(".git/gate/cache-v7.bin").exists());
    let second = repo.gate(&["check", "--env", "staging", "--format", "json"]);
    assert_eq!(first.stdout, second.stdout);
    // A damaged cache is ignored, not trusted.
    std::fs::write(repo.path().join(".git/gate/cache-v7.bin"), b"GATECCH\x01 garbage").unwrap();
    let third = repo.gate(&["check", "--env", "staging", "--format", "json"]);
    assert_eq!(first.stdout, third.stdout);
}

#[test]
fn the_indexed_search_misses_no_pair_that_brute_force_finds() {
    // A repository built for the purpose: files over a small vocabulary, so lines repeat across
    // files as in real code, and added files that are mutated copies of deployed ones at every
    // distance. The report must name, for each added file, exactly the best match brute force
    // finds above the threshold.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut base: Vec<(String, String)> = Vec::new();
    for i in 0..40 {
        let len = 6 + next(30) as usize;
        let text: String = (0..len).map(|_| format!("step {}\n", next(60))).collect();
        base.push((format!("lib/mod{i:02}.txt"), text));
    }
    let files: Vec<(&str, &str)> = base.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let repo = TestRepo::with_files(&files);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    let mut added = Vec::new();
    for (i, (_, text)) in base.iter().enumerate().take(20) {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        for _ in 0..next(8) {
            let at = next(lines.len() as u64) as usize;
            lines[at] = format!("changed {}", next(1000));
        }
        let path = format!("new/copy{i:02}.txt");
        repo.write(&path, &(lines.join("\n") + "\n"));
        added.push(path);
    }
    repo.commit("mutated copies");

    let (_, json) = check_json(&repo);
    let reported = findings(&json, "near-duplicate");
    let all: Vec<(String, Vec<u8>)> = base
        .iter()
        .map(|(p, t)| (p.clone(), t.clone().into_bytes()))
        .chain(added.iter().map(|p| (p.clone(), std::fs::read(repo.path().join(p)).unwrap())))
        .collect();
    let mut above = 0;
    for path in &added {
        let content = std::fs::read(repo.path().join(path)).unwrap();
        let best = all
            .iter()
            .filter(|(p, _)| p != path)
            .map(|(p, c)| (gate::analysis::similarity::similarity(&content, c), p))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap();
        let finding = reported.iter().find(|f| f["path"] == path.as_str());
        if best.0 >= 0.8 {
            above += 1;
            let finding =
                finding.unwrap_or_else(|| panic!("{path} is {:.3} similar to {} but was not reported", best.0, best.1));
            let shown = finding["data"]["similarity"].as_f64().unwrap();
            assert!((shown - best.0).abs() < 0.0006, "{path}: reported {shown}, brute force {:.4}", best.0);
        } else {
            assert!(finding.is_none(), "{path} reported though its best match is {:.3}", best.0);
        }
    }
    assert!(above >= 8 && above < added.len(), "the fixture must have pairs on both sides of the threshold ({above})");
}

/// Held-out repositories (backtest/variants.toml): Financial-Times' `deploy_legacy.sh`, a 97%
/// copy of `deploy.sh`, blocked through near-duplicate only. `legacy` marks a copy beside its
/// original; alone it names a real thing (the legacy auth provider).
#[test]
fn legacy_beside_its_original_is_a_copy_and_alone_is_a_name() {
    let repo = deployed(&[("bin/deploy.sh", "#!/bin/sh\nrsync -a build/ /srv/app/\n")]);
    repo.write("bin/deploy_legacy.sh", "#!/bin/sh\nscp -r build/ app:/srv/app/\nssh app restart\n");
    repo.write("auth/provider_legacy.py", "def login(user):\n    return user.password_ok()\n");
    repo.commit("the old deploy kept; the legacy provider");
    let (code, json) = check_json(&repo);
    let found = findings(&json, "variant-name");
    let flagged: Vec<(&str, &str)> =
        found.iter().map(|f| (f["path"].as_str().unwrap(), f["severity"].as_str().unwrap())).collect();
    assert_eq!(flagged, [("bin/deploy_legacy.sh", "deny")], "{json:#}");
    assert_eq!(found[0]["data"]["original"], "bin/deploy.sh");
    assert_eq!(code, 1);
}
