//! Names that mark a file or directory as a copy or version of another: `search_v2.sh`,
//! `app.py.bak`, `report copy.sh`, `compose.yml_v2`, `app.py.bak.20250503_071148`, `scripts_old/`.
//!
//! Markers are only recognised where people put them: after a separator (`_`, `-`, `.`, a space)
//! at the end of a name, as a whole extension, or after the extension
//! (`docker-compose.yml_v1_v2_coexisting`, `Dockerfile.final-all-in-one`). Digits glued to a
//! word (`sha1`, `http2`, `x86_64`, `oauth2`) and marker words at the start or glued inside a
//! name (`copy_dist.py`, `ContentCopy.js`) are never markers. A marker word followed by more
//! words (`app-backup-before-typescript-fixes/`) is read as a marker only when the name before it
//! exists beside it ([`Variant::inner`]), and a version range (`apolloconfigdb-v170-v180.sql`,
//! `gamedig-v4-to-v5.js`) names an upgrade step, not a copy.
//!
//! Migrations are named by their tools (Django, Rails, Alembic, Flyway, numbered migration
//! directories): [`migration`] says which files are, so that checks of copies leave them alone.

/// The default pack's marker words and extensions, for readings that have no settings of their
/// own (which file of a pair is the copy).
pub const DEFAULT_SUFFIXES: &[&str] = &[
    "v{n}", "new", "old", "backup", "bak", "orig", "copy", "final", "fixed", "tmp", "temp", "draft", "wip", "dup",
    "prev", "updated",
];
pub const DEFAULT_EXTENSIONS: &[&str] =
    &["bak", "bk", "bkp", "bck", "backup", "orig", "old", "swp", "swo", "tmp", "save", "sav", "rej", "prev"];

/// Words that end the name of a copy only when the original is beside it: they also name real
/// things.
const WEAK_SUFFIXES: &[&str] = &["legacy"];

/// The markers in force, from `[checks.variant-name]`.
#[derive(Debug, Clone, Default)]
pub struct Markers {
    /// Lower-case words that end a name after a separator; `v{n}` is a version number.
    suffixes: Vec<Suffix>,
    /// Lower-case extensions added to a whole name (`bak` in `app.py.bak`).
    extensions: Vec<String>,
}

#[derive(Debug, Clone)]
enum Suffix {
    /// `v{n}`: v followed by digits (`v2`, `V10`).
    Version,
    /// A word, optionally followed by digits (`backup`, `backup2`).
    Word(String),
}

impl Markers {
    pub fn new(suffixes: &[String], extensions: &[String]) -> Markers {
        let suffixes = suffixes
            .iter()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .filter_map(|s| match s.as_str() {
                "v{n}" => Some(Suffix::Version),
                // A bare number is never a marker: `x86_64`, `release_2`.
                _ => Some(s.replace("{n}", "")).filter(|w| !w.is_empty()).map(Suffix::Word),
            })
            .collect();
        let extensions = extensions.iter().map(|e| e.trim().trim_start_matches('.').to_lowercase()).collect();
        Markers { suffixes, extensions }
    }

    /// The default pack's markers.
    pub fn builtin() -> Markers {
        let words: Vec<String> = DEFAULT_SUFFIXES.iter().map(|s| s.to_string()).collect();
        let extensions: Vec<String> = DEFAULT_EXTENSIONS.iter().map(|s| s.to_string()).collect();
        Markers::new(&words, &extensions)
    }

    fn is_suffix(&self, word: &str) -> bool {
        let word = word.to_lowercase();
        self.suffixes.iter().any(|suffix| match suffix {
            Suffix::Version => word.len() > 1 && word.starts_with('v') && word[1..].chars().all(|c| c.is_ascii_digit()),
            Suffix::Word(w) => {
                word.strip_prefix(w.as_str()).is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
            }
        })
    }

    fn is_extension(&self, ext: &str) -> bool {
        let ext = ext.to_lowercase();
        self.extensions.contains(&ext)
    }
}

/// A name recognised as a variant: what it would be without its markers, and the markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub original: String,
    pub marker: String,
    /// The marker is followed by more words inside the name (`app-backup-before-fixes`): the
    /// reading holds only when `original` exists beside the file.
    pub inner: bool,
}

