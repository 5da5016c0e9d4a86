//! The invitation link and its message, for the administration screens'
//! *Invite user* and *Resend invite*.
//!
//! Both run inside the caller's write transaction: inviting creates the
//! Invited user, issues the link and queues the mail in one commit, and
//! accepting spends the link in the commit that activates the user.
//! Issuing voids the user's older invitation link, so *Resend invite*
//! replaces it.

use std::time::Duration;

use crate::domain::{Token, User, UserId, time};
use crate::mail::{Composer, templates};
use crate::store::{OneTimeToken, StoreError, TokenPurpose, Txn};

/// Issues a new invitation link for the Invited `user` (voiding any older
/// one) and queues the invitation from `inviter`; returns the link.
pub fn issue_invitation(
    t: &Txn<'_>,
    composer: &Composer,
    user: &User,
    inviter: &User,
    lifetime: Duration,
) -> Result<String, StoreError> {
    let token = Token::generate();
    t.issue_token(
        token.hash(),
        &OneTimeToken {
            purpose: TokenPurpose::Invitation,
            user_id: Some(user.id),
            expires_at: time::now() + lifetime.as_secs() as i64,
            new_email: None,
        },
    )?;
    t.enqueue_mail(templates::invitation(
        composer,
        &user.email,
        inviter,
        &token,
        lifetime,
    ))?;
    Ok(composer.url(&format!(
        "{}?token={}",
        templates::INVITATION_PATH,
        token.as_text()
    )))
}

/// Spends an invitation link (as typed in the URL): the invited user's id,
/// or `LinkInvalid` when it is unknown, used, replaced or expired.
pub fn take_invitation(t: &Txn<'_>, token: &str) -> Result<UserId, StoreError> {
    let token = Token::parse(token).ok_or(StoreError::LinkInvalid)?;
    t.take_token(token.hash(), TokenPurpose::Invitation, time::now())?
        .user_id
        .ok_or(StoreError::LinkInvalid)
}
