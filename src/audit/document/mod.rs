//! Configuration files read into key paths: `auth.ldap.host = "ldap.corp:389"` at line 12.
//!
//! TOML, YAML, JSON, INI, `.env` and Java `.properties` are read into a flat list of leaf entries,
//! each with its dotted key path (`servers[0].host`) and position, so that two versions can be
//! diffed key by key and values checked where they are written. The format comes from the file
//! name; a name that does not say (`.cfg`, `.conf`) is sniffed; a file that fails its own format
//! but reads as another is reported as such ("an .env written as YAML"), never skipped. What
//! is not configuration as written is not analysed, rather than reported broken: a template
//! (Helm, Jinja, Go, Nomad) until it is rendered, a script or patch named like a config file
//! (`.env.sh`, `.env.patch`), and a `.env` that is shell code.
//!
//! Hostile input stays bounded: YAML aliases are recorded, never expanded (no "billion laughs"),
//! nesting is capped, binary and invalid UTF-8 content are errors, and size is capped by the caller.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt;

mod env;
mod identity;
mod ini;
mod json;
pub mod kept;
mod lines;
mod properties;
mod template;
mod toml;
mod yaml;

use self::env::read_env;
use self::ini::read_ini;
use self::json::read_json;
use self::lines::Lines;
use self::properties::read_properties;
use self::toml::read_toml;
use self::yaml::read_yaml;

pub use identity::by_identity;

/// Deeper nesting than this is refused.
const MAX_DEPTH: usize = 256;

/// A file with more keys than this is not analysed: 8 MiB of `[0,0,0,...]` is four million
/// entries, and each costs time and memory several times over (both versions, the diff, every
/// config check, the report): 500,000 keys cost 3.5 s and 400 MiB. Real configuration stays
/// far below (a large translation file has tens of thousands).
pub const MAX_ENTRIES: usize = 200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Toml,
    Yaml,
    Json,
    Ini,
    Env,
    Properties,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Toml => "TOML",
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Ini => "INI",
            Format::Env => ".env",
            Format::Properties => ".properties",
        })
    }
}

/// One leaf of a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `auth.ldap.host`, `servers[0].url`; INI sections and YAML documents are the first parts.
    pub key: String,
    /// The value as written for a person: strings quoted, everything else as is.
    pub value: String,
    /// The value itself, unquoted, when it is a string (what address checks read).
    pub text: Option<String>,
    /// 1-based.
    pub line: u32,
    pub col: u32,
}

/// A configuration file read into entries.
///
/// One kept in the blob cache comes without its entries: most of what a run asks of a kept file
/// (its format, its key-level diff, what it describes) is kept beside it, and a release of a
/// thousand config files would otherwise decode every key of every one. The few that a check
/// reads key by key are given theirs with [`Document::fill`].
#[derive(Clone)]
pub struct Document {
    pub format: Format,
    /// Set when the format was not the one the file name suggests, or was guessed: what gate did.
    pub note: Option<String>,
    len: usize,
    entries: OnceCell<Entries>,
}

/// The entries of a document, and the same keyed by identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entries {
    entries: Vec<Entry>,
    /// The entries keyed as the diff keys them, list items by identity ([`by_identity`]),
    /// computed once when the document is read; none when no key has a numbered list item, so
    /// they are `entries` as they are.
    identified: Option<Vec<Entry>>,
}

impl Entries {
    fn new(entries: Vec<Entry>) -> Entries {
        let identified = match by_identity(&entries) {
            Cow::Owned(identified) => Some(identified),
            Cow::Borrowed(_) => None,
        };
        Entries { entries, identified }
    }
}

impl Document {
    pub fn new(format: Format, entries: Vec<Entry>, note: Option<String>) -> Document {
        Document { format, note, len: entries.len(), entries: OnceCell::from(Entries::new(entries)) }
    }

    /// The leaves of the file, in the order it lists them; none for a document kept without
    /// them and not filled yet.
    pub fn entries(&self) -> Option<&[Entry]> {
        self.entries.get().map(|read| read.entries.as_slice())
    }

    /// The entries with list items keyed by identity: what [`diff_identified`] compares.
    pub fn identified(&self) -> Option<&[Entry]> {
        self.entries.get().map(|read| read.identified.as_deref().unwrap_or(&read.entries))
    }

    /// The entries as the blob cache keeps them apart, when they are at hand.
    pub fn all_entries(&self) -> Option<&Entries> {
        self.entries.get()
    }

