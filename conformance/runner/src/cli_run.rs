//! `run` (the default) and `list`. Their exit codes are [`Exit`]'s.

use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    process::ExitCode,
    time::Duration,
};

use clap::{Args, Parser, ValueEnum};
use idcs_mfa_conformance::{
    Evidence, PropConfig, TargetSpec, checks,
    embedded::EmbeddedMock,
    profile::{Overrides, Profile, UserSection},
    report::{self, Style},
    run_suite,
    runner::{self, RunOptions},
    snapshot,
};
use idcs_mfa_mock::{Alt, Choices};
use idcs_mfa_model::readings::UnknownReading;

use crate::cli::{Exit, OutOfRange, error};

/// What `run --help` says after the options.
pub const RUN_AFTER_HELP: &str = "\
Exit codes:
  0  every check that ran passed
  1  a check failed: the tenant broke a documented statement
  2  an error of the run: usage, profile, or a set-up problem the preflight found
     (the tenant cannot be reached, the token is refused, the user does not exist or is
     locked, a fixture does not fit the user, a fixture command cannot run); or the
     tenant stopped answering mid-run

Safety: the runner predicts the test user's MFA attempt count from every exchange and
never lets it reach the tenant's maximum (safety.max_attempts, assumed 3 when unknown)
unless --allow-lockout is given; the report says what the run spent.";

/// Output format of the report on standard output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable report (colour on a terminal unless NO_COLOR is set).
    Console,
    /// The whole report as JSON.
    Json,
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The tenant's base URL. Without it (and without a profile's base_url) the suite
    /// runs against a mock tenant started in this process.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Profile file (TOML): test user, token source, fixtures, safety settings.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,

    /// The test user's GUID (instead of the profile's [user] guid).
    #[arg(long, value_name = "GUID")]
    pub user_guid: Option<String>,

    /// The test user's name (instead of the profile's [user] name).
    #[arg(long, value_name = "NAME")]
    pub user_name: Option<String>,

    /// Run only checks whose id starts with PREFIX (repeatable), e.g. requests.get/
    #[arg(value_name = "PREFIX")]
    pub select: Vec<String>,

    /// Also run checks whose evidence is only "inferred" (decided where the documents
    /// are silent).
    #[arg(long)]
    pub strict: bool,

    /// Report format on standard output.
    #[arg(long, value_enum, default_value = "console")]
    pub format: Option<Format>,

    /// Also write a JUnit XML report to FILE (for CI).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Property cases per property check. Default: 64 against the embedded mock tenant,
    /// 8 against a tenant (each case is a request at the tenant's pace; one case already
    /// catches what the properties are there to catch).
    #[arg(long, value_name = "N")]
    pub cases: Option<u32>,

    /// Sequences the sequence checks draw (each up to --max-steps steps). Default: 32
    /// against the embedded mock tenant, 8 against a tenant.
    #[arg(long, value_name = "N")]
    pub sequences: Option<u32>,

    /// Steps per generated sequence at most.
    #[arg(long, value_name = "N", default_value_t = PropConfig::DEFAULT_MAX_STEPS,
          value_parser = parse_steps)]
    pub max_steps: usize,

    /// Seed of the property checks (printed in every report, to replay a failure).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Requests per second against a tenant given by URL (0: no limit). Default 5, or
    /// the profile's safety.rate_limit.
    #[arg(long, value_name = "RPS")]
    pub rate_limit: Option<f64>,

    /// Per-request timeout in seconds. Default 15, or the profile's safety.timeout_secs.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,

    /// The whole run's deadline in seconds; checks not finished by then fail.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub deadline: u64,

    /// Stop after N failed checks (the rest are reported as skipped).
    #[arg(long, value_name = "N")]
    pub max_failures: Option<usize>,

    /// The highest MFA attempt count (OTPs sent and failed verifications since the
    /// last success) the run may bring the test user to; never the tenant's maximum.
    /// Default: the profile's safety.attempt_budget; else 2 when a fixture can reset the
    /// count, max_attempts - 1 when the runner can unlock the user, 0 when nothing can.
    #[arg(long, value_name = "N")]
    pub attempt_budget: Option<u32>,

    /// Run the checks that drive the test user into lockout (they lock a real user;
    /// without fixtures.unlock_command the user stays locked after the first).
    #[arg(long)]
    pub allow_lockout: bool,

    /// Do not check the tenant, token, user and fixtures before the checks.
    #[arg(long)]
    pub skip_preflight: bool,

    /// Checks run at once (each request still waits for the rate limit; checks that
    /// spend attempts run alone). Default: 4 against the embedded mock tenant, 1 against
    /// a tenant.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Accept any TLS certificate. DANGEROUS: anyone on the path can read the token.
    #[arg(long)]
    pub insecure: bool,

    /// Tenant snapshots: record each check's exchanges, normalised, in DIR (insta's
    /// format; one `<check id>.snap` per check). The first run writes them; later runs
    /// compare and report changed answers as drift, writing the new text beside the
    /// old as `.snap.new` for `cargo insta review`. Nothing accepted is overwritten.
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,

    /// Exit 1 when an answer drifted from its snapshot (for CI; default: drift is
    /// reported, the exit code is that of the checks).
    #[arg(long, requires = "snapshots")]
    pub fail_on_drift: bool,

    /// Print nothing while running (the report still prints).
    #[arg(long, short)]
    pub quiet: bool,

    /// With no target: the embedded mock tenant takes this alternative of a reading,
    /// NAME=ALT (repeatable; `idcs-mfa-conformance readings` lists them), e.g.
    /// lock/when=at-the-next-attempt.
    #[arg(long = "reading", value_name = "NAME=ALT", value_parser = Choices::parse_one)]
    pub reading: Vec<Alt>,

    /// With no target: the embedded mock tenant takes the readings of FILE (what
    /// `calibrate` writes of a measured tenant); --reading overrides it.
    #[arg(long = "readings", value_name = "FILE")]
    pub readings: Option<PathBuf>,
}

