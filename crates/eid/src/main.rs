//! The `eid` command: parses the command line and hands over to [`eid::cli::run`].

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    eid::cli::run()
}