    /// Gives a document kept without its entries those of the same file, read again; refused
    /// (false) when they cannot be its own: another number of them.
    pub fn fill(&self, entries: Entries) -> bool {
        entries.entries.len() == self.len && (self.entries.set(entries).is_ok() || self.entries.get().is_some())
    }

    /// How many entries the file has (known without its entries at hand).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Parsed {
    /// The entries of a document read from its text.
    pub fn into_entries(self) -> Option<Entries> {
        match self {
            Parsed::Document(doc) => doc.entries.into_inner(),
            _ => None,
        }
    }
}

impl PartialEq for Document {
    fn eq(&self, other: &Document) -> bool {
        (self.format, &self.note, self.len, self.entries.get())
            == (other.format, &other.note, other.len, other.entries.get())
    }
}

impl Eq for Document {}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("format", &self.format)
            .field("note", &self.note)
            .field("len", &self.len)
            .field("entries", &self.entries.get())
            .finish()
    }
}

/// A file that should parse and does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The format the file was read as (none for content that is not text at all).
    pub format: Option<Format>,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Document(Document),
    Error(SyntaxError),
    /// The file name says nothing gate reads, and no format fits: not analysed.
    Unknown(String),
    /// A template, rendered before the service reads it: not analysed. The reason starts with
    /// "template:" and says what gave it away.
    Template(String),
    /// A file that parses, with more than [`MAX_ENTRIES`] keys: not analysed.
    TooWide {
        format: Format,
        keys: usize,
    },
}

/// Extensions that say a file is something other than configuration, whatever its name
/// starts with (`.env.sh` is a script that sets variables, `.env.patch` a change to a `.env`).
const NOT_CONFIGURATION: &[(&[&str], &str)] = &[
    (&["sh", "bash", "zsh", "ksh", "fish", "ps1", "bat", "cmd"], "a shell script"),
    (&["patch", "diff"], "a patch"),
    (&["py", "rb", "pl", "php", "js", "mjs", "cjs", "ts", "go", "rs", "java", "kt"], "source code"),
    (&["md", "rst", "adoc", "html"], "documentation"),
];

/// What a file is, when its name says it is not configuration.
fn not_configuration(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
    let (_, ext) = name.rsplit_once('.')?;
    NOT_CONFIGURATION.iter().find(|(exts, _)| exts.contains(&ext)).map(|(_, kind)| *kind)
}

/// The format a file name promises, if it promises one.
pub fn format_of(path: &str) -> Option<Format> {
    if not_configuration(path).is_some() {
        return None;
    }
    let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e);
    match ext {
        Some("toml") => Some(Format::Toml),
        Some("yaml" | "yml") => Some(Format::Yaml),
        Some("json") => Some(Format::Json),
        // MySQL's option files (`my.cnf`) are INI with bare keys.
        Some("ini" | "cnf") => Some(Format::Ini),
        Some("properties") => Some(Format::Properties),
        Some("env") => Some(Format::Env),
        _ if name == ".env" || name.starts_with(".env.") => Some(Format::Env),
        _ => None,
    }
}

/// Reads a configuration file.
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    if let Some(kind) = not_configuration(path) {
        return Parsed::Unknown(format!("{kind}, not configuration"));
    }
    if bytes[..bytes.len().min(8000)].contains(&0) {
        // A config extension promises text; any other file under a config path may be binary.
        if format_of(path).is_none() {
            return Parsed::Unknown("binary".to_string());
        }
        let message = "binary content where configuration is expected".to_string();
        return Parsed::Error(SyntaxError { format: None, line: 1, col: 1, message });
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.strip_prefix('\u{feff}').unwrap_or(text),
        Err(err) => {
            let at = err.valid_up_to();
            // The bytes before `at` are valid UTF-8: that text is where the position is counted.
            let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
            let (line, col) = Lines::new(valid).position(at);
            let message = format!("not valid UTF-8 (byte {at})");
            return Parsed::Error(SyntaxError { format: None, line, col, message });
        }
    };
    if let Some(reason) = template::by_name(path, text) {
        return Parsed::Template(reason);
    }
    let Some(format) = format_of(path) else {
        if let Some(reason) = template::by_content(text, false, false) {
            return Parsed::Template(reason);
        }
        return match sniff(text, None) {
            Some((format, entries)) if entries.len() > MAX_ENTRIES => Parsed::TooWide { format, keys: entries.len() },
            Some((format, entries)) => {
                Parsed::Document(Document::new(format, entries, Some(format!("read as {format}"))))
            }
            None => Parsed::Unknown("the format is not understood (it is not TOML, INI, JSON or YAML)".to_string()),
        };
    };
    let result = read(format, text);
    if let Some(reason) = template::by_content(text, result.is_ok(), format == Format::Yaml) {
        return Parsed::Template(reason);
    }
    match result {
        Ok(entries) if entries.len() > MAX_ENTRIES => Parsed::TooWide { format, keys: entries.len() },
        Ok(entries) => Parsed::Document(Document::new(format, entries, None)),
        Err(mut error) => {
            if format == Format::Env
                && let Some(reason) = env::shell_code(text, error.line)
            {
                return Parsed::Unknown(reason);
            }
            // The extension may lie: say what the file reads as, so the fix is obvious. Only
            // strict formats count as a signal: nearly any text is INI, and broken JSON is
            // often still YAML.
            if let Some((other, _)) = sniff(text, Some(format))
                && other != Format::Ini
                && !(format == Format::Json && other == Format::Yaml)
            {
                error.message.push_str(&format!(" (it reads as {other}: is the file name wrong?)"));
            }
            Parsed::Error(error)
        }
    }
}

