//! What the container images built from the repository hold and run: the files a Dockerfile's
//! `COPY` and `ADD` install (each source file and the paths it has inside the image), the files
//! its `RUN` lines run while the image builds, and the files its start command runs when a
//! container starts (`ENTRYPOINT` and `CMD`, and, when that is a process supervisor, the
//! programs its configuration starts).
//!
//! A test that runs a command inside the container names the file by its installed path
//! (`/usr/local/bin/notify.sh`), not by its path in the repository (`scripts/notify.sh`); a test
//! that names a path the image installs runs that image, so its build and its start command ran.

use std::collections::{HashMap, HashSet};

use globset::{GlobBuilder, GlobMatcher};

use crate::Result;
use crate::git::{TreeFile, TreeIndex, dir_name, file_name};

/// Where a command without a `/` is looked up in an image, in order.
const PATH_DIRS: &[&str] = &["usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin"];

/// How many process-supervisor configurations deep a start command is followed (`[include]`).
const MAX_CONFIGS: usize = 16;

/// The images of the release tree.
#[derive(Debug, Default)]
pub struct Images {
    /// A source file, lower-cased -> the paths it is installed at (lower-cased, no leading `/`).
    installed: HashMap<String, Vec<String>>,
    images: Vec<Image>,
}

/// One Dockerfile's image.
#[derive(Debug, Default)]
struct Image {
    dockerfile: String,
    /// Installed path (lower-cased, no leading `/`) -> the source file (as in the tree).
    sources: HashMap<String, String>,
    /// The source files (as in the tree) that the build or the start command runs.
    runs: HashSet<String>,
}

/// Whether a file name is a Dockerfile's (`Dockerfile`, `Dockerfile.prod`, `api.Dockerfile`,
/// `Containerfile`).
pub fn is_dockerfile(name: &str) -> bool {
    // Asked of every file of the tree: compared without making a lower-cased copy.
    let name = name.as_bytes();
    let starts = |prefix: &[u8]| name.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix));
    let ends =
        |suffix: &[u8]| name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix);
    name.eq_ignore_ascii_case(b"dockerfile")
        || name.eq_ignore_ascii_case(b"containerfile")
        || starts(b"dockerfile.")
        || starts(b"containerfile.")
        || ends(b".dockerfile")
}

impl Images {
    /// Reads every Dockerfile of `tree`; `read` gives a file's text (a Dockerfile, or a process
    /// supervisor's configuration its start command names).
    pub fn build(tree: &TreeIndex, read: &dyn Fn(&TreeFile) -> Result<String>) -> Result<Images> {
        let mut images = Images::default();
        for file in tree.files().iter().filter(|f| is_dockerfile(file_name(&f.path))) {
            let text = read(file)?;
            let image = Image::read(&file.path, &text, tree, read)?;
            for (installed, source) in &image.sources {
                images.installed.entry(source.to_lowercase()).or_default().push(installed.clone());
            }
            images.images.push(image);
        }
        for paths in images.installed.values_mut() {
            paths.sort();
            paths.dedup();
        }
        Ok(images)
    }

    /// The paths `path` (lower-cased) is installed at in an image, without the leading `/`.
    pub fn installed(&self, lower: &str) -> &[String] {
        self.installed.get(lower).map_or(&[], Vec::as_slice)
    }

    /// Every source file with the paths it is installed at.
    pub fn installed_map(&self) -> &HashMap<String, Vec<String>> {
        &self.installed
    }

    /// The Dockerfile of an image that runs `path` while it builds or when it starts, and the
    /// test that names a path the image installs (so runs it), if there is one.
    pub fn run_by_tested_image<'a>(
        &'a self,
        path: &str,
        named_by_test: &dyn Fn(&str) -> Option<&'a str>,
    ) -> Option<(&'a str, &'a str)> {
        self.images.iter().filter(|image| image.runs.contains(path)).find_map(|image| {
            let mut installed: Vec<&String> = image.sources.keys().collect();
            installed.sort();
            installed.into_iter().find_map(|p| named_by_test(p)).map(|test| (image.dockerfile.as_str(), test))
        })
    }
}

