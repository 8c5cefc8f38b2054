//! Read configuration files, their entries and their key-level diffs as the blob cache keeps
//! them, so that a second run on the same release reads and parses nothing.
//!
//! What [`parse`](super::parse) makes of a blob depends on its content and its path alone (the
//! name picks the format and says whether it is a template), and a diff on the two readings;
//! the caller keeps them under the blob ids and the paths. A reading is kept without its
//! entries, which are kept apart (a run rarely reads them) and given back with
//! [`Document::fill`]. Every field is written in full, and reading checks every length, tag and
//! string before it returns anything: a record that does not read whole is refused (none),
//! never half believed.

use std::cell::OnceCell;

use super::{Document, Entries, Entry, Format, KeyChange, Parsed, SyntaxError};
use crate::git::bytes::{Reader, put_bytes32, put_u32};

/// Changes whenever what is written here, or what reading a file or diffing two gives, changes
/// meaning; callers fold it into the keys they keep records under.
pub const VERSION: &str = "document-v1";

const DOCUMENT: u8 = 0;
const ERROR: u8 = 1;
const UNKNOWN: u8 = 2;
const TEMPLATE: u8 = 3;
const TOO_WIDE: u8 = 4;

/// No format (an error in content that is not text), and no text (an unquoted value).
const NONE: u8 = 0xff;

/// The smallest an entry is written in: three lengths, a tag and a position.
const MIN_ENTRY: usize = 4 + 4 + 1 + 4 + 4;

/// A reading, without a document's entries (see [`put_entries`]).
pub fn put_parsed(out: &mut Vec<u8>, parsed: &Parsed) {
    match parsed {
        Parsed::Document(doc) => {
            out.push(DOCUMENT);
            out.push(format_byte(doc.format));
            put_optional(out, doc.note.as_deref());
            put_u32(out, doc.len as u32);
        }
        Parsed::Error(error) => {
            out.push(ERROR);
            out.push(error.format.map_or(NONE, format_byte));
            put_u32(out, error.line);
            put_u32(out, error.col);
            put_text(out, &error.message);
        }
        Parsed::Unknown(reason) => {
            out.push(UNKNOWN);
            put_text(out, reason);
        }
        Parsed::Template(reason) => {
            out.push(TEMPLATE);
            put_text(out, reason);
        }
        Parsed::TooWide { format, keys } => {
            out.push(TOO_WIDE);
            out.push(format_byte(*format));
            out.extend_from_slice(&(*keys as u64).to_le_bytes());
        }
    }
}

/// What [`put_parsed`] wrote, a document without its entries; none when any part of it does
/// not read.
pub fn parsed(r: &mut Reader<'_>) -> Option<Parsed> {
    Some(match r.take(1)?[0] {
        DOCUMENT => {
            let format = format_of(r.take(1)?[0])?;
            let note = optional(r)?.map(str::to_string);
            Parsed::Document(Document { format, note, len: r.u32()? as usize, entries: OnceCell::new() })
        }
        ERROR => {
            let format = match r.take(1)?[0] {
                NONE => None,
                byte => Some(format_of(byte)?),
            };
            let (line, col) = (r.u32()?, r.u32()?);
            Parsed::Error(SyntaxError { format, line, col, message: text(r)?.to_string() })
        }
        UNKNOWN => Parsed::Unknown(text(r)?.to_string()),
        TEMPLATE => Parsed::Template(text(r)?.to_string()),
        TOO_WIDE => {
            let format = format_of(r.take(1)?[0])?;
            let keys = usize::try_from(u64::from_le_bytes(r.take(8)?.try_into().ok()?)).ok()?;
            Parsed::TooWide { format, keys }
        }
        _ => return None,
    })
}

/// A document's entries: their count, each entry, then the keys of the entries keyed by
/// identity (the same entries but for their keys).
pub fn put_entries(out: &mut Vec<u8>, entries: &Entries) {
    put_entry_list(out, &entries.entries);
    match &entries.identified {
        Some(identified) => {
            out.push(1);
            for entry in identified {
                put_text(out, &entry.key);
            }
        }
        None => out.push(0),
    }
}

/// What [`put_entries`] wrote; none when any part of it does not read.
pub fn entries(r: &mut Reader<'_>) -> Option<Entries> {
    let entries = entry_list(r)?;
    let identified = match r.take(1)?[0] {
        0 => None,
        1 => {
            let mut identified = Vec::with_capacity(entries.len());
            for entry in &entries {
                identified.push(Entry { key: text(r)?.to_string(), ..entry.clone() });
            }
            Some(identified)
        }
        _ => return None,
    };
    Some(Entries { entries, identified })
}

