//! A user's own profile details.

use super::{Accounts, AccountsError, FieldErrors, SignedIn};
use crate::domain::{AuditAction, NewEvent, PersonName, Phone, User};

/// The Edit form as submitted.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    /// Shown for context; a different address is refused until changes by
    /// confirmation mail exist.
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

    /// Saves the user's own details. Invalid input changes nothing.
    pub async fn update_own_profile(
        &self,
        who: &SignedIn,
        form: &ProfileForm,
    ) -> Result<User, AccountsError> {
        self.require_own_profile_editing(who)?;
        let mut errors = FieldErrors::default();
        let first_name = errors.check("first_name", PersonName::parse(&form.first_name));
        let last_name = errors.check("last_name", PersonName::parse(&form.last_name));
        let phone = errors.check("phone", Phone::parse_optional(&form.phone));
        if let Some(email) = &form.email
            && crate::domain::email::normalize(email) != who.user.email.key()
        {
            errors.add("email", "Changing your email address is not available yet.");
        }
        let (Some(first_name), Some(last_name), Some(phone), true) =
            (first_name, last_name, phone, errors.is_empty())
        else {
            return Err(AccountsError::Invalid(errors));
        };
        let id = who.user.id;
        let changed = changed_fields(&who.user, &first_name, &last_name, &phone);
        let event = NewEvent::new(AuditAction::ProfileUpdated)
            .by_self(&who.user, Some(who.client))
            .detail(changed.join(", "));
        let user = self
            .store
            .blocking(move |s| {
                s.transact(|t| {
                    let user = t.modify_user::<crate::store::StoreError>(id, |user| {
                        user.first_name = first_name;
                        user.last_name = last_name;
                        user.phone = phone;
                        Ok(())
                    })?;
                    if !changed.is_empty() {
                        t.record(event)?;
                    }
                    Ok(user)
                })
            })
            .await?;
        tracing::info!(user = user.id, "profile updated");
        Ok(user)
    }
}

/// The names of the fields a save changes, for the audit log.
fn changed_fields(
    user: &User,
    first_name: &PersonName,
    last_name: &PersonName,
    phone: &Option<Phone>,
) -> Vec<&'static str> {
    let mut changed = Vec::new();
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