/// One instruction of a Dockerfile: its keyword, upper-cased, and the rest, continuation lines
/// and heredoc bodies joined.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut joined = String::new();
        let mut current = trimmed.to_string();
        loop {
            if let Some(head) = current.strip_suffix('\\') {
                joined.push_str(head);
                joined.push(' ');
                match lines.by_ref().map(str::trim).find(|l| !l.starts_with('#')) {
                    Some(next) => current = next.to_string(),
                    None => break,
                }
            } else {
                joined.push_str(&current);
                break;
            }
        }
        // A heredoc (`RUN <<EOF`): its body is the instruction's text, up to the marker.
        if let Some(at) = joined.find("<<") {
            let marker: String = joined[at + 2..]
                .trim_start_matches('-')
                .trim_matches(|c| c == '"' || c == '\'')
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !marker.is_empty() {
                for body in lines.by_ref() {
                    if body.trim() == marker {
                        break;
                    }
                    joined.push('\n');
                    joined.push_str(body);
                }
            }
        }
        let (keyword, rest) = joined.split_once(char::is_whitespace).unwrap_or((&joined, ""));
        out.push((keyword.to_ascii_uppercase(), rest.trim().to_string()));
    }
    out
}

/// The words of a command, in shell or JSON (exec) form.
fn words(command: &str) -> Vec<String> {
    command
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '[' | ']' | ',' | ';' | '&' | '|' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// `a/b` joined with `c`, or `c` alone when it is absolute; no leading `/`, no `.` components.
fn join(dir: &str, path: &str) -> String {
    let full = if path.starts_with('/') { path.to_string() } else { format!("{dir}/{path}") };
    let mut parts: Vec<&str> = Vec::new();
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn glob(pattern: &str) -> Option<GlobMatcher> {
    GlobBuilder::new(pattern).literal_separator(true).build().ok().map(|g| g.compile_matcher())
}

/// The files of `tree` under `dir` (no trailing `/`; empty for the whole tree).
fn under<'t>(tree: &'t TreeIndex, dir: &str) -> impl Iterator<Item = &'t TreeFile> {
    let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
    let files = tree.files();
    let start = files.partition_point(|f| f.path.as_str() < prefix.as_str());
    files[start..].iter().take_while(move |f| f.path.starts_with(&prefix))
}

impl Image {
    fn read(
        dockerfile: &str,
        text: &str,
        tree: &TreeIndex,
        read: &dyn Fn(&TreeFile) -> Result<String>,
    ) -> Result<Image> {
        let context = dir_name(dockerfile).to_string();
        let mut image = Image { dockerfile: dockerfile.to_string(), ..Image::default() };
        let mut workdir = String::new();
        let mut build_commands = Vec::new();
        let mut start: Vec<String> = Vec::new();
        for (keyword, rest) in instructions(text) {
            match keyword.as_str() {
                "FROM" => {
                    workdir.clear();
                    start.clear();
                }
                "WORKDIR" => workdir = join(&workdir, rest.trim_matches('"')),
                "COPY" | "ADD" => image.copy(&context, &workdir, &rest, tree),
                "RUN" => build_commands.push((workdir.clone(), rest)),
                "ENTRYPOINT" => start.insert(0, rest),
                "CMD" => start.push(rest),
                _ => {}
            }
        }
        let mut configs = 0;
        for (dir, command) in build_commands {
            image.run(&dir, &executed(&command), tree, read, &mut configs)?;
        }
        // The start command and its arguments: `dumb-init -- supervisord -c /etc/supervisord.conf`.
        let start: Vec<String> = start.iter().flat_map(|c| words(c)).collect();
        image.run(&workdir, &start, tree, read, &mut configs)?;
        Ok(image)
    }

    /// `COPY [--chown=...] SRC... DEST`: each source file of the build context and where it
    /// lands. Copies from another stage or image (`--from`) and downloads (`ADD https://...`)
    /// install nothing of the repository.
    fn copy(&mut self, context: &str, workdir: &str, rest: &str, tree: &TreeIndex) {
        let mut args: Vec<String> = Vec::new();
        for word in words(rest) {
            if word.starts_with("--from") {
                return;
            }
            if !word.starts_with("--") {
                args.push(word);
            }
        }
        let Some(dest) = args.pop() else { return };
        let into_dir = dest.ends_with('/') || args.len() > 1;
        let dest = join(workdir, &dest);
        for source in args.iter().filter(|s| !s.contains("://")) {
            let found = [context, ""].iter().map(|root| sources(tree, &join(root, source))).find(|f| !f.is_empty());
            let pattern = source.contains(['*', '?', '[']);
            for ((path, below), from_dir) in found.unwrap_or_default() {
                let installed = if from_dir {
                    join(&dest, &below)
                } else if into_dir || pattern {
                    join(&dest, file_name(&path))
                } else {
                    dest.clone()
                };
                self.sources.insert(installed.to_lowercase(), path);
            }
        }
    }