/// Entries: their count, then each entry.
pub fn put_entry_list(out: &mut Vec<u8>, entries: &[Entry]) {
    put_u32(out, entries.len() as u32);
    for entry in entries {
        put_text(out, &entry.key);
        put_text(out, &entry.value);
        put_optional(out, entry.text.as_deref());
        put_u32(out, entry.line);
        put_u32(out, entry.col);
    }
}

/// What [`put_entry_list`] wrote; none when any part of it does not read.
pub fn entry_list(r: &mut Reader<'_>) -> Option<Vec<Entry>> {
    let count = r.u32()? as usize;
    // A count past what is left is damage, and must not reserve memory for it.
    if count > r.remaining() / MIN_ENTRY {
        return None;
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let (key, value, shown) = (text(r)?, text(r)?, optional(r)?);
        let (key, value, text) = (key.to_string(), value.to_string(), shown.map(str::to_string));
        entries.push(Entry { key, value, text, line: r.u32()?, col: r.u32()? });
    }
    Some(entries)
}

pub fn put_changes(out: &mut Vec<u8>, changes: &[KeyChange]) {
    put_u32(out, changes.len() as u32);
    for change in changes {
        put_text(out, &change.key);
        put_optional(out, change.old.as_deref());
        put_optional(out, change.new.as_deref());
        put_u32(out, change.line);
    }
}

/// What [`put_changes`] wrote; none when any part of it does not read.
pub fn changes(r: &mut Reader<'_>) -> Option<Vec<KeyChange>> {
    let count = r.u32()? as usize;
    if count > r.remaining() / (4 + 1 + 1 + 4) {
        return None;
    }
    let mut changes = Vec::with_capacity(count);
    for _ in 0..count {
        let key = text(r)?.to_string();
        let (old, new) = (optional(r)?.map(str::to_string), optional(r)?.map(str::to_string));
        changes.push(KeyChange { key, old, new, line: r.u32()? });
    }
    Some(changes)
}

const FORMATS: [Format; 6] = [Format::Toml, Format::Yaml, Format::Json, Format::Ini, Format::Env, Format::Properties];

fn format_byte(format: Format) -> u8 {
    FORMATS.iter().position(|f| *f == format).unwrap_or_else(|| unreachable!("every format is listed")) as u8
}

fn format_of(byte: u8) -> Option<Format> {
    FORMATS.get(byte as usize).copied()
}

/// A string in full (values may be long: a YAML block of shell script).
pub fn put_text(out: &mut Vec<u8>, text: &str) {
    put_bytes32(out, text.as_bytes());
}

pub fn put_optional(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => {
            out.push(1);
            put_text(out, text);
        }
        None => out.push(NONE),
    }
}

pub fn text<'a>(r: &mut Reader<'a>) -> Option<&'a str> {
    std::str::from_utf8(r.bytes32()?).ok()
}

