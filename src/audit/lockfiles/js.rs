//! JavaScript: package-lock.json and npm-shrinkwrap.json (lockfileVersion 1 to 3), package.json,
//! yarn.lock (classic v1 and berry) and pnpm-lock.yaml (v5 to v9). yarn.lock looks like YAML but
//! is not, so it is read line by line; pnpm-lock.yaml is YAML, read from the parser's events so
//! that aliases are never expanded. Ranges hold `@` of their own, so a package's name is
//! everything before the first `@` past its scope's.

use serde_json::{Map, Value as Json};
use yaml_rust2::parser::{Event as YamlEvent, Parser as YamlParser};

use super::{Packages, ReadError, excerpt, invalid, json_object, parse_json};

pub(super) fn package_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_json(content)?;
    if let Some(version) = root.get("lockfileVersion").and_then(Json::as_u64) {
        out.format = format!("{} v{version}", out.format);
    }
    // Version 2 carries both maps; `packages` is the complete one.
    if let Some(packages) = root.get("packages") {
        npm_packages(json_object(packages, "packages")?, out)
    } else if let Some(dependencies) = root.get("dependencies") {
        npm_v1_dependencies(json_object(dependencies, "dependencies")?, out)
    } else {
        Ok(())
    }
}

/// lockfileVersion 2 and 3: `node_modules/a/node_modules/b` -> `{ "version": ... }`.
fn npm_packages(packages: &Map<String, Json>, out: &mut Packages) -> Result<(), ReadError> {
    const FOLDER: &str = "node_modules/";
    for (key, entry) in packages {
        // The root project (`""`) and workspace folders (`packages/api`) are not dependencies.
        let Some(at) = key.rfind(FOLDER) else { continue };
        let entry = json_object(entry, key)?;
        let text = |field: &str| entry.get(field).and_then(Json::as_str);
        let version = match (text("version"), text("resolved")) {
            (Some(version), _) => version.to_string(),
            // A workspace package linked into node_modules.
            (None, Some(target)) if entry.get("link").and_then(Json::as_bool) == Some(true) => format!("link:{target}"),
            _ => "*".to_string(),
        };
        let name = &key[at + FOLDER.len()..];
        if entry.get("dev").and_then(Json::as_bool) == Some(true) {
            out.dev_section(|out| out.add(name, &version));
        } else {
            out.add(name, &version);
        }
    }
    Ok(())
}

/// lockfileVersion 1: `dependencies` nested as deep as node_modules (serde_json bounds the depth).
fn npm_v1_dependencies(dependencies: &Map<String, Json>, out: &mut Packages) -> Result<(), ReadError> {
    for (name, entry) in dependencies {
        let entry = json_object(entry, name)?;
        let version = entry.get("version").and_then(Json::as_str).unwrap_or("*");
        if entry.get("dev").and_then(Json::as_bool) == Some(true) {
            out.dev_section(|out| out.add(name, version));
        } else {
            out.add(name, version);
        }
        if let Some(nested) = entry.get("dependencies") {
            npm_v1_dependencies(json_object(nested, name)?, out)?;
        }
    }
    Ok(())
}

pub(super) fn package_json(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_json(content)?;
    for section in ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"] {
        let Some(dependencies) = root.get(section) else { continue };
        for (name, range) in json_object(dependencies, section)? {
            let range = range.as_str().ok_or_else(|| invalid(format!("`{section}.{name}` is not a string")))?;
            if section == "devDependencies" {
                out.dev_section(|out| out.add(name, range))
            } else {
                out.add(name, range)
            }
        }
    }
    Ok(())
}

/// yarn.lock in both of its line formats. Classic (v1) and berry (v2+) look like YAML but are
/// not quite, so both are read line by line: an unindented entry header naming the package, then
/// a `version` line indented by two spaces.
pub(super) fn yarn_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let berry = content.lines().any(|line| line.trim_end() == "__metadata:");
    out.format = format!("{} {}", out.format, if berry { "berry" } else { "v1" });
    let mut entry: Option<YarnEntry> = None;
    for (index, line) in content.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            YarnEntry::check(entry.take())?;
            entry = Some(YarnEntry { name: yarn_header(line, number)?, line: number, has_version: false });
            continue;
        }
        let Some(field) = line.strip_prefix("  ").filter(|rest| !rest.starts_with([' ', '\t'])) else { continue };
        let Some(version) = field.strip_prefix("version").filter(|rest| rest.starts_with([' ', ':'])) else { continue };
        let version = version.trim_start_matches(':').trim().trim_matches('"');
        let Some(entry) = entry.as_mut() else {
            return Err(invalid(format!("line {number}: a version outside any entry")));
        };
        match &entry.name {
            Some(name) => out.add(name, version),
            // `__metadata`'s version is the lockfile format's.
            None => out.format = format!("yarn.lock berry v{version}"),
        }
        entry.has_version = true;
    }
    YarnEntry::check(entry)
}

