//! Asking for one's own account to be deleted (SPEC §3, Profile).
//!
//! The request mails every active Global Administrator, naming the user and
//! linking to their admin page, records the date on the user (the Profile
//! shows it) and an audit event. Asking again within a day sends nothing
//! new. The account itself stays until an administrator deletes it.

use super::{Accounts, AccountsError, SignedIn};
use crate::domain::time::{self, Timestamp};
use crate::domain::{AuditAction, NewEvent};
use crate::mail::templates;
use crate::store::StoreError;

/// A repeat within this many seconds of the last request sends nothing.
pub const QUIET_PERIOD: i64 = 24 * 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionRequest {
    /// The administrators were told now; `notified` of them.
    Sent { at: Timestamp, notified: usize },
    /// An earlier request at `at` is recent: nothing new was sent.
    AlreadyRequested { at: Timestamp },
}

impl Accounts {
    pub async fn request_deletion(&self, who: &SignedIn) -> Result<DeletionRequest, AccountsError> {
        let (id, client) = (who.user.id, who.client);
        let mailer = self.mailer.clone();
        let outcome = self
            .store
            .blocking(move |s| {
                s.transact(|t| {
                    let now = time::now();
                    let user = t.user(id)?.ok_or(StoreError::NotFound("user"))?;
                    if let Some(at) = user.deletion_requested_at
                        && now - at < QUIET_PERIOD
                    {
                        return Ok(DeletionRequest::AlreadyRequested { at });
                    }
                    let user = t.modify_user::<StoreError>(id, |u| {
                        u.deletion_requested_at = Some(now);
                        Ok(())
                    })?;
                    let admins = t.active_global_administrators()?;
                    for admin in &admins {
                        t.enqueue_mail(templates::deletion_request(
                            mailer.composer(),
                            admin,
                            &user,
                        ))?;
                    }
                    t.record(
                        NewEvent::new(AuditAction::DeletionRequested)
                            .by_self(&user, Some(client))
                            .detail(format!("{} Global Administrator(s) notified", admins.len())),
                    )?;
                    Ok(DeletionRequest::Sent {
                        at: now,
                        notified: admins.len(),
                    })
                })
            })
            .await?;
        tracing::info!(user = id, ?outcome, "account deletion requested");
        Ok(outcome)
    }
}
