//! Nothing deployable escapes silently: a moved submodule, a symlinked script, a script gate
//! cannot read, and a poisoned blob-facts cache.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{LOOP, deployed, staging};

#[test]
fn a_submodule_that_carries_the_change_is_a_finding() {
    // Regression (issue 12): a release that moved a submodule pointer passed with whatever the
    // submodule's new commit held.
    let repo = deployed(&[("README", "app\n")]);
    let (old, new) = (repo.rev("HEAD"), repo.rev("refs/gate/deploys/staging"));
    repo.git(&["update-index", "--add", "--cacheinfo", &format!("160000,{old},vendor/auth")]);
    repo.git(&["commit", "-q", "-m", "vendor auth"]);
    staging(&repo).expect(1).stdout_has(&format!(
        "deny   vendor/auth: the release adds a submodule at {}: gate does not look inside it",
        &old[..10]
    ));
    repo.gate(&["record", "--env", "staging", "--force", "--reason", "reviewed the submodule"]).expect(0);
    repo.git(&["update-index", "--cacheinfo", &format!("160000,{new},vendor/auth")]);
    repo.git(&["commit", "-q", "-m", "bump auth"]);
    staging(&repo)
        .expect(1)
        .stdout_has(&format!(
            "deny   vendor/auth: the submodule moves from {} to {}: gate does not look inside it, so nothing it carries is checked",
            &old[..10],
            &new[..10]
        ))
        .stdout_has(&format!("help: review what it brings (git -C vendor/auth log {}..{})", &old[..10], &new[..10]));
}

#[test]
fn a_test_framework_submodule_is_a_warning_not_a_block() {
    // Backtest (docker-mailserver v12.0.0): moving test/bats and test/test_helper/bats-assert
    // blocked a release, yet the test framework runs in CI and ships nowhere.
    let repo = deployed(&[("README", "app\n")]);
    let old = repo.rev("HEAD");
    repo.git(&["update-index", "--add", "--cacheinfo", &format!("160000,{old},test/bats")]);
    repo.git(&["commit", "-q", "-m", "bats"]);
    staging(&repo).expect(0).stdout_has(&format!(
        "warn   test/bats: the release adds a submodule at {}: gate does not look inside it (a test submodule: it does not ship)",
        &old[..10]
    ));
}

#[test]
fn a_symlinked_script_is_analysed_through_its_target_and_a_link_out_of_the_tree_is_a_finding() {
    // Regression (issue 12): bin/deploy.sh -> ../data/payload.txt shipped the payload's
    // infinite loop under a script's name, and no check read it.
    let repo = deployed(&[("README", "app\n")]);
    repo.write("data/payload.txt", LOOP);
    std::os::unix::fs::symlink("data/payload.txt", repo.path().join("bin-deploy.sh")).unwrap();
    std::fs::create_dir_all(repo.path().join("bin")).unwrap();
    std::os::unix::fs::symlink("../data/payload.txt", repo.path().join("bin/deploy.sh")).unwrap();
    std::os::unix::fs::symlink("../../outside/deploy.sh", repo.path().join("bin/escape.sh")).unwrap();
    std::os::unix::fs::symlink("/usr/local/bin/deploy", repo.path().join("bin/absolute.sh")).unwrap();
    std::os::unix::fs::symlink("missing.sh", repo.path().join("bin/dangling.sh")).unwrap();
    repo.commit("deploy scripts");
    staging(&repo)
        .expect(1)
        .stdout_has("deny   bin/deploy.sh:2: an unbounded loop")
        .stdout_has("deny   bin-deploy.sh:2: an unbounded loop")
        .stdout_has("deny   bin/escape.sh: a symlink to `../../outside/deploy.sh`, outside the repository: what it deploys is not in the release")
        .stdout_has("deny   bin/absolute.sh: a symlink to `/usr/local/bin/deploy`, outside the repository")
        .stdout_has("deny   bin/dangling.sh: a symlink to `missing.sh`: bin/missing.sh is not in the release tree");
    // `gate diff` still shows the links as links.
    repo.gate(&["diff", "--env", "staging"]).expect(0).stdout_has("A  bin/deploy.sh  (symlink");
}