/// The first format other than `except` the text reads as, with its entries. YAML only counts
/// when it yields a mapping (almost any text is a valid YAML scalar), INI when it has a section
/// or a value.
fn sniff(text: &str, except: Option<Format>) -> Option<(Format, Vec<Entry>)> {
    let candidates = [Format::Json, Format::Toml, Format::Yaml, Format::Ini];
    candidates.into_iter().filter(|f| Some(*f) != except).find_map(|format| {
        if format == Format::Json && !text.trim_start().starts_with(['{', '[']) {
            return None;
        }
        let entries = read(format, text).ok()?;
        let fits = match format {
            Format::Yaml => entries.iter().any(|e| !e.key.is_empty()),
            // Lines of single words are bare INI keys, but alone they do not make a file INI.
            Format::Ini => {
                entries.iter().any(|e| e.value != ini::NO_VALUE)
                    || text.lines().any(|l| l.trim_start().starts_with('['))
            }
            _ => true,
        };
        fits.then_some((format, entries)).filter(|(_, e)| !e.is_empty())
    })
}

/// Reads `text` as `format`.
pub fn read(format: Format, text: &str) -> Result<Vec<Entry>, SyntaxError> {
    match format {
        Format::Toml => read_toml(text),
        Format::Yaml => read_yaml(text, Format::Yaml),
        Format::Json => read_json(text),
        Format::Ini => read_ini(text),
        Format::Env => read_env(text),
        Format::Properties => read_properties(text),
    }
}

fn error(format: Format, line: u32, col: u32, message: impl Into<String>) -> SyntaxError {
    SyntaxError { format: Some(format), line, col, message: message.into() }
}

/// Keys with dots keep them visible: `"a.b"` stays one component.
fn dotted_key(key: &str) -> String {
    if key.contains('.') { quoted(key) } else { key.to_string() }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

/// A string as a person reads it on one line: quoted, with quotes and line breaks escaped.
fn quoted(text: &str) -> String {
    let escaped =
        text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n").replace('\r', "\\r").replace('\t', "\\t");
    format!("\"{escaped}\"")
}

/// A value cut after 200 characters for display (a YAML block of shell script is not a value
/// to read in a diff); comparisons always use the whole value.
fn shortened(value: &str) -> String {
    let mut shown: String = value.chars().take(200).collect();
    if shown.len() < value.len() {
        shown.push('…');
    }
    shown
}

// --- Differences ---

/// How one key differs between two versions of a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyChange {
    pub key: String,
    /// The value before, as written; none when the key is new.
    pub old: Option<String>,
    /// The value after; none when the key is gone.
    pub new: Option<String>,
    /// Where the new value is (or, for a removed key, 0).
    pub line: u32,
}

/// The key-level difference from `old` to `new`, in the order the file lists the keys: changed
/// and added keys where the release has them, removed keys where the last deploy had them.
///
/// List items are matched by identity (a `name`, `id` or `key` field, else their content), not
/// by position, so removing one item is one change, not a shift of every item after it.
pub fn diff(old: &[Entry], new: &[Entry]) -> Vec<KeyChange> {
    diff_identified(&by_identity(old), &by_identity(new))
}

