//! Python: requirements*.txt and constraints*.txt as pip reads them (`\` continuations, options,
//! comments, paths and URLs in place of requirements), poetry.lock, uv.lock, Pipfile.lock, and
//! pyproject.toml (PEP 621 `[project]`, PEP 735 `[dependency-groups]` and Poetry's tables). Names
//! are normalised per PEP 503, so `Flask_SQLAlchemy` and `flask-sqlalchemy` are one package.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value as Json;
use toml::Value as Toml;

use super::{
    Naming, Packages, ReadError, excerpt, invalid, json_object, parse_json, parse_toml, toml_dependency_table,
    toml_package_array,
};

/// PEP 503: lower case, and every run of `-`, `_` and `.` is one `-`.
pub(super) fn normalise_python_name(name: &str) -> String {
    let mut normalised = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !normalised.ends_with('-') {
                normalised.push('-');
            }
        } else {
            normalised.extend(c.to_lowercase());
        }
    }
    normalised
}

/// A PEP 508 requirement: the normalised name and its specifier (`>=1,<2`), `@ url`, or `*`.
/// None when the text is not a requirement.
fn pep508(text: &str) -> Option<(String, String)> {
    let text = text.trim_start();
    let name_end =
        text.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))).unwrap_or(text.len());
    let name = &text[..name_end];
    let alphanumeric_at = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alphanumeric_at(name.chars().next()) || !alphanumeric_at(name.chars().next_back()) {
        return None;
    }
    let mut rest = text[name_end..].trim_start();
    // Extras (`uvicorn[standard]`) choose optional features, not versions.
    if let Some(extras) = rest.strip_prefix('[') {
        rest = extras.split_once(']')?.1.trim_start();
    }
    let requirement = match rest.chars().next() {
        None | Some(';') => "*".to_string(),
        Some('@') => format!("@ {}", rest[1..].split(" ;").next().unwrap_or_default().trim()),
        Some('(' | '=' | '<' | '>' | '!' | '~') => {
            let specifier = rest.split(';').next().unwrap_or_default();
            let specifier: String =
                specifier.chars().filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')')).collect();
            if specifier.is_empty() { "*".to_string() } else { specifier }
        }
        Some(_) => return None,
    };
    Some((normalise_python_name(name), requirement))
}

/// `#` starts a comment at the start of a line or after whitespace (`...#egg=` is part of a URL).
static PIP_COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)#.*$").expect("the comment pattern is valid"));

/// Options after a requirement: `requests==2.31.0 --hash=sha256:...`.
static PIP_OPTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s--?[A-Za-z]").expect("the option pattern is valid"));

static EGG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#egg=([A-Za-z0-9._-]+)").expect("the egg pattern is valid"));

/// requirements*.txt and constraints*.txt, as pip reads them.
pub(super) fn requirements_txt(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    for (number, line) in joined_lines(content) {
        let line = PIP_COMMENT.replace(&line, "");
        let line = line.trim();
        // Options: -r other.txt, -c, -e ..., --index-url, --hash on a line of its own.
        if line.is_empty() || line.starts_with('-') {
            continue;
        }
        let line = PIP_OPTION.find(line).map_or(line, |option| &line[..option.start()]).trim();
        let (name, requirement) = pep508(line)
            .or_else(|| direct_reference(line))
            .ok_or_else(|| invalid(format!("line {number}: `{}` is not a requirement", excerpt(line))))?;
        out.add(&name, &requirement);
    }
    Ok(())
}

/// Lines with `\` continuations joined, each with the number of the line it starts on.
fn joined_lines(content: &str) -> Vec<(usize, String)> {
    let mut joined = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in content.lines().enumerate() {
        let (start, mut text) = pending.take().unwrap_or((index + 1, String::new()));
        // As in pip, a line holding a comment never continues onto the next.
        match line.strip_suffix('\\').filter(|_| !PIP_COMMENT.is_match(line)) {
            Some(continued) => {
                text.push_str(continued);
                pending = Some((start, text));
            }
            None => {
                text.push_str(line);
                joined.push((start, text));
            }
        }
    }
    joined.extend(pending);
    joined
}