/// One entry of a yarn.lock, while it is read.
#[derive(Debug)]
struct YarnEntry {
    /// None for berry's `__metadata`.
    name: Option<String>,
    /// Where its header is.
    line: usize,
    has_version: bool,
}

impl YarnEntry {
    /// An entry without a version is a truncated or hand-broken file, not a package to leave out.
    fn check(entry: Option<YarnEntry>) -> Result<(), ReadError> {
        match entry {
            Some(YarnEntry { name: Some(name), line, has_version: false }) => {
                Err(invalid(format!("line {line}: the entry for `{name}` has no version")))
            }
            _ => Ok(()),
        }
    }
}

/// The package an entry header names: `"@babel/core@^7.0.0", "@babel/core@^7.1.0":` (classic) or
/// `"lodash@npm:^4.17.21, lodash@npm:^4.17.4":` (berry). None for berry's `__metadata:`.
fn yarn_header(line: &str, number: usize) -> Result<Option<String>, ReadError> {
    let header = line.trim_end().strip_suffix(':').ok_or_else(|| {
        invalid(format!("line {number}: expected an entry header ending in `:`, found `{}`", excerpt(line)))
    })?;
    if header == "__metadata" {
        return Ok(None);
    }
    let first = header.trim_matches('"').split(", ").next().unwrap_or_default().trim_matches('"');
    npm_name(first)
        .map(|name| Some(name.to_string()))
        .ok_or_else(|| invalid(format!("line {number}: `{}` does not name a package and a range", excerpt(first))))
}

/// The package in `name@range` or `@scope/name@range`: everything before the first `@` past the
/// scope's. Not the last `@`: ranges hold their own (`string-width-cjs@npm:string-width@^4.2.0`,
/// `lodash@patch:lodash@npm%3A4.17.21#...`).
fn npm_name(selector: &str) -> Option<&str> {
    let at = selector.get(1..)?.find('@')? + 1;
    Some(&selector[..at])
}

/// pnpm-lock.yaml: the keys of the top-level `packages` map. Read from the parser's events, not
/// a loaded document: loading would expand aliases (a few lines of anchors can ask for gigabytes)
/// and recurse once per nesting level.
pub(super) fn pnpm_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let mut parser = YamlParser::new_from_str(content);
    let mut document = PnpmDocument::default();
    let mut lockfile_version = None;
    loop {
        let (event, _) = parser.next_token().map_err(|err| invalid(format!("not valid YAML: {err}")))?;
        match event {
            YamlEvent::StreamEnd => break,
            // pnpm can write two documents (its own tooling, then the project's); read both.
            YamlEvent::DocumentEnd => {
                let done = std::mem::take(&mut document);
                for key in &done.package_keys {
                    let (name, version) = pnpm_package(key, done.version.as_deref()).ok_or_else(|| {
                        invalid(format!("`{}` under `packages` is not a pnpm package key", excerpt(key)))
                    })?;
                    out.add(name, version);
                }
                lockfile_version = done.version.or(lockfile_version);
            }
            event => document.visit(event),
        }
    }
    if let Some(version) = lockfile_version {
        out.format = format!("{} v{version}", out.format);
    }
    Ok(())
}

/// Just enough of one YAML document's shape to find `lockfileVersion` and the `packages` keys.
#[derive(Debug, Default)]
struct PnpmDocument {
    open: Vec<YamlContainer>,
    top_key: Option<String>,
    version: Option<String>,
    package_keys: Vec<String>,
}

