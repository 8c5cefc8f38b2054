//! Where each environment's deploys come from, and what they say about the release: the bridge
//! between the policy's environments and the ledger, which knows nothing of the policy.

use crate::config::Environment;
use crate::git::ledger::{Tags, Target};

/// Where the deploys of `env` are read from: its ledger ref, or its deploy tags.
pub fn target(env: &Environment) -> Target<'_> {
    Target {
        name: &env.name,
        tags: env.deploy_tags.as_ref().map(|tags| Tags { pattern: &tags.pattern, matcher: &tags.matcher }),
    }
}
