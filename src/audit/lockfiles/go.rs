//! Go: go.mod (`require` lines and blocks, `// indirect` modules included, since they are linked
//! into the binary too) and go.sum (every version it checksums, `/go.mod`-only lines included).
//! Directives gate does not know pass, so that a newer Go does not break the read; a line that is
//! no directive at all is an error.

use super::{Packages, ReadError, excerpt, invalid};

/// go.mod: `require` lines and blocks. `// indirect` modules are still linked into the binary, so
/// they count; `replace`, `exclude` and the other directives are not requirements.
pub(super) fn go_mod(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let mut block: Option<&str> = None;
    for (index, raw) in content.lines().enumerate() {
        let number = index + 1;
        let line = raw.split("//").next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(directive) = block {
            if line == ")" {
                block = None;
            } else if directive == "require" {
                go_require(line, number, out)?;
            }
            continue;
        }
        let (directive, rest, opens_block) = match line.strip_suffix('(') {
            Some(head) => (head.trim(), "", true),
            None => line.split_once(char::is_whitespace).map_or((line, "", false), |(d, rest)| (d, rest, false)),
        };
        // Unknown words pass, so that a newer Go's directives do not break gate; junk does not.
        if directive.is_empty() || !directive.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(invalid(format!("line {number}: expected a go.mod directive, found `{}`", excerpt(line))));
        }
        if opens_block {
            block = Some(directive);
        } else if directive == "require" && rest.trim() != "()" {
            go_require(rest, number, out)?;
        }
    }
    match block {
        Some(directive) => Err(invalid(format!("the `{directive} (` block is never closed (truncated?)"))),
        None => Ok(()),
    }
}

fn go_require(line: &str, number: usize, out: &mut Packages) -> Result<(), ReadError> {
    match line.split_whitespace().collect::<Vec<_>>()[..] {
        [module, version] => {
            out.add(module.trim_matches('"'), version);
            Ok(())
        }
        _ => Err(invalid(format!("line {number}: expected `module version`, found `{}`", excerpt(line)))),
    }
}

/// go.sum: `module version hash`; `version/go.mod` lines checksum only the go.mod of that version.
pub(super) fn go_sum(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    for (index, line) in content.lines().enumerate() {
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            [] => {}
            [module, version, _hash] => out.add(module, version.strip_suffix("/go.mod").unwrap_or(version)),
            _ => {
                let found = excerpt(line);
                return Err(invalid(format!("line {}: expected `module version hash`, found `{found}`", index + 1)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::audit::lockfiles::tests::{names, read_ok, versions};

    #[test]
    fn go_mod_reads_require_lines_and_blocks_with_indirect_modules() {
        let module = r#"module github.com/acme/shop

go 1.22.2

toolchain go1.22.3

require ()

require github.com/pkg/errors v0.9.1

require (
	github.com/gin-gonic/gin v1.10.0
	github.com/stretchr/testify v1.9.0 // test only
	golang.org/x/sys v0.20.0 // indirect
)

replace github.com/acme/internal => ../internal

exclude (
	golang.org/x/net v0.0.0-20190311183353-d8887717615a
)
"#;
        let packages = read_ok("go.mod", module);
        assert_eq!(
            names(&packages),
            ["github.com/gin-gonic/gin", "github.com/pkg/errors", "github.com/stretchr/testify", "golang.org/x/sys"]
        );
        assert_eq!(versions(&packages, "golang.org/x/sys"), ["v0.20.0"]);
    }

    #[test]
    fn go_sum_strips_go_mod_suffixes_and_keeps_every_version() {
        let sums = "github.com/gin-gonic/gin v1.9.1 h1:4idEAncQnU5cB7BeOkPtxjfCSye0AAm1R0RVIqJ+Jmg=
github.com/gin-gonic/gin v1.9.1/go.mod h1:hPrL7YrpYKXt5YId3A/Tnip5kqbEAP+KLuI3SUcPTeU=
github.com/gin-gonic/gin v1.10.0 h1:nTuyha1TYqgedzytsKYqna+DfLos46nTv2ygFy86HFU=
github.com/gin-gonic/gin v1.10.0/go.mod h1:4PMNQiOhvDRa013RKVbsiNwoyezlm2rm0uX/T7kzp5Y=
golang.org/x/sys v0.20.0/go.mod h1:/VUhepiaJMQUp4+oa/7Zr1D23ma6VTLIYjOOTFZPUcA=
";
        let packages = read_ok("go.sum", sums);
        assert_eq!(versions(&packages, "github.com/gin-gonic/gin"), ["v1.9.1", "v1.10.0"]);
        assert_eq!(versions(&packages, "golang.org/x/sys"), ["v0.20.0"]);
    }
}
