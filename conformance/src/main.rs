//! `idcs-mfa-conformance`: see `cli.rs`.
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
