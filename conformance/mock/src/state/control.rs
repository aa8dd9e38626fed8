//! What the control API and the handle do to the state: the phone's decision on a
//! PUSH, the outbox, and the administrator's view, lock and unlock.

use idcs_mfa::Method;
use idcs_mfa_model::machine::Outcome;

use super::{ControlRefusal, Opened, OutboxEntry, Settings, State, UserStatus};
use crate::{clock::Now, deviate};

impl State {
    /// Approves or rejects a pending PUSH (the user's phone).
    pub(crate) fn decide_push(
        &mut self,
        settings: &Settings,
        request_id: &str,
        approve: bool,
        now: Now,
    ) -> Result<(), ControlRefusal> {
        let faults = self.faults;
        let Opened {
            request, behaviour, ..
        } = self
            .open_request(settings, request_id, now)
            .ok_or(ControlRefusal::NotFound)?;
        let state = &behaviour.model.requests()[request.index];
        if state.method != Method::Push {
            return Err(ControlRefusal::Conflict(format!(
                "request {request_id} is a {} request, not a PUSH",
                state.method
            )));
        }
        if state.outcome != Outcome::Open || state.decided.is_some() {
            let was = match (state.outcome, state.decided) {
                (Outcome::Expired, _) => "Expired",
                (Outcome::Rejected, _) | (_, Some(false)) => "Rejected",
                _ => "Succeeded",
            };
            return Err(ControlRefusal::Conflict(format!(
                "the PUSH of request {request_id} is no longer pending ({was})"
            )));
        }
        if approve && !deviate::approval_reaches_tenant(faults) {
            return Ok(());
        }
        let mut decision = behaviour.model.decision(request.index, approve);
        deviate::bend(faults, &mut decision);
        behaviour.model.take(&decision);
        Ok(())
    }

    /// The outbox, filtered.
    pub(crate) fn outbox(
        &self,
        request_id: Option<&str>,
        user_guid: Option<&str>,
    ) -> Vec<OutboxEntry> {
        self.outbox
            .iter()
            .filter(|e| request_id.is_none_or(|id| e.request_id == id))
            .filter(|e| user_guid.is_none_or(|g| e.user_guid == g))
            .cloned()
            .collect()
    }

    /// A user's attempt count and lock.
    pub(crate) fn user_status(&self, settings: &Settings, guid: &str) -> Option<UserStatus> {
        let user = self.fixture.user_by_guid(guid)?;
        let (attempts, locked) = self
            .users
            .get(guid)
            .map_or((0, false), |b| (b.model.attempts().0, b.model.locked()));
        Some(UserStatus {
            user_guid: user.user_guid.clone(),
            user_name: user.user_name.clone(),
            attempts,
            locked,
            max_attempts: settings.max_attempts,
            bypass_codes_left: user.bypass_codes.len(),
        })
    }

    /// Locks a user: the count at the maximum, locked.
    pub(crate) fn lock_user(&mut self, settings: &Settings, guid: &str) -> bool {
        let Some(user) = self.fixture.user_by_guid(guid) else {
            return false;
        };
        let model = &mut Self::behaviour(&mut self.users, user, self.faults, settings).model;
        model.set_max_attempts(settings.max_attempts);
        model.lock();
        true
    }

    /// Unlocks a user and sets the attempt count to 0.
    pub(crate) fn unlock(&mut self, guid: &str) -> bool {
        if self.fixture.user_by_guid(guid).is_none() {
            return false;
        }
        if let Some(b) = self.users.get_mut(guid) {
            b.model.unlock();
        }
        true
    }
}
