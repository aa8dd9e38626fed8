//! The tenant under test, and what a run knows of it, split by concern:
//!
//! | part | what it holds | who changes it |
//! | --- | --- | --- |
//! | [`Tenant`] | base URL, client, tokens, the test user, the [`Fixtures`], the factors and shared requests read once | nobody: fixed when the profile is resolved (the caches fill once) |
//! | [`Safety`] | the rate limiter, `--allow-lockout`, the maximum and the attempt budget, the ledger of the attempt count | the ledger, fed by every exchange |
//! | [`RunSettings`] | property and sequence sizes ([`PropConfig`]), waits for people and phones ([`Patience`]) | nobody |
//! | [`Findings`] | what the run finds out: the tenant's network habits, the readings it showed | the run, as it goes |
//!
//! A [`Target`] is built once, by a [`TargetBuilder`] (which a profile or the embedded
//! mock gives), and shared as `Arc<Target>`: nothing changes it after
//! [`TargetBuilder::build`]; what changes during a run (the ledger, the fixtures used
//! up, the findings) does so behind its own lock. The context each check runs in is the
//! harness's (`Ctx`); where fixtures that need the outside world come from is
//! `source`'s.
//!
//! A check that needs a fixture the target lacks is skipped with the reason; it never
//! passes.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use idcs_mfa::{Client, RateLimiter, Secret, Verification, types};
use tokio::sync::OnceCell;

use crate::{
    ledger::Ledger,
    observe::Observations,
    readings,
    source::{FixtureError, Source, control_post, run_command},
    verdict::Fail,
};

/// The tenant under test. See the [module docs](self).
pub struct Target {
    tenant: Tenant,
    safety: Safety,
    settings: RunSettings,
    findings: Findings,
}

impl Target {
    /// The tenant: how to reach it, the test user, the fixtures.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// What the run may do to the test user, and the accounting of what it did.
    pub fn safety(&self) -> &Safety {
        &self.safety
    }

    /// The run's settings.
    pub fn settings(&self) -> &RunSettings {
        &self.settings
    }

    /// What the run found out so far.
    pub fn findings(&self) -> &Findings {
        &self.findings
    }

    /// Unlocks the test user and sets their attempt count to 0, where the tenant
    /// allows it (the mock's control API, or `fixtures.unlock_command`), and tells the
    /// ledger.
    pub async fn unlock_user(&self) -> Result<(), FixtureError> {
        let tenant = &self.tenant;
        match &tenant.fixtures.unlock {
            Some(Source::Mock { base_url, token }) => {
                let url = idcs_mfa_mock::routes::unlock_user(base_url, &tenant.user.guid);
                control_post(&tenant.client, &url, token).await?;
            }
            Some(Source::Command(cmd)) => {
                run_command(cmd, &[("IDCS_USER_GUID", &tenant.user.guid)]).await?;
            }
            None => return Err(FixtureError::NoUnlock),
        }
        self.safety.ledger.unlocked();
        Ok(())
    }
}

/// A [`Target`] before it is built: what a profile resolved (or the embedded mock
/// gave), which the caller completes with the run's settings. Nothing changes the
/// target after [`TargetBuilder::build`].
pub struct TargetBuilder {
    pub(crate) tenant: Tenant,
    pub(crate) safety: Safety,
    pub(crate) settings: RunSettings,
    pub(crate) findings: Findings,
}

impl TargetBuilder {
    /// The property and sequence settings of the run (default: [`PropConfig::default`]).
    pub fn props(mut self, props: PropConfig) -> Self {
        self.settings.props = props;
        self
    }

    /// The attempt budget, when `budget` gives one (`--attempt-budget`); otherwise the
    /// one the profile set stays.
    pub(crate) fn attempt_budget(mut self, budget: Option<u32>) -> Self {
        self.safety.attempt_budget = budget.or(self.safety.attempt_budget);
        self
    }

    /// The target, from here on shared and unchanged.
    pub fn build(self) -> Target {
        Target {
            tenant: self.tenant,
            safety: self.safety,
            settings: self.settings,
            findings: self.findings,
        }
    }
}

/// The tenant: how to reach it, whom the checks verify, and what it can give them.
pub struct Tenant {
    /// Its base URL.
    pub base_url: String,
    /// The client every documented request goes through (token, timeouts, rate limit).
    pub client: Client,
    /// The token, for raw requests.
    pub token: Option<Secret>,
    /// A token holding only the "Authenticator Client" role, when there is one.
    pub authenticator_token: Option<Secret>,
    /// The roles the token holds, when known.
    pub token_roles: Option<Vec<String>>,
    /// The test user.
    pub user: TestUser,
    /// Fixtures.
    pub fixtures: Fixtures,
    /// What is read or initiated once per run.
    pub(crate) shared: Shared,
}

/// What a run reads or initiates once and shares.
#[derive(Default)]
pub(crate) struct Shared {
    /// The test user's factors.
    factors: OnceCell<Option<types::UserFactors>>,
    /// Requests initiated once per run for the checks that only read a request (see
    /// `Ctx::shared_quiet`): one whose initiate sends nothing, and a PUSH.
    pub(crate) quiet: OnceCell<Result<Verification, Fail>>,
    pub(crate) push: OnceCell<Result<Verification, Fail>>,
}

impl Tenant {
    /// The test user's factors (fetched once per run; `None` if the tenant refused).
    pub async fn factors(&self) -> Option<&types::UserFactors> {
        self.shared
            .factors
            .get_or_init(|| async {
                self.client
                    .get_user_factors(&self.user.guid)
                    .await
                    .ok()
                    .map(|r| r.value)
            })
            .await
            .as_ref()
    }

