//! Changes to a person's methods made for them by the help desk on a verified support case
//! (the case's rules are checked by the caller): retiring a lost device's methods, removing
//! every method, resynchronising a drifting authenticator, revoking passes. Retiring and
//! resetting end the person's sessions, device trust and app tokens, which a lost device
//! could still hold.

use super::Factors;
use twofold_core::audit::AuditContext;
use twofold_core::factors::authenticator::{Authenticator, AuthenticatorKind};
use twofold_core::factors::otp;
use twofold_core::identity::User;
use twofold_core::mail;
use uuid::Uuid;

use crate::{AppError, AppResult};

impl Factors {
    /// The person's methods `ids`, all of them theirs.
    ///
    /// # Errors
    /// None named, or one that is not the person's.
    pub(crate) async fn methods_of(&self, target: &User, ids: &[Uuid]) -> AppResult<Vec<Authenticator>> {
        let methods = self.store.authenticators(target.id).await?;
        let chosen: Vec<Authenticator> = methods.into_iter().filter(|a| ids.contains(&a.id)).collect();
        if chosen.len() != ids.len() || ids.is_empty() {
            return Err(
                twofold_core::ValidationErrors::one("methods", "name one or more of the person's methods").into()
            );
        }
        Ok(chosen)
    }

    /// Removes the person's methods `chosen` at once (they stop working on every node, since
    /// every check reads the database), then ends their sessions, trusted devices and app
    /// tokens, which the lost device may hold.
    ///
    /// # Errors
    /// Storage failures.
    pub(crate) async fn retire_methods(
        &self,
        target: &User,
        chosen: &[Authenticator],
        ctx: &AuditContext,
    ) -> AppResult<()> {
        for a in chosen {
            if self.store.remove_authenticator(a, ctx).await? && a.is_confirmed() {
                self.notify(mail::method_removed(target, a.kind.label(), &a.name, self.now()));
            }
        }
        self.end_sessions_and_trust(target, ctx).await
    }

    /// Revokes the person's temporary access passes and ends their sessions that a pass
    /// started and that have proved nothing since. How many passes were revoked.
    ///
    /// # Errors
    /// Storage failures.
    pub(crate) async fn revoke_access_passes(&self, target: &User, ctx: &AuditContext) -> AppResult<u64> {
        let revoked = self.store.revoke_access_passes(target.id, &target.username, self.now(), ctx).await?;
        for session in self.store.user_sessions(target.id).await? {
            if session.auth.is_access_pass_only() {
                self.store.revoke_session(&session.id_hash, ctx).await?;
            }
        }
        Ok(revoked)
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

    /// How many steps one code read out from the person's authenticator app `id` is off the
    /// server's clock (`None`: it matches nowhere near). Nothing is used or accepted.
    ///
    /// # Errors
    /// Not one of the person's authenticator apps.
    pub(crate) async fn observed_drift(
        &self,
        target: &User,
        id: Uuid,
        code: &str,
    ) -> AppResult<(Authenticator, Option<i64>)> {
        let a = self
            .store
            .authenticator(id)
            .await?
            .filter(|a| a.user_id == Some(target.id) && a.is_confirmed() && a.kind == AuthenticatorKind::Totp)
            .ok_or(AppError::NotFound("authenticator app"))?;
        let offset = otp::observed_offset(&self.open_secret(&a)?, a.otp.unwrap_or_default(), code, self.now());
        Ok((a, offset))
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

    /// Ends every session of the person, forgets every device they trusted, and revokes the
    /// token families apps hold for them (refresh tokens and the access tokens issued from
    /// them), which a lost device may carry.
    async fn end_sessions_and_trust(&self, target: &User, ctx: &AuditContext) -> AppResult<()> {
        self.store.revoke_user_sessions(target.id, ctx).await?;
        for device in self.store.trusted_devices(target.id).await? {
            self.store.forget_device(&device.device_id, target.id, ctx).await?;
        }
        let now = self.now();
        for family in self.store.user_token_families(target.id, now).await? {
            self.store
                .revoke_token_family(&family, "the person's methods were retired by the help desk", now, ctx)
                .await?;
        }
        Ok(())
    }
}
