//! List items keyed by what they are, not where they are.
//!
//! A flat key path numbers list items (`steps[17].with.token`). Diffed by number, deleting one
//! CI step shifts every later step, and the diff reads as keys changed everywhere below it. So
//! before diffing, each list item is renamed by its identity: a `name`, `id` or `key` field it
//! has (`steps[name=Deploy].with.token`), or else its content (`ports[=8080]`, or a short hash of
//! an unnamed table). Identical items are numbered (`[=8080]`, `[=8080#2]`) so none is lost.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use super::Entry;

/// Fields whose value names a list item, in order of preference.
const NAME_FIELDS: &[&str] = &["name", "id", "key"];

/// The entries with every numbered list item renamed by its identity, outermost lists first.
/// Entries with no numbered item are lent as they are, not copied.
pub fn by_identity(entries: &[Entry]) -> Cow<'_, [Entry]> {
    let Some(rename) = next_level(entries) else { return Cow::Borrowed(entries) };
    let mut entries = entries.to_vec();
    // One level of lists a round: the identity of an inner item is computed under the already
    // renamed outer one. Every round renames at least one `[N]`, so the loop ends.
    let mut next = Some(rename);
    while let Some(rename) = next {
        for entry in &mut entries {
            if let Some((start, end)) = first_index(&entry.key)
                && let Some(label) = rename.get(&entry.key[..end])
            {
                entry.key = format!("{}[{label}]{}", &entry.key[..start], &entry.key[end..]);
            }
        }
        next = next_level(&entries);
    }
    Cow::Owned(entries)
}

/// Items renamed and nothing else: an item of `new` named `[name=B]` that `old` does not have,
/// whose keys and values are those of an item `[name=A]` of `old` that `new` does not have,
/// but for its name. It is relabelled `[name=A]`, so the diff reads as the one name that
/// changed (an Ansible task retitled), not as every key removed and added.
pub fn follow_renames(old: &[Entry], new: &mut Cow<'_, [Entry]>) {
    let items = |entries: &[Entry]| -> BTreeMap<String, Vec<(String, String)>> {
        let mut items: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for entry in entries {
            if let Some(item) = item_of(&entry.key) {
                let rest = &entry.key[item.len()..];
                if rest != ".name" {
                    items.entry(item.to_string()).or_default().push((rest.to_string(), entry.value.clone()));
                }
            }
        }
        items
    };
    let (before, after) = (items(old), items(&new[..]));
    // The items only the last deploy has, by content: each new item looks up its twins instead
    // of comparing itself with every old item.
    let mut gone: HashMap<&[(String, String)], Vec<&String>> = HashMap::new();
    for (was, content) in before.iter().filter(|(was, _)| !after.contains_key(*was)) {
        gone.entry(content).or_default().push(was);
    }
    let mut renames: HashMap<&str, &String> = HashMap::new();
    for (item, content) in after.iter().filter(|(item, _)| !before.contains_key(*item)) {
        let list = &item[..item.find("[name=").unwrap_or(0)];
        // One twin is a rename; two are a guess, and no more need be looked at.
        let twins = gone.get(content.as_slice()).into_iter().flatten();
        let matches: Vec<&String> = twins.filter(|was| was.starts_with(list)).take(2).copied().collect();
        if let [was] = matches.as_slice() {
            renames.insert(item, was);
        }
    }
    if renames.is_empty() {
        return;
    }
    for entry in new.to_mut().iter_mut() {
        if let Some(item) = item_of(&entry.key)
            && let Some(was) = renames.get(item)
        {
            entry.key = format!("{was}{}", &entry.key[item.len()..]);
        }
    }
}

/// The named item a key is in, `steps[name=Deploy]` of `steps[name=Deploy].with.token`: up to
/// the first `[name=...]`.
fn item_of(key: &str) -> Option<&str> {
    let at = key.find("[name=")?;
    key[at..].find(']').map(|close| &key[..at + close + 1])
}

/// Byte range of the first `[N]` in `key`: from the `[` to just after the `]`.
fn first_index(key: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(open) = key[from..].find('[').map(|i| i + from) {
        let close = key[open..].find(']').map(|i| i + open)?;
        let inside = &key[open + 1..close];
        if !inside.is_empty() && inside.bytes().all(|b| b.is_ascii_digit()) {
            return Some((open, close + 1));
        }
        from = close + 1;
    }
    None
}