    /// Keeps the factors the preflight read, so the checks do not read them again.
    pub(crate) fn remember_factors(&self, factors: types::UserFactors) {
        let _ = self.shared.factors.set(Some(factors));
    }

    /// Whether the runner can unlock the test user (and set the count to 0).
    pub fn can_unlock(&self) -> bool {
        self.fixtures.unlock.is_some()
    }
}

/// The user the checks verify.
#[derive(Clone, Debug)]
pub struct TestUser {
    /// The user's GUID.
    pub guid: String,
    /// The user's name (for the look-up by name).
    pub name: Option<String>,
}

/// What the tenant can give the checks. Secrets stay [`Secret`]s.
#[derive(Debug, Default)]
pub struct Fixtures {
    /// A TOTP factor of the test user and its base32 secret.
    pub totp: Option<(String, Secret)>,
    /// A verification with a code of [`Fixtures::totp`] failed: the runner no longer
    /// resets the attempt count with it (each try might spend an attempt).
    pub totp_failed: std::sync::atomic::AtomicBool,
    /// Unused bypass codes, used in order, each once.
    pub bypass_codes: Mutex<VecDeque<Secret>>,
    /// Answers by question id.
    pub answers: BTreeMap<String, Secret>,
    /// Reads a delivered OTP (SMS, EMAIL, PHONE_CALL).
    pub otp: Option<Source>,
    /// Approves or rejects a PUSH.
    pub push: Option<Source>,
    /// Unlocks the test user and sets their attempt count to 0: the mock's control
    /// API, or `fixtures.unlock_command` (given `IDCS_USER_GUID`).
    pub unlock: Option<Source>,
}

/// What the run may do to the test user, and the accounting of what it did.
pub struct Safety {
    /// The rate limit shared by every request of the run.
    pub limiter: RateLimiter,
    /// Whether checks may drive the user into lockout.
    pub allow_lockout: bool,
    /// The tenant's maximum of MFA attempts, when known.
    pub max_attempts: Option<u32>,
    /// The highest attempt count the run may bring the test user to, when set
    /// (`--attempt-budget`, `safety.attempt_budget`); see the guard's rules.
    pub attempt_budget: Option<u32>,
    /// The accounting of the test user's attempt count, fed by every exchange.
    pub ledger: Ledger,
}

/// The run's settings.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunSettings {
    /// Property and sequence settings.
    pub props: PropConfig,
    /// How long to wait for PUSH decisions and delivered OTPs.
    pub patience: Patience,
}

/// What the run finds out about the tenant as it goes.
#[derive(Debug, Default)]
pub struct Findings {
    /// Its habits on the network (the client reports to it).
    pub observations: Arc<Observations>,
    /// The readings it showed so far (see the readings module).
    pub readings: readings::Observed,
}

/// How long the runner waits for people and phones. Set from the profile's
/// `[fixtures]` keys `push_poll_secs`, `push_decision_secs` and `otp_retry_secs`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Patience {
    /// Between two polls of a PUSH whose decision is not in yet (Oracle's sign-in
    /// sample polls every 3 s: [`idcs_mfa::DEFAULT_PUSH_INTERVAL`]).
    pub push_poll: Duration,
    /// How long after the push command a PUSH may stay pending before the answer is
    /// judged as it is.
    pub push_decision: Duration,
    /// How long an OTP source is asked again while it answers with nothing yet (a
    /// command that exited 0 and printed nothing); a failing one is not asked again.
    pub otp_retry: Duration,
}

impl Patience {
    /// Default [`Patience::push_decision`]: a person taps within a minute.
    pub const DEFAULT_PUSH_DECISION: Duration = Duration::from_secs(60);
    /// Default [`Patience::otp_retry`]: an SMS or e-mail usually arrives within 30 s.
    pub const DEFAULT_OTP_RETRY: Duration = Duration::from_secs(30);
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            push_poll: idcs_mfa::DEFAULT_PUSH_INTERVAL,
            push_decision: Patience::DEFAULT_PUSH_DECISION,
            otp_retry: Patience::DEFAULT_OTP_RETRY,
        }
    }
}

/// How many cases each property runs, and from which seed; how many sequences the
/// sequence checks draw, how long, and whether inferred rules are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PropConfig {
    /// Cases per property.
    pub cases: u32,
    /// The RNG seed.
    pub seed: u64,
    /// Sequences the sequence checks draw.
    pub sequences: u32,
    /// Steps per sequence at most.
    pub max_steps: usize,
    /// Judge the rules this project decided (`--strict`).
    pub strict: bool,
}

impl PropConfig {
    /// Cases per property when not told otherwise.
    pub const DEFAULT_CASES: u32 = 64;

    /// Cases per property against a tenant (not the embedded mock) when not told
    /// otherwise: at a real tenant's pace every request is time, and the properties
    /// catch what they are for with the first case (the fault matrix runs them at this
    /// size).
    pub const TENANT_CASES: u32 = 8;

    /// Sequences per run when not told otherwise.
    pub const DEFAULT_SEQUENCES: u32 = 32;

    /// Sequences per run against a tenant when not told otherwise (see
    /// [`PropConfig::TENANT_CASES`]).
    pub const TENANT_SEQUENCES: u32 = 8;

    /// Steps per sequence at most, when not told otherwise.
    pub const DEFAULT_MAX_STEPS: usize = 12;
}

impl Default for PropConfig {
    fn default() -> Self {
        Self {
            cases: PropConfig::DEFAULT_CASES,
            seed: 0x1dc5_0f1a,
            sequences: PropConfig::DEFAULT_SEQUENCES,
            max_steps: PropConfig::DEFAULT_MAX_STEPS,
            strict: false,
        }
    }
}
