//! The project keeps its promises about itself: every rule pack parses, every check is
//! documented, the file `gate init` writes is valid.

use gate::config::{self, BUILTIN_PACKS, PolicyInput};

fn load(name: &str, text: &str) -> Result<config::Policy, gate::Error> {
    let read_pack = |_: &str| Ok(None);
    config::load(&PolicyInput {
        file: Some((name.to_string(), text.to_string())),
        read_pack: &read_pack,
        catalog: &gate::checks::Registry,
    })
}

#[test]
fn every_file_in_rules_is_a_built_in_pack_that_loads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    files.sort();
    let mut packs: Vec<String> = BUILTIN_PACKS.iter().map(|(name, _)| format!("{name}.toml")).collect();
    packs.sort();
    assert_eq!(files, packs, "every rules/*.toml is embedded, and nothing else");
    for (name, text) in BUILTIN_PACKS {
        let on_disk = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
        assert_eq!(&on_disk, text);
        let policy = load(&format!("rules/{name}.toml"), &format!("extends = [\"{name}\"]\n"));
        assert!(policy.is_ok(), "pack {name} does not load: {}", policy.err().unwrap());
    }
}

#[test]
fn every_check_has_a_section_in_docs_checks_md_and_an_explanation() {
    let docs =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/checks.md")).unwrap();
    for check in gate::checks::CHECKS {
        let id = check.id();
        assert!(docs.contains(&format!("\n## {id}\n")), "docs/checks.md has no section `## {id}`");
        let doc = check.doc();
        for (part, text) in
            [("summary", doc.summary), ("why", doc.why), ("example", doc.example), ("config", doc.config)]
        {
            assert!(!text.trim().is_empty(), "{id} has an empty {part}");
        }
        assert!(doc.config.contains(&format!("[checks.{id}]")), "{id}'s config example names its table");
        let section = docs.split(&format!("\n## {id}\n")).nth(1).unwrap().split("\n## ").next().unwrap();
        let codes =
            section.lines().find(|l| l.starts_with("**Codes.**")).unwrap_or_else(|| panic!("{id}: no **Codes.**"));
        for code in doc.codes {
            assert!(codes.contains(&format!("`{code}`")), "docs/checks.md does not list {id}'s code `{code}`");
        }
    }
}

#[test]
fn the_config_example_of_every_check_is_valid() {
    for check in gate::checks::CHECKS {
        let policy = load("example.toml", check.doc().config);
        assert!(policy.is_ok(), "the config example of {} is invalid: {}", check.id(), policy.err().unwrap());
    }
}

#[test]
fn the_file_gate_init_writes_is_valid() {
    let policy = load("gate.toml", gate::commands::INIT_TEMPLATE).unwrap();
    assert!(policy.environments.contains_key("production"));
}

/// README's first command, `cargo run --release -- check`, on gate's own tree: a newcomer's
/// first sight of gate must not be a block made of gate's own test fixtures (it was: 18 deny
/// findings, every one a fixture string in a `#[cfg(test)]` module or the backtest corpus).
/// The tracked files as they are now are committed into a fresh repository and checked there.
#[test]
fn gate_passes_its_own_check_on_the_built_in_defaults_and_its_policy() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = std::process::Command::new("git").args(["ls-files", "-z"]).current_dir(root).output().unwrap();
    assert!(listed.status.success(), "the project is a git checkout: {}", String::from_utf8_lossy(&listed.stderr));
    let repo = crate::support::TestRepo::new();
    for path in listed.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = std::str::from_utf8(path).unwrap();
        let from = root.join(path);
        if from.is_file() {
            let to = repo.path().join(path);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
    }
    repo.commit("gate as it is now");
    let run = repo.gate(&["check"]);
    assert_eq!(run.code, 0, "gate check on gate's own tree blocks:\n{}", run.stdout);
}