/// A path or URL in place of a requirement: `./vendor/pkg.whl`, `git+https://...#egg=name`.
fn direct_reference(line: &str) -> Option<(String, String)> {
    let is_reference = line.starts_with(['.', '/', '~']) || line.contains("://");
    if !is_reference {
        return None;
    }
    Some(match EGG.captures(line).and_then(|egg| egg.get(1)) {
        Some(egg) => (normalise_python_name(egg.as_str()), line.to_string()),
        None => (line.to_string(), "*".to_string()),
    })
}

pub(super) fn python_toml_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    toml_package_array(content, out, Naming::Python)
}

pub(super) fn pipfile_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_json(content)?;
    for section in ["default", "develop"] {
        let Some(dependencies) = root.get(section) else { continue };
        for (name, entry) in json_object(dependencies, section)? {
            let entry = json_object(entry, &format!("{section}.{name}"))?;
            let text = |field: &str| entry.get(field).and_then(Json::as_str);
            let version = match (text("version"), text("git"), text("path")) {
                (Some(version), _, _) => version.trim_start_matches("==").to_string(),
                (None, Some(url), _) => {
                    format!("git:{url}{}", text("ref").map(|r| format!("?ref={r}")).unwrap_or_default())
                }
                (None, None, Some(path)) => format!("path:{path}"),
                _ => "*".to_string(),
            };
            let name = normalise_python_name(name);
            if section == "develop" {
                out.dev_section(|out| out.add(&name, &version))
            } else {
                out.add(&name, &version)
            }
        }
    }
    Ok(())
}

/// Pipfile: `[packages]` and `[dev-packages]`, `name = "version"` or a table with `version`,
/// `git` or `path`.
pub(super) fn pipfile(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_toml(content)?;
    if let Some(table) = root.get("packages") {
        toml_dependency_table("packages", table, Naming::Python, out)?;
    }
    if let Some(table) = root.get("dev-packages") {
        out.dev_section(|out| toml_dependency_table("dev-packages", table, Naming::Python, out))?;
    }
    Ok(())
}

/// Optional-dependency groups (extras) that serve development, not what ships.
fn is_dev_group(group: &str) -> bool {
    let group = group.to_lowercase();
    ["dev", "test", "lint", "doc", "typing", "type", "check", "ci", "bench", "coverage", "format"]
        .iter()
        .any(|word| group.split(['-', '_']).any(|part| part.starts_with(word)))
}

/// PEP 621 `[project]` lists, PEP 735 `[dependency-groups]`, and Poetry's tables.
pub(super) fn pyproject_toml(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_toml(content)?;
    if let Some(project) = root.get("project") {
        if let Some(list) = project.get("dependencies") {
            pep508_list("project.dependencies", list, out)?;
        }
        if let Some(extras) = project.get("optional-dependencies") {
            pep508_groups("project.optional-dependencies", extras, false, out)?;
        }
    }
    // PEP 735 groups are never installed with the package: development and test tools.
    if let Some(groups) = root.get("dependency-groups") {
        pep508_groups("dependency-groups", groups, true, out)?;
    }
    let Some(poetry) = root.get("tool").and_then(|tool| tool.get("poetry")) else { return Ok(()) };
    if let Some(table) = poetry.get("dependencies") {
        toml_dependency_table("tool.poetry.dependencies", table, Naming::Python, out)?;
    }
    if let Some(table) = poetry.get("dev-dependencies") {
        out.dev_section(|out| toml_dependency_table("tool.poetry.dev-dependencies", table, Naming::Python, out))?;
    }
    let groups = poetry.get("group").and_then(Toml::as_table).into_iter().flatten();
    for (group, table) in groups {
        if let Some(table) = table.get("dependencies") {
            let section = format!("tool.poetry.group.{group}.dependencies");
            if group == "main" {
                toml_dependency_table(&section, table, Naming::Python, out)?;
            } else {
                out.dev_section(|out| toml_dependency_table(&section, table, Naming::Python, out))?;
            }
        }
    }
    Ok(())
}

