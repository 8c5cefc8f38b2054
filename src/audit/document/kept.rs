//! A read configuration file as the blob cache keeps it: what [`parse`](super::parse) made of
//! one blob at one path, so that a second run on the same release reads and parses nothing.
//!
//! Reading a file depends on its content and on its path alone (the name picks the format and
//! says whether it is a template), so the record is kept under the blob id and a fingerprint of
//! the path and of this encoding. Every field is written in full, the entries keyed by identity
//! too (the diff's most costly step), and decoding checks every length, tag and string: a record
//! that does not decode whole is read again from the blob, never half believed.

use sha2::{Digest, Sha256};

use super::{Document, Entry, Format, Parsed, SyntaxError};
use crate::git::bytes::{Reader, put_bytes32, put_u32};

/// Changes whenever what is written here, or what reading a file gives, changes meaning.
const VERSION: &str = "document-v1";

/// What a record is kept under, beside the blob id: the path (which decides how the blob is
/// read), this encoding and gate's version. A SHA-256, so no path of a release can be made to
/// share another path's records.
pub fn fingerprint(path: &str) -> u64 {
    let mut hash = Sha256::new();
    hash.update(env!("CARGO_PKG_VERSION"));
    hash.update([0]);
    hash.update(VERSION);
    hash.update([0]);
    hash.update(path);
    let digest = hash.finalize();
    u64::from_le_bytes(digest[..8].try_into().unwrap_or_else(|_| unreachable!("a SHA-256 has 32 bytes")))
}

const DOCUMENT: u8 = 0;
const ERROR: u8 = 1;
const UNKNOWN: u8 = 2;
const TEMPLATE: u8 = 3;
const TOO_WIDE: u8 = 4;

/// No format (an error in content that is not text), and no text (an unquoted value).
const NONE: u8 = 0xff;

pub fn encode(parsed: &Parsed) -> Vec<u8> {
    let mut out = Vec::new();
    match parsed {
        Parsed::Document(doc) => {
            out.push(DOCUMENT);
            out.push(format_byte(doc.format));
            put_optional(&mut out, doc.note.as_deref());
            put_u32(&mut out, doc.entries.len() as u32);
            for entry in &doc.entries {
                put_text(&mut out, &entry.key);
                put_text(&mut out, &entry.value);
                put_optional(&mut out, entry.text.as_deref());
                put_u32(&mut out, entry.line);
                put_u32(&mut out, entry.col);
            }
            // Keyed by identity, each entry is the same but for its key: only the keys are kept.
            match &doc.identified {
                Some(identified) => {
                    out.push(1);
                    for entry in identified {
                        put_text(&mut out, &entry.key);
                    }
                }
                None => out.push(0),
            }
        }
        Parsed::Error(error) => {
            out.push(ERROR);
            out.push(error.format.map_or(NONE, format_byte));
            put_u32(&mut out, error.line);
            put_u32(&mut out, error.col);
            put_text(&mut out, &error.message);
        }
        Parsed::Unknown(reason) => {
            out.push(UNKNOWN);
            put_text(&mut out, reason);
        }
        Parsed::Template(reason) => {
            out.push(TEMPLATE);
            put_text(&mut out, reason);
        }
        Parsed::TooWide { format, keys } => {
            out.push(TOO_WIDE);
            out.push(format_byte(*format));
            out.extend_from_slice(&(*keys as u64).to_le_bytes());
        }
    }
    out
}

/// The record `encode` wrote; none when any part of it does not read, or bytes are left over.
pub fn decode(bytes: &[u8]) -> Option<Parsed> {
    let mut r = Reader::new(bytes);
    let parsed = match r.take(1)?[0] {
        DOCUMENT => {
            let format = format_of(r.take(1)?[0])?;
            let note = optional(&mut r)?;
            let count = r.u32()? as usize;
            // Each entry takes at least 17 bytes: a count past what is left is damage, and must
            // not reserve memory for it.
            if count > r.remaining() / 17 {
                return None;
            }
            let mut entries = Vec::with_capacity(count);
            for _ in 0..count {
                let (key, value, text) = (text(&mut r)?, text(&mut r)?, optional(&mut r)?);
                entries.push(Entry { key, value, text, line: r.u32()?, col: r.u32()? });
            }
            let identified = match r.take(1)?[0] {
                0 => None,
                1 => {
                    let mut identified = Vec::with_capacity(count);
                    for entry in &entries {
                        identified.push(Entry { key: text(&mut r)?, ..entry.clone() });
                    }
                    Some(identified)
                }
                _ => return None,
            };
            Parsed::Document(Document { format, entries, note, identified })
        }
        ERROR => {
            let format = match r.take(1)?[0] {
                NONE => None,
                byte => Some(format_of(byte)?),
            };
            let (line, col) = (r.u32()?, r.u32()?);
            Parsed::Error(SyntaxError { format, line, col, message: text(&mut r)? })
        }
        UNKNOWN => Parsed::Unknown(text(&mut r)?),
        TEMPLATE => Parsed::Template(text(&mut r)?),
        TOO_WIDE => {
            let format = format_of(r.take(1)?[0])?;
            let keys = usize::try_from(u64::from_le_bytes(r.take(8)?.try_into().ok()?)).ok()?;
            Parsed::TooWide { format, keys }
        }
        _ => return None,
    };
    r.is_empty().then_some(parsed)
}

