//! gate's integration tests: real repositories, the real binary, what the user sees.

#![allow(clippy::unwrap_used)]

mod support;

mod backtest;
mod check;
mod config;
mod config_audit;
mod config_precision;
mod copies;
mod coverage;
mod dependencies;
mod deploy;
mod discovery;
mod evidence;
mod formats;
mod freeze;
mod hooks;
mod junit;
mod ledger;
mod policy_commands;
mod project;
mod regressions;
mod risky;
mod rollback;
mod rollout;
mod sync;
mod trust;
mod variants;
