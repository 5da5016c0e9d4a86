//! Every message Latchkey sends, one function each. Links are absolute,
//! built from `server.public_url`; the paths they point at are named here
//! once, and the router serves them.

use std::time::Duration;

use super::compose::{Composer, Letter, PRODUCT, in_words};
use crate::domain::{Email, MailMessage, Token, User, time};

/// Where a password-reset link leads.
pub const PASSWORD_RESET_PATH: &str = "/password/reset";
/// Where an email-change confirmation link leads.
pub const EMAIL_CONFIRM_PATH: &str = "/profile/email/confirm";
/// Where an invitation link leads.
pub const INVITATION_PATH: &str = "/invitation";
/// A user's page in the administration screens.
pub fn user_page_path(user: &User) -> String {
    format!("/account/users/{}", user.id)
}

fn link(c: &Composer, path: &str, token: &Token) -> String {
    c.url(&format!("{path}?token={}", token.as_text()))
}

fn hello(user: &User) -> String {
    format!("Hello {},", user.first_name)
}

pub fn password_reset(c: &Composer, user: &User, token: &Token, lifetime: Duration) -> MailMessage {
    c.letter(
        user.email.as_str(),
        "Reset your password",
        Letter {
            greeting: hello(user),
            paragraphs: vec![format!(
                "Someone, hopefully you, asked to reset the password of your {PRODUCT} account {}.",
                user.email
            )],
            action: Some((
                "Choose a new password".into(),
                link(c, PASSWORD_RESET_PATH, token),
            )),
            after: vec![
                format!(
                    "The link works once, for {}. Asking again replaces it with a new one.",
                    in_words(lifetime)
                ),
                "If you didn't ask, ignore this message: your password stays as it is.".into(),
            ],
        },
    )
}

pub fn password_changed(c: &Composer, user: &User, at: time::Timestamp) -> MailMessage {
    c.letter(
        user.email.as_str(),
        "Your password was changed",
        Letter {
            greeting: hello(user),
            paragraphs: vec![
                format!(
                    "The password of your {PRODUCT} account {} was changed on {}, and every session signed in to it was ended.",
                    user.email,
                    time::display(at)
                ),
            ],
            action: Some(("Sign in".into(), c.url("/signin"))),
            after: vec![format!(
                "If you didn't do this, reset your password now at {} and tell your administrator.",
                c.url("/password/forgot")
            )],
        },
    )
}

/// To the new address: the link that makes the change.
pub fn email_change_confirmation(
    c: &Composer,
    user: &User,
    new_email: &Email,
    token: &Token,
    lifetime: Duration,
) -> MailMessage {
    c.letter(
        new_email.as_str(),
        "Confirm your new email address",
        Letter {
            greeting: hello(user),
            paragraphs: vec![format!(
                "Your {PRODUCT} account {} is to use this address, {new_email}, from now on. It changes when you confirm.",
                user.email
            )],
            action: Some((
                "Confirm this address".into(),
                link(c, EMAIL_CONFIRM_PATH, token),
            )),
            after: vec![
                format!("The link works once, for {}.", in_words(lifetime)),
                "If you didn't ask for this, ignore this message: nothing changes.".into(),
            ],
        },
    )
}

/// To the old address: a heads-up, with no link that changes anything.
pub fn email_change_notice(c: &Composer, user: &User, new_email: &Email) -> MailMessage {
    c.letter(
        user.email.as_str(),
        "Your email address is about to change",
        Letter {
            greeting: hello(user),
            paragraphs: vec![
                format!(
                    "Someone asked to change the email address of your {PRODUCT} account from {} to {new_email}. A confirmation link went to the new address; the change happens only when it is opened.",
                    user.email
                ),
            ],
            action: None,
            after: vec![format!(
                "If this wasn't you, sign in at {} and change your password, and tell your administrator.",
                c.url("/signin")
            )],
        },
    )
}

/// To one Global Administrator.
pub fn deletion_request(c: &Composer, admin: &User, requester: &User) -> MailMessage {
    c.letter(
        admin.email.as_str(),
        &format!("{} asks to delete their account", requester.full_name()),
        Letter {
            greeting: hello(admin),
            paragraphs: vec![
                format!(
                    "{} ({}) asked for their {PRODUCT} account to be deleted.",
                    requester.full_name(),
                    requester.email
                ),
                "The account stays until an administrator deletes it.".into(),
            ],
            action: Some((
                format!("Open {}'s user page", requester.full_name()),
                c.url(&user_page_path(requester)),
            )),
            after: vec![],
        },
    )
}

/// To an invited person, whose name may not be known yet.
pub fn invitation(
    c: &Composer,
    email: &Email,
    inviter: &User,
    token: &Token,
    lifetime: Duration,
) -> MailMessage {
    c.letter(
        email.as_str(),
        &format!("{} invited you", inviter.full_name()),
        Letter {
            greeting: "Hello,".into(),
            paragraphs: vec![format!(
                "{} invited you to {PRODUCT}, the account portal at {}. Accept to set your name and password.",
                inviter.full_name(),
                c.url("")
            )],
            action: Some(("Accept the invitation".into(), link(c, INVITATION_PATH, token))),
            after: vec![format!(
                "The link works once, for {}. If you weren't expecting this, ignore this message.",
                in_words(lifetime)
            )],
        },
    )
}

/// What *Send test email* sends to the administrator who pressed it.
pub fn test_message(c: &Composer, to: &User) -> MailMessage {
    c.letter(
        to.email.as_str(),
        "Test message",
        Letter {
            greeting: hello(to),
            paragraphs: vec![format!(
                "You asked {PRODUCT} to send this test message from its Settings page. It arrived, so outgoing mail works."
            )],
            action: Some(("Open the Settings page".into(), c.url("/account/settings"))),
            after: vec![],
        },
    )
}