fn pep508_groups(section: &str, groups: &Toml, all_dev: bool, out: &mut Packages) -> Result<(), ReadError> {
    let groups = groups.as_table().ok_or_else(|| invalid(format!("`{section}` is not a table")))?;
    for (group, list) in groups {
        let section = format!("{section}.{group}");
        if all_dev || is_dev_group(group) {
            out.dev_section(|out| pep508_list(&section, list, out))?;
        } else {
            pep508_list(&section, list, out)?;
        }
    }
    Ok(())
}

fn pep508_list(section: &str, list: &Toml, out: &mut Packages) -> Result<(), ReadError> {
    let list = list.as_array().ok_or_else(|| invalid(format!("`{section}` is not an array")))?;
    for item in list {
        match item {
            Toml::String(text) => {
                let (name, requirement) = pep508(text)
                    .ok_or_else(|| invalid(format!("`{section}`: `{}` is not a PEP 508 requirement", excerpt(text))))?;
                out.add(&name, &requirement);
            }
            // `{ include-group = "test" }` in [dependency-groups]: that group is read on its own.
            Toml::Table(_) => {}
            _ => return Err(invalid(format!("`{section}` holds something that is not a requirement"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalise_python_name;
    use crate::audit::lockfiles::tests::{read_ok, versions};

    #[test]
    fn requirements_txt_reads_what_pip_reads() {
        let requirements = r#"#
# This file is autogenerated by pip-compile with Python 3.12
#
-r base.txt
-c constraints.txt
--index-url https://pypi.org/simple
-e git+https://github.com/acme/tools.git@v2#egg=acme-tools

Django==4.2.13 \
    --hash=sha256:837e3cf1f6c31347a1396a3f6b65688f2b4bb4a11c580dcb628b5afe527b68a5 \
    --hash=sha256:a17fcba2aad3fc7d46fdb23215095dbbd64e6174bf4589171e732b18b07e426a
    # via -r requirements.in
requests>=2.31,<3  # HTTP
uvicorn[standard]==0.29.0
typing_extensions==4.11.0 ; python_version < "3.11"
Flask-SQLAlchemy
importlib-metadata>=6.0; python_version<"3.8"
mypkg @ https://example.com/mypkg-1.0.tar.gz
./vendor/acme_client-1.4.0-py3-none-any.whl
"#;
        let packages = read_ok("requirements-dev.txt", requirements);
        assert_eq!(packages.format, "requirements-dev.txt");
        for (name, requirement) in [
            ("django", "==4.2.13"),
            ("requests", ">=2.31,<3"),
            ("uvicorn", "==0.29.0"),
            ("typing-extensions", "==4.11.0"),
            ("flask-sqlalchemy", "*"),
            ("importlib-metadata", ">=6.0"),
            ("mypkg", "@ https://example.com/mypkg-1.0.tar.gz"),
            ("./vendor/acme_client-1.4.0-py3-none-any.whl", "*"),
        ] {
            assert_eq!(versions(&packages, name), [requirement], "{name}");
        }
        assert_eq!(packages.packages.len(), 8, "options and included files are not packages: {packages:?}");
        assert_eq!(read_ok("constraints.txt", "urllib3<2\n").packages.len(), 1);
    }

    #[test]
    fn a_comment_ending_in_a_backslash_does_not_swallow_the_next_line() {
        // Regression guard: joining first would read `gunicorn` as part of the comment, as pip does not.
        let packages = read_ok("requirements.txt", "# pinned until the workers move \\\ngunicorn==22.0.0\n");
        assert_eq!(versions(&packages, "gunicorn"), ["==22.0.0"]);
    }

    #[test]
    fn python_names_are_normalised_per_pep_503() {
        assert_eq!(normalise_python_name("Typing_Extensions"), "typing-extensions");
        assert_eq!(normalise_python_name("zope.interface"), "zope-interface");
        assert_eq!(normalise_python_name("Foo-_.Bar"), "foo-bar");
    }

    #[test]
    fn poetry_and_uv_locks_read_their_package_arrays() {
        let poetry = r#"# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.

[[package]]
name = "certifi"
version = "2024.2.2"
description = "Python package for providing Mozilla's CA Bundle."
optional = false
python-versions = ">=3.6"
files = [
    {file = "certifi-2024.2.2-py3-none-any.whl", hash = "sha256:dc383c07b76109f368f6106eee2b593b04a011ea4d55f652c6ca24a754d1cdd1"},
]

[[package]]
name = "charset-normalizer"
version = "3.3.2"
description = "The Real First Universal Charset Detector."
optional = false
python-versions = ">=3.7.0"
files = []

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "4c2e1a9f0d4b7f1b1f6d0e6f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
"#;
        let packages = read_ok("poetry.lock", poetry);
        assert_eq!(versions(&packages, "certifi"), ["2024.2.2"]);
        assert_eq!(versions(&packages, "charset-normalizer"), ["3.3.2"]);

        let uv = r#"version = 1
requires-python = ">=3.12"

[[package]]
name = "idna"
version = "3.7"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/idna-3.7.tar.gz", hash = "sha256:028ff3aadf0609c1fd278d8ea3089299412a7a8b9bd005dd08b9f8285bcb5cfc", size = 189575 }

[[package]]
name = "shop"
source = { editable = "." }
dependencies = [
    { name = "idna" },
]
"#;
        let packages = read_ok("uv.lock", uv);
        assert_eq!(versions(&packages, "idna"), ["3.7"]);
        assert_eq!(versions(&packages, "shop"), ["*"], "a dynamic version is not an error");
    }

    #[test]
    fn pipfile_lock_reads_default_and_develop() {
        let lock = r#"{
    "_meta": {
        "hash": { "sha256": "6b2e4c9a" },
        "pipfile-spec": 6,
        "requires": { "python_version": "3.12" },
        "sources": [ { "name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true } ]
    },
    "default": {
        "requests": {
            "hashes": [ "sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f" ],
            "index": "pypi",
            "markers": "python_version >= '3.7'",
            "version": "==2.31.0"
        },
        "acme-tools": { "git": "https://github.com/acme/tools.git", "ref": "5f1c2e0" }
    },
    "develop": {
        "PyTest": { "version": "==8.2.0" }
    }
}"#;
        let packages = read_ok("Pipfile.lock", lock);
        assert_eq!(versions(&packages, "requests"), ["2.31.0"]);
        assert_eq!(versions(&packages, "pytest"), ["8.2.0"]);
        assert_eq!(versions(&packages, "acme-tools"), ["git:https://github.com/acme/tools.git?ref=5f1c2e0"]);
    }

    #[test]
    fn pyproject_reads_pep_621_and_poetry_tables_but_not_python() {
        let pyproject = r#"[project]
name = "shop"
version = "0.4.0"
requires-python = ">=3.11"
dependencies = [
    "requests>=2",
    "pydantic[email]~=2.7",
    "tomli>=1.1.0; python_version < '3.11'",
]

[project.optional-dependencies]
server = ["gunicorn==22.0.0"]

[dependency-groups]
test = ["pytest>=8", { include-group = "lint" }]
lint = ["ruff"]

[tool.poetry.dependencies]
python = "^3.11"
Django = "^5.0"
celery = { version = "^5.4", extras = ["redis"] }
shop-core = { path = "../core", develop = true }

[tool.poetry.group.dev.dependencies]
black = "24.4.2"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"#;
        let packages = read_ok("pyproject.toml", pyproject);
        for (name, requirement) in [
            ("requests", ">=2"),
            ("pydantic", "~=2.7"),
            ("tomli", ">=1.1.0"),
            ("gunicorn", "==22.0.0"),
            ("pytest", ">=8"),
            ("ruff", "*"),
            ("django", "^5.0"),
            ("celery", "^5.4"),
            ("shop-core", "path:../core"),
            ("black", "24.4.2"),
        ] {
            assert_eq!(versions(&packages, name), [requirement], "{name}");
        }
        assert!(!packages.packages.contains_key("python"));
        assert!(!packages.packages.contains_key("poetry-core"), "build requirements are not dependencies");
    }
}
