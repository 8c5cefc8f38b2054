//! Signed evidence: SSHSIG signatures in gate's namespace, checked against the allowed signers
//! of the deployed tree. Keys are made by `ssh-keygen` in each test; a signature ssh-keygen makes
//! verifies in gate, and one gate makes verifies in `ssh-keygen -Y verify`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::TestRepo;

use super::staging;

/// Whether ssh-keygen is there to make keys; a test that needs it says so loudly when not.
fn have_ssh_keygen(test: &str) -> bool {
    let found = Command::new("ssh-keygen").arg("-?").stderr(Stdio::null()).status().is_ok();
    if !found {
        eprintln!("SKIPPED {test}: ssh-keygen (OpenSSH) is not installed");
    }
    found
}

/// A key made by ssh-keygen beside the repository: the private key's path and the public line.
fn keygen(repo: &TestRepo, name: &str, kind: &str) -> (PathBuf, String) {
    let path = repo.sibling(&format!("{name}.key"));
    let mut args = vec!["-q", "-t", kind, "-N", "", "-C", name, "-f"];
    let file = path.to_str().unwrap().to_string();
    args.push(&file);
    if kind == "rsa" {
        args.extend(["-b", "2048"]);
    }
    let status = Command::new("ssh-keygen").args(&args).stdin(Stdio::null()).status().unwrap();
    assert!(status.success(), "ssh-keygen failed");
    let public = std::fs::read_to_string(path.with_extension("key.pub")).unwrap();
    (path, public.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
}

fn key_arg(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// Signed approvals required, signed by alice or bob; the policy and the allowed signers are
/// deployed to staging, and the release changes the policy (so it needs an approval).
fn signed_policy_repo(signers: &[(&str, &str)]) -> TestRepo {
    let allowed: String = signers.iter().map(|(who, key)| format!("{who} {key}\n")).collect();
    let policy = "[trust]\nallowed-signers = \".gate/allowed_signers\"\nrequire-signed = [\"approval\"]\n\n[trust.signers]\napproval = [\"alice@example.com\", \"bob@example.com\"]\n";
    let repo = TestRepo::with_files(&[("gate.toml", policy), (".gate/allowed_signers", &allowed), ("README", "app\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("gate.toml", &format!("{policy}\n[checks.blast-radius]\nmax-files = 1000\n"));
    repo.commit("loosen the blast radius");
    repo
}

fn approve(repo: &TestRepo, key: &Path, detail: &str) -> crate::support::Run {
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", detail, "--key", &key_arg(key)])
}

/// The note line of the release tree's `index`-th record.
fn note_line(repo: &TestRepo, index: usize) -> String {
    let note = repo.git(&["notes", "--ref", "gate", "show", &repo.rev("HEAD^{tree}")]);
    note.lines().nth(index).unwrap().to_string()
}

#[test]
fn a_signed_approval_counts_and_an_unsigned_one_does_not() {
    // Regression (issue 12): anyone who could push refs/notes/gate wrote "approved by the CISO".
    let probe = TestRepo::new();
    if !have_ssh_keygen("a_signed_approval_counts_and_an_unsigned_one_does_not") {
        return;
    }
    let (alice, alice_pub) = keygen(&probe, "alice", "ed25519");
    let repo = signed_policy_repo(&[("alice@example.com", &alice_pub)]);
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "approved by the CISO"]).expect(0);
    staging(&repo)
        .expect(1)
        .stdout_has("deny   gate.toml: the release changes the gate policy")
        .stdout_has("warn   approval for policy-change evidence recorded 2026-11-02T09:02:00Z by Dana Deployer <dana@example.com> does not count: it is not signed, and the deployed policy requires signed `approval` evidence");

    approve(&repo, &alice, "reviewed by Alice").expect(0).stdout_has("(signed)");
    staging(&repo)
        .expect(0)
        .stdout_has("waived gate.toml: the release changes the gate policy")
        .stdout_has("approved by alice@example.com (signed): reviewed by Alice");
    repo.gate(&["evidence", "list"]).expect(0).stdout_has("reviewed by Alice (signed)");
}

#[test]
fn keys_the_deployed_tree_does_not_allow_and_tampered_records_do_not_count() {
    let probe = TestRepo::new();
    if !have_ssh_keygen("keys_the_deployed_tree_does_not_allow_and_tampered_records_do_not_count") {
        return;
    }
    let (alice, alice_pub) = keygen(&probe, "alice", "ed25519");
    let (mallory, mallory_pub) = keygen(&probe, "mallory", "ed25519");
    let (carol, carol_pub) = keygen(&probe, "carol", "ed25519");
    let repo = signed_policy_repo(&[("alice@example.com", &alice_pub), ("carol@example.com", &carol_pub)]);

    // The release adds its own signer: the allowed signers are read from the deployed tree.
    let allowed = std::fs::read_to_string(repo.path().join(".gate/allowed_signers")).unwrap();
    repo.write(".gate/allowed_signers", &format!("{allowed}bob@example.com {mallory_pub}\n"));
    repo.commit("add a signer");
    approve(&repo, &mallory, "looks fine").expect(0);
    staging(&repo)
        .expect(1)
        .stdout_has("deny   .gate/allowed_signers: the release changes the gate policy")
        .stdout_has("does not count: it is signed with key SHA256:")
        .stdout_has("and no line of .gate/allowed_signers allows that key to sign for gate");

    // An allowed signer who may not sign approvals ([trust.signers]): a spoofed approver.
    repo.gate(&[
        "evidence",
        "add",
        "approval",
        "--for",
        "policy-change",
        "--detail",
        "I am the CISO",
        "--key",
        &key_arg(&carol),
    ])
    .expect(0);
    staging(&repo).expect(1).stdout_has("it is signed by carol@example.com (key SHA256:").stdout_has(
        "who may not sign `approval` evidence ([trust.signers] approval = [alice@example.com, bob@example.com])",
    );

    // A signed record edited afterwards: the signature no longer matches.
    approve(&repo, &alice, "reviewed the signer change").expect(0);
    let tree = repo.rev("HEAD^{tree}");
    let note = repo.git(&["notes", "--ref", "gate", "show", &tree]);
    let forged = note.replace("reviewed the signer change", "reviewed everything, forever");
    repo.git(&["notes", "--ref", "gate", "add", "-f", "-m", forged.trim_end(), &tree]);
    staging(&repo)
        .expect(1)
        .stdout_has("deny   approval for policy-change evidence recorded")
        .stdout_has("does not count: the signature does not match the record");
}

#[test]
fn a_signature_made_by_ssh_keygen_verifies_in_gate() {
    let probe = TestRepo::new();
    if !have_ssh_keygen("a_signature_made_by_ssh_keygen_verifies_in_gate") {
        return;
    }
    let (alice, alice_pub) = keygen(&probe, "alice", "ed25519");
    let repo = signed_policy_repo(&[("alice@example.com", &alice_pub)]);
    // The record as gate writes it (fields in gate's order), signed by `ssh-keygen -Y sign`
    // over the payload gate verifies: its header line, then the line without its signature.
    let (tree, commit) = (repo.rev("HEAD^{tree}"), repo.rev("HEAD"));
    let unsigned = format!(
        r#"{{"kind":"approval","tree":"{tree}","commit":"{commit}","by":"Alice <alice@example.com>","at":"2026-11-02T09:02:00Z","detail":"signed outside gate","for":"policy-change"}}"#
    );
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "gate", "-f", &key_arg(&alice)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("gate-evidence-v1\n{unsigned}").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let signature = serde_json::to_string(&String::from_utf8(output.stdout).unwrap()).unwrap();
    let line = format!("{},\"signature\":{signature}}}", unsigned.strip_suffix('}').unwrap());
    repo.git(&["notes", "--ref", "gate", "add", "-m", &line, &tree]);
    staging(&repo).expect(0).stdout_has("approved by alice@example.com (signed): signed outside gate");
}

#[test]
fn a_signature_made_by_gate_verifies_in_ssh_keygen() {
    let probe = TestRepo::new();
    if !have_ssh_keygen("a_signature_made_by_gate_verifies_in_ssh_keygen") {
        return;
    }
    let (alice, alice_pub) = keygen(&probe, "alice", "ed25519");
    let repo = signed_policy_repo(&[("alice@example.com", &alice_pub)]);
    approve(&repo, &alice, "reviewed").expect(0);
    let line = note_line(&repo, 0);
    let record: serde_json::Value = serde_json::from_str(&line).unwrap();
    let (unsigned, _) = line.rsplit_once(",\"signature\":").unwrap();
    let payload = repo.sibling("payload");
    std::fs::write(&payload, format!("gate-evidence-v1\n{unsigned}}}")).unwrap();
    let signature = repo.sibling("payload.sig");
    std::fs::write(&signature, record["signature"].as_str().unwrap()).unwrap();
    let output = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "gate", "-I", "alice@example.com", "-f"])
        .arg(repo.path().join(".gate/allowed_signers"))
        .arg("-s")
        .arg(&signature)
        .stdin(std::fs::File::open(&payload).unwrap())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && said.contains("Good \"gate\" signature for alice@example.com"), "{said}");
}