/// The variant reading of a file or directory name, if it has one.
pub fn variant_of(name: &str, markers: &Markers) -> Option<Variant> {
    let mut current = name.to_string();
    let mut removed = Vec::new();
    let mut inner = false;
    while let Some((stripped, marker, inside)) = strip_once(&current, markers) {
        if stripped.is_empty() || stripped == current {
            break;
        }
        removed.push(marker);
        current = stripped;
        inner |= inside;
    }
    if removed.is_empty() {
        return None;
    }
    removed.reverse();
    Some(Variant { original: current, marker: removed.concat(), inner })
}

/// Removes the outermost marker: the original name, the marker text, and whether the marker sat
/// inside the stem with more words after it.
fn strip_once(name: &str, markers: &Markers) -> Option<(String, String, bool)> {
    let found = |original: String, marker: String| Some((original, marker, false));
    // Editor leftovers: `app.py~`, `.app.py.swp`.
    if let Some(rest) = name.strip_suffix('~').filter(|r| !r.is_empty()) {
        return found(rest.to_string(), "~".to_string());
    }
    if let Some(hidden) = name.strip_prefix('.')
        && let Some((base, ext)) = hidden.rsplit_once('.')
        && matches!(ext.to_lowercase().as_str(), "swp" | "swo" | "swn")
        && !base.is_empty()
    {
        return found(base.to_string(), format!(".{ext} (editor swap file)"));
    }

    let (base, ext) = split_extension(name);
    if let Some(ext) = ext {
        // A timestamp after the extension: `app.py.bak.20250503_071148`, `app.py.2025-05-03`,
        // and seconds since 1970 after a marker extension (`deploy.sh.bak.1744999690`).
        let after_marker = split_extension(base).1.is_some_and(|e| markers.is_extension(e));
        if (is_timestamp(ext) || (after_marker && is_epoch(ext))) && !base.is_empty() {
            return found(base.to_string(), format!(".{ext}"));
        }
        // A marker extension on a whole name: `app.py.bak`, `config.old`.
        if markers.is_extension(ext) && !base.is_empty() {
            return found(base.to_string(), format!(".{ext}"));
        }
        // Markers glued after the extension, with whatever follows them: `compose.yml_v2`,
        // `app.js-old`, `docker-compose.yml_v1_v2_coexisting`, `Dockerfile.final-all-in-one`.
        let words: Vec<(usize, &str)> = words_of(ext);
        if !base.is_empty()
            && words.len() > 1
            && let Some(&(at, _)) = words.iter().find(|(_, word)| markers.is_suffix(word))
        {
            let kept = ext[..at].trim_end_matches(['_', '-']);
            let original = if kept.is_empty() { base.to_string() } else { format!("{base}.{kept}") };
            let marker = if kept.is_empty() { format!(".{ext}") } else { ext[kept.len()..].to_string() };
            return found(original, marker);
        }
    }

    // File-manager copies: `report copy.sh`, `report copy 2.sh`, `report (1).sh`, `report - Copy.sh`.
    let stem = base;
    let suffix = ext.map(|e| format!(".{e}")).unwrap_or_default();
    if let Some(original) = strip_file_manager_copy(stem) {
        return found(format!("{original}{suffix}"), stem[original.len()..].to_string());
    }

    // A version range names an upgrade step (`apolloconfigdb-v170-v180.sql`, `v4-to-v5`), not a copy.
    if ends_with_version_range(stem) {
        return None;
    }

    // A marker word at the end of the stem: `search_v2.sh`, `app-new.py`, `deploy.old.sh`. A word
    // that also names real things (`legacy`: `auth_legacy.py` can be the legacy auth provider)
    // marks a copy only beside its original (`deploy_legacy.sh` beside `deploy.sh`).
    if let Some(cut) = stem.rfind(['_', '-', '.', ' '])
        && cut > 0
    {
        let word = &stem[cut + 1..];
        let weak = WEAK_SUFFIXES.iter().any(|w| w.eq_ignore_ascii_case(word));
        let original = stem[..cut].trim_end_matches(['_', '-', '.', ' ']);
        if (markers.is_suffix(word) || weak) && !original.is_empty() {
            return Some((format!("{original}{suffix}"), stem[cut..].to_string(), weak));
        }
    }

    // A version glued to a word of at least three letters (`installv2.sh`) marks a copy only beside
    // its original, as `legacy` does: alone, `oauthv2.py` or `apiv1` is a name, and `ipv6.sh` has
    // too short a word before it.
    let letters = stem.trim_end_matches(|c: char| c.is_ascii_digit());
    if letters.len() < stem.len()
        && let Some(word) = letters.strip_suffix(['v', 'V'])
        && word.len() >= 3
        && word.ends_with(|c: char| c.is_ascii_alphabetic())
        && markers.is_suffix(&stem[word.len()..])
        && word.rsplit(['_', '-', '.', ' ']).next().is_some_and(|w| w.len() >= 3)
    {
        return Some((format!("{word}{suffix}"), stem[word.len()..].to_string(), true));
    }

    // A marker word with more words after it: `app-backup-before-typescript-fixes`. Only the first
    // word of a name is never a marker (`backup-db.sh` backs something up).
    let words = words_of(stem);
    if let Some(&(at, _)) = words.iter().skip(1).find(|(_, word)| markers.is_suffix(word)) {
        let original = stem[..at].trim_end_matches(['_', '-', '.', ' ']);
        if !original.is_empty() {
            return Some((format!("{original}{suffix}"), stem[original.len()..].to_string(), true));
        }
    }
    None
}

