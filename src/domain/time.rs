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

/// A timestamp for machines (exports, `<time datetime>`): `2026-11-25T09:35:12Z`.
pub fn rfc3339(at: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|moment| {
            moment
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_for_people_and_machines() {
        assert_eq!(super::display(86_400 + 3_660), "1970-01-02 01:01 UTC");
        assert_eq!(super::rfc3339(86_400 + 3_661), "1970-01-02T01:01:01Z");
    }
}
