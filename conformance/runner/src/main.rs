//! `idcs-mfa-conformance`: see `cli.rs`.
mod cli;
mod cli_run;

fn main() -> std::process::ExitCode {
    cli::main()
}
