//! What a release changes in configuration, dependencies and code, read closely: configuration
//! files parsed into key paths (`document`), addresses checked for the mistakes behind
//! incident 003 (`address`), dependency manifests and lockfiles read into packages
//! (`lockfiles`), risky patterns in added lines (`patterns`), and what of a line is code rather
//! than comment (`comments`), and how a Helm chart's templates use a value (`helm`).

pub mod address;
pub mod comments;
pub mod document;
pub mod helm;
pub mod keys;
pub mod lockfiles;
pub mod patterns;
pub mod secrets;