/// The words of a name and where each starts, split at `_`, `-`, `.` and spaces.
fn words_of(text: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), '_'))) {
        if matches!(c, '_' | '-' | '.' | ' ') {
            if i > start {
                words.push((start, &text[start..i]));
            }
            start = i + c.len_utf8();
        }
    }
    words
}

/// Whether a name ends in two versions, or a version, `to` and a version: `v170-v180`,
/// `db-v4-to-v5`, `upgrade_1_to_2`.
fn ends_with_version_range(stem: &str) -> bool {
    let words: Vec<&str> = words_of(stem).into_iter().map(|(_, w)| w).collect();
    let tagged = |w: &str| {
        w.len() > 1 && w.as_bytes()[0].eq_ignore_ascii_case(&b'v') && w[1..].chars().all(|c| c.is_ascii_digit())
    };
    let version = |w: &str| tagged(w) || (!w.is_empty() && w.chars().all(|c| c.is_ascii_digit()));
    match words[..] {
        [.., a, to, b] if to.eq_ignore_ascii_case("to") && version(a) && version(b) => true,
        [.., a, b] => tagged(a) && tagged(b),
        _ => false,
    }
}

/// Whether a migration's code changes data, not only the schema: Django's `RunPython`, Rails'
/// `update_all`/`find_each`/`.save`, Alembic's `bulk_insert`, an SQL `UPDATE`/`DELETE`/`INSERT`/
/// `MERGE`/`TRUNCATE`, or SQL run as a string (`execute`, `RunSQL`, `exec_query`) unless all the
/// SQL the file spells out is schema (`execute "CREATE TYPE ..."`, `ALTER TABLE`, `CREATE INDEX`).
/// A schema change is declarative and its tool applies it; code that rewrites rows is code, and
/// an untested one is a risk.
pub fn changes_data(migration: &str) -> bool {
    static DATA: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)\b(RunPython|update_all|update_columns?|find_each|find_in_batches|in_batches|delete_all|destroy_all|bulk_insert|bulk_update)\b|\.(save|each|update)\b|\bupdate\s+\S+\s+set\b|\bdelete\s+from\b|\binsert\s+into\b|\bmerge\s+into\b|\btruncate\b",
        )
        .expect("the data-migration pattern is valid")
    });
    static RAW_SQL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b(RunSQL|execute|exec_query)\b").expect("the raw-SQL pattern is valid")
    });
    static SCHEMA: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b(create|alter|drop|comment\s+on)\s+(unique\s+)?((non)?clustered\s+)?(table|type|index|view|extension|schema|sequence|column|constraint|function|trigger)\b|\badd\s+(column|constraint)\b")
            .expect("the schema pattern is valid")
    });
    DATA.is_match(migration) || (RAW_SQL.is_match(migration) && !SCHEMA.is_match(migration))
}

