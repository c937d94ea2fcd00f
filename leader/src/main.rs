//! `blueshift`: run a local cluster, a compute node, or a leader.

fn main() -> std::process::ExitCode {
    blueshift_leader::cli::main()
}
