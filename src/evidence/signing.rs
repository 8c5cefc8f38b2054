//! Signed evidence, the way git signs with SSH keys: an SSHSIG signature (namespace `gate`) over
//! a record's payload, checked against an `allowed_signers` file in ssh-keygen's format.
//!
//! Verification is in-process (the `ssh-key` crate). Signing is in-process for an unencrypted
//! Ed25519 or ECDSA private key; for anything else (a passphrase, a key held by ssh-agent, an
//! RSA key) gate runs `ssh-keygen -Y sign`, or the program git config `gpg.ssh.program` names,
//! exactly as `git commit -S` does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use jiff::Timestamp;
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig, public::KeyData};

use crate::{Error, Result};

/// The SSHSIG namespace of gate's signatures: a signature made for git (`git`) or a file
/// (`file`) never verifies as evidence.
pub const NAMESPACE: &str = "gate";

/// One line of an allowed_signers file.
#[derive(Debug, Clone)]
struct Entry {
    /// Principal patterns (`alice@example.com`, `*@example.com`).
    principals: Vec<String>,
    /// `namespaces="..."`: the namespaces this key may sign in; none means any.
    namespaces: Option<Vec<String>>,
    valid_after: Option<Timestamp>,
    valid_before: Option<Timestamp>,
    key: KeyData,
}

/// The keys allowed to sign, and whose they are (ssh-keygen's ALLOWED SIGNERS format).
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    entries: Vec<Entry>,
}

impl AllowedSigners {
    /// Parses the file. `cert-authority` lines are skipped (gate verifies plain keys, not
    /// certificates); any other line gate cannot read is an error naming it.
    pub fn parse(text: &str) -> std::result::Result<AllowedSigners, String> {
        let mut entries = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |why: &str| format!("line {}: {why}", index + 1);
            let fields = split_fields(line);
            let mut fields = fields.iter().map(String::as_str);
            let principals = fields.next().ok_or_else(|| fail("no principals"))?;
            let mut next = fields.next().ok_or_else(|| fail("no key"))?;
            let principals: Vec<String> = principals.trim_matches('"').split(',').map(str::to_string).collect();
            let (mut namespaces, mut valid_after, mut valid_before, mut authority) = (None, None, None, false);
            if !is_key_type(next) {
                for option in split_options(next) {
                    let (name, value) = option.split_once('=').unwrap_or((option.as_str(), ""));
                    let value = value.trim_matches('"');
                    match name.to_ascii_lowercase().as_str() {
                        "cert-authority" => authority = true,
                        "namespaces" => namespaces = Some(value.split(',').map(str::to_string).collect()),
                        "valid-after" => valid_after = Some(parse_validity(value).map_err(|e| fail(&e))?),
                        "valid-before" => valid_before = Some(parse_validity(value).map_err(|e| fail(&e))?),
                        other => return Err(fail(&format!("unknown option `{other}`"))),
                    }
                }
                next = fields.next().ok_or_else(|| fail("no key"))?;
            }
            let blob = fields.next().ok_or_else(|| fail("the key has no base64 part"))?;
            let key = PublicKey::from_openssh(&format!("{next} {blob}"))
                .map_err(|err| fail(&format!("its `{next}` key does not parse ({err})")))?;
            if !authority {
                let key = key.key_data().clone();
                entries.push(Entry { principals, namespaces, valid_after, valid_before, key });
            }
        }
        Ok(AllowedSigners { entries })
    }

    /// The principal patterns allowed to sign in gate's namespace with `key` at `at`.
    fn principals(&self, key: &KeyData, at: Timestamp) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| &e.key == key)
            .filter(|e| e.namespaces.as_ref().is_none_or(|ns| ns.iter().any(|n| wildcard(n, NAMESPACE))))
            .filter(|e| e.valid_after.is_none_or(|t| at >= t) && e.valid_before.is_none_or(|t| at <= t))
            .flat_map(|e| e.principals.iter().map(String::as_str))
            .collect()
    }
}

