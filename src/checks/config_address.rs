//! `config-address`: addresses in changed configuration are usable.
//!
//! Incident 003: a config push carried an invalid address for the authentication servers; the
//! auth library blocked resolving it, every serving thread hung, and the site went down. Values
//! under address-like keys (host, url, endpoint, issuer, dsn, ...) that the release adds or
//! changes are checked: they parse, have the right shape (a URL where a URL is expected, a bare
//! host where a host is), hold no placeholder, no loopback or private address in production, and
//! a new value one or two edits from the old one is called out as a possible typo.

use std::collections::HashMap;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output};
use crate::Result;
use crate::audit::address::{self, Expect};
use crate::audit::document::KeyChange;
use crate::audit::keys::KeyPatterns;
use crate::config::Severity;
use crate::config::{Problem, Settings};

pub struct ConfigAddress;

const ID: &str = "config-address";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct AddressSettings {
    /// Globs over the last word of a key (`ldap_host`, `ldapHost`, `ldap-host` -> `host`) whose
    /// values must be URLs.
    url_keys: Vec<String>,
    /// ... must be host names or IP addresses, with an optional port.
    host_keys: Vec<String>,
    /// ... must be port numbers.
    port_keys: Vec<String>,
    /// Globs over whole key paths (case-insensitive, `*` crossing dots) never checked:
    /// `user.email_address` is not a network address.
    skip_keys: Vec<String>,
    /// Environments where loopback and private addresses are findings.
    forbid_private_in: Vec<String>,
}

impl Settings for AddressSettings {
    fn problems(&self) -> Vec<Problem> {
        [&self.url_keys, &self.host_keys, &self.port_keys, &self.skip_keys]
            .into_iter()
            .flatten()
            .filter_map(|g| {
                key_glob(g).err().map(|e| Problem::new(None, format!("invalid key glob `{g}`: {}", e.kind())))
            })
            .collect()
    }
}

fn key_glob(pattern: &str) -> std::result::Result<globset::Glob, globset::Error> {
    GlobBuilder::new(pattern).case_insensitive(true).build()
}