    /// Runs the files `words` name in the image: by installed path, by a path relative to the
    /// working directory, or by name on the image's `PATH`. A process supervisor's configuration
    /// among them is followed to the programs it starts.
    fn run(
        &mut self,
        workdir: &str,
        words: &[String],
        tree: &TreeIndex,
        read: &dyn Fn(&TreeFile) -> Result<String>,
        configs: &mut usize,
    ) -> Result<()> {
        for word in words {
            let word = word.rsplit('=').next().unwrap_or(word);
            let candidates: Vec<String> = if word.contains('/') {
                vec![join(workdir, word).to_lowercase()]
            } else {
                PATH_DIRS.iter().map(|dir| format!("{dir}/{}", word.to_lowercase())).collect()
            };
            let Some(source) = candidates.iter().find_map(|c| self.sources.get(c)).cloned() else { continue };
            if !self.runs.insert(source.clone()) {
                continue;
            }
            let text = tree.get(&source).map(read).transpose()?;
            if let Some(text) = text.filter(|t| is_supervisor_config(t))
                && *configs < MAX_CONFIGS
            {
                *configs += 1;
                let installed = self.installed_at(&source);
                let (programs, included) = supervised(&text, dir_name(&installed), &self.sources);
                let mut run: Vec<String> = programs.iter().flat_map(|p| executed(p)).collect();
                run.extend(included);
                self.run(workdir, &run, tree, read, configs)?;
            }
        }
        Ok(())
    }

    fn installed_at(&self, source: &str) -> String {
        self.sources.iter().find(|(_, s)| s.as_str() == source).map(|(i, _)| i.clone()).unwrap_or_default()
    }
}

/// The files a `COPY` source names: the file, every file under the directory, or the files a
/// pattern matches; each with whether it came from a directory and its path below the copied
/// directory (its name for a file).
fn sources(tree: &TreeIndex, path: &str) -> Vec<((String, String), bool)> {
    if path.contains(['*', '?', '[']) {
        let literal = path.split(['*', '?', '[']).next().unwrap_or("");
        let Some(matcher) = glob(path) else { return Vec::new() };
        return under(tree, dir_name(literal).trim_end_matches('/'))
            .filter(|f| matcher.is_match(&f.path))
            .map(|f| ((f.path.clone(), file_name(&f.path).to_string()), false))
            .collect();
    }
    if tree.contains(path) {
        return vec![((path.to_string(), file_name(path).to_string()), false)];
    }
    if path.is_empty() || tree.has_dir(path) {
        let prefix = if path.is_empty() { 0 } else { path.len() + 1 };
        return under(tree, path).map(|f| ((f.path.clone(), f.path[prefix..].to_string()), true)).collect();
    }
    Vec::new()
}

/// Whether `text` configures a process supervisor (supervisord's `[program:x]` sections).
fn is_supervisor_config(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        l.starts_with("[program:") || l == "[include]" || l == "[supervisord]"
    })
}

/// The commands of the programs a supervisord configuration starts (`command=` of each
/// `[program:x]` not marked `autostart=false`), and those of the installed configurations its
/// `[include] files =` patterns name, relative to `dir`, the configuration's installed directory.
fn supervised(text: &str, dir: &str, installed: &HashMap<String, String>) -> (Vec<String>, Vec<String>) {
    let mut commands = Vec::new();
    let mut included = Vec::new();
    let mut section = String::new();
    let mut command: Option<String> = None;
    let mut autostart = true;
    let flush = |section: &str, command: &mut Option<String>, autostart: bool, out: &mut Vec<String>| {
        if section.starts_with("program:")
            && autostart
            && let Some(c) = command.take()
        {
            out.push(c);
        }
        *command = None;
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            flush(&section, &mut command, autostart, &mut commands);
            section = name.trim().to_string();
            autostart = true;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let (key, value) = (key.trim(), value.trim());
        match (section.as_str(), key) {
            (s, "command") if s.starts_with("program:") => command = Some(value.to_string()),
            (s, "autostart") if s.starts_with("program:") => autostart = !value.eq_ignore_ascii_case("false"),
            ("include", "files") => {
                for pattern in value.split_whitespace() {
                    let Some(matcher) = glob(&join(dir, pattern).to_lowercase()) else { continue };
                    let mut names: Vec<&String> = installed.keys().filter(|i| matcher.is_match(i.as_str())).collect();
                    names.sort();
                    // Named by their installed path, so that `run` finds them.
                    included.extend(names.into_iter().map(|n| format!("/{n}")));
                }
            }
            _ => {}
        }
    }
    flush(&section, &mut command, autostart, &mut commands);
    (commands, included)
}

