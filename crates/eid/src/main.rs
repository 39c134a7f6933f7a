//! The `eid` command: parses the command line and hands over to [`eid::cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    eid::cli::run()
}
