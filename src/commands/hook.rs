//! Placeholder: `gate hook`, written by a helper.

use std::path::Path;

use super::{Io, Outcome};
use crate::cli::{HookInstallArgs, PreCommitArgs, PrePushArgs};
use crate::{Error, Result};

pub fn install(_args: &HookInstallArgs, _io: &mut Io<'_>) -> Result<Outcome> {
    Err(Error::new("gate hook install is not written yet"))
}

pub fn uninstall(_io: &mut Io<'_>) -> Result<Outcome> {
    Err(Error::new("gate hook uninstall is not written yet"))
}

pub fn pre_push(_args: &PrePushArgs, _config: Option<&Path>, _io: &mut Io<'_>) -> Result<Outcome> {
    Err(Error::new("gate hook pre-push is not written yet"))
}

pub fn pre_commit(_args: &PreCommitArgs, _config: Option<&Path>, _io: &mut Io<'_>) -> Result<Outcome> {
    Err(Error::new("gate hook pre-commit is not written yet"))
}
