//! Standard output and error for the command line, without panics.
//!
//! `println!` panics when standard output is a pipe whose reader has gone (`eid … | head -1`).
//! These writes report it instead: a closed standard output ends the command quietly with
//! [`CLOSED`], the code a shell shows for a process stopped by SIGPIPE. What is shown only once
//! (a key seed, a password, a token) goes through [`shown_once`] before it is stored, so that a
//! secret nobody received is never saved.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Write};
use std::rc::Rc;

use super::Failure;

/// The exit code when standard output was closed before everything was written (128 + SIGPIPE).
pub const CLOSED: u8 = 141;

/// A failed write to standard output as a command's failure: quiet when the reader has gone.
pub fn failure(e: &io::Error) -> Failure {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Failure {
            message: String::new(),
            code: CLOSED,
        }
    } else {
        Failure {
            message: format!("cannot write to standard output: {e}"),
            code: 2,
        }
    }
}

/// The failure of a command whose standard output was closed: quiet, [`CLOSED`].
pub fn closed() -> Failure {
    Failure {
        message: String::new(),
        code: CLOSED,
    }
}

/// Standard output as a stream for writers that wrap its errors in their own (CSV): it
/// remembers whether the reader went away, so the command can still end quietly.
pub struct Stream {
    inner: io::StdoutLock<'static>,
    closed: Rc<Cell<bool>>,
}

impl Stream {
    /// The stream, and the flag that says whether the reader went away.
    pub fn new() -> (Stream, Rc<Cell<bool>>) {
        let closed = Rc::new(Cell::new(false));
        let stream = Stream {
            inner: io::stdout().lock(),
            closed: Rc::clone(&closed),
        };
        (stream, closed)
    }

    fn watch<T>(&self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            if e.kind() == io::ErrorKind::BrokenPipe {
                self.closed.set(true);
            }
        }
        r
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.watch(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.watch(r)
    }
}

/// Writes one line to standard output.
pub fn line(args: fmt::Arguments<'_>) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|e| failure(&e))
}

/// Writes `text` (whole lines) to standard output and flushes it, before `what` is stored. If
/// it cannot be written the command stops with exit code 2 and a line on standard error
/// saying that nothing was saved.
pub fn shown_once(text: &str, what: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure {
            message: format!(
                "{what} could not be written to standard output ({}), so nothing was saved",
                if e.kind() == io::ErrorKind::BrokenPipe {
                    "it was closed".to_owned()
                } else {
                    e.to_string()
                }
            ),
            code: 2,
        })
}

/// Writes one line to standard error; a closed standard error is ignored.
pub fn warn(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// `outln!(…)`: `println!` that returns `Result<(), Failure>` instead of panicking.
macro_rules! outln {
    () => {
        $crate::cli::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::out::line(format_args!($($arg)*))
    };
}

/// `errln!(…)`: `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::out::warn(format_args!($($arg)*))
    };
}

pub(crate) use errln;
pub(crate) use outln;
