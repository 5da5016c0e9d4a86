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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mailbox;
    use crate::domain::{AccountSettings, Email, PersonName, UserStatus};
    use crate::store::{NewUser, Store};

    fn invited(store: &Store, email: &str) -> User {
        store
            .insert_user(NewUser {
                first_name: PersonName::parse("Ivy").unwrap(),
                last_name: PersonName::parse("Invited").unwrap(),
                email: Email::parse(email).unwrap(),
                phone: None,
                status: UserStatus::Invited,
                password_hash: None,
                roles: Vec::new(),
                created_at: time::now(),
            })
            .unwrap()
    }

    #[test]
    fn a_link_works_once_and_resending_voids_the_older_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AccountSettings::default()).unwrap();
        let composer = Composer::new(
            "https://accounts.example.com",
            Mailbox::parse("a@example.com").unwrap(),
        );
        let inviter = invited(&store, "admin@example.com");
        let ivy = invited(&store, "ivy@example.com");
        let week = Duration::from_secs(7 * 86_400);
        let issue = || {
            store
                .transact(|t| issue_invitation(t, &composer, &ivy, &inviter, week))
                .unwrap()
        };
        let first = issue();
        let second = issue();
        let token_of = |link: &str| link.split("token=").nth(1).unwrap().to_owned();
        assert!(second.starts_with("https://accounts.example.com/invitation?token="));

        let outbox = store.outbox(10).unwrap();
        assert_eq!(outbox.len(), 2);
        assert_eq!(outbox[0].message.to, "ivy@example.com");
        assert_eq!(
            outbox[0].message.subject,
            "Latchkey: Ivy Invited invited you"
        );
        assert!(outbox[0].message.text.contains(&second));
        assert!(outbox[0].message.text.contains("for 7 days"));

        let take = |token: &str| store.transact(|t| take_invitation(t, token));
        assert!(
            matches!(take(&token_of(&first)), Err(StoreError::LinkInvalid)),
            "replaced"
        );
        assert_eq!(take(&token_of(&second)).unwrap(), ivy.id);
        assert!(
            matches!(take(&token_of(&second)), Err(StoreError::LinkInvalid)),
            "used"
        );
        assert!(matches!(take("garbage"), Err(StoreError::LinkInvalid)));

        // An expired link is refused, and a password-reset link is no invitation.
        let expired = store
            .transact(|t| issue_invitation(t, &composer, &ivy, &inviter, Duration::ZERO))
            .unwrap();
        assert!(matches!(
            take(&token_of(&expired)),
            Err(StoreError::LinkInvalid)
        ));
        let token = Token::generate();
        store
            .transact::<_, StoreError>(|t| {
                t.issue_token(
                    token.hash(),
                    &OneTimeToken {
                        purpose: TokenPurpose::PasswordReset,
                        user_id: Some(ivy.id),
                        expires_at: time::now() + 3600,
                        new_email: None,
                    },
                )
            })
            .unwrap();
        assert!(matches!(
            take(&token.as_text()),
            Err(StoreError::LinkInvalid)
        ));
        assert!(
            store
                .valid_token(token.hash(), TokenPurpose::PasswordReset, time::now())
                .unwrap()
                .is_some(),
            "a refused take leaves other links alone"
        );
    }
}
