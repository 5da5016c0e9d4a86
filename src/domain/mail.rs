//! An email message as the product composes it, before any transport sees it.

use serde::{Deserialize, Serialize};

/// One message to one recipient, with a plain-text and an HTML body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailMessage {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}
