//! Progress on stderr for runs that take a while: shown only on a terminal, only for human
//! output, and only once a step has taken more than a second, so quick runs and CI logs stay clean.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::time::{Duration, Instant};

use crate::analysis::Progress;

const QUIET_FOR: Duration = Duration::from_secs(1);
const REDRAW_EVERY: Duration = Duration::from_millis(100);

pub struct TerminalProgress<'w> {
    out: RefCell<&'w mut dyn Write>,
    enabled: bool,
    started: Instant,
    quiet_for: Duration,
    last_drawn: Cell<Option<Instant>>,
}

impl<'w> TerminalProgress<'w> {
    pub fn new(out: &'w mut dyn Write, enabled: bool) -> Self {
        TerminalProgress::quiet_for(out, enabled, QUIET_FOR)
    }

    fn quiet_for(out: &'w mut dyn Write, enabled: bool, quiet_for: Duration) -> Self {
        let started = Instant::now();
        TerminalProgress { out: RefCell::new(out), enabled, started, quiet_for, last_drawn: Cell::new(None) }
    }
}

impl Progress for TerminalProgress<'_> {
    fn update(&self, stage: &str, done: usize, total: usize) {
        let now = Instant::now();
        if !self.enabled || now.duration_since(self.started) < self.quiet_for {
            return;
        }
        if self.last_drawn.get().is_some_and(|last| now.duration_since(last) < REDRAW_EVERY) && done < total {
            return;
        }
        self.last_drawn.set(Some(now));
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        let _ = write!(self.out.borrow_mut(), "\r\x1b[2Kgate: {stage}: {done}/{total} ({percent}%)");
        let _ = self.out.borrow_mut().flush();
    }

    fn finish(&self) {
        if self.last_drawn.take().is_some() {
            let _ = write!(self.out.borrow_mut(), "\r\x1b[2K");
            let _ = self.out.borrow_mut().flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(enabled: bool, quiet_for: Option<Duration>) -> String {
        let mut out = Vec::new();
        {
            let progress = match quiet_for {
                Some(quiet_for) => TerminalProgress::quiet_for(&mut out, enabled, quiet_for),
                None => TerminalProgress::new(&mut out, enabled),
            };
            progress.update("reading the release tree", 5, 10);
            progress.finish();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn shows_progress_only_when_enabled_and_clears_it() {
        let shown = run(true, Some(Duration::ZERO));
        assert!(shown.contains("gate: reading the release tree: 5/10 (50%)"), "{shown:?}");
        assert!(shown.ends_with("\r\x1b[2K"), "the line is cleared: {shown:?}");
        assert!(run(false, Some(Duration::ZERO)).is_empty());
    }

    #[test]
    fn a_quick_step_shows_nothing() {
        assert!(run(true, None).is_empty());
    }
}
