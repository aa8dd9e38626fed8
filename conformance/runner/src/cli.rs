//! The command line. clap lives here only; the library under it has none.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    str::FromStr,
    time::Duration,
};

use clap::{Args, Parser, Subcommand};
use idcs_mfa::Secret;
use idcs_mfa_conformance::{ReadingReport, choices_of, diff::NotAReport};
use idcs_mfa_mock::{self as mock, Behaviour, Fault, Fixture, MockConfig, Variation};
use idcs_mfa_model::readings::UnknownReading;

/// The exit codes of every command (docs/running.md, "Exit codes"): the numbers are
/// the same for all; what 1 stands for is the command's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: `run`: every check that ran passed; `diff`: nothing got worse; `serve`:
    /// stopped normally (Ctrl-C); the other commands: done.
    Ok = 0,
    /// 1: `run`: a check failed (or, with `--fail-on-drift`, an answer drifted);
    /// `diff`: something got worse; `serve`: the server failed while running.
    Failed = 1,
    /// 2: an error of the command itself: usage, a profile, a set-up problem the
    /// preflight found, a tenant that stopped answering, a file that is not a report,
    /// a start-up error of `serve` (the async runtime, the fixture, the address).
    Error = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// Prints `error: {e}` on standard error and gives [`Exit::Error`].
pub fn error(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    Exit::Error.into()
}

/// Conformance suite and stateful mock tenant for the Oracle IDCS MFA verification API
/// (/mfa/v1).
#[derive(Debug, Parser)]
#[command(name = "idcs-mfa-conformance", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the conformance suite (the default): against --base-url with a profile, or,
    /// with no target, against a mock tenant started in this process.
    #[command(after_help = crate::cli_run::RUN_AFTER_HELP)]
    Run(crate::cli_run::RunArgs),
    /// List the checks: ids, evidence levels and sources. Sends no request.
    List(crate::cli_run::ListArgs),
    /// Print the model of the documented behaviour: its rules, and the request life
    /// cycle and the attempt counter as mermaid state diagrams (docs/model.md).
    Model,
    /// Print the readings: every point where the documents are silent or can be read two
    /// ways, its alternatives and what each rests on (docs/readings.md).
    Readings,
    /// Write a readings file from a JSON report (`run --format json`): the alternative
    /// the measured tenant showed of each reading, for `serve --readings FILE` and
    /// `MockConfig::readings`, so that the mock plays that tenant's habits.
    Calibrate(CalibrateArgs),
    /// Run the mock tenant: the five /mfa/v1 operations, the token endpoint and the
    /// control API, until Ctrl-C.
    Serve(Serve),
    /// Compare two JSON reports (`run --format json`): outcomes that changed, drift,
    /// statuses newly (no longer) observed, undeclared members, latency beyond noise,
    /// 429s. Exit 0 when nothing got worse, 1 when something did, 2 when a file cannot
    /// be read.
    Diff(DiffArgs),
}

/// Options of `calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// A report of the tenant (`run --format json > REPORT.json`).
    #[arg(value_name = "REPORT.json")]
    report: PathBuf,
}