/// For the first `[N]` of every key, the label that replaces it, keyed by the key up to and
/// including `[N]`; none when no key has a numbered item left.
fn next_level(entries: &[Entry]) -> Option<BTreeMap<String, String>> {
    // Items by their list (the key before `[N]`), in the order they appear.
    let mut lists: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut members: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in entries {
        let Some((start, end)) = first_index(&entry.key) else { continue };
        let item = &entry.key[..end];
        // An item is new to its list when it has no members yet (a search of the list would
        // make a list of 100,000 items quadratic).
        if !members.contains_key(item) {
            lists.entry(&entry.key[..start]).or_default().push(item);
        }
        members.entry(item).or_default().push(entry);
    }
    if lists.is_empty() {
        return None;
    }
    let mut labels = BTreeMap::new();
    for items in lists.values() {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for item in items {
            let base = label(item, &members[item]);
            let n = seen.entry(base.clone()).or_default();
            *n += 1;
            let label = if *n == 1 { base } else { format!("{base}#{n}") };
            labels.insert(item.to_string(), label);
        }
    }
    Some(labels)
}

/// What identifies one item: its name field, its value when it is a scalar, or a hash of what
/// it holds.
fn label(item: &str, entries: &[&Entry]) -> String {
    let value_of = |field: &str| {
        let key = format!("{item}.{field}");
        entries.iter().find(|e| e.key == key).map(|e| e.text.clone().unwrap_or_else(|| e.value.clone()))
    };
    if let Some((field, name)) = NAME_FIELDS.iter().find_map(|f| value_of(f).map(|v| (*f, v))) {
        return format!("{field}={}", short(&name));
    }
    if let [only] = entries
        && only.key == item
    {
        let text = only.text.as_deref().unwrap_or(&only.value);
        // `- RELAY_PASSWORD=secret` (compose `environment`, `args`): the item is the setting.
        if let Some((name, _)) = text.split_once('=')
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        {
            return name.to_string();
        }
        return format!("={}", short(text));
    }
    // FNV-1a over the item's keys (relative to it) and values: the same content, the same label.
    let mut hash: u32 = 0x811c_9dc5;
    for entry in entries {
        for byte in entry.key[item.len()..].bytes().chain([0]).chain(entry.value.bytes()).chain([0]) {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
    }
    format!("#{hash:08x}")
}

/// A name cut to a readable length; `]` would end the label, so it is replaced.
fn short(text: &str) -> String {
    let text: String = text.chars().map(|c| if c == ']' { ')' } else { c }).collect();
    if text.chars().count() <= 40 { text } else { text.chars().take(39).chain(['…']).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: &str) -> Entry {
        Entry { key: key.into(), value: format!("\"{value}\""), text: Some(value.into()), line: 1, col: 1 }
    }

    fn keys(entries: &[Entry]) -> Vec<String> {
        by_identity(entries).iter().map(|e| e.key.clone()).collect()
    }

    #[test]
    fn items_with_a_name_are_keyed_by_it_and_nested_lists_too() {
        let entries = [
            entry("jobs.build.steps[0].name", "Checkout"),
            entry("jobs.build.steps[1].name", "Deploy"),
            entry("jobs.build.steps[1].with.token", "x"),
            entry("jobs.build.steps[1].args[0]", "--prod"),
        ];
        assert_eq!(
            keys(&entries),
            [
                "jobs.build.steps[name=Checkout].name",
                "jobs.build.steps[name=Deploy].name",
                "jobs.build.steps[name=Deploy].with.token",
                "jobs.build.steps[name=Deploy].args[=--prod]",
            ]
        );
    }

    #[test]
    fn scalars_are_keyed_by_value_and_duplicates_numbered() {
        let entries = [entry("ports[0]", "80"), entry("ports[1]", "443"), entry("ports[2]", "80")];
        assert_eq!(keys(&entries), ["ports[=80]", "ports[=443]", "ports[=80#2]"]);
        let env = [entry("environment[0]", "DB_HOST=db"), entry("environment[1]", "DB_PASSWORD=x")];
        assert_eq!(keys(&env), ["environment[DB_HOST]", "environment[DB_PASSWORD]"]);
    }

    #[test]
    fn an_item_renamed_and_otherwise_unchanged_keeps_its_old_label() {
        let old = [entry("tasks[0].name", "Set token across masters"), entry("tasks[0].set_fact.token", "x")];
        let new = [entry("tasks[0].name", "Set token across control planes"), entry("tasks[0].set_fact.token", "x")];
        let (old, mut new) = (by_identity(&old), by_identity(&new));
        follow_renames(&old, &mut new);
        assert_eq!(new[1].key, "tasks[name=Set token across masters].set_fact.token");
        assert_eq!(new[0].key, "tasks[name=Set token across masters].name");
    }

    #[test]
    fn unnamed_tables_are_keyed_by_content_and_keys_without_lists_are_kept() {
        let a = [entry("env[0].value", "1"), entry("plain", "x")];
        let b = [entry("env[3].value", "1"), entry("plain", "x")];
        assert_eq!(keys(&a), keys(&b));
        assert!(keys(&a)[0].starts_with("env[#"));
        assert_eq!(keys(&a)[1], "plain");
        // `[` in a quoted key part is not an index.
        assert_eq!(keys(&[entry("a[x].b[0]", "1")]), ["a[x].b[=1]"]);
    }
}