impl PnpmDocument {
    fn visit(&mut self, event: YamlEvent) {
        let opens = match event {
            YamlEvent::MappingStart(..) => Some(true),
            YamlEvent::SequenceStart(..) => Some(false),
            YamlEvent::Scalar(..) | YamlEvent::Alias(..) => None,
            YamlEvent::MappingEnd | YamlEvent::SequenceEnd => {
                self.open.pop();
                return;
            }
            _ => return,
        };
        let depth = self.open.len();
        let is_key = match self.open.last_mut() {
            Some(YamlContainer { mapping: true, next_is_key }) => std::mem::replace(next_is_key, !*next_is_key),
            _ => false,
        };
        let scalar = if let YamlEvent::Scalar(text, ..) = event { Some(text) } else { None };
        match (depth, is_key, self.top_key.as_deref()) {
            (1, true, _) => self.top_key = scalar,
            (1, false, Some("lockfileVersion")) => self.version = scalar,
            (2, true, Some("packages")) => self.package_keys.extend(scalar),
            _ => {}
        }
        if let Some(mapping) = opens {
            self.open.push(YamlContainer { mapping, next_is_key: true });
        }
    }
}

/// An open mapping or sequence; a mapping's nodes alternate key, value.
#[derive(Debug)]
struct YamlContainer {
    mapping: bool,
    next_is_key: bool,
}

/// `lodash@4.17.21` (v9), `/lodash@4.17.21` and `/react-dom@18.2.0(react@18.2.0)` (v6-v8), or
/// `/lodash/4.17.21` and `/react-dom/18.2.0_react@18.2.0` (v5 and older): name and version.
fn pnpm_package<'a>(key: &'a str, lockfile_version: Option<&str>) -> Option<(&'a str, &'a str)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let major = lockfile_version.and_then(|v| v.trim().split('.').next()?.parse::<u32>().ok());
    let (name, version) = if major.is_some_and(|major| major < 6) {
        let (name, version) = key.rsplit_once('/')?;
        (name, version.split('_').next().unwrap_or(version))
    } else {
        let key = key.split('(').next().unwrap_or(key);
        let name = npm_name(key)?;
        (name, &key[name.len() + 1..])
    };
    Some((name, version)).filter(|(name, version)| !name.is_empty() && !version.is_empty())
}

// Its samples are also fed to every parser by the format-spanning tests in mod.rs.
#[cfg(test)]
pub(super) mod tests {
    use crate::audit::lockfiles::tests::{names, read_ok, versions};

    pub(in crate::audit::lockfiles) const PACKAGE_LOCK_V3: &str = r#"{
  "name": "shop",
  "version": "2.4.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "shop",
      "version": "2.4.0",
      "workspaces": ["packages/*"],
      "dependencies": { "express": "^4.19.2" },
      "devDependencies": { "@types/node": "^20.12.7" }
    },
    "node_modules/@types/node": {
      "version": "20.12.7",
      "resolved": "https://registry.npmjs.org/@types/node/-/node-20.12.7.tgz",
      "integrity": "sha512-wq0cICSkRLVaf3UGLMGItu/PtdY7oaXaI/RVU+xliKVOtRna3PRY57ZDfztpDL0n11vfymMUnXv8QwYCO7L1wg==",
      "dev": true
    },
    "node_modules/debug": {
      "version": "4.3.4",
      "resolved": "https://registry.npmjs.org/debug/-/debug-4.3.4.tgz"
    },
    "node_modules/express": {
      "version": "4.19.2",
      "resolved": "https://registry.npmjs.org/express/-/express-4.19.2.tgz",
      "dependencies": { "debug": "2.6.9" }
    },
    "node_modules/express/node_modules/debug": {
      "version": "2.6.9",
      "resolved": "https://registry.npmjs.org/debug/-/debug-2.6.9.tgz"
    },
    "node_modules/shop-api": {
      "resolved": "packages/api",
      "link": true
    },
    "packages/api": {
      "name": "shop-api",
      "version": "0.3.0"
    }
  }
}"#;

    #[test]
    fn package_lock_v3_names_nested_and_scoped_packages() {
        let packages = read_ok("web/package-lock.json", PACKAGE_LOCK_V3);
        assert_eq!(packages.format, "package-lock.json v3");
        assert_eq!(names(&packages), ["@types/node", "debug", "express", "shop-api"]);
        assert_eq!(versions(&packages, "debug"), ["2.6.9", "4.3.4"]);
        assert_eq!(versions(&packages, "@types/node"), ["20.12.7"]);
        assert_eq!(versions(&packages, "shop-api"), ["link:packages/api"]);
    }

    #[test]
    fn package_lock_v1_recurses_into_nested_dependencies() {
        let lock = r#"{
  "name": "legacy",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "left-pad": { "version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz" },
    "request": {
      "version": "2.88.2",
      "requires": { "qs": "~6.5.2" },
      "dependencies": {
        "qs": { "version": "6.5.3" }
      }
    },
    "qs": { "version": "6.11.2" }
  }
}"#;
        let packages = read_ok("npm-shrinkwrap.json", lock);
        assert_eq!(packages.format, "npm-shrinkwrap.json v1");
        assert_eq!(versions(&packages, "left-pad"), ["1.3.0"]);
        assert_eq!(versions(&packages, "qs"), ["6.5.3", "6.11.2"]);
    }

    #[test]
    fn package_json_reads_all_four_dependency_maps() {
        let manifest = r#"{
  "name": "shop",
  "private": true,
  "scripts": { "build": "vite build" },
  "dependencies": { "react": "^18.3.1", "@tanstack/react-query": "~5.40.0" },
  "devDependencies": { "vite": "5.2.11" },
  "peerDependencies": { "react-dom": ">=18" },
  "optionalDependencies": { "fsevents": "2.3.3" }
}"#;
        let packages = read_ok("package.json", manifest);
        assert_eq!(names(&packages), ["@tanstack/react-query", "fsevents", "react", "react-dom", "vite"]);
        assert_eq!(versions(&packages, "@tanstack/react-query"), ["~5.40.0"]);
        assert_eq!(versions(&packages, "react-dom"), [">=18"]);
    }

    pub(in crate::audit::lockfiles) const YARN_V1: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/core@^7.0.0", "@babel/core@^7.1.0":
  version "7.1.2"
  resolved "https://registry.yarnpkg.com/@babel/core/-/core-7.1.2.tgz#f8d2a9ceb6832887329a7b60f9d035791400ba4e"
  integrity sha512-IFeSSnjXdhDaoysIlev//UzHZbdEmm7D0EIH2qtse9xK7mXEZQpYjs2P00XlP1qYsYvid79p+Zgg6tz1mp6iVw==
  dependencies:
    "@babel/generator" "^7.1.2"
    debug "^3.1.0"