/// Options of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier report (JSON).
    #[arg(value_name = "OLD.json")]
    old: PathBuf,

    /// The later report (JSON).
    #[arg(value_name = "NEW.json")]
    new: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value = "console")]
    format: crate::cli_run::Format,

    /// Latency changes up to this many milliseconds are noise (a larger change must
    /// also be more than half the smaller time to count).
    #[arg(long, value_name = "MS", default_value_t = idcs_mfa_conformance::diff::DEFAULT_NOISE_MS)]
    noise_ms: u64,
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct Serve {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8700")]
    listen: SocketAddr,

    /// JSON fixture of users, factors and apps (format: see docs/mock.md); default: the
    /// users of the seed examples plus the suite's own user
    /// (c0f0c0f0c0f04c0f8c0fc0f0c0f0c0f0, conformance@example.com, every method).
    #[arg(long, value_name = "FILE")]
    fixture: Option<PathBuf>,

    /// Seconds a PUSH stays pending before it expires.
    #[arg(long, value_name = "SECS", default_value_t = mock::DEFAULT_PUSH_EXPIRY.as_secs())]
    push_expiry: u64,

    /// Attempts (OTPs sent plus failed verifications) that lock a user.
    #[arg(long, value_name = "N", default_value_t = mock::DEFAULT_MAX_ATTEMPTS,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_attempts: u32,

    /// Switch on a named deviation from the contract (repeatable), e.g. no_auth.
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<Fault>,

    /// Switch on a realistic, conforming habit of real tenants (repeatable): all, or
    /// rate_limit (429 with Retry-After seconds), rate_limit_http_date (with an
    /// HTTP-date), rate_limit_bare (without), slow, delayed_push, idle_close,
    /// connection_close, extra_members.
    #[arg(long = "behaviour", value_name = "NAME", value_parser = parse_behaviour)]
    behaviours: Vec<Vec<Behaviour>>,

    /// Under a rate-limit behaviour, every how many /mfa/v1 requests one is answered 429
    /// (with --rate-limit-burst, the period of the bursts).
    #[arg(long, value_name = "N", default_value_t = mock::Timing::default().rate_limit_every,
          value_parser = clap::value_parser!(u32).range(2..))]
    rate_limit_every: u32,

    /// Under a rate-limit behaviour, how many requests in a row of every
    /// --rate-limit-every N are answered 429 (less than N), e.g. 3 with N = 12.
    #[arg(long, value_name = "K", default_value_t = mock::Timing::default().rate_limit_burst,
          value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_burst: u32,

    /// The wait a rate-limited answer asks for, in whole seconds (Retry-After: SECS, or
    /// the date SECS from now); default: 1 s times --behaviour-scale.
    #[arg(long, value_name = "SECS")]
    retry_after: Option<u64>,

    /// Multiplies the behaviours' delays (Retry-After 1 s, slow 300 ms, PUSH decision
    /// 2 s, idle close 500 ms), e.g. 0.1 for a quick local run.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = parse_scale)]
    behaviour_scale: f64,

    /// Switch on a conforming change of the answers (repeatable): extra_member (an
    /// undeclared member in the factor list), reordered_factors. For drift tests of
    /// tenant snapshots; no check fails on them.
    #[arg(long = "variation", value_name = "NAME")]
    variations: Vec<Variation>,

    /// Take this alternative of a reading, NAME=ALT (repeatable; `idcs-mfa-conformance
    /// readings` lists them), e.g. poll/other-method=refused. Default: each reading's
    /// first alternative.
    #[arg(long = "reading", value_name = "NAME=ALT", value_parser = idcs_mfa_mock::Choices::parse_one)]
    reading: Vec<mock::Alt>,

    /// Take the readings of FILE (what `calibrate` writes of a measured tenant);
    /// --reading overrides it.
    #[arg(long = "readings", value_name = "FILE")]
    readings: Option<PathBuf>,

    /// Bearer token of the control API; random when not given.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "IDCS_MOCK_CONTROL_TOKEN",
        hide_env_values = true
    )]
    control_token: Option<String>,
}

/// A name that is not a behaviour's, nor `all`.
#[derive(Debug, thiserror::Error)]
#[error("{0}, or all")]
struct NotABehaviour(<Behaviour as FromStr>::Err);

fn parse_behaviour(name: &str) -> Result<Vec<Behaviour>, NotABehaviour> {
    if name == "all" {
        return Ok(Behaviour::ALL.to_vec());
    }
    name.parse::<Behaviour>()
        .map(|b| vec![b])
        .map_err(NotABehaviour)
}

/// A value out of an option's range: `"{text}" is not {what}`.
#[derive(Debug, thiserror::Error)]
#[error("{text:?} is not {what}")]
pub struct OutOfRange {
    /// What was given.
    pub text: String,
    /// What the option takes.
    pub what: &'static str,
}

fn parse_scale(text: &str) -> Result<f64, OutOfRange> {
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && (0.0..=100.0).contains(&f) => Ok(f),
        _ => Err(OutOfRange {
            text: text.to_owned(),
            what: "a factor between 0 and 100",
        }),
    }
}

/// Why a report file (`run --format json`) cannot be used.
#[derive(Debug, thiserror::Error)]
enum ReportFileError {
    /// It cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// It is not JSON.
    #[error(
        "{} is not JSON ({source}); write reports with `run --format json > FILE`",
        .path.display()
    )]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// It is JSON, not a report.
    #[error(transparent)]
    NotAReport(#[from] NotAReport),
    /// It has no readings.
    #[error(
        "{} has no readings (a report of an older version, or not a report of `run --format json`)",
        .path.display()
    )]
    NoReadings { path: PathBuf },
    /// Its readings do not parse.
    #[error("{}: its readings cannot be read: {source}", .path.display())]
    Readings {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// Its readings name a reading or an alternative this version does not know.
    #[error(transparent)]
    UnknownReading(#[from] UnknownReading),
}

/// A report file as JSON.
fn read_report(path: &Path) -> Result<serde_json::Value, ReportFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ReportFileError::NotJson {
        path: path.to_owned(),
        source,
    })
}

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => crate::cli_run::run(crate::cli_run::RunArgs::defaults()),
        Some(Command::Run(args)) => crate::cli_run::run(args),
        Some(Command::List(args)) => crate::cli_run::list(args),
        Some(Command::Model) => print(&idcs_mfa_model::describe()),
        Some(Command::Readings) => print(&idcs_mfa_model::readings::describe()),
        Some(Command::Calibrate(args)) => calibrate(args),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Diff(args)) => diff(args),
    }
}

