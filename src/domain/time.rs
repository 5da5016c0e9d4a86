//! Time as the store keeps it: whole seconds since the Unix epoch, UTC.

use time::OffsetDateTime;

pub type Timestamp = i64;

pub fn now() -> Timestamp {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A timestamp as people read it in the interface: `2026-11-25 09:35 UTC`.
pub fn display(at: Timestamp) -> String {
    let Ok(moment) = OffsetDateTime::from_unix_timestamp(at) else {
        return "—".into();
    };
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    moment.format(&format).unwrap_or_else(|_| "—".into())
}