const FORMATS: [Format; 6] = [Format::Toml, Format::Yaml, Format::Json, Format::Ini, Format::Env, Format::Properties];

fn format_byte(format: Format) -> u8 {
    FORMATS.iter().position(|f| *f == format).unwrap_or_else(|| unreachable!("every format is listed")) as u8
}

fn format_of(byte: u8) -> Option<Format> {
    FORMATS.get(byte as usize).copied()
}

/// A string in full (values may be long: a YAML block of shell script).
fn put_text(out: &mut Vec<u8>, text: &str) {
    put_bytes32(out, text.as_bytes());
}

fn put_optional(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => {
            out.push(1);
            put_text(out, text);
        }
        None => out.push(NONE),
    }
}

fn text(r: &mut Reader<'_>) -> Option<String> {
    String::from_utf8(r.bytes32()?.to_vec()).ok()
}

fn optional(r: &mut Reader<'_>) -> Option<Option<String>> {
    match r.take(1)?[0] {
        1 => Some(Some(text(r)?)),
        NONE => Some(None),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::document::parse;

    /// Files read every way a file can be read: a document with lists keyed by identity, one
    /// without, one read as another format (a note), a syntax error, content that is not text,
    /// an unknown format, a template, and one too wide to analyse.
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

    #[test]
    fn every_kind_of_read_file_decodes_to_what_was_encoded() {
        let samples = samples();
        assert!(matches!(&samples[0], Parsed::Document(doc) if doc.identified.is_some()));
        assert!(matches!(&samples[2], Parsed::Document(doc) if doc.identified.is_none()));
        assert!(matches!(samples[3], Parsed::Document(Document { note: Some(_), .. })));
        assert!(matches!(samples[4], Parsed::Error(SyntaxError { format: Some(Format::Json), .. })));
        assert!(matches!(samples[5], Parsed::Error(SyntaxError { format: None, .. })));
        assert!(matches!(samples[6], Parsed::Unknown(_)));
        assert!(matches!(samples[7], Parsed::Template(_)));
        assert!(matches!(samples[8], Parsed::TooWide { .. }));
        for parsed in samples {
            assert_eq!(decode(&encode(&parsed)), Some(parsed));
        }
    }

    #[test]
    fn a_damaged_record_decodes_to_nothing() {
        for parsed in samples() {
            let record = encode(&parsed);
            // Cut anywhere, or with a byte left over, a record is refused.
            for len in 0..record.len() {
                assert_eq!(decode(&record[..len]), None, "{parsed:?} cut at {len}");
            }
            let mut longer = record.clone();
            longer.push(0);
            assert_eq!(decode(&longer), None);
        }
        // An unknown kind, an unknown format, a string that is not UTF-8, a count past the end.
        let record = encode(&samples()[2]);
        for (at, byte) in [(0, 9), (1, 6)] {
            let mut damaged = record.clone();
            damaged[at] = byte;
            assert_eq!(decode(&damaged), None);
        }
        let mut damaged = record.clone();
        let key = record.windows(6).position(|w| w == b"server").unwrap();
        damaged[key] = 0xff;
        assert_eq!(decode(&damaged), None);
        let mut damaged = record;
        damaged[3..7].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&damaged), None);
    }

    #[test]
    fn the_fingerprint_is_of_the_path() {
        assert_eq!(fingerprint("ports/zlib/vcpkg.json"), fingerprint("ports/zlib/vcpkg.json"));
        assert_ne!(fingerprint("ports/zlib/vcpkg.json"), fingerprint("ports/zlib/vcpkg.yaml"));
    }
}
