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
/// most).
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
    let tag = find_tag(text, false, |_| true)?;
    Some(format!("template: `{}` at line {} in a templates/ directory", tag.open, tag.line))
}

/// Why the text is a template: a tag where the format's syntax would be. `parsed` says whether
/// the text read as its format; if it did, only YAML with a tag at the start of a node counts.
pub(super) fn by_content(text: &str, parsed: bool, yaml: bool) -> Option<String> {
    if parsed && !yaml {
        return None;
    }
    let tag = find_tag(text, true, |tag| !parsed || tag.starts_node)?;
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

/// The first template tag of `text` that is `wanted`; with `unquoted`, tags inside quoted
/// strings and comments do not count. `${{ … }}` is a CI expression (GitHub Actions), evaluated
/// on values, not a template.
fn find_tag(text: &str, unquoted: bool, wanted: impl Fn(&Tag) -> bool) -> Option<Tag> {
    let mut closings = Closings::default();
    let mut start = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if let Some(tag) = line_tag(text, start, line, n + 1, unquoted, &mut closings, &wanted) {
            return Some(tag);
        }
        start += line.len();
    }
    None
}

/// Scans one line, which starts at byte `start` of `text`.
fn line_tag(
    text: &str,
    start: usize,
    line: &str,
    number: usize,
    unquoted: bool,
    closings: &mut Closings,
    wanted: &impl Fn(&Tag) -> bool,
) -> Option<Tag> {
    let bytes = line.as_bytes();
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
        // A quote opens a quoted string only where a value can start (not in `it's`).
        let boundary = spaced || matches!(last, Some(b':' | b'=' | b'[' | b'{' | b','));
        match c {
            b'"' | b'\'' if unquoted && boundary => quote = Some(c),
            b'#' if unquoted && spaced => return None,
            b' ' | b'\t' => spaced = true,
            b'{' if last != Some(b'$') => {
                let Some(open) = closings.tag_at(text, start + i) else {
                    (last, spaced) = (Some(c), false);
                    i += 1;
                    continue;
                };
                let starts_node = match last {
                    None | Some(b'[' | b',') => true,
                    Some(b':' | b'-' | b'?') => spaced,
                    _ => false,
                };
                let tag = Tag { open, line: number, starts_node };
                if wanted(&tag) {
                    return Some(tag);
                }
                i += 2;
                (last, spaced) = (Some(b'{'), false);
                continue;
            }
            _ => (last, spaced) = (Some(c), false),
        }
        i += 1;
    }
    None
}

/// Where the next closing of each tag is, found once and reused while the scan moves forward,
/// so that a file full of `{{` without `}}` is still scanned in one pass.
#[derive(Default)]
struct Closings {
    /// Per entry of [`TAGS`]: the offset searched from, and the closing found there if any.
    next: [Option<(usize, Option<usize>)>; TAGS.len()],
}

impl Closings {
    /// The tag opening at byte `at` of `text`, if its closing follows within [`MAX_TAG_BYTES`].
    fn tag_at(&mut self, text: &str, at: usize) -> Option<&'static str> {
        let rest = &text.as_bytes()[at..];
        let kind = TAGS.iter().position(|(open, _)| rest.starts_with(open.as_bytes()))?;
        let (open, close) = TAGS[kind];
        let from = at + open.len();
        let closing = match self.next[kind] {
            // Searched from before here: the answer holds unless the closing found is behind us.
            Some((searched, found)) if searched <= from && found.is_none_or(|f| f >= from) => found,
            _ => {
                let found = text[from..].find(close).map(|f| from + f);
                self.next[kind] = Some((from, found));
                found
            }
        };
        closing.filter(|c| c - at <= MAX_TAG_BYTES).map(|_| open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tag's line and whether it starts a node.
    fn lines(text: &str, unquoted: bool) -> Vec<(usize, bool)> {
        let found = std::cell::RefCell::new(Vec::new());
        find_tag(text, unquoted, |t| {
            found.borrow_mut().push((t.line, t.starts_node));
            false
        });
        found.into_inner()
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
        // An opening without its closing is not a tag, and a file of them is scanned in one pass.
        assert_eq!(lines("a: {{\nb: 1\n", true), []);
        let started = std::time::Instant::now();
        assert_eq!(lines(&"{{ {% ".repeat(1 << 20), true), []);
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
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
