//! Names that mark a file or directory as a copy or version of another: `search_v2.sh`,
//! `app.py.bak`, `report copy.sh`, `compose.yml_v2`, `app.py.bak.20250503_071148`, `scripts_old/`.
//!
//! Markers are only recognised where people put them: after a separator (`_`, `-`, `.`, a space)
//! at the end of a name, or as a whole extension. Digits glued to a word (`sha1`, `http2`,
//! `x86_64`, `oauth2`) and marker words at the start or inside a name (`copy_dist.py`,
//! `ContentCopy.js`) are never markers.

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
}

/// The variant reading of a file or directory name, if it has one.
pub fn variant_of(name: &str, markers: &Markers) -> Option<Variant> {
    let mut current = name.to_string();
    let mut removed = Vec::new();
    while let Some((stripped, marker)) = strip_once(&current, markers) {
        if stripped.is_empty() || stripped == current {
            break;
        }
        removed.push(marker);
        current = stripped;
    }
    if removed.is_empty() {
        return None;
    }
    removed.reverse();
    Some(Variant { original: current, marker: removed.concat() })
}

/// Removes the outermost marker: the original name and the marker text.
fn strip_once(name: &str, markers: &Markers) -> Option<(String, String)> {
    // Editor leftovers: `app.py~`, `.app.py.swp`.
    if let Some(rest) = name.strip_suffix('~').filter(|r| !r.is_empty()) {
        return Some((rest.to_string(), "~".to_string()));
    }
    if let Some(hidden) = name.strip_prefix('.')
        && let Some((base, ext)) = hidden.rsplit_once('.')
        && matches!(ext.to_lowercase().as_str(), "swp" | "swo" | "swn")
        && !base.is_empty()
    {
        return Some((base.to_string(), format!(".{ext} (editor swap file)")));
    }

    let (base, ext) = split_extension(name);
    if let Some(ext) = ext {
        // A timestamp after the extension: `app.py.bak.20250503_071148`, `app.py.2025-05-03`.
        if is_timestamp(ext) && !base.is_empty() {
            return Some((base.to_string(), format!(".{ext}")));
        }
        // A marker extension on a whole name: `app.py.bak`, `config.old`.
        if markers.is_extension(ext) && !base.is_empty() {
            return Some((base.to_string(), format!(".{ext}")));
        }
        // A marker glued after the extension: `compose.yml_v2`, `app.js-old`.
        if let Some(cut) = ext.rfind(['_', '-'])
            && cut > 0
            && ext[..cut].chars().all(|c| c.is_ascii_alphanumeric())
            && markers.is_suffix(&ext[cut + 1..])
            && !base.is_empty()
        {
            return Some((format!("{base}.{}", &ext[..cut]), ext[cut..].to_string()));
        }
    }

    // File-manager copies: `report copy.sh`, `report copy 2.sh`, `report (1).sh`, `report - Copy.sh`.
    let stem = base;
    let suffix = ext.map(|e| format!(".{e}")).unwrap_or_default();
    if let Some(original) = strip_file_manager_copy(stem) {
        return Some((format!("{original}{suffix}"), stem[original.len()..].to_string()));
    }

    // A marker word at the end of the stem: `search_v2.sh`, `app-new.py`, `deploy.old.sh`.
    if let Some(cut) = stem.rfind(['_', '-', '.', ' '])
        && cut > 0
        && markers.is_suffix(&stem[cut + 1..])
    {
        let original = stem[..cut].trim_end_matches(['_', '-', '.', ' ']);
        if !original.is_empty() {
            return Some((format!("{original}{suffix}"), stem[cut..].to_string()));
        }
    }
    None
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
        let exts = ["bak", "orig", "old", "swp", "tmp", "save"];
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
            ("config.old", "config"),
            ("app.py~", "app.py"),
            (".app.py.swp", "app.py"),
            ("app.py.bak.20250503_071148", "app.py"),
            ("app.py.20250503", "app.py"),
            ("compose.yml_v2", "compose.yml"),
            ("compose.yml-old", "compose.yml"),
            ("scripts_old", "scripts"),
            ("src-backup", "src"),
            ("scripts.bak", "scripts"),
        ] {
            assert_eq!(original(name).as_deref(), Some(expected), "{name}");
        }
    }

    #[test]
    fn real_names_that_look_like_variants_do_not_fire() {
        for name in [
            "sha1.js",
            "sha.js",
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
    fn the_marker_is_reported() {
        let v = variant_of("app.py.bak.20250503_071148", &markers()).unwrap();
        assert_eq!(v.marker, ".bak.20250503_071148");
        assert_eq!(variant_of("search_v2.sh", &markers()).unwrap().marker, "_v2");
    }
}