debug@^3.1.0:
  version "3.2.7"
  resolved "https://registry.yarnpkg.com/debug/-/debug-3.2.7.tgz#72580b7e9145fb39b6676f9c5e5fb100b934179a"
  dependencies:
    ms "^2.1.1"

debug@^4.1.0, debug@^4.3.4:
  version "4.3.4"
  resolved "https://registry.yarnpkg.com/debug/-/debug-4.3.4.tgz#1319f6579357f2338d3337d2cdd4914bb5dcc865"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz"
"#;

    #[test]
    fn yarn_v1_reads_scoped_names_multiple_selectors_and_aliases() {
        let packages = read_ok("yarn.lock", YARN_V1);
        assert_eq!(packages.format, "yarn.lock v1");
        assert_eq!(names(&packages), ["@babel/core", "debug", "string-width-cjs"]);
        assert_eq!(versions(&packages, "@babel/core"), ["7.1.2"]);
        assert_eq!(versions(&packages, "debug"), ["3.2.7", "4.3.4"]);
    }

    pub(in crate::audit::lockfiles) const YARN_BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@babel/core@npm:^7.12.3, @babel/core@npm:^7.23.9":
  version: 7.24.5
  resolution: "@babel/core@npm:7.24.5"
  dependencies:
    "@babel/code-frame": "npm:^7.24.2"
    debug: "npm:^4.1.0"
  checksum: 10c0/e26ba810a77bc8e21579a12fc36c79a0a60554404dc9447f2d64eb1f26d181c48d3b97d39d9f158e9911ec7162a8280acfaf2b4b210e975f0dd4bd4dbb1ee159
  languageName: node
  linkType: hard

"lodash@npm:^4.17.21":
  version: 4.17.21
  resolution: "lodash@npm:4.17.21"
  languageName: node
  linkType: hard

"lodash@patch:lodash@npm%3A4.17.21#~/.yarn/patches/lodash-npm-4.17.21-6382451519.patch":
  version: 4.17.21
  resolution: "lodash@patch:lodash@npm%3A4.17.21#~/.yarn/patches/lodash-npm-4.17.21-6382451519.patch::version=4.17.21&hash=4d8fbd"
  languageName: node
  linkType: hard

"shop@workspace:.":
  version: 0.0.0-use.local
  resolution: "shop@workspace:."
  languageName: unknown
  linkType: soft
