//! The `gate` binary: parse the command line, decide on colour, run, map the outcome to the
//! exit code (0 pass, 1 blocked, 2 could not decide).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use gate::cli::{Cli, ColorChoice};
use gate::{Io, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // gate reads each blob once and keeps what it derives itself; libgit2's object cache only
    // costs a lock and an insert per object (a seventh of a cold run on 100,000 files).
    git2::opts::enable_caching(false);
    // Colour is decided for the stream the report is written to: a file gets none unless asked
    // for with `--color always`, whatever the terminal the command runs in.
    let color = match cli.output_file() {
        Some(_) => cli.color == ColorChoice::Always,
        None if cli.reports_on_stderr() => use_color(cli.color, std::io::stderr().is_terminal()),
        None => use_color(cli.color, std::io::stdout().is_terminal()),
    };
    colored::control::set_override(color);

    let mut stdout = QuietOnClosedPipe(std::io::stdout().lock());
    let mut stderr = std::io::stderr().lock();
    let err_is_terminal = std::io::stderr().is_terminal();
    let result = gate::git::reads_log::open()
        .and_then(|()| gate::run(&cli, &mut Io { out: &mut stdout, err: &mut stderr, err_is_terminal }));
    let _ = stdout.flush();
    match result {
        Ok(Outcome::Pass) => ExitCode::SUCCESS,
        Ok(Outcome::Blocked) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(err) => {
            for diagnostic in err.diagnostics() {
                let _ = writeln!(stderr, "{diagnostic}\n");
            }
            let _ = writeln!(stderr, "gate: error: {err}");
            ExitCode::from(2)
        }
    }
}

/// Standard output that treats a reader going away (`gate check | head`) as the end of the
/// output, not as an error: the verdict's exit code must survive a closed pipe.
struct QuietOnClosedPipe<W: Write>(W);

impl<W: Write> Write for QuietOnClosedPipe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.write(buf) {
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.flush() {
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// `--color`, then NO_COLOR (any non-empty value turns colour off), then CLICOLOR_FORCE, then
/// whether the output is a terminal.
fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto if set("CLICOLOR_FORCE") => true,
        ColorChoice::Auto => is_terminal,
    }
}
