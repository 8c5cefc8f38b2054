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
    last_drawn: Cell<Option<Instant>>,
}

impl<'w> TerminalProgress<'w> {
    pub fn new(out: &'w mut dyn Write, enabled: bool) -> Self {
        TerminalProgress { out: RefCell::new(out), enabled, started: Instant::now(), last_drawn: Cell::new(None) }
    }
}

impl Progress for TerminalProgress<'_> {
    fn update(&self, stage: &str, done: usize, total: usize) {
        let now = Instant::now();
        if !self.enabled || now.duration_since(self.started) < QUIET_FOR {
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