/// The readings a mock plays: the defaults, then `file`'s, then each of `flags`; a
/// file that cannot be used, or orders of refusals no tenant can implement, is the
/// error, in one line.
pub fn mock_readings(
    file: Option<&std::path::Path>,
    flags: &[Alt],
) -> Result<Choices, UnknownReading> {
    let mut choices = Choices::defaults();
    if let Some(path) = file {
        choices = Choices::load(path, choices)?;
    }
    for alt in flags {
        choices.set(*alt);
    }
    choices.check_orders()?;
    Ok(choices)
}

/// The async runtime could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the async runtime: {0}")]
pub struct NoRuntime(std::io::Error);

/// The async runtime of `run` and `serve`.
pub fn runtime() -> Result<tokio::runtime::Runtime, NoRuntime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(NoRuntime)
}

impl RunArgs {
    /// The options of a bare `run`, with every default as `--help` shows it.
    pub fn defaults() -> RunArgs {
        #[derive(Parser)]
        struct Bare {
            #[command(flatten)]
            args: RunArgs,
        }
        Bare::parse_from(["idcs-mfa-conformance"]).args
    }
}

/// Options of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// List only checks whose id starts with PREFIX (repeatable).
    #[arg(value_name = "PREFIX")]
    pub select: Vec<String>,

    /// Print the quoted sentence of each check too.
    #[arg(long, short)]
    pub verbose: bool,
}

fn style() -> Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Style {
        color: std::io::stdout().is_terminal() && !no_color,
    }
}

/// `list`: ids, evidence levels and sources; sends no request.
pub fn list(args: ListArgs) -> ExitCode {
    let style = style();
    let all = checks::all();
    let mut out = std::io::stdout().lock();
    let mut shown = 0;
    for c in all.iter().filter(|c| {
        args.select.is_empty() || args.select.iter().any(|p| c.id.starts_with(p.as_str()))
    }) {
        shown += 1;
        let level = match c.evidence {
            Evidence::Stated => style.pass("stated  "),
            Evidence::Captured => style.pass("captured"),
            Evidence::Inferred => style.skip("inferred"),
            Evidence::Reading => style.pass("reading "),
        };
        let _ = writeln!(out, "{:<58} {level} {}", c.id, c.source);
        if args.verbose {
            let _ = writeln!(out, "    {}  ({})", c.quote, c.operation.label());
        }
    }
    let _ = writeln!(
        out,
        "{shown} checks ({} inferred run only with --strict)",
        all.iter()
            .filter(|c| c.evidence == Evidence::Inferred)
            .count()
    );
    Exit::Ok.into()
}

/// `run`.
pub fn run(args: RunArgs) -> ExitCode {
    match runtime() {
        Ok(runtime) => runtime.block_on(run_async(args)),
        Err(e) => error(e),
    }
}

