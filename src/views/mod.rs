//! Maud views: the layout, shared components, and one module per screen.
//!
//! Views take plain data and return markup; they never touch the store. A
//! screen's fragment functions are what htmx swaps in; its page functions wrap
//! the same fragments in the layout, so both paths render identical HTML.

pub mod audit;
pub mod components;
pub mod csv;
pub mod deletion;
pub mod email_change;
pub mod errors;
pub mod icons;
pub mod invitations;
pub mod layout;
pub mod password;
pub mod profile;
pub mod qr;
pub mod reauthentication;
pub mod roles;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod sign_in;
pub mod two_factor;
pub mod user_page;
pub mod users;

pub use layout::{Chrome, page};