fn diff(args: DiffArgs) -> ExitCode {
    use idcs_mfa_conformance::diff;
    let read = || -> Result<diff::ReportDiff, ReportFileError> {
        let (old, new) = (read_report(&args.old)?, read_report(&args.new)?);
        Ok(diff::diff(&old, &new, args.noise_ms)?)
    };
    let d = match read() {
        Ok(d) => d,
        Err(e) => return error(e),
    };
    let text = match args.format {
        crate::cli_run::Format::Console => diff::console(&d),
        crate::cli_run::Format::Json => serde_json::to_string_pretty(&d).unwrap_or_default() + "\n",
    };
    print(&text);
    if d.worse { Exit::Failed } else { Exit::Ok }.into()
}

/// Writes `text` to standard output as it is (a closed pipe is not an error of the
/// command) and gives [`Exit::Ok`].
fn print(text: &str) -> ExitCode {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Exit::Ok.into()
}

fn calibrate(args: CalibrateArgs) -> ExitCode {
    let path = &args.report;
    let read = || -> Result<_, ReportFileError> {
        let report = read_report(path)?;
        let readings =
            report
                .get("readings")
                .cloned()
                .ok_or_else(|| ReportFileError::NoReadings {
                    path: path.to_owned(),
                })?;
        let readings: Vec<ReadingReport> =
            serde_json::from_value(readings).map_err(|source| ReportFileError::Readings {
                path: path.to_owned(),
                source,
            })?;
        let choices = choices_of(&readings)?;
        let target = report
            .get("target")
            .and_then(|t| t.as_str())
            .unwrap_or("the tenant")
            .to_owned();
        Ok((target, readings, choices))
    };
    let (target, readings, choices) = match read() {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let mut text = format!(
        "# The readings {target} showed (idcs-mfa-conformance calibrate).\n\
         # The mock tenant plays them: serve --readings FILE, or MockConfig::readings with\n\
         # Choices::load. A reading not listed was not observed: the mock takes its default.\n"
    );
    for r in readings.iter().filter(|r| r.observed()) {
        if let Some(at) = &r.at {
            text.push_str(&format!("# {}: shown by {at}\n", r.reading));
        }
    }
    text.push_str(&choices.to_toml());
    let unseen = readings.iter().filter(|r| !r.observed()).count();
    if unseen > 0 {
        eprintln!(
            "note: {unseen} of {} readings were not observed in this report; the mock takes their defaults",
            readings.len()
        );
    }
    print(&text)
}

fn serve(args: Serve) -> ExitCode {
    if args.rate_limit_burst >= args.rate_limit_every {
        return error(format_args!(
            "--rate-limit-burst {} must be less than --rate-limit-every {} (each period lets one request through)",
            args.rate_limit_burst, args.rate_limit_every
        ));
    }
    let readings = match crate::cli_run::mock_readings(args.readings.as_deref(), &args.reading) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let fixture = match &args.fixture {
        Some(path) => match Fixture::load(path) {
            Ok(f) => f,
            Err(e) => return error(e),
        },
        None => Fixture::default(),
    };
    // A runtime that cannot start is a start-up error, like an address in use.
    let runtime = match crate::cli_run::runtime() {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
                    " (the port is in use; pick another with --listen 127.0.0.1:PORT)"
                } else {
                    ""
                };
                return error(format_args!("cannot listen on {}: {e}{hint}", args.listen));
            }
        };
        let addr = listener.local_addr().unwrap_or(args.listen);
        let token = mock::random_token();
        let control_token = args
            .control_token
            .map(Secret::new)
            .unwrap_or_else(mock::random_token);
        let base_url = format!("http://{addr}");
        // This is a local test server: printing its own test credentials is the point.
        let mut banner = format!(
            "IDCS mock tenant listening on {base_url}\n\n  \
             base URL       {base_url}\n  \
             bearer token   {}   (role \"MFA Client\", never expires)\n  \
             token endpoint {base_url}/oauth2/v1/token   (client conformance-client / {})\n  \
             control API    {base_url}{}\n  \
             control token  {}\n",
            token.expose(),
            mock::fixture::DEFAULT_CLIENT_SECRET,
            mock::CONTROL_PREFIX,
            control_token.expose(),
        );
        if !args.faults.is_empty() {
            let names: Vec<_> = args.faults.iter().map(|f| f.name()).collect();
            banner.push_str(&format!("  faults on      {}\n", names.join(", ")));
        }
        let mut behaviours: Vec<Behaviour> = args.behaviours.into_iter().flatten().collect();
        behaviours.sort();
        behaviours.dedup();
        let scaled = mock::Timing::scaled(args.behaviour_scale);
        let timing = mock::Timing {
            rate_limit_every: args.rate_limit_every,
            rate_limit_burst: args.rate_limit_burst,
            retry_after: args
                .retry_after
                .map_or(scaled.retry_after, Duration::from_secs),
            ..scaled
        };
        if !behaviours.is_empty() {
            let names: Vec<_> = behaviours.iter().map(|b| b.name()).collect();
            banner.push_str(&format!("  behaviours on  {}\n", names.join(", ")));
            let share = match timing.rate_limit_burst {
                1 => format!("1 in {} requests", timing.rate_limit_every),
                k => format!("{k} in a row of every {} requests", timing.rate_limit_every),
            };
            banner.push_str(&format!(
                "  timing         {share} 429, Retry-After {:?}, slow {:?}, PUSH decision {:?} late, idle close {:?}\n",
                timing.retry_after, timing.slow, timing.push_delay, timing.idle
            ));
        }
        if !args.variations.is_empty() {
            let names: Vec<_> = args.variations.iter().map(|v| v.name()).collect();
            banner.push_str(&format!("  variations on  {}\n", names.join(", ")));
        }
        let played = readings.non_default();
        if !played.is_empty() {
            let names: Vec<String> = played.iter().map(|a| a.name()).collect();
            banner.push_str(&format!("  readings       {}\n", names.join(", ")));
        }
        banner.push_str(&format!(
            "\nPoint the conformance runner at it:\n  \
             cargo run -p idcs-mfa-conformance -- run --base-url {base_url} --profile FILE\n\n\
             These are test credentials of this local process only. Ctrl-C stops it.\n"
        ));
        // Whoever reads standard output may stop reading (`serve | head`): the server
        // keeps serving, it does not panic on a closed pipe.
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
        }
        let config = MockConfig {
            fixture,
            push_expiry: Duration::from_secs(args.push_expiry),
            max_attempts: args.max_attempts,
            faults: args.faults,
            behaviours,
            timing,
            variations: args.variations,
            readings,
            token: Some(token),
            control_token: Some(control_token),
            ..MockConfig::default()
        };
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match mock::serve(listener, config, shutdown).await {
            Ok(()) => {
                eprintln!("stopped");
                Exit::Ok.into()
            }
            Err(e) => {
                eprintln!("error: the server stopped: {e}");
                Exit::Failed.into()
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    // Test case: one set of exit codes, the numbers docs/running.md gives.
    #[test]
    fn exit_codes_are_the_documented_numbers() {
        for (exit, code) in [(Exit::Ok, 0), (Exit::Failed, 1), (Exit::Error, 2)] {
            assert_eq!(
                format!("{:?}", ExitCode::from(exit)),
                format!("{:?}", ExitCode::from(code))
            );
        }
    }

    // Test case: a report file that cannot be used says so in the words it always did.
    #[test]
    fn report_file_errors_read_as_before() {
        let dir = std::env::temp_dir().join(format!("idcs-cli-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.json");
        let e = read_report(&missing).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("cannot read {}: ", missing.display())),
            "{e}"
        );
        let not_json = dir.join("not.json");
        std::fs::write(&not_json, "not json").unwrap();
        let e = read_report(&not_json).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{} is not JSON (", not_json.display()))
                && e.ends_with("); write reports with `run --format json > FILE`"),
            "{e}"
        );
        let e = ReportFileError::NoReadings {
            path: not_json.clone(),
        };
        assert_eq!(
            e.to_string(),
            format!(
                "{} has no readings (a report of an older version, or not a report of `run --format json`)",
                not_json.display()
            )
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn faults_parse_by_name_and_unknown_names_are_refused() {
        let cli = Cli::try_parse_from(["x", "serve", "--fault", "no_auth", "--fault", "html_404"])
            .unwrap();
        let Some(Command::Serve(s)) = cli.command else {
            panic!("expected the serve subcommand");
        };
        assert_eq!(s.faults, vec![Fault::NoAuth, Fault::Html404]);
        let err = Cli::try_parse_from(["x", "serve", "--fault", "nope"]).unwrap_err();
        assert!(err.to_string().contains("no_auth"), "{err}");
        assert!(Cli::try_parse_from(["x", "serve", "--max-attempts", "0"]).is_err());
    }

    #[test]
    fn a_burst_must_leave_a_request_of_each_period_through() {
        assert!(Cli::try_parse_from(["x", "serve", "--rate-limit-burst", "0"]).is_err());
        let cli = Cli::try_parse_from([
            "x",
            "serve",
            "--rate-limit-every",
            "4",
            "--rate-limit-burst",
            "4",
        ])
        .unwrap();
        let Some(Command::Serve(s)) = cli.command else {
            panic!("expected the serve subcommand");
        };
        assert_eq!(
            format!("{:?}", serve(s)),
            format!("{:?}", ExitCode::from(Exit::Error)),
            "refused before anything starts"
        );
    }
}