/// The words of a shell command line that name what it runs: the first word of each simple
/// command (after `VAR=value` assignments), or, after an interpreter or a wrapper (`bash`,
/// `python3`, `source`, `exec`, `env`), the script it is given; `sh -c '...'` runs its string.
/// `chmod +x /usr/local/bin/x.sh` runs `chmod`, not `x.sh`.
fn executed(line: &str) -> Vec<String> {
    const WRAPPERS: &[&str] = &[
        "bash", "sh", "dash", "ash", "zsh", "ksh", "python", "python3", "perl", "ruby", "node", "php", "source", ".",
        "exec", "env", "sudo", "nohup", "time", "xargs",
    ];
    let mut out = Vec::new();
    for command in line.split(['\n', ';', '|', '&', '(', ')', '`']) {
        let words: Vec<&str> = command
            .split_whitespace()
            .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
            .filter(|w| !w.is_empty())
            .collect();
        let mut rest = words.iter().skip_while(|w| w.contains('=') && !w.starts_with('-')).peekable();
        while let Some(word) = rest.next() {
            if *word == "-c" {
                let inner: Vec<&str> = rest.by_ref().copied().collect();
                out.extend(executed(&inner.join(" ")));
                break;
            }
            if word.starts_with('-') {
                continue;
            }
            out.push(word.to_string());
            if !WRAPPERS.contains(&file_name(word)) {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::Mode;

    fn tree(paths: &[&str]) -> TreeIndex {
        let id = git2::Oid::from_bytes(&[1; 20]).unwrap();
        let mut files: Vec<TreeFile> =
            paths.iter().map(|p| TreeFile { path: p.to_string(), id, mode: Mode::File }).collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        TreeIndex::from_files(files)
    }

    #[test]
    fn copies_install_files_and_the_start_command_runs_what_a_supervisor_starts() {
        let tree = tree(&[
            "Dockerfile",
            "target/scripts/start.sh",
            "target/scripts/check.sh",
            "target/scripts/build/packages.sh",
            "target/scripts/helpers/log.sh",
            "target/scripts/helpers/db/accounts.sh",
            "target/supervisor/supervisord.conf",
            "target/supervisor/conf.d/services.conf",
            "target/other.sh",
        ]);
        let dockerfile = "FROM debian AS build\nCOPY target/scripts/build/packages.sh /build/\n\
            RUN /bin/bash /build/packages.sh && rm -r /build\n\
            FROM debian\nCOPY --from=build /x /x\nCOPY \\\n  target/scripts/*.sh \\\n  /usr/local/bin/\n\
            COPY target/scripts/helpers /usr/local/bin/helpers\n\
            COPY target/supervisor/supervisord.conf /etc/supervisor/supervisord.conf\n\
            COPY target/supervisor/conf.d/* /etc/supervisor/conf.d/\n\
            RUN <<EOF\n  chmod +x /usr/local/bin/*\nEOF\n\
            CMD [\"supervisord\", \"-c\", \"/etc/supervisor/supervisord.conf\"]\n";
        let read = |f: &TreeFile| -> Result<String> {
            Ok(
                match f.path.as_str() {
                    "Dockerfile" => dockerfile,
                    "target/supervisor/supervisord.conf" => "[supervisord]\n[include]\nfiles = conf.d/*.conf\n",
                    "target/supervisor/conf.d/services.conf" => {
                        "[program:main]\ncommand=/usr/local/bin/start.sh\n[program:check]\nautostart=false\ncommand=/usr/local/bin/check.sh\n"
                    }
                    _ => "echo\n",
                }
                .to_string(),
            )
        };
        let images = Images::build(&tree, &read).unwrap();
        assert_eq!(images.installed("target/scripts/start.sh"), ["usr/local/bin/start.sh"]);
        assert_eq!(images.installed("target/scripts/build/packages.sh"), ["build/packages.sh"]);
        assert_eq!(images.installed("target/scripts/helpers/db/accounts.sh"), ["usr/local/bin/helpers/db/accounts.sh"]);
        assert!(images.installed("target/other.sh").is_empty());
        let image = &images.images[0];
        for path in
            ["target/scripts/build/packages.sh", "target/supervisor/supervisord.conf", "target/scripts/start.sh"]
        {
            assert!(image.runs.contains(path), "{path}: {:?}", image.runs);
        }
        // A program the supervisor does not start on its own is not run by starting the image.
        assert!(!image.runs.contains("target/scripts/check.sh"));
        // Run only when a test names a path the image installs.
        let none = |_: &str| None;
        assert_eq!(images.run_by_tested_image("target/scripts/start.sh", &none), None);
        let named = |p: &str| (p == "usr/local/bin/check.sh").then_some("test/check.bats");
        assert_eq!(
            images.run_by_tested_image("target/scripts/start.sh", &named),
            Some(("Dockerfile", "test/check.bats"))
        );
    }
}