#[test]
fn an_rsa_key_signs_through_ssh_keygen_and_verifies_in_gate() {
    let probe = TestRepo::new();
    if !have_ssh_keygen("an_rsa_key_signs_through_ssh_keygen_and_verifies_in_gate") {
        return;
    }
    let (bob, bob_pub) = keygen(&probe, "bob", "rsa");
    let repo = signed_policy_repo(&[("bob@example.com", &bob_pub)]);
    // Signing by default with git config, as `git commit -S` finds its key.
    repo.git(&["config", "gate.sign", "true"]);
    repo.git(&["config", "gate.signingKey", &key_arg(&bob)]);
    repo.gate(&["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed by Bob"])
        .expect(0)
        .stdout_has("(signed)");
    assert!(note_line(&repo, 0).contains("BEGIN SSH SIGNATURE"));
    staging(&repo).expect(0).stdout_has("approved by bob@example.com (signed): reviewed by Bob");
}

#[test]
fn with_approvals_set_the_authors_cannot_approve_and_each_approver_counts_once() {
    // Regression (issue 12): the author approved their own release.
    let probe = TestRepo::new();
    if !have_ssh_keygen("with_approvals_set_the_authors_cannot_approve_and_each_approver_counts_once") {
        return;
    }
    let (alice, alice_pub) = keygen(&probe, "alice", "ed25519");
    let (bob, bob_pub) = keygen(&probe, "bob", "ed25519");
    let (dana, dana_pub) = keygen(&probe, "dana", "ed25519");
    let allowed = format!("alice@example.com {alice_pub}\nbob@example.com {bob_pub}\ndana@example.com {dana_pub}\n");
    let policy = "[trust]\nallowed-signers = \".gate/allowed_signers\"\nrequire-signed = [\"approval\"]\n\n[environments.staging]\napprovals = 2\n";
    let repo = TestRepo::with_files(&[("gate.toml", policy), (".gate/allowed_signers", &allowed), ("README", "app\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("gate.toml", &format!("{policy}\n[checks.blast-radius]\nmax-files = 1000\n"));
    repo.commit("loosen the blast radius");

    // Dana wrote the release (the fixture's committer): her signed approval is no approval.
    approve(&repo, &dana, "my own change, approved").expect(0);
    approve(&repo, &alice, "reviewed by Alice").expect(0);
    approve(&repo, &alice, "reviewed by Alice again").expect(0);
    staging(&repo)
        .expect(1)
        .stdout_has("deny   gate.toml: the release changes the gate policy")
        .stdout_has("warn   the approval for policy-change by dana@example.com (signed) does not count: dana@example.com authored or committed a commit of the release");
    approve(&repo, &bob, "reviewed by Bob").expect(0);
    staging(&repo).expect(0).stdout_has("waived gate.toml: the release changes the gate policy");
}

#[test]
fn the_strict_pack_requires_signed_evidence_and_the_default_pack_says_it_is_unsigned() {
    let policy = "[environments.qa]\nevidence = [\"tests\"]\n\n[checks.staged-rollout]\nconfig-changes-require = []\n";
    for (extends, code) in [("default", 0), ("strict", 1)] {
        let repo = TestRepo::with_files(&[("gate.toml", &format!("extends = [\"{extends}\"]\n{policy}"))]);
        repo.write("reports/junit.xml", "<testsuite name='s'><testcase name='ok'/></testsuite>\n");
        repo.gate(&["evidence", "add", "tests", "--junit", "reports/junit.xml"]).expect(0);
        let run = repo.gate(&["check", "--env", "qa"]).expect(code);
        if code == 0 {
            run.stdout_has("note: evidence is not signed: the `tests` records of this tree could have been written by anyone who can push refs/notes/gate");
        } else {
            run.stdout_has("deny   qa requires passing tests, and none are recorded for the release tree").stdout_has(
                "does not count: it is not signed, and the deployed policy requires signed `tests` evidence",
            );
        }
    }
}

#[test]
fn where_deploys_must_be_signed_an_unsigned_last_deploy_is_no_base() {
    let probe = TestRepo::new();
    if !have_ssh_keygen("where_deploys_must_be_signed_an_unsigned_last_deploy_is_no_base") {
        return;
    }
    let (ci, ci_pub) = keygen(&probe, "ci", "ed25519");
    let policy = "[trust]\nallowed-signers = \".gate/allowed_signers\"\nrequire-signed = [\"deploy\"]\n";
    let repo = TestRepo::with_files(&[
        ("gate.toml", policy),
        (".gate/allowed_signers", &format!("ci@example.com {ci_pub}\n")),
        ("README", "app\n"),
    ]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("README", "v2\n");
    repo.commit("v2");
    staging(&repo).expect(1).stdout_has("deny   the last deploy of staging (").stdout_has(
        "has no signed deploy record: its ledger entry could have been written by anyone who can push refs/gate",
    );
    repo.gate(&["record", "--env", "staging", "--key", &key_arg(&ci), "--force", "--reason", "first signed deploy"])
        .expect(0);
    repo.write("README", "v3\n");
    repo.commit("v3");
    staging(&repo).expect(0);
}

#[test]
fn a_release_cannot_lower_the_quorum_that_approves_it() {
    let repo = TestRepo::with_files(&[("gate.toml", "[environments.staging]\napprovals = 2\n"), ("README", "app\n")]);
    repo.gate(&["record", "--env", "staging"]).expect(0);
    repo.write("gate.toml", "[environments.staging]\napprovals = 1\n");
    repo.commit("one approver is enough");
    let approve_as = |name: &str| {
        let email = format!("{name}@example.com");
        let env = [("GIT_COMMITTER_NAME", name), ("GIT_COMMITTER_EMAIL", email.as_str())];
        let args = ["evidence", "add", "approval", "--for", "policy-change", "--detail", "reviewed"];
        repo.gate_in(repo.path(), &args, &env).expect(0);
    };
    approve_as("alice");
    staging(&repo).expect(1).stdout_has("deny   gate.toml: the release changes the gate policy");
    approve_as("bob");
    staging(&repo).expect(0).stdout_has("waived gate.toml: the release changes the gate policy");
}

#[test]
fn a_key_held_by_ssh_agent_signs_through_ssh_keygen() {
    let probe = TestRepo::new();
    let have_agent = Command::new("ssh-agent").arg("-h").stderr(Stdio::null()).status().is_ok();
    if !have_ssh_keygen("a_key_held_by_ssh_agent_signs_through_ssh_keygen") || !have_agent {
        eprintln!("SKIPPED a_key_held_by_ssh_agent_signs_through_ssh_keygen: ssh-agent is not installed");
        return;
    }
    let (alice, alice_pub) = keygen(&probe, "alice", "ed25519");
    let repo = signed_policy_repo(&[("alice@example.com", &alice_pub)]);
    let socket = repo.sibling("agent.sock");
    let mut agent = Command::new("ssh-agent").arg("-D").arg("-a").arg(&socket).stdout(Stdio::null()).spawn().unwrap();
    for _ in 0..100 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let added = Command::new("ssh-add").arg(&alice).env("SSH_AUTH_SOCK", &socket).stderr(Stdio::null()).status();
    // The private key is gone: only the agent can sign now.
    std::fs::remove_file(&alice).unwrap();
    repo.git(&["config", "user.signingKey", &format!("key::{alice_pub}")]);
    let run = repo.gate_in(
        repo.path(),
        &["evidence", "add", "approval", "--for", "policy-change", "--detail", "signed by the agent", "--sign"],
        &[("SSH_AUTH_SOCK", socket.to_str().unwrap())],
    );
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(added.unwrap().success(), "ssh-add failed");
    run.expect(0).stdout_has("(signed)");
    staging(&repo).expect(0).stdout_has("approved by alice@example.com (signed): signed by the agent");
}
