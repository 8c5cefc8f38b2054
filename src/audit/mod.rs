//! What a release changes in configuration, dependencies and code, read closely: configuration
//! files parsed into key paths (`document`), addresses checked for the mistakes behind
//! incident 003 (`address`), dependency manifests and lockfiles read into packages
//! (`lockfiles`), and risky patterns in added lines (`patterns`).

pub mod address;
pub mod document;
pub mod keys;
pub mod lockfiles;
pub mod patterns;
pub mod secrets;
