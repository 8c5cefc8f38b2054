//! How a Helm chart's templates use one of its values, read closely enough to tell a new switch
//! that keeps what the chart rendered (`rbac.serviceAccountTokenCreate: true` guarding a rule
//! every install already had) from one that changes it.

use similar::{ChangeTag, TextDiff};

/// Whether every use of `.Values.KEY` in a template is an `{{- if .Values.KEY }}` the release
/// adds around lines the template already had, closed by an `{{- end }}` it adds too: with the
/// switch on, the template renders what it rendered before. `old` is the template at the last
/// deploy (none: the release adds it). Returns the number of such guards, or none when a use is
/// anything else (a new line, an `if not`, a value read into the output, a guard around lines
/// the release adds).
pub fn guards_only(old: Option<&str>, new: &str, key: &str) -> Option<usize> {
    let uses = new.lines().filter(|line| mentions(line, key)).count();
    if uses == 0 {
        return Some(0);
    }
    let old = old?;
    let diff = TextDiff::from_lines(old, new);
    let lines: Vec<(ChangeTag, &str)> = diff.iter_all_changes().map(|c| (c.tag(), c.value())).collect();
    let mut guards = 0;
    for (at, (tag, line)) in lines.iter().enumerate() {
        if *tag == ChangeTag::Delete || !mentions(line, key) {
            continue;
        }
        if *tag != ChangeTag::Insert || !is_guard(line, key) || !closes_around_old_lines(&lines[at + 1..]) {
            return None;
        }
        guards += 1;
    }
    Some(guards)
}

/// Whether the lines after an added `if` are lines the template had, up to an added `end` that
/// closes it.
fn closes_around_old_lines(after: &[(ChangeTag, &str)]) -> bool {
    let mut depth = 0i32;
    for (tag, line) in after {
        let (opens, ends) = actions(line);
        if *tag == ChangeTag::Insert && opens == 0 && ends == 1 && depth == 0 {
            return true;
        }
        if *tag != ChangeTag::Equal {
            return false;
        }
        depth += opens as i32 - ends as i32;
        if depth < 0 {
            return false;
        }
    }
    false
}

fn mentions(line: &str, key: &str) -> bool {
    let needle = format!(".Values.{key}");
    line.match_indices(&needle).any(|(at, _)| {
        line[at + needle.len()..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'))
    })
}

/// `{{- if .Values.KEY }}` (either trim marker), alone on its line.
fn is_guard(line: &str, key: &str) -> bool {
    let Some(action) = sole_action(line) else { return false };
    action.strip_prefix("if").is_some_and(|rest| rest.trim() == format!(".Values.{key}"))
}

/// The action of a line that holds one template action and nothing else, without its
/// delimiters and trim markers.
fn sole_action(line: &str) -> Option<&str> {
    let inner = line.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") {
        return None;
    }
    Some(inner.trim_start_matches('-').trim_end_matches('-').trim())
}

/// How many blocks a line's actions open (`if`, `range`, `with`, `define`, `block`) and end.
fn actions(line: &str) -> (usize, usize) {
    let (mut opens, mut ends) = (0, 0);
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(stop) = after.find("}}") else { break };
        let action = after[..stop].trim_start_matches('-').trim_end_matches('-').trim();
        let word = action.split(|c: char| c.is_whitespace() || c == '(').next().unwrap_or("");
        match word {
            "if" | "range" | "with" | "define" | "block" => opens += 1,
            "end" => ends += 1,
            _ => {}
        }
        rest = &after[stop + 2..];
    }
    (opens, ends)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "rules:\n  - apiGroups: [\"\"]\n    resources: [secrets]\n  - apiGroups:\n    - \"\"\n    resources:\n    - \"serviceaccounts/token\"\n    verbs:\n    - \"create\"\n  - apiGroups: [\"\"]\n    resources: [events]\n";

    #[test]
    fn a_guard_added_around_lines_the_template_had_keeps_them() {
        let new = RULES.replace(
            "  - apiGroups:\n    - \"\"\n",
            "  {{- if .Values.rbac.tokenCreate }}\n  - apiGroups:\n    - \"\"\n",
        );
        let new = new.replace("    - \"create\"\n", "    - \"create\"\n  {{- end }}\n");
        assert_eq!(guards_only(Some(RULES), &new, "rbac.tokenCreate"), Some(1));
        // Not a use of this key.
        assert_eq!(guards_only(Some(RULES), &new, "rbac.token"), Some(0));
    }

    #[test]
    fn a_guard_around_new_lines_a_negated_guard_or_a_read_value_changes_what_renders() {
        let around_new = format!("{RULES}{{{{- if .Values.rbac.x }}}}\n  - apiGroups: [apps]\n{{{{- end }}}}\n");
        assert_eq!(guards_only(Some(RULES), &around_new, "rbac.x"), None);
        let negated = format!("{{{{- if not .Values.rbac.x }}}}\n{RULES}{{{{- end }}}}\n");
        assert_eq!(guards_only(Some(RULES), &negated, "rbac.x"), None);
        let read = format!("{RULES}  name: {{{{ .Values.rbac.x }}}}\n");
        assert_eq!(guards_only(Some(RULES), &read, "rbac.x"), None);
        // A guard that an inner block's `end` does not close early.
        let nested = "{{- if .Values.rbac.x }}\n{{- range .Values.extra }}\n- {{ . }}\n{{- end }}\n{{- end }}\n";
        let old = "{{- range .Values.extra }}\n- {{ . }}\n{{- end }}\n";
        assert_eq!(guards_only(Some(old), nested, "rbac.x"), Some(1));
        // A template the release adds renders something new.
        assert_eq!(guards_only(None, nested, "rbac.x"), None);
    }
}
