//! Templates: files a tool renders before the service reads them (Helm and other Go templates,
//! Jinja, Nomad's consul-template `{{ env "PORT" }}`). Their text is not the configuration, so
//! reading it as YAML or `.env` would report the template's syntax as the file's errors.
//!
//! A file is a template when its name says so (`.j2`, `.tmpl`, `.tpl`), when it sits in a
//! `templates/` directory (a Helm chart's, an Ansible role's) and has template tags, or when its
//! tags are where the format's own syntax would be: outside quoted strings and comments, in a
//! file that does not read as its format, or at the start of a YAML node (where `{{ x }}` would
//! be read as a flow mapping). A tag inside a quoted value (`url: "{{ service_url }}"`, as
//! Ansible variables are written) is data, and the file is read as usual.

/// Extensions that name a template, whatever the format inside.
const EXTENSIONS: &[&str] = &["j2", "jinja", "jinja2", "tmpl", "tpl", "gotmpl"];

/// Tag openings and their closings: Go templates and Jinja expressions, Jinja statements.
const TAGS: &[(&str, &str)] = &[("{{", "}}"), ("{%", "%}")];

/// A tag's closing must come within this many bytes of its opening (actions span a few lines at
/// most); the bound keeps a file full of `{{` cheap to scan.
const MAX_TAG_BYTES: usize = 4096;

/// Why the file name alone makes it a template.
pub(super) fn by_name(path: &str, text: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
    if let Some((_, ext)) = name.rsplit_once('.')
        && EXTENSIONS.contains(&ext)
    {
        return Some(format!("template: a .{ext} file"));
    }
    if !path.split('/').rev().skip(1).any(|dir| dir == "templates") {
        return None;
    }
    let tag = tags(text, false).next()?;
    Some(format!("template: `{}` at line {} in a templates/ directory", tag.open, tag.line))
}

/// Why the text is a template: a tag where the format's syntax would be. `parsed` says whether
/// the text read as its format; if it did, only YAML with a tag at the start of a node counts.
pub(super) fn by_content(text: &str, parsed: bool, yaml: bool) -> Option<String> {
    let mut found = tags(text, true);
    let tag = if parsed { found.find(|t| yaml && t.starts_node)? } else { found.next()? };
    Some(format!("template: `{}` at line {}", tag.open, tag.line))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tag {
    open: &'static str,
    /// 1-based.
    line: usize,
    /// Nothing but indentation, `: `, `- `, `? `, `[` or `,` before it on its line.
    starts_node: bool,
}

/// The template tags of `text`, in order; with `unquoted`, only those outside quoted strings and
/// comments. `${{ … }}` is a CI expression (GitHub Actions), evaluated on values, not a template.
fn tags(text: &str, unquoted: bool) -> impl Iterator<Item = Tag> + '_ {
    let mut offset = 0;
    text.split_inclusive('\n').enumerate().flat_map(move |(n, line)| {
        let start = offset;
        offset += line.len();
        line_tags(text, start, line, n + 1, unquoted)
    })
}

fn line_tags(text: &str, start: usize, line: &str, number: usize, unquoted: bool) -> Vec<Tag> {
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    let mut quote: Option<u8> = None;
    // The last character outside quotes that was not a space, and whether a space followed it.
    let mut last: Option<u8> = None;
    let mut spaced = true;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(q) = quote {
            if c == b'\\' && q == b'"' {
                i += 1;
            } else if c == q {
                quote = None;
                (last, spaced) = (Some(c), false);
            }
            i += 1;
            continue;
        }
        let boundary = spaced || matches!(last, Some(b':' | b'=' | b'[' | b'{' | b','));
        match c {
            b'"' | b'\'' if unquoted && boundary => quote = Some(c),
            b'#' if unquoted && spaced => break,
            b' ' | b'\t' => spaced = true,
            _ => {
                if let Some(open) = tag_at(text, start + i)
                    && last != Some(b'$')
                {
                    let starts_node = match last {
                        None => true,
                        Some(b'[' | b',') => true,
                        Some(b':' | b'-' | b'?') => spaced,
                        _ => false,
                    };
                    found.push(Tag { open, line: number, starts_node });
                    i += 2;
                    (last, spaced) = (Some(b'{'), false);
                    continue;
                }
                (last, spaced) = (Some(c), false);
            }
        }
        i += 1;
    }
    found
}

/// The tag opening at byte `at` of `text`, if a closing follows within [`MAX_TAG_BYTES`].
fn tag_at(text: &str, at: usize) -> Option<&'static str> {
    let rest = &text.as_bytes()[at..];
    let (open, close) = TAGS.iter().find(|(open, _)| rest.starts_with(open.as_bytes()))?;
    let window = &rest[2..rest.len().min(MAX_TAG_BYTES)];
    window.windows(2).any(|pair| pair == close.as_bytes()).then_some(*open)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, unquoted: bool) -> Vec<(usize, bool)> {
        tags(text, unquoted).map(|t| (t.line, t.starts_node)).collect()
    }

    #[test]
    fn tags_outside_quotes_and_comments_are_found_with_where_they_stand() {
        let helm = "metadata:\n  name: {{ .Release.Name }}-web\n  labels:\n    {{- include \"labels\" . | nindent 4 }}\n  # {{ not this }}\nimage: \"{{ .Values.image }}\"\ncmd: echo {{ x }}\n";
        assert_eq!(lines(helm, true), [(2, true), (4, true), (7, false)]);
        assert_eq!(lines(helm, false).len(), 5);
        // Jinja statements, a CI expression, and an apostrophe that opens no quoted string.
        assert_eq!(
            lines("{% if prod %}\nrun: echo ${{ github.sha }}\nnote: it's {{ x }}\n", true),
            [(1, true), (3, false)]
        );
        // An opening without its closing is not a tag.
        assert_eq!(lines("a: {{\nb: 1\n", true), []);
    }

    #[test]
    fn names_and_directories_that_say_template() {
        assert_eq!(by_name("roles/web/files/nginx.conf.j2", "x"), Some("template: a .j2 file".to_string()));
        assert_eq!(
            by_name("charts/web/templates/deployment.yaml", "kind: Deployment\nname: {{ .Release.Name }}\n"),
            Some("template: `{{` at line 2 in a templates/ directory".to_string())
        );
        assert_eq!(by_name("charts/web/templates/plain.yaml", "kind: Service\n"), None);
        assert_eq!(by_name("templates.yaml", "a: \"{{ x }}\"\n"), None);
    }

    #[test]
    fn content_counts_where_the_format_would_misread_it() {
        assert_eq!(by_content("a: \"{{ x }}\"\n", true, true), None);
        assert_eq!(by_content("a: {{ x }}\n", true, true), Some("template: `{{` at line 1".to_string()));
        assert_eq!(by_content("A={{ env \"PORT\" }}\n", true, false), None);
        assert!(by_content("{{ range service \"db\" }}\nDB={{ .Address }}\n{{ end }}\n", false, false).is_some());
        assert_eq!(by_content("a: \"{{ x }}\"\n b: 1\n", false, true), None);
    }
}
