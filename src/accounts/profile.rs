//! A user's own profile details.

use super::email_change::EmailChangeRequest;
use super::users::email_taken_as_field_error;
use super::{Accounts, AccountsError, FieldErrors, SignedIn};
use crate::domain::{AuditAction, Email, NewEvent, PersonName, Phone, User};
use crate::store::StoreError;

/// The Edit form as submitted.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    /// A different address starts a change by confirmation link; absent
    /// means unchanged.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: String,
}

impl ProfileForm {
    pub fn from_user(user: &User) -> Self {
        Self {
            first_name: user.first_name.to_string(),
            last_name: user.last_name.to_string(),
            email: Some(user.email.to_string()),
            phone: user
                .phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }
    }
}

/// What a save did.
#[derive(Debug)]
pub struct ProfileSaved {
    pub user: User,
    /// A new address that was sent a confirmation link (the address itself
    /// changes when the link is opened).
    pub confirmation_sent_to: Option<Email>,
}

impl Accounts {
    /// Whether `who` may edit their own details right now.
    pub fn may_edit_own_profile(&self, who: &SignedIn) -> Result<bool, AccountsError> {
        Ok(who.user.is_local() && self.store.account_settings()?.self_service_profile_updates)
    }

    /// Refuses when `who` may not edit their own details (the forged-request check).
    pub fn require_own_profile_editing(&self, who: &SignedIn) -> Result<(), AccountsError> {
        if self.may_edit_own_profile(who)? {
            Ok(())
        } else {
            Err(AccountsError::Forbidden(
                "self-service profile updates are turned off",
            ))
        }
    }

    /// Saves the user's own details. A different email address is not
    /// saved but sent a confirmation link (see `email_change`), in the same
    /// transaction, and only within the re-authentication window
    /// (`ReauthenticationRequired` otherwise). Invalid input changes nothing.
    pub async fn update_own_profile(
        &self,
        who: &SignedIn,
        form: &ProfileForm,
    ) -> Result<ProfileSaved, AccountsError> {
        self.require_own_profile_editing(who)?;
        let mut errors = FieldErrors::default();
        let first_name = errors.check("first_name", PersonName::parse(&form.first_name));
        let last_name = errors.check("last_name", PersonName::parse(&form.last_name));
        let phone = errors.check("phone", Phone::parse_optional(&form.phone));
        let email = match &form.email {
            Some(typed) => errors.check("email", Email::parse(typed)),
            None => Some(who.user.email.clone()),
        };
        let (Some(first_name), Some(last_name), Some(phone), Some(email), true) =
            (first_name, last_name, phone, email, errors.is_empty())
        else {
            return Err(AccountsError::Invalid(errors));
        };
        // The same address in other letters is the same account: saved as is.
        let (email, new_email) = if email.key() == who.user.email.key() {
            (email, None)
        } else {
            (who.user.email.clone(), Some(email))
        };
        // A new address is where the next reset link would go: asking for
        // one needs the password or a code confirmed lately, like the other
        // sensitive actions. Names and the phone don't.
        if new_email.is_some() {
            self.reauthentication().require_recent(who)?;
        }
        let id = who.user.id;
        let changed = changed_fields(&who.user, &first_name, &last_name, &email, &phone);
        let event = NewEvent::new(AuditAction::ProfileUpdated)
            .by_self(&who.user, Some(who.client))
            .detail(changed.join(", "));
        let request = (
            who.user.clone(),
            who.client,
            self.config.email_change_link_lifetime,
        );
        let mailer = self.mailer.clone();
        let sent_to = new_email.clone();
        let user = self
            .store
            .blocking(move |s| {
                s.transact(|t| {
                    let user = t.modify_user::<StoreError>(id, |user| {
                        user.first_name = first_name;
                        user.last_name = last_name;
                        user.email = email;
                        user.phone = phone;
                        Ok(())
                    })?;
                    if !changed.is_empty() {
                        t.record(event)?;
                    }
                    if let Some(new_email) = &new_email {
                        let (by, client, lifetime) = &request;
                        EmailChangeRequest {
                            by,
                            client: *client,
                            lifetime: *lifetime,
                        }
                        .queue(t, &mailer, &user, new_email)?;
                    }
                    Ok(user)
                })
            })
            .await
            .map_err(email_taken_as_field_error)?;
        tracing::info!(
            user = user.id,
            email_change = sent_to.is_some(),
            "profile updated"
        );
        Ok(ProfileSaved {
            user,
            confirmation_sent_to: sent_to,
        })
    }
}

/// The names of the fields a save changes, for the audit log.
fn changed_fields(
    user: &User,
    first_name: &PersonName,
    last_name: &PersonName,
    email: &Email,
    phone: &Option<Phone>,
) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if &user.email != email {
        changed.push("email (letter case)");
    }
    if &user.first_name != first_name {
        changed.push("first name");
    }
    if &user.last_name != last_name {
        changed.push("last name");
    }
    if &user.phone != phone {
        changed.push("phone");
    }
    changed
}
