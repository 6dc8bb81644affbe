//! Changes to a person's methods made for them by the help desk on a verified support case
//! (the case's rules are checked by the caller): retiring a lost device's methods, removing
//! every method, resynchronising a drifting authenticator. Each change ends the person's
//! sessions and device trust where a lost device could still hold them.

use super::Factors;
use twofold_core::audit::AuditContext;
use twofold_core::factors::authenticator::{Authenticator, AuthenticatorKind};
use twofold_core::factors::otp;
use twofold_core::identity::User;
use twofold_core::mail;
use uuid::Uuid;

use crate::{AppError, AppResult};

impl Factors {
    /// Removes the person's methods `ids` at once (they stop working on every node, since
    /// every check reads the database), then ends their sessions and forgets their trusted
    /// devices, which the lost device may hold. The methods removed.
    ///
    /// # Errors
    /// An id that is not one of the person's methods (nothing is removed); storage failures.
    pub(crate) async fn retire_methods(
        &self,
        target: &User,
        ids: &[Uuid],
        ctx: &AuditContext,
    ) -> AppResult<Vec<Authenticator>> {
        let methods = self.store.authenticators(target.id).await?;
        let chosen: Vec<Authenticator> = methods.into_iter().filter(|a| ids.contains(&a.id)).collect();
        if chosen.len() != ids.len() || ids.is_empty() {
            return Err(
                twofold_core::ValidationErrors::one("methods", "name one or more of the person's methods").into()
            );
        }
        for a in &chosen {
            if self.store.remove_authenticator(a, ctx).await? && a.is_confirmed() {
                self.notify(mail::method_removed(target, a.kind.label(), &a.name, self.now()));
            }
        }
        self.end_sessions_and_trust(target, ctx).await?;
        Ok(chosen)
    }

    /// Removes every method and recovery code of the person (all methods lost), then ends
    /// their sessions and device trust. How many methods were removed.
    ///
    /// # Errors
    /// Storage failures (a repeat finishes a reset a failure interrupted).
    pub(crate) async fn reset_methods(&self, target: &User, ctx: &AuditContext) -> AppResult<usize> {
        let methods = self.store.authenticators(target.id).await?;
        for a in &methods {
            self.store.remove_authenticator(a, ctx).await?;
        }
        self.store.replace_recovery_codes(target.id, &[], ctx).await?;
        self.end_sessions_and_trust(target, ctx).await?;
        self.notify(mail::method_removed(target, "every sign-in method", "and every recovery code", self.now()));
        Ok(methods.len())
    }

    /// Resynchronises the person's authenticator app or hardware token `id` from two
    /// consecutive codes the caller reads out; neither code can be used again.
    ///
    /// # Errors
    /// Not one of the person's OTP methods; codes that are not consecutive nearby.
    pub(crate) async fn resync_method(
        &self,
        target: &User,
        id: Uuid,
        first: &str,
        second: &str,
        ctx: &AuditContext,
    ) -> AppResult<Authenticator> {
        let a = self
            .store
            .authenticator(id)
            .await?
            .filter(|a| a.user_id == Some(target.id) && a.is_confirmed())
            .filter(|a| matches!(a.kind, AuthenticatorKind::Totp | AuthenticatorKind::Hotp))
            .ok_or(AppError::NotFound("authenticator app or hardware token"))?;
        let (last_used, drift) = self.resync_position(&a, first, second)?;
        self.store.set_otp_position(a.id, last_used, drift, ctx).await?;
        Ok(a)
    }

    /// Where two consecutive codes put an OTP authenticator: its last used step or counter,
    /// and (TOTP) its clock offset in steps.
    pub(crate) fn resync_position(&self, a: &Authenticator, first: &str, second: &str) -> AppResult<(i64, i64)> {
        let secret = self.open_secret(a)?;
        let params = a.otp.unwrap_or_default();
        let position = match a.kind {
            AuthenticatorKind::Hotp => {
                let next = a.last_used_step.map_or(0, |last| u64::try_from(last + 1).unwrap_or(0));
                otp::resync_hotp(&secret, params.algorithm, params.digits, first, second, next)
                    .map(|counter| (i64::try_from(counter).unwrap_or(i64::MAX), 0))
            }
            _ => otp::resync_totp(&secret, params, first, second, self.now()).map(|(drift, step)| (step, drift)),
        };
        position.ok_or_else(|| {
            twofold_core::ValidationErrors::one("codes", "are not two consecutive codes of this method").into()
        })
    }

    /// Ends every session of the person and forgets every device they trusted.
    async fn end_sessions_and_trust(&self, target: &User, ctx: &AuditContext) -> AppResult<()> {
        self.store.revoke_user_sessions(target.id, ctx).await?;
        for device in self.store.trusted_devices(target.id).await? {
            self.store.forget_device(&device.device_id, target.id, ctx).await?;
        }
        Ok(())
    }
}
