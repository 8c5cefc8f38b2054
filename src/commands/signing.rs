//! Signing the records a command writes: `--sign`, `--key FILE`, or git config `gate.sign`,
//! with the key from `--key`, `gate.signingKey` or `user.signingKey` (as git finds its SSH
//! signing key).

use crate::cli::SigningArgs;
use crate::evidence::Record;
use crate::evidence::signing::{self, KeySource};
use crate::git::Repo;
use crate::{Error, Result};

/// Signs `record` when asked to (it must not be signed yet): its signature covers every field.
pub fn sign_if_asked(repo: &Repo, args: &SigningArgs, record: &mut Record) -> Result<()> {
    let config = repo.git.config().ok();
    let string = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok()).filter(|v| !v.trim().is_empty());
    let by_default = config.as_ref().and_then(|c| c.get_bool("gate.sign").ok()).unwrap_or(false);
    if !(args.sign || args.key.is_some() || by_default) {
        return Ok(());
    }
    let key = match &args.key {
        Some(path) => KeySource::File(path.clone()),
        None => {
            let setting = string("gate.signingKey").or_else(|| string("user.signingKey")).ok_or_else(|| {
                Error::with_fix(
                    "asked to sign, but no signing key is set",
                    "pass --key FILE, or set one: git config gate.signingKey ~/.ssh/id_ed25519",
                )
            })?;
            KeySource::from_setting(&setting)
        }
    };
    let program = string("gpg.ssh.program").unwrap_or_else(|| "ssh-keygen".to_string());
    record.signature = None;
    let payload = record.signing_payload();
    record.signature = Some(signing::sign(&key, payload.as_bytes(), &program)?);
    Ok(())
}
