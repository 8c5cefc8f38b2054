//! GitHub Actions workflow commands: each finding becomes an annotation on the file and line it is
//! about, shown in the job log, the run summary and the pull request's diff.
//!
//! One line per finding (`::error` for deny, `::warning` for warn, `::notice` for a waived one),
//! then a notice per check that could not analyse some files, a warning per note, and the verdict
//! last. Everything a command carries is escaped the way the Actions runner unescapes it, so no
//! file name or message can end a command early or start another one.

use std::io::{self, Write};

use super::{Report, Verdict, plural, text};
use crate::checks::Finding;
use crate::config::Severity;

/// Files named in the notice about files a check could not analyse; the rest are counted.
const SHOWN: usize = 5;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for finding in &report.results.findings {
        writeln!(out, "{}", annotation(finding))?;
    }
    for group in report.by_check() {
        let items = &group.not_analysed;
        if items.is_empty() {
            continue;
        }
        let n = items.len();
        let mut text = format!("{n} file{} could not be analysed:", plural(n));
        for item in items.iter().take(SHOWN) {
            text.push_str(&format!("\n{} ({})", item.path, item.reason));
        }
        if n > SHOWN {
            text.push_str(&format!("\n… and {} more (all are listed in --format json)", n - SHOWN));
        }
        writeln!(out, "::notice title={}::{}", property(&format!("gate {}", group.check)), data(&text))?;
    }
    for note in &report.notes {
        writeln!(out, "::warning title=gate::{}", data(note))?;
    }
    for finding in &report.still_needs {
        let title = format!("gate {}: needed before deploy", finding.check);
        writeln!(out, "::notice title={}::{}", property(&title), data(&text::message(finding)))?;
    }
    match report.verdict() {
        Verdict::Blocked => writeln!(out, "::error title=gate::{}", data(&report.verdict_line())),
        // A passing run adds no annotation: it would sit on every pull request and say nothing.
        Verdict::Pass => writeln!(out, "{}", report.verdict_line()),
    }
}

/// `::error file=PATH,line=N,col=M,title=gate CHECK::MESSAGE`
fn annotation(finding: &Finding) -> String {
    let command = match (&finding.waived, finding.severity) {
        (Some(_), _) => "notice",
        (None, Severity::Deny) => "error",
        (None, _) => "warning",
    };
    let mut properties = Vec::new();
    if let Some(path) = &finding.path {
        properties.push(format!("file={}", property(path)));
        if let Some(line) = finding.line {
            properties.push(format!("line={line}"));
            if let Some(column) = finding.column {
                properties.push(format!("col={column}"));
            }
        }
    }
    properties.push(format!("title={}", property(&format!("gate {}", finding.check))));
    let mut message = text::message(finding);
    for line in text::body(finding) {
        message.push_str(&format!("\n  {line}"));
    }
    let (word, rest) = text::closing(finding);
    message.push_str(&format!("\n{word} {rest}"));
    format!("::{command} {}::{}", properties.join(","), data(&message))
}

/// A command's message: `%`, CR and LF are escaped, as the runner's `escapeData` does.
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A command's property value: as `data`, and `:` and `,` too, which would end the value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::{data, property};

    #[test]
    fn data_and_properties_are_escaped_like_the_runner_expects() {
        assert_eq!(data("100% done\r\n::set-env x"), "100%25 done%0D%0A::set-env x");
        assert_eq!(property("bin/a,b:c%.sh"), "bin/a%2Cb%3Ac%25.sh");
    }
}
