//! The release's dependency changes, read once for every check that asks: each changed
//! manifest and lockfile read on both sides and diffed (`audit::lockfiles`), and the container
//! images that changed Dockerfiles, compose files and Kubernetes manifests name.
//! `dependency-change` lists them; `staged-rollout` requires staging only when what ships
//! changes, never for development and test dependencies alone.
//!
//! go.sum only checksums what go.mod requires: when the go.mod beside it changed too, go.sum is
//! not read again, so each version change is listed once.

use crate::Result;
use crate::analysis::memo;
use crate::audit::lockfiles::{self, DependencyDiff, Packages, ReadError, images};
use crate::config::Policy;
use crate::git::{BlobStore, ChangeSet, Codec, ContentKind, Mode, Side, dir_name, file_name};

/// Manifests larger than this are not read.
const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Files read for image names larger than this are not read (no manifest comes close).
const MAX_IMAGE_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// What reading one changed dependency file gave.
#[derive(Debug, Clone)]
pub enum Read {
    /// gate does not know the format.
    NotUnderstood(String),
    /// The format is known but the file does not parse.
    Unreadable(String),
    /// What changed (possibly nothing).
    Diff(DependencyDiff),
}

/// One changed file that names dependencies.
#[derive(Debug, Clone)]
pub struct ManifestChange {
    pub path: String,
    pub read: Read,
    /// Container images (Dockerfiles, compose files, manifests) rather than packages.
    pub images: bool,
}

impl ManifestChange {
    /// Whether the change touches what ships: a package that is not only a development or test
    /// dependency, or an image. A file gate could not read counts, failing closed.
    pub fn touches_runtime(&self) -> bool {
        match &self.read {
            Read::NotUnderstood(_) | Read::Unreadable(_) => true,
            Read::Diff(diff) => !diff.part(false).is_empty(),
        }
    }
}

/// The packages a manifest or lockfile names, as the blob cache keeps them. Packages the format
/// cannot hold (a name past 64 KiB) are kept as an empty record, which never decodes: that blob
/// is read again on every run.
const PACKAGES: Codec<Packages> = Codec { encode: |p| p.encode().unwrap_or_default(), decode: Packages::decode };

/// Reads every changed manifest, lockfile and image-naming file of the release.
pub fn read(policy: &Policy, changes: &ChangeSet, store: &BlobStore<'_>) -> Result<Vec<ManifestChange>> {
    let paths = &policy.paths;
    let mut found = Vec::new();
    for change in changes.iter() {
        if paths.ignore.matches(&change.path) {
            continue;
        }
        let old_path = change.old_path.as_deref().unwrap_or(&change.path);
        if paths.manifests.matches(&change.path) {
            let dev_file = lockfiles::dev_only_file(&change.path);
            let read_side =
                |side: Option<&Side>, path: &str| -> Result<Option<std::result::Result<Packages, ReadError>>> {
                    let Some(side) = file_side(side) else { return Ok(None) };
                    if side.size > MAX_BYTES {
                        return Ok(Some(Err(ReadError::Invalid(format!("{} bytes, too large to read", side.size)))));
                    }
                    // Read once per blob and path, and kept: a release range's lockfile is
                    // read on every run of it otherwise.
                    let key = memo::fingerprint("packages", &[path.as_bytes(), &[u8::from(dev_file)]]);
                    if let Some(packages) = store.kept(side.id, key, &PACKAGES) {
                        return Ok(Some(Ok(packages)));
                    }
                    let content = store.content(side.id)?;
                    let mut read = lockfiles::read(path, &String::from_utf8_lossy(&content));
                    if let (Ok(packages), true) = (&mut read, dev_file) {
                        packages.all_dev();
                    }
                    if let Ok(packages) = &read {
                        store.keep(side.id, key, &PACKAGES, packages);
                    }
                    Ok(Some(read))
                };
            let new = read_side(change.new.as_ref(), &change.path)?;
            let old = read_side(change.old.as_ref(), old_path)?;
            let read = match (old, new) {
                (_, Some(Err(ReadError::NotUnderstood(why)))) | (Some(Err(ReadError::NotUnderstood(why))), None) => {
                    Read::NotUnderstood(why)
                }
                (_, Some(Err(ReadError::Invalid(why)))) => Read::Unreadable(why),
                (old, new) => {
                    let old = old.and_then(|o| o.ok()).unwrap_or_default();
                    let new = new.and_then(|n| n.ok()).unwrap_or_default();
                    Read::Diff(lockfiles::diff(&old, &new))
                }
            };
            found.push(ManifestChange { path: change.path.clone(), read, images: false });
        } else if images::may_name_images(&change.path) && super::coverage::deployable(policy, &change.path) {
            let read_side = |side: Option<&Side>| -> Result<Option<Packages>> {
                let Some(side) = file_side(side).filter(|s| s.size <= MAX_IMAGE_FILE_BYTES) else { return Ok(None) };
                if store.facts(side.id)?.kind != ContentKind::Text {
                    return Ok(None);
                }
                Ok(images::read(&change.path, &String::from_utf8_lossy(&store.content(side.id)?)))
            };
            let (old, new) = (read_side(change.old.as_ref())?, read_side(change.new.as_ref())?);
            if old.is_none() && new.is_none() {
                continue;
            }
            let diff = lockfiles::diff(&old.unwrap_or_default(), &new.unwrap_or_default());
            found.push(ManifestChange { path: change.path.clone(), read: Read::Diff(diff), images: true });
        }
    }
    // go.sum says again what the go.mod beside it says.
    let go_mods: Vec<String> = found
        .iter()
        .filter(|m| file_name(&m.path) == "go.mod" && matches!(m.read, Read::Diff(_)))
        .map(|m| dir_name(&m.path).to_string())
        .collect();
    found.retain(|m| !(file_name(&m.path) == "go.sum" && go_mods.iter().any(|dir| dir == dir_name(&m.path))));
    Ok(found)
}

fn file_side(side: Option<&Side>) -> Option<&Side> {
    side.filter(|s| matches!(s.mode, Mode::File | Mode::Executable))
}