fn set(patterns: &[String]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for glob in patterns.iter().filter_map(|p| key_glob(p).ok()) {
        builder.add(glob);
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

static DOC: Doc = Doc {
    codes: &[
        "placeholder",
        "missing-scheme",
        "missing-slashes",
        "invalid-url",
        "space-in-url",
        "unencoded-password",
        "url-as-host",
        "several-hosts",
        "invalid-port",
        "empty-host",
        "invalid-ipv4",
        "invalid-ipv6",
        "invalid-host-name",
        "private-address",
        "issuer-trailing-slash",
        "typo",
    ],
    summary: "A value the release adds or changes under an address-like key (host, url, endpoint, issuer, dsn, ...) \
              is malformed, a placeholder, the wrong shape, private in production, or one typo away from the old value.",
    why: "Incident 003: a config push carried an invalid address for the authentication servers. The auth library \
          blocked trying to resolve it, every serving thread hung, and the rollback was rejected. The mistakes \
          behind such outages are small: a missing `//`, a scheme in a host field, a password with `/` in a DSN, \
          a trailing slash on an OIDC issuer, `ldap.crop` for `ldap.corp`.",
    example: "config-address  deny\n  config/auth.yaml:3:11: auth.ldap.host = \"ldap.crop:389\": `ldap.crop:389` is one edit away from the old value `ldap.corp:389`: a typo?\n    \
              help: check the value against the server's real address",
    config: "# Files of the `config` class (see `[paths]`); files that .gitattributes marks linguist-generated,\n# linguist-vendored or linguist-documentation are never analysed.\n[checks.config-address]\nseverity  = \"deny\"\nurl-keys  = [\"url\", \"uri\", \"endpoint\", \"issuer\", \"dsn\", \"proxy\"]\n\
             host-keys = [\"host\", \"hostname\", \"server\", \"address\"]\nport-keys = [\"port\"]\nskip-keys = [\"*email*\"]\nforbid-private-in = [\"production\"]",
};

impl Check for ConfigAddress {
    type Settings = AddressSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, settings: &AddressSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let (urls, hosts, ports) = (set(&settings.url_keys), set(&settings.host_keys), set(&settings.port_keys));
        let skip = KeyPatterns::new(&settings.skip_keys).unwrap_or_else(|_| KeyPatterns::empty());
        let environment = cx.target()?.map(|env| env.name.clone());
        let context = address::Context {
            forbid_private: environment.as_ref().is_some_and(|env| settings.forbid_private_in.contains(env)),
            environment,
        };
        for file in cx.analysis.config_files()?.iter().filter(|f| f.describes.is_none()) {
            let expect = |key: &str| {
                let word = last_word(&leaf_name(key));
                let expect = if urls.is_match(&word) {
                    Expect::Url
                } else if hosts.is_match(&word) {
                    Expect::Host
                } else if ports.is_match(&word) {
                    Expect::Port
                } else {
                    return None;
                };
                Some((word, expect))
            };
            // The deployed file's values, read only to tell a placeholder it already had.
            let mut old_texts: Option<Vec<&str>> = None;
            // Looked up by key: a search of the changes for every entry made a file of 50,000
            // keys take 10 s.
            let mut changed: Option<HashMap<&str, &KeyChange>> = None;
            // Whether the deployed file already carried a placeholder, by mark.
            let mut deployed_marks: HashMap<String, bool> = HashMap::new();
            // Only the values the release changes are judged, keyed as the diff keys them (list
            // items by identity).
            for entry in file.changed_entries() {
                let Some((word, expect)) = expect(&entry.key) else { continue };
                let changed = changed.get_or_insert_with(|| {
                    let mut changed = HashMap::new();
                    for change in file.changes.iter().filter(|c| c.new.is_some()) {
                        changed.entry(change.key.as_str()).or_insert(change);
                    }
                    changed
                });
                let Some(change) = changed.get(entry.key.as_str()) else {
                    continue;
                };
                if skip.is_match(&entry.key) {
                    continue;
                }
                // Addresses are strings; a port may be written as a number.
                let Some(value) = entry.text.clone().or_else(|| (expect == Expect::Port).then(|| entry.value.clone()))
                else {
                    continue;
                };
                let old = change.old.as_deref().map(unquote);
                let name = format!("{}.{}", entry.key, leaf_name(&entry.key)).to_lowercase();
                let mut problems = address::check(expect, &name, old.as_deref(), &value, &context);
                if word == "issuer" {
                    problems.extend(address::check_issuer(old.as_deref(), &value));
                }
                // A placeholder the deployed file already carried (an example compose file's
                // `example.com`) is not one the release brings.
                if problems.iter().any(|p| p.code == "placeholder")
                    && let Some(mark) = address::placeholder_mark(&value)
                {
                    let old_texts = match &mut old_texts {
                        Some(texts) => texts,
                        None => old_texts.insert(match file.deployed_entries(cx.analysis.store)? {
                            Some(entries) => entries.iter().map(|e| e.text.as_deref().unwrap_or(&e.value)).collect(),
                            None => Vec::new(),
                        }),
                    };
                    let had = |mark: &String| old_texts.iter().any(|t| t.to_lowercase().contains(mark.as_str()));
                    if *deployed_marks.entry(mark).or_insert_with_key(had) {
                        problems.retain(|p| p.code != "placeholder");
                    }
                }
                // A value the environment ran before is a return to it (a rollback of a typo
                // reads as the typo today), not a slip.
                if problems.iter().any(|p| p.code == "typo")
                    && cx.analysis.value_deployed_before(&file.path, &entry.key, &value)?
                {
                    problems.retain(|p| p.code != "typo");
                }
                for problem in problems {
                    out.findings.push(
                        Finding::new(
                            ID,
                            problem.code,
                            severity,
                            format!("{} = {}: {}", entry.key, entry.value, problem.message),
                            problem.help,
                        )
                        .at(&file.path)
                        .about(&entry.key)
                        .at_line(entry.line, entry.col),
                    );
                }
            }
        }
        Ok(())
    }
}

/// The last component of a key path, without array indexes or quotes:
/// `auth.ldap.servers[0]` -> `servers`.
fn leaf_name(key: &str) -> String {
    // List items end in `[0]`, or once matched by identity, `[name=ldap]` / `[=ldap.corp]`.
    let mut key = key;
    while key.ends_with(']')
        && let Some(open) = key.rfind('[')
    {
        key = &key[..open];
    }
    let last = match key.strip_suffix('"') {
        // A quoted component keeps its dots: `"ldap.host"`.
        Some(inner) => inner.rsplit('"').next().unwrap_or(inner),
        None => key.rsplit('.').next().unwrap_or(key),
    };
    let last = last.split('[').next().unwrap_or(last);
    last.trim_matches('"').to_string()
}

/// The last word of a key, lower-cased, however the words are joined: `ldap_host`,
/// `ldap-host`, `ldapHost` and `LDAP_HOST` all end in `host`; `TY_MEMORY_REPORT` ends in
/// `report`, not `port`.
fn last_word(leaf: &str) -> String {
    let mut start = 0;
    let chars: Vec<(usize, char)> = leaf.char_indices().collect();
    for window in chars.windows(2) {
        let ((_, a), (j, b)) = (window[0], window[1]);
        if matches!(b, '_' | '-' | '.' | ' ') {
            start = j + 1;
        } else if a.is_lowercase() && b.is_uppercase() {
            start = j;
        }
    }
    leaf[start.min(leaf.len())..].to_lowercase()
}

/// A displayed value back to its text: `"ldap.corp"` -> `ldap.corp`.
fn unquote(shown: &str) -> String {
    shown
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map_or_else(|| shown.to_string(), |s| s.replace("\\\"", "\"").replace("\\\\", "\\"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_names_drop_indexes_and_quotes() {
        assert_eq!(leaf_name("auth.ldap.servers[0]"), "servers");
        assert_eq!(leaf_name("auth.ldap.servers[=ldap.corp:389]"), "servers");
        assert_eq!(leaf_name("services[name=web].ports[=8080]"), "ports");
        assert_eq!(leaf_name("\"ldap.host\""), "ldap.host");
        assert_eq!(leaf_name("OIDC_ISSUER"), "OIDC_ISSUER");
    }

    #[test]
    fn keys_are_judged_by_their_last_word() {
        for (leaf, word) in [
            ("ldap_host", "host"),
            ("ldapHost", "host"),
            ("LDAP_HOST", "host"),
            ("ldap-host", "host"),
            ("ldap.host", "host"),
            ("TY_MEMORY_REPORT", "report"),
            ("redirect_uris", "uris"),
            ("host", "host"),
        ] {
            assert_eq!(last_word(leaf), word, "{leaf}");
        }
    }
}