"#;

    #[test]
    fn yarn_berry_skips_metadata_and_reads_patched_packages_by_name() {
        let packages = read_ok("yarn.lock", YARN_BERRY);
        assert_eq!(packages.format, "yarn.lock berry v8");
        assert_eq!(names(&packages), ["@babel/core", "lodash", "shop"]);
        assert_eq!(versions(&packages, "@babel/core"), ["7.24.5"]);
        assert_eq!(versions(&packages, "lodash"), ["4.17.21"]);
    }

    pub(in crate::audit::lockfiles) const PNPM_V9: &str = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      react-dom:
        specifier: ^18.2.0
        version: 18.2.0(react@18.2.0)
    devDependencies:
      '@types/react':
        specifier: ^18.3.3
        version: 18.3.3

packages:

  '@types/react@18.3.3':
    resolution: {integrity: sha512-hti/R0pS0q1/xx+TsI73XIqk26eBsISZ2R0wUijXIngRK9R/e7Xw/cXVxQK7R5JjW+SV4zGcn5hXjudkN/pLIw==}

  loose-envify@1.4.0:
    resolution: {integrity: sha512-lyuxPGr/Wfhrlem2CL/UcnUc1zcqKAImBDzukY7Y5F/yQiNdko6+fRLevlw1HgMySw7f611UIY408EtxRSoK3Q==}
    hasBin: true

  react-dom@18.2.0:
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0

  react@18.2.0:
    resolution: {integrity: sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==}

snapshots:

  react-dom@18.2.0(react@18.2.0):
    dependencies:
      loose-envify: 1.4.0
      react: 18.2.0
"#;

    #[test]
    fn pnpm_v9_reads_package_keys_and_not_the_snapshots() {
        let packages = read_ok("pnpm-lock.yaml", PNPM_V9);
        assert_eq!(packages.format, "pnpm-lock.yaml v9.0");
        assert_eq!(names(&packages), ["@types/react", "loose-envify", "react", "react-dom"]);
        assert_eq!(versions(&packages, "react-dom"), ["18.2.0"]);
    }

    #[test]
    fn pnpm_v6_and_v5_keys_lose_their_slash_and_peer_suffixes() {
        let v6 = r#"lockfileVersion: '6.0'

dependencies:
  react-dom:
    specifier: ^18.2.0
    version: 18.2.0(react@18.2.0)

packages:

  /@babel/runtime@7.24.5:
    resolution: {integrity: sha512-Nms86NXrsaeU9vbBJKni6gXiEXZ4CVpYVzEjDH9Sb8vmZ3UljyA1GSOJl/6LGPO8EHLuSF9H+IxNXHPX8QHJ4g==}
    engines: {node: '>=6.9.0'}
    dev: false

  /react-dom@18.2.0(react@18.2.0):
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0
    dev: false
"#;
        let packages = read_ok("pnpm-lock.yaml", v6);
        assert_eq!(packages.format, "pnpm-lock.yaml v6.0");
        assert_eq!(versions(&packages, "@babel/runtime"), ["7.24.5"]);
        assert_eq!(versions(&packages, "react-dom"), ["18.2.0"]);

        let v5 = r#"lockfileVersion: 5.4

specifiers:
  react-dom: ^18.2.0

packages:

  /@babel/runtime/7.20.13:
    resolution: {integrity: sha512-gt3PKXs0DBoL9xCvOIIZ2NEqAGZqHjAnmVbfQtB620V0uReIQutpel14KcneZuer7UioY8ALKZ7iocavvzTNFA==}
    dev: false

  /react-dom/18.2.0_react@18.2.0:
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    dev: false
"#;
        let packages = read_ok("pnpm-lock.yaml", v5);
        assert_eq!(packages.format, "pnpm-lock.yaml v5.4");
        assert_eq!(versions(&packages, "@babel/runtime"), ["7.20.13"]);
        assert_eq!(versions(&packages, "react-dom"), ["18.2.0"]);
    }

    #[test]
    fn pnpm_aliases_are_never_expanded() {
        // Regression guard: a loader that expands aliases turns these few lines into 2^30 nodes.
        let mut bomb = String::from("a0: &a0 [x, x]\n");
        for level in 1..30 {
            bomb.push_str(&format!("a{level}: &a{level} [*a{prev}, *a{prev}]\n", prev = level - 1));
        }
        bomb.push_str("packages:\n  lodash@4.17.21: *a29\n");
        let packages = read_ok("pnpm-lock.yaml", &bomb);
        assert_eq!(versions(&packages, "lodash"), ["4.17.21"]);
    }
}
