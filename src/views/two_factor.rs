//! Two-factor screens: set-up (QR code, key, first code), the recovery
//! codes shown once, turning 2FA off, renewing recovery codes, and an
//! administrator turning it off for someone.

use maud::{Markup, html};

use super::components::{Field, Tone, csrf_field, form_errors, notice};
use super::layout::card;
use super::qr::qr_svg;
use super::{Chrome, page};
use crate::accounts::FieldErrors;
use crate::accounts::two_factor::SetUpView;
use crate::domain::time;
use crate::domain::{RecoveryCode, TwoFactorStatus, User};

/// The set-up page. `required`: sign-in sent the user here because 2FA is
/// required, so the only other way out is signing out.
pub fn set_up_page(
    chrome: &Chrome<'_>,
    view: &SetUpView,
    required: bool,
    next: Option<&str>,
    errors: &FieldErrors,
) -> Markup {
    let label = format!("QR code for {} in {}", view.account, view.issuer);
    page(
        chrome,
        "Set up 2FA",
        card(
            "Set up 2FA",
            html! {},
            html! {
                div aria-live="polite" {
                    (form_errors(errors))
                    @if required && errors.is_empty() {
                        (notice(Tone::Info, "Two-factor authentication is required for your account. Set it up to continue."))
                    }
                }
                ol.setup-steps {
                    li {
                        h2 { "Scan the QR code" }
                        p { "Open an authenticator app on your phone (such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis) and scan this code." }
                        div.qr-box {
                            @if let Some(uri) = &view.uri { @if let Some(svg) = qr_svg(uri, &label) { (svg) } }
                        }
                    }
                    li {
                        h2 { "Or enter the key by hand" }
                        dl.details.key-details {
                            div { dt { "Key" } dd { code #totp-key .secret-key { (view.key) } } }
                            div { dt { "Account" } dd { (view.account) } }
                            div { dt { "Issuer" } dd { (view.issuer) } }
                            div { dt { "Type" } dd { "Time-based, 6 digits, every 30 seconds" } }
                        }
                    }
                    li {
                        h2 { "Enter the code your app shows" }
                        form #two-factor-setup method="post" action="/profile/2fa" novalidate {
                            (csrf_field(chrome.csrf))
                            @if let Some(next) = next { input type="hidden" name="next" value=(next); }
                            (Field::new("code", "6-digit code", "")
                                .autocomplete("one-time-code")
                                .inputmode("numeric")
                                .render(errors))
                            div.form-actions {
                                button.button.primary type="submit" { "Verify" }
                                @if !required { a.button href="/profile" { "Cancel" } }
                            }
                        }
                    }
                }
                @if required {
                    form.cancel-sign-in method="post" action="/signout" {
                        (csrf_field(chrome.csrf))
                        button.link-button type="submit" { "Not now: sign out" }
                    }
                }
            },
        ),
    )
}

/// The recovery codes, shown once: after set-up, or after renewing them.
pub fn recovery_codes_page(
    chrome: &Chrome<'_>,
    codes: &[RecoveryCode],
    just_enabled: bool,
    close_to: &str,
) -> Markup {
    let shown: Vec<String> = codes.iter().map(RecoveryCode::display).collect();
    let all = shown.join("\n");
    page(
        chrome,
        "Recovery codes",
        card(
            "Save your recovery codes",
            html! {},
            html! {
                div aria-live="polite" {
                    @if just_enabled {
                        (notice(Tone::Success, "Two-factor authentication is on."))
                    } @else {
                        (notice(Tone::Success, "New recovery codes are ready. The old ones no longer work."))
                    }
                }
                p { "If you lose your phone, each of these codes signs you in once instead of a code from your app. Keep them somewhere safe, such as a password manager: " strong { "they won't be shown again." } }
                ul #recovery-codes .recovery-codes {
                    @for code in &shown { li { code { (code) } } }
                }
                div.form-actions {
                    button.button type="button" data-copy=(all) data-copy-status="copy-status" { "Copy" }
                    a.button.primary href=(close_to) { "Close" }
                }
                p #copy-status .hint aria-live="polite" {}
            },
        ),
    )
}

/// Turning 2FA off (the user has re-authenticated already).
pub fn disable_page(chrome: &Chrome<'_>, required_by_policy: bool) -> Markup {
    page(
        chrome,
        "Turn off 2FA",
        card(
            "Turn off 2FA",
            html! {},
            html! {
                p { "Your account will then be protected by your password alone, and your other sessions will be signed out. Your recovery codes will stop working." }
                @if required_by_policy {
                    (notice(Tone::Info, "Two-factor authentication is required for local users: you will be asked to set it up again the next time you sign in."))
                }
                form method="post" action="/profile/2fa/disable" {
                    (csrf_field(chrome.csrf))
                    div.form-actions {
                        button.button.danger type="submit" { "Turn off 2FA" }
                        a.button href="/profile" { "Cancel" }
                    }
                }
            },
        ),
    )
}

/// Asking for a new set of recovery codes (after re-authentication).
pub fn renew_recovery_codes_page(chrome: &Chrome<'_>, status: &TwoFactorStatus) -> Markup {
    page(
        chrome,
        "New recovery codes",
        card(
            "New recovery codes",
            html! {},
            html! {
                p {
                    "You have " (status.recovery_codes_left) " unused recovery "
                    (if status.recovery_codes_left == 1 { "code" } else { "codes" })
                    ", issued " (time::display(status.recovery_codes_issued_at)) ". "
                    "A new set of 10 replaces them: the old codes stop working at once."
                }
                form method="post" action="/profile/2fa/recovery-codes" {
                    (csrf_field(chrome.csrf))
                    div.form-actions {
                        button.button.primary type="submit" { "Generate new codes" }
                        a.button href="/profile" { "Cancel" }
                    }
                }
            },
        ),
    )
}

/// An administrator turning 2FA off for `user`: the confirmation, or the
/// result.
pub fn admin_disable_page(
    chrome: &Chrome<'_>,
    user: &User,
    status: Option<&TwoFactorStatus>,
    done: bool,
) -> Markup {
    let name = user.full_name();
    let action = format!("/account/users/{}/two-factor/disable", user.id);
    page(
        chrome,
        "Turn off 2FA",
        card(
            &format!("Turn off 2FA for {name}"),
            html! {},
            html! {
                div aria-live="polite" {
                    @if done { (notice(Tone::Success, &format!("2FA is now off for {name}. Their sessions were signed out."))) }
                }
                p.muted { (user.email) " · " (user.sign_in_method.label()) " user" }
                @match status {
                    Some(status) => {
                        p { (name) " turned 2FA on " (time::display(status.enabled_at)) ". "
                            "Turning it off lets them sign in with their password alone, signs out their sessions, and voids their recovery codes. "
                            "Only they can turn it on again." }
                        form method="post" action=(action) {
                            (csrf_field(chrome.csrf))
                            div.form-actions {
                                button.button.danger type="submit" { "Turn off 2FA" }
                                a.button href="/account/users" { "Cancel" }
                            }
                        }
                    }
                    None => {
                        @if !done { p { "2FA is off for " (name) "." } }
                        p.actions { a.button href="/account/users" { "Back to Users" } }
                    }
                }
            },
        ),
    )
}