/// [`diff`] of entries already keyed by identity, as [`Document::identified`] gives them.
pub fn diff_identified(old: &[Entry], new: &[Entry]) -> Vec<KeyChange> {
    let mut new = Cow::Borrowed(new);
    identity::follow_renames(old, &mut new);
    let before: HashMap<&str, &Entry> = old.iter().map(|e| (e.key.as_str(), e)).collect();
    let after: HashMap<&str, &Entry> = new.iter().map(|e| (e.key.as_str(), e)).collect();
    let mut keys: Vec<&str> = before.keys().chain(after.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut changes: Vec<(u32, KeyChange)> = keys
        .into_iter()
        .filter_map(|key| {
            let (b, a) = (before.get(key), after.get(key));
            if b.map(|e| &e.value) == a.map(|e| &e.value) {
                return None;
            }
            let position = a.or(b).map_or(0, |e| e.line);
            let change = KeyChange {
                key: key.to_string(),
                old: b.map(|e| e.value.clone()),
                new: a.map(|e| e.value.clone()),
                line: a.map_or(0, |e| e.line),
            };
            Some((position, change))
        })
        .collect();
    // Stable: keys on one line (a flow mapping, an inline table) stay in key order.
    changes.sort_by_key(|(position, _)| *position);
    changes.into_iter().map(|(_, change)| change).collect()
}

impl fmt::Display for KeyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.old.as_deref().map(shortened), self.new.as_deref().map(shortened)) {
            (Some(old), Some(new)) => write!(f, "{}: {old} -> {new}", self.key),
            (None, Some(new)) => write!(f, "{}: added {new}", self.key),
            (Some(old), None) => write!(f, "{}: removed (was {old})", self.key),
            (None, None) => write!(f, "{}", self.key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(path: &str, text: &str) -> Vec<(String, String, u32)> {
        match parse(path, text.as_bytes()) {
            Parsed::Document(doc) => {
                doc.entries().unwrap().iter().map(|e| (e.key.clone(), e.value.clone(), e.line)).collect()
            }
            other => panic!("{path}: {other:?}"),
        }
    }

    fn failure(path: &str, text: &[u8]) -> SyntaxError {
        match parse(path, text) {
            Parsed::Error(error) => error,
            other => panic!("{path}: expected an error, got {other:?}"),
        }
    }

    fn e(key: &str, value: &str, line: u32) -> (String, String, u32) {
        (key.to_string(), value.to_string(), line)
    }

    #[test]
    fn toml_yaml_and_json_flatten_to_the_same_key_paths() {
        let toml = "[auth.ldap]\nhost = \"ldap.corp:389\"\nports = [389, 636]\n";
        let yaml = "auth:\n  ldap:\n    host: \"ldap.corp:389\"\n    ports: [389, 636]\n";
        let json = "{\"auth\": {\"ldap\": {\"host\": \"ldap.corp:389\",\n \"ports\": [389, 636]}}}";
        let expected = ["auth.ldap.host", "auth.ldap.ports[0]", "auth.ldap.ports[1]"];
        for (path, text) in [("a.toml", toml), ("a.yaml", yaml), ("a.json", json)] {
            let keys: Vec<String> = entries(path, text).into_iter().map(|(k, _, _)| k).collect();
            assert_eq!(keys, expected, "{path}");
        }
        assert_eq!(entries("a.yaml", yaml)[0], e("auth.ldap.host", "\"ldap.corp:389\"", 3));
        assert_eq!(entries("a.toml", toml)[0], e("auth.ldap.host", "\"ldap.corp:389\"", 2));
    }

    #[test]
    fn ini_env_and_properties() {
        assert_eq!(entries("app.ini", "; c\n[ldap]\nhost = ldap.corp\n"), [e("ldap.host", "\"ldap.corp\"", 3)]);
        assert_eq!(
            entries(".env", "# c\nexport LDAP_HOST=\"ldap.corp\"\nPORT=389 # comment\n"),
            [e("LDAP_HOST", "\"ldap.corp\"", 2), e("PORT", "\"389\"", 3)]
        );
        assert_eq!(
            entries("app.properties", "! c\nldap.host=ldap.corp\nmsg = a \\\n  b\n"),
            [e("\"ldap.host\"", "\"ldap.corp\"", 2), e("msg", "\"a b\"", 3)]
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = failure("a.toml", b"[auth\nhost = 1\n");
        assert_eq!((err.format, err.line), (Some(Format::Toml), 1));
        let err = failure("a.yaml", b"a: 1\n b: 2\n  - x\n");
        assert_eq!(err.format, Some(Format::Yaml));
        assert!(err.line >= 2, "{err:?}");
        let err = failure("a.json", b"{\"a\": 1,\n\"b\": }\n");
        assert_eq!((err.line, err.format), (2, Some(Format::Json)));
        let err = failure("a.ini", b"[s]\nnot a setting\n");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn a_file_whose_name_lies_is_read_or_reported_as_what_it_is() {
        let err = failure(".env", b"ldap:\n  host: ldap.corp\n");
        assert!(err.message.contains("it reads as YAML"), "{err:?}");
        match parse("app.cfg", b"[server]\nport = 8080\n") {
            Parsed::Document(doc) => {
                assert_eq!((doc.format, doc.note.as_deref()), (Format::Toml, Some("read as TOML")))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse("nginx.conf", b"server {\n  listen 80;\n}\n"), Parsed::Unknown(_)));
    }

    #[test]
    fn templates_are_not_read_as_configuration() {
        let template = |path: &str, text: &str| match parse(path, text.as_bytes()) {
            Parsed::Template(reason) => reason,
            other => panic!("{path}: {other:?}"),
        };
        let helm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n  labels:\n    {{- include \"web.labels\" . | nindent 4 }}\n";
        assert_eq!(
            template("charts/web/templates/configmap.yaml", helm),
            "template: `{{` at line 4 in a templates/ directory"
        );
        // Outside a templates/ directory the tags themselves say it, parsed or not.
        assert_eq!(template("deploy/configmap.yaml", helm), "template: `{{` at line 4");
        assert_eq!(template("deploy/simple.yaml", "name: {{ .Release.Name }}\n"), "template: `{{` at line 1");
        let jinja = "[server]\n{% for port in ports %}\nport = {{ port }}\n{% endfor %}\n";
        assert_eq!(template("config/app.ini", jinja), "template: `{%` at line 2");
        let nomad = "{{ range service \"db\" }}\nDB_HOST={{ .Address }}\n{{ end }}\n";
        assert_eq!(template("config/.env", nomad), "template: `{{` at line 1");
        assert_eq!(template("config/app.yaml.tmpl", "a: 1\n"), "template: a .tmpl file");
        assert_eq!(template("config/nginx.conf", "server {\n  listen {{ port }};\n}\n"), "template: `{{` at line 2");
        // A quoted tag is a value (Ansible variables), and a templated .env value is a value.
        assert_eq!(entries("group_vars/all.yml", "db: \"{{ db_host }}\"\n"), [e("db", "\"{{ db_host }}\"", 1)]);
        assert_eq!(entries("config/.env", "PORT={{ env \"NOMAD_PORT\" }}\n").len(), 1);
        // A real error in such a file is still one.
        let err = failure("group_vars/all.yml", b"db: \"{{ db_host }}\"\n port: 1\n");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn scripts_and_patches_named_like_env_files_are_not_read_as_env() {
        // Regression (issue 10): `.env.sh` and `.env.patch` were read as .env and blocked.
        let unknown = |path: &str, text: &str| match parse(path, text.as_bytes()) {
            Parsed::Unknown(reason) => reason,
            other => panic!("{path}: {other:?}"),
        };
        assert_eq!(
            unknown("deploy/.env.sh", "export A=1\nif [ -n \"$B\" ]; then echo; fi\n"),
            "a shell script, not configuration"
        );
        assert_eq!(
            unknown("config/.env.patch", "--- a/.env\n+++ b/.env\n@@ -1 +1 @@\n-A=1\n+A=2\n"),
            "a patch, not configuration"
        );
        assert_eq!(format_of(".env.production"), Some(Format::Env));
        // A .env holding shell code is not analysed; a broken one is still an error.
        let script = "A=1\nfor f in conf.d/*.env; do\n  . \"$f\"\ndone\n";
        assert_eq!(unknown("config/.env", script), "shell code, not KEY=value lines (`for` at line 2)");
        assert_eq!(failure(".env", b"A=1\nB\n").line, 2);
    }

    #[test]
    fn binary_and_invalid_utf8_are_errors() {
        assert!(failure("a.yaml", b"\x00\x01\x02").message.contains("binary"));
        assert_eq!(parse("config/logo.png", b"\x89PNG\x00\x00"), Parsed::Unknown("binary".to_string()));
        let err = failure("a.yaml", b"a: 1\nb: \xff\xfe\n");
        assert_eq!(err.line, 2);
        assert!(err.message.contains("not valid UTF-8"));
    }

    #[test]
    fn yaml_aliases_are_never_expanded() {
        // A "billion laughs": each level refers to the previous one nine times.
        let mut bomb = String::from("a: &a [\"lol\"]\n");
        let mut previous = 'a';
        for name in 'b'..='k' {
            bomb.push_str(&format!("{name}: &{name} [{}]\n", vec![format!("*{previous}"); 9].join(", ")));
            previous = name;
        }
        let started = std::time::Instant::now();
        let found = entries("bomb.yaml", &bomb);
        assert!(found.len() < 200, "{} entries", found.len());
        assert!(found.contains(&e("k[0]", "*j", 11)), "{found:?}");
        assert!(started.elapsed().as_secs() < 2);
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse("deep.yaml", deep.as_bytes()), Parsed::Error(_)));
        assert!(matches!(parse("deep.json", deep.as_bytes()), Parsed::Error(_)));
        let toml = format!("a = {}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse("deep.toml", toml.as_bytes()), Parsed::Error(_)));
    }

    #[test]
    fn wide_files_cost_linear_time() {
        // Regression (issue 15): positions were counted from the start of the text for every
        // key, list items were looked up in their list, and renamed items compared with every
        // old item, so a 40,000-key TOML took 27 s and a 500,000-key JSON never finished. At
        // 50,000 keys the quadratic versions take minutes in a debug build; linear ones well
        // under a second. The bound is a hundred times that, so only a quadratic step fails it.
        const N: usize = 50_000;
        let toml: String = (0..N).map(|i| format!("k{i} = \"v{i}\"\n")).collect();
        let json = format!("{{\"items\": [{}]}}", (0..N).map(|i| format!("{i}")).collect::<Vec<_>>().join(",\n"));
        let named =
            |suffix: &str| -> String { (0..N).map(|i| format!("- name: task{i}{suffix}\n  port: {i}\n")).collect() };
        let started = std::time::Instant::now();
        assert_eq!(entries("wide.json", &json).len(), N);
        let toml = entries("wide.toml", &toml);
        assert_eq!(toml.len(), N);
        assert!(toml.contains(&e(&format!("k{}", N - 1), &format!("\"v{}\"", N - 1), N as u32)));
        // Every item renamed: each is matched to its old self by content, as one change.
        let (old, new) = (read(Format::Yaml, &named("")).unwrap(), read(Format::Yaml, &named("-new")).unwrap());
        assert_eq!(diff(&old, &new).len(), N);
        let elapsed = started.elapsed();
        assert!(elapsed.as_secs() < 60, "{N} keys took {elapsed:?}");
    }

    #[test]
    fn a_file_with_more_keys_than_the_cap_is_not_analysed() {
        let text = format!("[{}0]", "0,".repeat(MAX_ENTRIES));
        assert_eq!(
            parse("huge.json", text.as_bytes()),
            Parsed::TooWide { format: Format::Json, keys: MAX_ENTRIES + 1 }
        );
        let text = format!("[{}0]", "0,".repeat(MAX_ENTRIES - 1));
        assert!(matches!(parse("wide.json", text.as_bytes()), Parsed::Document(_)));
    }

    #[test]
    fn diff_shows_each_changed_key() {
        let old =
            read(Format::Yaml, "auth:\n  ldap:\n    host: ldap.corp:389\n    timeout: 5\nlegacy: true\n").unwrap();
        let new =
            read(Format::Yaml, "auth:\n  ldap:\n    host: ldap.crop:389\n    timeout: 5\n    tls: true\n").unwrap();
        let shown: Vec<String> = diff(&old, &new).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "auth.ldap.host: ldap.corp:389 -> ldap.crop:389",
                "auth.ldap.tls: added true",
                "legacy: removed (was true)"
            ]
        );
    }

    #[test]
    fn diff_follows_the_file_not_the_alphabet() {
        let old = read(Format::Toml, "zone = \"eu\"\nretries = 3\nalpha = 1\n").unwrap();
        let new = read(Format::Toml, "zone = \"us\"\n\nalpha = 2\nbeta = true\n").unwrap();
        let changes = diff(&old, &new);
        let keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["zone", "retries", "alpha", "beta"]);
    }
}