/// What a signature says about a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// It verifies, and the allowed signers name the key: the principal patterns of its lines.
    Signer { principals: Vec<String>, fingerprint: String },
    /// It verifies, but no allowed signer has that key (or not for gate, or not at that time).
    UnknownKey { fingerprint: String },
    /// It does not verify: the record was changed after it was signed, or the signature is
    /// not an SSHSIG signature in gate's namespace.
    Bad(String),
}

/// Verifies `armored` over `payload`; `allowed` names the keys.
pub fn verify(armored: &str, payload: &[u8], allowed: Option<&AllowedSigners>, at: Timestamp) -> Verified {
    let sig = match SshSig::from_pem(armored) {
        Ok(sig) => sig,
        Err(err) => return Verified::Bad(format!("the signature does not parse ({err})")),
    };
    if sig.namespace() != NAMESPACE {
        return Verified::Bad(format!("it was signed for namespace `{}`, not `{NAMESPACE}`", sig.namespace()));
    }
    let key = PublicKey::from(sig.public_key().clone());
    if let Err(err) = key.verify(NAMESPACE, payload, &sig) {
        return Verified::Bad(format!("the signature does not match the record ({err})"));
    }
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    let principals: Vec<String> = allowed
        .map(|a| a.principals(sig.public_key(), at))
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    if principals.is_empty() {
        Verified::UnknownKey { fingerprint }
    } else {
        Verified::Signer { principals, fingerprint }
    }
}

/// Whether `name` matches a principal pattern of ssh's kind (`*` and `?`).
pub fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

fn is_key_type(field: &str) -> bool {
    field.starts_with("ssh-") || field.starts_with("ecdsa-sha2-") || field.starts_with("sk-")
}

/// Splits a line at spaces outside double quotes.
fn split_fields(line: &str) -> Vec<String> {
    let (mut fields, mut current, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ' ' | '\t' if !quoted => {
                if !current.is_empty() {
                    fields.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        fields.push(current);
    }
    fields
}

/// Splits an options field at commas outside double quotes.
fn split_options(field: &str) -> Vec<String> {
    let (mut options, mut current, mut quoted) = (Vec::new(), String::new(), false);
    for c in field.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => options.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    options.push(current);
    options
}

/// `YYYYMMDD[HHMM[SS]][Z]`, as allowed_signers writes validity times (UTC here).
fn parse_validity(text: &str) -> std::result::Result<Timestamp, String> {
    let digits = text.trim_end_matches(['Z', 'z']);
    let bad = || format!("`{text}` is not a time (YYYYMMDD[HHMM[SS]])");
    if !digits.chars().all(|c| c.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return Err(bad());
    }
    let part = |range: std::ops::Range<usize>| digits.get(range).and_then(|s| s.parse::<i16>().ok()).unwrap_or(0);
    let date = jiff::civil::Date::new(part(0..4), part(4..6) as i8, part(6..8) as i8).map_err(|_| bad())?;
    let time =
        jiff::civil::Time::new(part(8..10) as i8, part(10..12) as i8, part(12..14) as i8, 0).map_err(|_| bad())?;
    date.to_datetime(time).to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).map_err(|_| bad())
}

/// The key to sign with: a file (private key, or public key whose private half ssh-agent
/// holds), or a literal `key::ssh-ed25519 AAAA...` as git's `user.signingKey` allows.
#[derive(Debug, Clone)]
pub enum KeySource {
    File(PathBuf),
    Literal(String),
}

impl KeySource {
    /// From `--key`, git config `gate.signingKey` or `user.signingKey` (a leading `~/` is the
    /// home directory).
    pub fn from_setting(value: &str) -> KeySource {
        if let Some(literal) = value.strip_prefix("key::") {
            return KeySource::Literal(literal.trim().to_string());
        }
        if let (Some(rest), Some(home)) = (value.strip_prefix("~/"), std::env::var_os("HOME")) {
            return KeySource::File(Path::new(&home).join(rest));
        }
        KeySource::File(PathBuf::from(value))
    }
}

/// Signs `payload` with the key, returning the armored signature. `program` is what runs
/// `-Y sign` when gate does not sign in-process (`ssh-keygen` unless git config says otherwise).
pub fn sign(key: &KeySource, payload: &[u8], program: &str) -> Result<String> {
    if let KeySource::File(path) = key {
        let text = std::fs::read_to_string(path).map_err(|err| {
            Error::with_fix(
                format!("cannot read the signing key {}: {err}", path.display()),
                "pass --key FILE, or set git config gate.signingKey",
            )
        })?;
        if text.contains("PRIVATE KEY-----") {
            let private = PrivateKey::from_openssh(&text).map_err(|err| {
                Error::with_fix(
                    format!("{} is not an OpenSSH private key gate can read ({err})", path.display()),
                    "use a key made by ssh-keygen (ed25519 recommended)",
                )
            })?;
            let in_process = !private.is_encrypted() && !matches!(private.algorithm(), ssh_key::Algorithm::Rsa { .. });
            if in_process {
                let sig = private
                    .sign(NAMESPACE, HashAlg::Sha512, payload)
                    .map_err(|err| Error::new(format!("cannot sign with {}: {err}", path.display())))?;
                return sig
                    .to_pem(LineEnding::LF)
                    .map_err(|err| Error::new(format!("cannot encode the signature: {err}")));
            }
        }
        return external(program, path, payload);
    }
    let KeySource::Literal(public) = key else { unreachable!("files are handled above") };
    // A fresh private directory (never one that already exists), so nobody can swap the key.
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce).map_err(|err| Error::new(format!("no randomness for a temporary file: {err}")))?;
    let suffix: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("gate-sign-{}-{suffix}", std::process::id()));
    private_dir(&dir).map_err(|err| Error::io("cannot write the public key for ssh-keygen", &err))?;
    let file = dir.join("key.pub");
    let written = std::fs::write(&file, format!("{public}\n"));
    let result = written
        .map_err(|err| Error::io("cannot write the public key for ssh-keygen", &err))
        .and_then(|()| external(program, &file, payload));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir(dir)
}

