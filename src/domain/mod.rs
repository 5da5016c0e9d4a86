//! The product's words as types, free of HTTP and storage.
//!
//! Every value a person types (an email, a name, a phone number, a password) is
//! parsed here into a type that can only hold a valid value, so the layers above
//! never re-check and never store something malformed. Each parser answers with
//! a message written for the person who typed the value.

pub mod audit;
pub mod device;
pub mod email;
pub mod mail;
pub mod name;
pub mod newtype;
pub mod password;
pub mod permission;
pub mod phone;
pub mod recovery_code;
pub mod role;
pub mod sealed;
pub mod session;
pub mod settings;
pub mod text;
pub mod time;
pub mod token;
pub mod totp;
pub mod two_factor;
pub mod user;
pub mod user_agent;
pub mod user_search;

pub use audit::{AuditAction, AuditEvent, EventParty, NewEvent};
pub use device::{DeviceCookie, DeviceKey};
pub use email::Email;
pub use mail::MailMessage;
pub use name::PersonName;
pub use password::{NewPassword, PasswordRejection};
pub use permission::{Permission, PermissionSet};
pub use phone::Phone;
pub use recovery_code::{RecoveryCode, RecoveryCodeHash};
pub use role::{Role, RoleId, RoleName};
pub use sealed::{EncryptionKey, SealedSecret};
pub use session::{PendingSetUp, Session, SessionStage};
pub use settings::AccountSettings;
pub use token::{Token, TokenHash};
pub use totp::TotpSecret;
pub use two_factor::{TwoFactor, TwoFactorStatus};
pub use user::{SignInMethod, User, UserId, UserStatus};
pub use user_search::{SearchTerm, UserPage, UserQuery, UserSort};