/// What kind of configuration written as code `path` is, if it is one: a Rails environment's
/// settings (`config/environments/production.rb`; not `test.rb`, which every test run loads), or
/// a Python service's configuration module (`configuration/configuration.py`,
/// `docker/config.py`, `settings/production.py`, a root `local_settings.py`). A test does not
/// run another environment's configuration; the staged rollout is what proves it.
pub fn configuration_code(path: &str) -> Option<&'static str> {
    let lower = path.to_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    let (name, dirs) = parts.split_last()?;
    let (stem, ext) = split_extension(name);
    match ext? {
        "rb" if dirs.ends_with(&["config", "environments"]) && stem != "test" => Some("Rails environment"),
        "py" => {
            let top = if dirs.is_empty() { "" } else { dirs[0] };
            let config_dir = matches!(top, "configuration" | "config" | "conf" | "settings");
            let config_name = matches!(stem, "settings" | "local_settings" | "config" | "configuration");
            let deploy_dir = dirs.len() <= 1 && matches!(top, "" | "docker" | "deploy" | "deployment");
            (config_dir || (config_name && deploy_dir)).then_some("Python configuration")
        }
        _ => None,
    }
}

/// The tool whose migration `path` is, if it is one: Django (`app/migrations/0042_x.py`), Rails
/// (`db/migrate/20250220153958_x.rb`), Alembic (`alembic/versions/x.py`), Flyway
/// (`V2.0.1__add_key.sql`), a numbered file in a migrations directory (knex, goose,
/// golang-migrate, TypeORM: `migrations/2024-08-24-000-add-x.js`, `000012_users.up.sql`), or an
/// SQL upgrade step named by a version range (`delta/v170-v180/configdb-v170-v180.sql`).
/// Migrations are written one per schema change, alike by design, and named with versions.
pub fn migration(path: &str) -> Option<&'static str> {
    let lower = path.to_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    let (name, dirs) = parts.split_last()?;
    let parent = dirs.last().copied().unwrap_or("");
    let numbered = name.starts_with(|c: char| c.is_ascii_digit());
    let (stem, ext) = split_extension(name);
    let ext = ext.unwrap_or("");
    if parent == "migrations" && ext == "py" && numbered {
        return Some("Django");
    }
    if parent == "versions" && ext == "py" && dirs.iter().any(|d| d.contains("alembic") || d.contains("migrations")) {
        return Some("Alembic");
    }
    if parent.ends_with("migrate") && ext == "rb" && numbered {
        return Some("Rails");
    }
    if ext == "sql" && is_flyway(stem) {
        return Some("Flyway");
    }
    let migrations_dir = |d: &str| {
        matches!(d, "migrations" | "migration" | "migrate") || d.ends_with("_migrations") || d.ends_with("-migrations")
    };
    if numbered && dirs.iter().any(|d| migrations_dir(d)) {
        return Some("numbered migration");
    }
    if ext == "sql" && (ends_with_version_range(stem) || dirs.iter().any(|d| ends_with_version_range(d))) {
        return Some("SQL upgrade step");
    }
    None
}

/// Flyway's names: `V1__x`, `V2.0.1__x`, `U3__x` (undo), `R__x` (repeatable).
fn is_flyway(stem: &str) -> bool {
    let Some((prefix, description)) = stem.split_once("__") else { return false };
    if description.is_empty() {
        return false;
    }
    let mut chars = prefix.chars();
    match chars.next() {
        Some('v' | 'u') => {
            let version = chars.as_str();
            !version.is_empty()
                && version.starts_with(|c: char| c.is_ascii_digit())
                && version.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '_')
        }
        Some('r') => chars.as_str().is_empty(),
        _ => false,
    }
}

/// `name.ext` -> (`name`, Some(`ext`)); a leading dot is part of the name (`.env`).
fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rfind('.') {
        Some(0) | None => (name, None),
        Some(i) => (&name[..i], Some(&name[i + 1..])),
    }
}

fn strip_file_manager_copy(stem: &str) -> Option<&str> {
    let lower = stem.to_lowercase();
    // ` (2)` at the end.
    if lower.ends_with(')')
        && let Some(open) = lower.rfind(" (")
        && lower[open + 2..lower.len() - 1].chars().all(|c| c.is_ascii_digit())
        && open + 3 < lower.len()
    {
        let rest = strip_file_manager_copy(&stem[..open]).unwrap_or(&stem[..open]);
        return Some(rest);
    }
    for marker in [" - copy", " copy"] {
        if let Some(at) = lower.rfind(marker) {
            let after = &lower[at + marker.len()..];
            if after.is_empty()
                || (after.starts_with(' ') && after[1..].chars().all(|c| c.is_ascii_digit()) && after.len() > 1)
            {
                return Some(&stem[..at]);
            }
        }
    }
    None
}