/// Runs `PROGRAM -Y sign -n gate -f KEY` with the payload on standard input.
fn external(program: &str, key: &Path, payload: &[u8]) -> Result<String> {
    let mut child = Command::new(program)
        .args(["-Y", "sign", "-n", NAMESPACE, "-f"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| {
            Error::with_fix(
                format!("cannot run `{program}` to sign with {}: {err}", key.display()),
                "install OpenSSH's ssh-keygen, or set git config gpg.ssh.program",
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(payload).map_err(|err| Error::io(format!("cannot pass the record to {program}"), &err))?;
    }
    let output = child.wait_with_output().map_err(|err| Error::io(format!("{program} failed"), &err))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() || !text.contains("BEGIN SSH SIGNATURE") {
        let why = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(Error::with_fix(
            format!("`{program} -Y sign` could not sign with {}: {why}", key.display()),
            "check the key (and that ssh-agent holds it if it is a public key); nothing was recorded",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_patterns_match_like_ssh() {
        assert!(wildcard("*@example.com", "alice@example.com"));
        assert!(wildcard("al?ce@example.com", "ALICE@example.com"));
        assert!(!wildcard("*@example.com", "alice@example.org"));
    }

    #[test]
    fn allowed_signers_lines_with_options_parse() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF7Onfj0jMSIxmwtkfE6OINgTdArGlrhd/sAsgMRL0Te";
        let text = format!(
            "# team\nalice@example.com,a@corp namespaces=\"git,gate\",valid-after=\"20260101\" {key} laptop\nca@example.com cert-authority {key}\n"
        );
        let signers = AllowedSigners::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signers.entries.len(), 1);
        assert_eq!(signers.entries[0].principals, ["alice@example.com", "a@corp"]);
        assert!(AllowedSigners::parse("bob@example.com ssh-ed25519 notbase64").is_err());
        assert!(parse_validity("20261231").is_ok() && parse_validity("2026").is_err());
    }
}
