//! Key patterns for configuration keys: `auth.*`, `*.timeout`, and word patterns like
//! `*token*` that match whole words of a key, however the key joins them (`api_token`,
//! `apiToken`, `API-TOKEN`, `tokens`) and never part of a word (`TOKENIZATION_ENGINE_PORT`).

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A compiled list of key patterns.
#[derive(Debug, Clone)]
pub struct KeyPatterns {
    /// Patterns with structure (`auth.*`, `*.timeout`): globs over the whole key, case-insensitive,
    /// `*` crossing dots.
    globs: GlobSet,
    /// `*word*` and `*two_words*` patterns: their words, lower-case, joined (`privatekey`).
    words: Vec<String>,
}

impl KeyPatterns {
    /// Compiles `patterns`; the error names the first pattern that does not compile.
    pub fn new(patterns: &[String]) -> Result<KeyPatterns, (String, globset::Error)> {
        let mut globs = GlobSetBuilder::new();
        let mut words = Vec::new();
        for pattern in patterns {
            match word_pattern(pattern) {
                Some(parts) => words.push(parts.concat()),
                None => {
                    let glob = GlobBuilder::new(pattern)
                        .case_insensitive(true)
                        .literal_separator(false)
                        .build()
                        .map_err(|e| (pattern.clone(), e))?;
                    globs.add(glob);
                }
            }
        }
        let globs = globs.build().map_err(|e| (patterns.join(", "), e))?;
        Ok(KeyPatterns { globs, words })
    }

    pub fn empty() -> KeyPatterns {
        KeyPatterns { globs: GlobSet::empty(), words: Vec::new() }
    }

    /// Whether `key` (a dotted key path, quotes allowed) matches a pattern.
    pub fn is_match(&self, key: &str) -> bool {
        let key = without_item_labels(key.trim_matches('"'));
        let key = key.as_str();
        if self.globs.is_match(key) {
            return true;
        }
        if self.words.is_empty() {
            return false;
        }
        let words = words(key);
        self.words.iter().any(|pattern| contains_run(&words, pattern))
    }
}

/// A key with the identity labels of list items emptied (`steps[name=Rotate the token].run`
/// -> `steps[].run`): a label is a value that names the item, and a word in a value is not a
/// setting. Labels that are the setting's own name (`environment[RELAY_PASSWORD]`, from a
/// `- RELAY_PASSWORD=x` item) are kept.
fn without_item_labels(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut rest = key;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        let Some(close) = rest[open..].find(']').map(|i| i + open) else {
            rest = &rest[open + 1..];
            break;
        };
        let label = &rest[open + 1..close];
        let is_value = ["name=", "id=", "key=", "=", "#"].iter().any(|p| label.starts_with(p))
            || label.bytes().all(|b| b.is_ascii_digit());
        if !is_value {
            out.push_str(label);
        }
        out.push(']');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// `*token*` -> `["token"]`, `*private_key*` -> `["private", "key"]`; none for any other shape.
fn word_pattern(pattern: &str) -> Option<Vec<String>> {
    let inner = pattern.strip_prefix('*')?.strip_suffix('*')?;
    let plain = !inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    plain.then(|| inner.split(['_', '-']).filter(|w| !w.is_empty()).map(str::to_ascii_lowercase).collect())
}

/// The words of a key, lower-case: split at `.`, `_`, `-`, `[`, `]`, spaces and camelCase humps.
pub fn words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous: Option<char> = None;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        } else {
            if c.is_uppercase() && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) && !word.is_empty()
            {
                words.push(std::mem::take(&mut word));
            }
            word.extend(c.to_lowercase());
        }
        previous = Some(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Whether consecutive words of the key spell `wanted` (a pattern's words joined), the last one
/// possibly plural (`*token*` matches `tokens`; `*apikey*` matches `apiKey` and `api_key`).
fn contains_run(words: &[String], wanted: &str) -> bool {
    (0..words.len()).any(|start| {
        // What the words from `start` on have yet to spell.
        let mut rest = wanted;
        for word in &words[start..] {
            match rest.strip_prefix(word.as_str()) {
                Some("") => return true,
                Some(after) => rest = after,
                None => return word.strip_suffix('s') == Some(rest),
            }
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(list: &[&str]) -> KeyPatterns {
        KeyPatterns::new(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn word_patterns_match_whole_words_only() {
        let token = patterns(&["*token*"]);
        for key in ["token", "api_token", "apiToken", "API-TOKEN", "auth.tokens", "GITHUB_TOKEN_FILE"] {
            assert!(token.is_match(key), "{key}");
        }
        for key in ["TOKENIZATION_ENGINE_PORT", "tokenizer.model", "detokenize"] {
            assert!(!token.is_match(key), "{key}");
        }
        let api_key = patterns(&["*api_key*", "*apikey*"]);
        assert!(api_key.is_match("stripe.apiKey") && api_key.is_match("API_KEY") && api_key.is_match("apikey"));
        assert!(!api_key.is_match("rapid_keyboard"));
    }

    #[test]
    fn words_in_the_labels_of_list_items_are_values_not_settings() {
        let token = patterns(&["*token*", "*password*"]);
        assert!(!token.is_match("tasks[name=Gen_tokens | copy the script].copy.mode"));
        assert!(!token.is_match("resources[=tokens.yaml]"));
        assert!(token.is_match("tasks[name=x].set_fact.kubeadm_token"));
        assert!(token.is_match("services.relay.environment[RELAY_PASSWORD]"));
    }

    #[test]
    fn structured_patterns_stay_globs() {
        let set = patterns(&["auth.*", "*.timeout"]);
        assert!(set.is_match("auth.ldap.host") && set.is_match("http.client.timeout") && set.is_match("AUTH.x"));
        assert!(!set.is_match("oauth.x") && !set.is_match("timeouts"));
    }
}