pub fn optional<'a>(r: &mut Reader<'a>) -> Option<Option<&'a str>> {
    match r.take(1)?[0] {
        1 => Some(Some(text(r)?)),
        NONE => Some(None),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::document::{diff, parse, read};

    /// Files read every way a file can be read: a document with lists keyed by identity, one
    /// without, one read as another format (a note), a syntax error, content that is not text,
    /// an unknown format, a template, one too wide to analyse, and an empty one.
    fn samples() -> Vec<Parsed> {
        let wide = format!("[{}0]", "0,".repeat(super::super::MAX_ENTRIES));
        vec![
            parse(
                "deploy/compose.yaml",
                "services:\n  web:\n    image: app:1\n    ports: [\"80:80\"]\n    environment:\n      - DB_HOST=db\n    command: |\n      sh -c 'ünïcode'\n".as_bytes(),
            ),
            parse("vcpkg.json", br#"{"name": "zlib", "version": "1.3", "dependencies": [{"name": "vcpkg-cmake", "host": true}]}"#),
            parse("app.toml", b"[server]\nport = 8080\n"),
            parse("app.cfg", b"[server]\nport = 8080\n"),
            parse("app.json", b"{\"a\": 1,\n\"b\": }\n"),
            parse("app.yaml", b"a: 1\nb: \xff\xfe\n"),
            parse("nginx.conf", b"server {\n  listen 80;\n}\n"),
            parse("templates/cm.yaml", b"name: {{ .Release.Name }}\n"),
            parse("huge.json", wide.as_bytes()),
            parse("empty.yaml", b""),
        ]
    }

    /// A reading and, for a document, its entries, as the cache keeps them.
    fn encode(parsed: &Parsed) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut reading = Vec::new();
        put_parsed(&mut reading, parsed);
        let entries = match parsed {
            Parsed::Document(doc) => {
                let mut out = Vec::new();
                put_entries(&mut out, doc.all_entries().unwrap());
                Some(out)
            }
            _ => None,
        };
        (reading, entries)
    }

    /// A whole record, with nothing left over.
    fn whole<T>(record: &[u8], read: fn(&mut Reader<'_>) -> Option<T>) -> Option<T> {
        let mut r = Reader::new(record);
        let value = read(&mut r)?;
        r.is_empty().then_some(value)
    }

    #[test]
    fn every_kind_of_read_file_decodes_to_what_was_encoded() {
        let samples = samples();
        let identified = |parsed: &Parsed| matches!(parsed, Parsed::Document(doc) if doc.all_entries().unwrap().identified.is_some());
        assert!(identified(&samples[0]) && !identified(&samples[2]));
        assert!(matches!(samples[3], Parsed::Document(Document { note: Some(_), .. })));
        assert!(matches!(samples[4], Parsed::Error(SyntaxError { format: Some(Format::Json), .. })));
        assert!(matches!(samples[5], Parsed::Error(SyntaxError { format: None, .. })));
        assert!(matches!(samples[6], Parsed::Unknown(_)));
        assert!(matches!(samples[7], Parsed::Template(_)));
        assert!(matches!(samples[8], Parsed::TooWide { .. }));
        for parsed in samples.clone() {
            let (reading, entries) = encode(&parsed);
            let decoded = whole(&reading, super::parsed).unwrap();
            if let (Parsed::Document(doc), Some(entries)) = (&decoded, entries) {
                assert_eq!(doc.entries(), None, "a kept document comes without its entries");
                assert!(doc.fill(whole(&entries, super::entries).unwrap()));
            }
            assert_eq!(decoded, parsed);
        }
        // Entries of another document are refused.
        let (Parsed::Document(one), Parsed::Document(other)) = (&samples[0], &samples[2]) else { unreachable!() };
        let kept = whole(&encode(&samples[0]).0, super::parsed).unwrap();
        let Parsed::Document(kept) = kept else { unreachable!() };
        assert!(!kept.fill(other.all_entries().unwrap().clone()));
        assert!(kept.fill(one.all_entries().unwrap().clone()));
    }

    #[test]
    fn a_damaged_record_decodes_to_nothing() {
        for parsed in samples() {
            let (reading, entries) = encode(&parsed);
            // Cut anywhere, a record is refused.
            for len in 0..reading.len() {
                assert_eq!(whole(&reading[..len], super::parsed), None, "{parsed:?} cut at {len}");
            }
            for len in 0..entries.as_ref().map_or(0, Vec::len) {
                assert_eq!(whole(&entries.as_ref().unwrap()[..len], super::entries), None, "{parsed:?} cut at {len}");
            }
        }
        // An unknown kind, an unknown format, a string that is not UTF-8, a count past the end.
        let (reading, entries) = encode(&samples()[2]);
        for (at, byte) in [(0, 9), (1, 6)] {
            let mut damaged = reading.clone();
            damaged[at] = byte;
            assert_eq!(whole(&damaged, super::parsed), None);
        }
        let entries = entries.unwrap();
        let mut damaged = entries.clone();
        let key = entries.windows(6).position(|w| w == b"server").unwrap();
        damaged[key] = 0xff;
        assert_eq!(whole(&damaged, super::entries), None);
        let mut damaged = entries;
        damaged[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(whole(&damaged, super::entries), None);
    }

    #[test]
    fn a_diff_decodes_to_what_was_encoded_and_a_damaged_one_to_nothing() {
        let old = read(Format::Yaml, "auth:\n  host: ldap.corp\n  timeout: 5\nlegacy: true\n").unwrap();
        let new = read(Format::Yaml, "auth:\n  host: ldap.crop\n  timeout: 5\n  tls: true\n").unwrap();
        let diffed = diff(&old, &new);
        assert_eq!(diffed.len(), 3);
        let mut record = Vec::new();
        put_changes(&mut record, &diffed);
        assert_eq!(whole(&record, changes), Some(diffed));
        for len in 0..record.len() {
            assert_eq!(whole(&record[..len], changes), None, "cut at {len}");
        }
        let mut damaged = record.clone();
        damaged[8] = 0xff;
        assert_eq!(whole(&damaged, changes), None);
    }
}