async fn run_async(args: RunArgs) -> ExitCode {
    let profile = match &args.profile {
        Some(path) => match Profile::load(path) {
            Ok(p) => Some(p),
            Err(e) => return error(e),
        },
        None => None,
    };
    if args.insecure {
        eprintln!(
            "WARNING: --insecure accepts any TLS certificate; the token can be read by anyone on the path."
        );
    }
    let remote = args.base_url.is_some() || profile.as_ref().is_some_and(|p| p.base_url.is_some());
    if remote && (!args.reading.is_empty() || args.readings.is_some()) {
        return error(
            "--reading and --readings choose what the embedded mock tenant plays; a tenant takes its own readings (the report shows them). Drop them, or drop the target",
        );
    }
    let spec = if remote {
        let mut profile = profile.unwrap_or_default();
        if let Some(guid) = &args.user_guid {
            profile.user = Some(UserSection {
                guid: guid.clone(),
                name: args.user_name.clone().or(profile.user.and_then(|u| u.name)),
            });
        } else if let (Some(name), Some(user)) = (&args.user_name, profile.user.as_mut()) {
            user.name = Some(name.clone());
        } else if args.user_name.is_some() {
            return error(
                "--user-name needs a test user: give --user-guid or [user] guid in the profile",
            );
        }
        TargetSpec::Profile {
            profile: Box::new(profile),
            overrides: Overrides {
                base_url: args.base_url.clone(),
                rate_limit: args.rate_limit,
                timeout: args.timeout.map(Duration::from_secs),
                allow_lockout: args.allow_lockout,
                attempt_budget: args.attempt_budget,
                accept_invalid_certs: args.insecure,
            },
        }
    } else {
        if args.profile.is_some() {
            return error("the profile gives no base_url; add one or pass --base-url URL");
        }
        let readings = match mock_readings(args.readings.as_deref(), &args.reading) {
            Ok(readings) => readings,
            Err(e) => return error(e),
        };
        TargetSpec::Embedded {
            mock: EmbeddedMock {
                readings,
                ..EmbeddedMock::default()
            },
            attempt_budget: args.attempt_budget,
        }
    };
    let options = RunOptions {
        select: args.select.clone(),
        strict: args.strict,
        max_failures: args.max_failures,
        deadline: Duration::from_secs(args.deadline),
        preflight: !args.skip_preflight,
        jobs: args.jobs.unwrap_or(if remote { 1 } else { 4 }).max(1),
    };
    let props = PropConfig {
        cases: args.cases.unwrap_or(if remote {
            PropConfig::TENANT_CASES
        } else {
            PropConfig::DEFAULT_CASES
        }),
        seed: args.seed.unwrap_or_else(random_seed),
        sequences: args.sequences.unwrap_or(if remote {
            PropConfig::TENANT_SEQUENCES
        } else {
            PropConfig::DEFAULT_SEQUENCES
        }),
        max_steps: args.max_steps,
        strict: args.strict,
    };
    let all = checks::all();
    if runner::select(&all, &options).is_empty() {
        return error(format_args!(
            "no check matches {:?}; `list` shows the ids",
            args.select
        ));
    }
    if let Some(dir) = &args.snapshots
        && let Err(e) = snapshot::prepare(dir)
    {
        return error(e);
    }
    let style = style();
    let format = args.format.unwrap_or(Format::Console);
    let show_progress = !args.quiet && format == Format::Console;
    let mut err = std::io::stderr();
    let result = run_suite(spec, &options, props, |done, total, check| {
        if show_progress && done == 0 {
            // After the preflight, so that a set-up problem is the only line printed.
            let _ = writeln!(
                err,
                "seed {} · {} cases per property",
                props.seed, props.cases
            );
        }
        if show_progress {
            let _ = writeln!(
                err,
                "[{:>3}/{total}] {}",
                done + 1,
                report::check_line(check, style)
            );
        }
    })
    .await;
    let mut report = match result {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    if let Some(dir) = &args.snapshots
        && let Err(e) = report.compare_snapshots(dir, args.fail_on_drift)
    {
        return error(e);
    }
    let drift_fails = report.snapshots.as_ref().is_some_and(|s| s.fails());
    let code = if report.aborted.is_some() {
        Exit::Error
    } else if report.passed() && !drift_fails {
        Exit::Ok
    } else {
        Exit::Failed
    };
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, report::junit(&report))
    {
        return error(format_args!(
            "cannot write the JUnit report to {}: {e}",
            path.display()
        ));
    }
    let text = match format {
        Format::Console => report::console(&report, style),
        Format::Json => report::json(&report),
    };
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    if let Some(reason) = &report.aborted {
        eprintln!("error: the run stopped: {reason}");
    }
    code.into()
}

fn parse_steps(text: &str) -> Result<usize, OutOfRange> {
    match text.parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(OutOfRange {
            text: text.to_owned(),
            what: "a number of steps from 1 to 1000",
        }),
    }
}

fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0x1dc5_0f1a;
    }
    u64::from_le_bytes(bytes)
}