/// `20250503`, `20250503_071148`, `20250503T071148`, `2025-05-03`, `2025-05-03_07-11-48`.
/// Ten digits that read as seconds since 1970 between the years 2000 and 2100.
fn is_epoch(text: &str) -> bool {
    text.len() == 10
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u64>().is_ok_and(|t| (946_684_800..4_102_444_800).contains(&t))
}

fn is_timestamp(text: &str) -> bool {
    let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
    let separators_ok = text.chars().all(|c| c.is_ascii_digit() || matches!(c, '_' | '-' | 'T' | ':'));
    if !separators_ok || !(8..=14).contains(&digits.len()) {
        return false;
    }
    let year: u32 = digits[..4].parse().unwrap_or(0);
    let month: u32 = digits[4..6].parse().unwrap_or(0);
    let day: u32 = digits[6..8].parse().unwrap_or(0);
    (1990..=2100).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers() -> Markers {
        let words = ["v{n}", "new", "old", "backup", "bak", "orig", "final", "fixed", "copy", "tmp"];
        let exts = ["bak", "bk", "orig", "old", "swp", "tmp", "save"];
        Markers::new(&words.map(String::from), &exts.map(String::from))
    }

    fn original(name: &str) -> Option<String> {
        variant_of(name, &markers()).map(|v| v.original)
    }

    #[test]
    fn recognises_every_marker_shape() {
        for (name, expected) in [
            ("search_v2.sh", "search.sh"),
            ("search-v3.sh", "search.sh"),
            ("search_V10.sh", "search.sh"),
            ("app_new.py", "app.py"),
            ("app-old.py", "app.py"),
            ("deploy_backup.sh", "deploy.sh"),
            ("deploy-final.sh", "deploy.sh"),
            ("deploy-fixed.sh", "deploy.sh"),
            ("deploy.old.sh", "deploy.sh"),
            ("search_v2_final.sh", "search.sh"),
            ("report copy.sh", "report.sh"),
            ("report copy 2.sh", "report.sh"),
            ("report (1).sh", "report.sh"),
            ("report - Copy.sh", "report.sh"),
            ("report - Copy (2).sh", "report.sh"),
            ("app.py.bak", "app.py"),
            ("app.py.orig", "app.py"),
            ("start.sh.bk", "start.sh"),
            ("config.old", "config"),
            ("app.py~", "app.py"),
            (".app.py.swp", "app.py"),
            ("app.py.bak.20250503_071148", "app.py"),
            ("deploy.sh.bak.1744999690", "deploy.sh"),
            ("app.py.20250503", "app.py"),
            ("compose.yml_v2", "compose.yml"),
            ("compose.yml-old", "compose.yml"),
            ("scripts_old", "scripts"),
            ("src-backup", "src"),
            ("scripts.bak", "scripts"),
            ("docker-compose.yml_v1_v2_coexisting", "docker-compose.yml"),
            ("Dockerfile.final-all-in-one", "Dockerfile"),
            ("nginx.conf-backup-2024", "nginx.conf"),
        ] {
            assert_eq!(original(name).as_deref(), Some(expected), "{name}");
        }
    }

    #[test]
    fn real_names_that_look_like_variants_do_not_fire() {
        for name in [
            "sha1.js",
            "sha.js",
            "events.1744999690",
            "md5.py",
            "base64.sh",
            "http2.go",
            "ipv6.conf",
            "s3.py",
            "oauth2.py",
            "utf8.c",
            "x86_64.S",
            "copy_dist.py",
            "ContentCopy.js",
            "App.test.js",
            "v2.sh",
            "new.sh",
            "old",
            "copy.sh",
            "backup.sh",
            "Makefile",
            ".env",
            "README.md",
            "release-2.0.tar",
            "notes.2025.txt",
        ] {
            assert_eq!(original(name), None, "{name} must not be a variant");
        }
    }

    #[test]
    fn a_marker_inside_a_name_is_an_inner_reading() {
        let v = variant_of("app-backup-before-typescript-fixes", &markers()).unwrap();
        assert_eq!((v.original.as_str(), v.marker.as_str(), v.inner), ("app", "-backup-before-typescript-fixes", true));
        let v = variant_of("deploy-old-way.sh", &markers()).unwrap();
        assert_eq!((v.original.as_str(), v.inner), ("deploy.sh", true));
        // After an extension a marker is never an accident of naming.
        assert!(!variant_of("docker-compose.yml_v1_v2_coexisting", &markers()).unwrap().inner);
        assert!(!variant_of("search_v2_final.sh", &markers()).unwrap().inner);
        let v = variant_of("deploy_legacy.sh", &markers()).unwrap();
        assert_eq!((v.original.as_str(), v.marker.as_str(), v.inner), ("deploy.sh", "_legacy", true));
        let v = variant_of("installv2.sh", &markers()).unwrap();
        assert_eq!((v.original.as_str(), v.marker.as_str(), v.inner), ("install.sh", "v2", true));
        assert!(variant_of("ipv6.sh", &markers()).is_none());
        assert!(variant_of("setup_ipv4.sh", &markers()).is_none());
        assert!(variant_of("http2.py", &markers()).is_none());
        // The first word of a name is what the file does, not a marker.
        assert_eq!(original("backup-db.sh"), None);
        assert_eq!(original("new-user-form.js"), None);
    }

    #[test]
    fn a_version_range_is_an_upgrade_step_not_a_copy() {
        for name in
            ["apolloconfigdb-v170-v180.sql", "v170-v180", "2026-01-02-0713-gamedig-v4-to-v5.js", "upgrade_1_to_2.sh"]
        {
            assert_eq!(original(name), None, "{name}");
        }
        assert_eq!(original("search_v2.sh").as_deref(), Some("search.sh"));
    }

    #[test]
    fn migrations_are_named_by_their_tools() {
        for (path, tool) in [
            ("hc/api/migrations/0121_fix_legacy_timezones_ii.py", "Django"),
            ("db/migrate/20250220153958_update_imports_for_operating_mic_v2.rb", "Rails"),
            ("alembic/versions/3b2c1a_add_users.py", "Alembic"),
            ("app/migrations/versions/3b2c1a_add_users.py", "Alembic"),
            ("scripts/flyway/configdb/V1.1.1__extend_appId.sql", "Flyway"),
            ("db/migration/V2__users.sql", "Flyway"),
            ("db/R__views.sql", "Flyway"),
            ("db/knex_migrations/2026-01-02-0713-gamedig-v4-to-v5.js", "numbered migration"),
            ("migrations/000012_users.up.sql", "numbered migration"),
            ("scripts/sql/delta/v170-v180/apolloconfigdb-v170-v180.sql", "SQL upgrade step"),
        ] {
            assert_eq!(migration(path), Some(tool), "{path}");
        }
        for path in [
            "hc/api/migrations/__init__.py",
            "app/models/migration.rb",
            "lib/versions/v2.py",
            "bin/migrate.sh",
            "db/schema.rb",
            "scripts/sql/apolloconfigdb.sql",
            "Vendor__x.sql",
        ] {
            assert_eq!(migration(path), None, "{path}");
        }
    }

    #[test]
    fn the_marker_is_reported() {
        let v = variant_of("app.py.bak.20250503_071148", &markers()).unwrap();
        assert_eq!(v.marker, ".bak.20250503_071148");
        assert_eq!(variant_of("search_v2.sh", &markers()).unwrap().marker, "_v2");
    }
}
#[cfg(test)]
mod data_migrations {
    #[test]
    fn code_that_rewrites_rows_is_a_data_migration() {
        for code in [
            "operations = [migrations.RunPython(fix)]",
            "Account.find_each { |a| a.update!(owner: a.creator) }",
            "execute \"UPDATE accounts SET owner = creator\"",
            "UPDATE App SET Owner = '';",
            "op.bulk_insert(table, rows)",
        ] {
            assert!(super::changes_data(code), "{code}");
        }
        // SQL run as a string counts unless what it spells out is schema.
        assert!(super::changes_data("execute(sql)"));
        assert!(super::changes_data("execute \"SELECT setval('accounts_id_seq', 1)\""));
        for code in [
            "add_column :imports, :mic, :string",
            "ALTER TABLE App ADD COLUMN Owner VARCHAR(64);",
            "operations = []",
            "execute <<~SQL\n  CREATE TYPE account_status AS ENUM ('ok', 'draft');\nSQL",
            "execute \"DROP TYPE IF EXISTS account_status\"",
            "execute 'CREATE INDEX CONCURRENTLY idx ON t (a)'",
            "execute <<~SQL.squish
  CREATE UNIQUE NONCLUSTERED INDEX i ON t(a) WHERE a IS NOT NULL
SQL",
        ] {
            assert!(!super::changes_data(code), "{code}");
        }
    }
}
