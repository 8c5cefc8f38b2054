//! Ruby: Gemfile.lock, where indentation tells a locked gem (four spaces) from one of its own
//! requirements (six), and Gemfile. The Gemfile is a Ruby program, so only its `gem` lines are read
//! and nothing else in it is an error.

use std::sync::LazyLock;

use regex::Regex;

use super::{Packages, ReadError, excerpt, invalid};

static GEM_SPEC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^    (\S+) \(([^)]+)\)$").expect("the gem spec pattern is valid"));

/// Gemfile.lock: the `specs:` of the GEM, GIT, PATH and PLUGIN SOURCE sections. Four spaces in is
/// a locked gem; six spaces in is one of its own requirements, locked elsewhere in the file.
pub(super) fn gemfile_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let mut section = "";
    let mut in_specs = false;
    for (index, line) in content.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            // Section names are capitals (GEM, BUNDLED WITH); anything else, such as a merge
            // conflict marker, means the file is not a lockfile Bundler would read.
            if !line.chars().all(|c| c.is_ascii_uppercase() || c == ' ') {
                return Err(invalid(format!("line {number}: expected a section name, found `{}`", excerpt(line))));
            }
            (section, in_specs) = (line, false);
            continue;
        }
        if !matches!(section, "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE") {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        match indent {
            2 => in_specs = line.trim_end() == "  specs:",
            4 if in_specs => {
                let spec = GEM_SPEC.captures(line.trim_end()).ok_or_else(|| {
                    invalid(format!("line {number}: expected `name (version)`, found `{}`", excerpt(line.trim())))
                })?;
                out.add(spec.get(1).map_or("", |m| m.as_str()), spec.get(2).map_or("", |m| m.as_str()));
            }
            _ => {}
        }
    }
    Ok(())
}

static GEM_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*gem\s*\(?\s*['"]([^'"]+)['"](.*)$"#).expect("the Gemfile pattern is valid"));

/// Gemfile: `gem 'name', '~> 1.2', '>= 1.2.3', require: false`. The Gemfile is Ruby, so only
/// `gem` lines are read and nothing else in it is an error.
pub(super) fn gemfile(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    // Open `do ... end` blocks, each saying whether it is a development or test group.
    let mut blocks: Vec<bool> = Vec::new();
    for line in content.lines() {
        let code = line.split('#').next().unwrap_or_default();
        let trimmed = code.trim();
        if trimmed == "end" || trimmed.starts_with("end ") {
            blocks.pop();
            continue;
        }
        if let Some(groups) = trimmed.strip_prefix("group ").and_then(|g| g.strip_suffix(" do")) {
            blocks.push(dev_groups(groups));
            continue;
        }
        if trimmed.ends_with(" do") || trimmed.contains(" do |") {
            blocks.push(false);
            continue;
        }
        let Some(gem) = GEM_LINE.captures(code) else { continue };
        let inline = ["group:", "groups:", ":group =>", ":groups =>"]
            .iter()
            .find_map(|key| code.split_once(key).map(|(_, groups)| dev_groups(groups)))
            .unwrap_or(false);
        let dev = inline || blocks.iter().any(|dev| *dev);
        let name = gem.get(1).map_or("", |m| m.as_str());
        let arguments = gem.get(2).map_or("", |m| m.as_str());
        // Version strings come first; the options (`require:`, `platforms:`) end them.
        let versions: Vec<&str> = arguments
            .split(',')
            .skip(1)
            .map(|argument| argument.trim().trim_end_matches(')').trim())
            .map_while(unquote)
            .collect();
        let requirement = if versions.is_empty() { "*".to_string() } else { versions.join(", ") };
        if dev { out.dev_section(|out| out.add(name, &requirement)) } else { out.add(name, &requirement) }
    }
    Ok(())
}

/// Whether a list of Bundler groups (`:development, :test`, `[:test]`) names only development
/// and test groups.
fn dev_groups(text: &str) -> bool {
    let groups: Vec<&str> = text
        .split(',')
        .map(|g| g.trim().trim_matches(|c| matches!(c, '[' | ']' | '(' | ')' | ':' | '\'' | '"' | ' ')))
        .filter(|g| !g.is_empty())
        .take_while(|g| g.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    !groups.is_empty() && groups.iter().all(|g| matches!(*g, "development" | "test" | "ci" | "lint"))
}

fn unquote(text: &str) -> Option<&str> {
    ['\'', '"'].iter().find_map(|quote| text.strip_prefix(*quote)?.strip_suffix(*quote))
}

// Its samples are also fed to every parser by the format-spanning tests in mod.rs.
#[cfg(test)]
pub(super) mod tests {
    use crate::audit::lockfiles::tests::{names, read_ok, versions};

    pub(in crate::audit::lockfiles) const GEMFILE_LOCK: &str = "GIT
  remote: https://github.com/rails/rails.git
  revision: 8d3b7e1f4c2a9b0d6e5f7a8b9c0d1e2f3a4b5c6d
  branch: main
  specs:
    activesupport (7.2.0.alpha)
      concurrent-ruby (~> 1.0, >= 1.0.2)

PATH
  remote: engines/billing
  specs:
    billing (0.1.0)
      activesupport

GEM
  remote: https://rubygems.org/
  specs:
    concurrent-ruby (1.2.3)
    nokogiri (1.16.5-arm64-darwin)
      racc (~> 1.4)
    nokogiri (1.16.5-x86_64-linux)
      racc (~> 1.4)
    puma (6.4.2)
      nio4r (~> 2.0)
    nio4r (2.7.3)
    racc (1.8.0)

PLATFORMS
  arm64-darwin
  x86_64-linux

DEPENDENCIES
  activesupport!
  billing!
  puma (~> 6.4)

RUBY VERSION
   ruby 3.3.1p55

BUNDLED WITH
   2.5.10
";

    #[test]
    fn gemfile_lock_reads_specs_and_not_their_requirements() {
        let packages = read_ok("Gemfile.lock", GEMFILE_LOCK);
        assert_eq!(
            names(&packages),
            ["activesupport", "billing", "concurrent-ruby", "nio4r", "nokogiri", "puma", "racc"]
        );
        assert_eq!(versions(&packages, "concurrent-ruby"), ["1.2.3"], "`(~> 1.0, >= 1.0.2)` is a requirement");
        assert_eq!(versions(&packages, "nokogiri"), ["1.16.5-arm64-darwin", "1.16.5-x86_64-linux"]);
        assert_eq!(versions(&packages, "activesupport"), ["7.2.0.alpha"]);
    }

    #[test]
    fn gemfile_reads_gem_lines_and_their_version_arguments() {
        let gemfile = r#"source "https://rubygems.org"

ruby "3.3.1"

gem "rails", "~> 7.1.3"
gem 'pg', '>= 1.1', '< 2.0'
gem "bootsnap", require: false
gem("puma", "~> 6.4") # web server

group :development, :test do
  gem "debug", platforms: %i[ mri windows ]
  # gem "byebug", "11.1.3"
end
"#;
        let packages = read_ok("Gemfile", gemfile);
        assert_eq!(names(&packages), ["bootsnap", "debug", "pg", "puma", "rails"]);
        assert_eq!(versions(&packages, "pg"), [">= 1.1, < 2.0"]);
        assert_eq!(versions(&packages, "puma"), ["~> 6.4"]);
        assert_eq!(versions(&packages, "bootsnap"), ["*"]);
    }
}