#[test]
fn a_nul_byte_in_a_script_is_a_deny_finding_and_an_over_long_line_is_read_whole() {
    // Regression (issue 12): a NUL byte made a script "binary", and a 5,000-byte line was
    // skipped by pattern matching; both shipped an infinite loop with a note at most.
    let repo = deployed(&[("README", "app\n")]);
    repo.write_bytes("bin/nul.sh", b"#!/bin/sh\n# \0\nwhile true; do sync_cache; done\n");
    let padding = "x".repeat(5000);
    repo.write("bin/long.sh", &format!("#!/bin/sh\n: {padding}; chmod 777 /srv/app\n"));
    repo.commit("two scripts");
    staging(&repo)
        .expect(1)
        .stdout_has(
            "deny   bin/nul.sh: a NUL byte in its first 8000 bytes makes it read as binary: no check looked inside it",
        )
        // The long line is read whole now: the loop on it is found.
        .stdout_has("bin/long.sh:2:")
        .stdout_has("chmod 777 /srv/app")
        .stdout_has("help: fix it, or review the file and waive it: gate waive not-analysed --path bin/nul.sh");
}

/// The body of a gate cache (after its magic) with the scan hits of every blob dropped: what
/// an attacker who can write the cache but has not the key would write to hide a pattern.
fn without_scan_hits(body: &[u8]) -> Vec<u8> {
    let mut at = 0;
    let u32_at = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().unwrap()) as usize;
    let facts = u32_at(at);
    at += 4;
    for _ in 0..facts {
        at += 1 + body[at] as usize + 8 + 1 + 4 + 4;
        at += 4 + 8 * u32_at(at);
    }
    let refs = u32_at(at);
    at += 4;
    for _ in 0..refs {
        at += 1 + body[at] as usize;
        let names = u32_at(at);
        at += 4;
        for _ in 0..names {
            at += 2 + u16::from_le_bytes(body[at..at + 2].try_into().unwrap()) as usize;
        }
    }
    let mut out = body[..at].to_vec();
    let scans = u32_at(at);
    at += 4;
    out.extend_from_slice(&(scans as u32).to_le_bytes());
    for _ in 0..scans {
        let start = at;
        at += 1 + body[at] as usize + 8;
        out.extend_from_slice(&body[start..at]);
        out.extend_from_slice(&0u32.to_le_bytes());
        let hits = u32_at(at);
        at += 4;
        for _ in 0..hits {
            at += 2 + 4 + 4;
            at += 2 + u16::from_le_bytes(body[at..at + 2].try_into().unwrap()) as usize;
        }
    }
    // Config files as read, kept as they are.
    let start = at;
    let derived = u32_at(at);
    at += 4;
    for _ in 0..derived {
        at += 1 + body[at] as usize + 8;
        at += 4 + u32_at(at);
    }
    out.extend_from_slice(&body[start..at]);
    assert_eq!(at, body.len(), "the test read the whole cache");
    out
}

#[test]
fn a_poisoned_cache_is_rebuilt_not_believed() {
    // Regression (issue 12): the cache's checksum was keyless, so anyone who could write
    // .git/gate (a restored CI cache) could tell gate a script had no risky line.
    let repo = deployed(&[("README", "app\n")]);
    repo.write("bin/sync.sh", LOOP);
    repo.commit("the sync daemon");
    staging(&repo).expect(1).stdout_has("deny   bin/sync.sh:2: an unbounded loop");
    let cache = repo.path().join(".git/gate/cache-v7.bin");
    let bytes = std::fs::read(&cache).unwrap();
    let (magic, rest) = bytes.split_at(8);
    let body = without_scan_hits(&rest[..rest.len() - 32]);
    let mut signed = magic.to_vec();
    signed.extend_from_slice(&body);

    // Forged with a keyless digest, as the attacker can: gate rebuilds the cache and finds it.
    let mut forged = signed.clone();
    forged.extend_from_slice(&Sha256::digest(&signed));
    std::fs::write(&cache, &forged).unwrap();
    staging(&repo).expect(1).stdout_has("deny   bin/sync.sh:2: an unbounded loop");
    assert_ne!(std::fs::read(&cache).unwrap(), forged, "the cache was rebuilt");

    // The poison would work with the user's key (which never leaves the state directory):
    // proof that the test poisons what matters.
    let key = std::fs::read(repo.home().join(".local/state/gate/cache.key")).unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(&signed);
    let mut keyed = signed.clone();
    keyed.extend_from_slice(&mac.finalize().into_bytes());
    std::fs::write(&cache, &keyed).unwrap();
    staging(&repo).expect(0);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(repo.home().join(".local/state/gate/cache.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}
