//! The `blueshift` program, built as part of the test package so process tests run it without a
//! separate build (see `cluster::blueshift_binary`).

fn main() -> std::process::ExitCode {
    blueshift_leader::cli::main()
}
