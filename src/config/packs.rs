//! The built-in rule packs: the TOML files in `rules/`, embedded in the binary.
//!
//! They are ordinary policy files, readable as examples, and `extends = ["NAME"]` layers them
//! under a repository's own gate.toml. A test parses every one of them.

/// Every built-in pack: its name (as written in `extends`) and its text.
pub static BUILTIN_PACKS: &[(&str, &str)] =
    &[("default", include_str!("../../rules/default.toml")), ("strict", include_str!("../../rules/strict.toml"))];

/// The text of the built-in pack `name`.
pub fn builtin_pack(name: &str) -> Option<&'static str> {
    BUILTIN_PACKS.iter().find(|(pack, _)| *pack == name).map(|(_, text)| *text)
}
