//! PHP: composer.lock (`packages` and `packages-dev`) and composer.json (`require` and
//! `require-dev`). In composer.json a name without a `vendor/` prefix is the platform (`php`,
//! `ext-intl`), not a package.

use serde_json::Value as Json;

use super::{Packages, ReadError, invalid, json_object, parse_json};

pub(super) fn composer_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_json(content)?;
    for section in ["packages", "packages-dev"] {
        let Some(packages) = root.get(section) else { continue };
        let packages = packages.as_array().ok_or_else(|| invalid(format!("`{section}` is not an array")))?;
        for (index, package) in packages.iter().enumerate() {
            let text = |field: &str| package.get(field).and_then(Json::as_str);
            let name = text("name").ok_or_else(|| invalid(format!("`{section}` entry {} has no name", index + 1)))?;
            let version = text("version").unwrap_or("*");
            if section == "packages-dev" {
                out.dev_section(|out| out.add(name, version))
            } else {
                out.add(name, version)
            }
        }
    }
    Ok(())
}

/// composer.json: `require` and `require-dev`. Every package is `vendor/name`; names without a
/// slash are the platform (`php`, `ext-intl`, `lib-curl`, `composer-plugin-api`), not packages.
pub(super) fn composer_json(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let root = parse_json(content)?;
    for section in ["require", "require-dev"] {
        let Some(requirements) = root.get(section) else { continue };
        for (name, constraint) in json_object(requirements, section)? {
            let constraint =
                constraint.as_str().ok_or_else(|| invalid(format!("`{section}.{name}` is not a string")))?;
            if name.contains('/') && section == "require-dev" {
                out.dev_section(|out| out.add(name, constraint));
            } else if name.contains('/') {
                out.add(name, constraint);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::audit::lockfiles::tests::{names, read_ok, versions};

    #[test]
    fn composer_lock_reads_packages_and_dev_packages() {
        let lock = r#"{
    "_readme": [ "This file locks the dependencies of your project to a known state" ],
    "content-hash": "f0e1d2c3b4a5968778695a4b3c2d1e0f",
    "packages": [
        { "name": "guzzlehttp/guzzle", "version": "7.8.1", "source": { "type": "git", "url": "https://github.com/guzzle/guzzle.git", "reference": "41042bc7ab002487b876a0683fc8dce04ddce104" } },
        { "name": "monolog/monolog", "version": "3.6.0" }
    ],
    "packages-dev": [
        { "name": "phpunit/phpunit", "version": "11.1.3" }
    ],
    "platform": { "php": "^8.2" }
}"#;
        let packages = read_ok("composer.lock", lock);
        assert_eq!(names(&packages), ["guzzlehttp/guzzle", "monolog/monolog", "phpunit/phpunit"]);
        assert_eq!(versions(&packages, "phpunit/phpunit"), ["11.1.3"]);
    }

    #[test]
    fn composer_json_skips_the_platform() {
        let manifest = r#"{
    "name": "acme/shop",
    "require": {
        "php": "^8.2",
        "ext-intl": "*",
        "composer-plugin-api": "^2.0",
        "laravel/framework": "^11.0"
    },
    "require-dev": { "phpunit/phpunit": "^11.1" }
}"#;
        let packages = read_ok("composer.json", manifest);
        assert_eq!(names(&packages), ["laravel/framework", "phpunit/phpunit"]);
        assert_eq!(versions(&packages, "laravel/framework"), ["^11.0"]);
    }
}
