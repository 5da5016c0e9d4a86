//! The audit log (`audit.view`): events filtered by user, action and dates,
//! paged newest first, and exported whole.

use super::settings::require;
use super::{Accounts, AccountsError, FieldErrors, SignedIn};
use crate::domain::time::Timestamp;
use crate::domain::{AuditAction, AuditEvent, Permission};
use crate::store::{Cursor, EventPage, EventQuery, Store, StoreError};

/// Events on one page of the Audit log.
pub const PAGE_SIZE: usize = 50;
/// Events read per store transaction while exporting.
const EXPORT_CHUNK: usize = 500;

/// The audit log use cases, over the shared store.
pub struct AuditLog<'a> {
    store: &'a Store,
}

impl Accounts {
    pub fn audit_log(&self) -> AuditLog<'_> {
        AuditLog { store: &self.store }
    }
}

/// The filter as the page's GET form (and its pager links) send it. Every
/// field is text, so that anything typed gets a message, not a rejection.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct AuditFilterForm {
    /// A user's email address: events they did or that were done to them.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// An action's stored name (`role.created`), or empty for all.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    /// First day, `YYYY-MM-DD`, UTC.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// Last day, included.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Older than this event id (next page).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub before: String,
    /// Newer than this event id (previous page).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub after: String,
}

impl AuditFilterForm {
    /// The filter without its place in the pages: what the export and the
    /// pager links start from.
    pub fn without_cursor(&self) -> Self {
        Self {
            before: String::new(),
            after: String::new(),
            ..self.clone()
        }
    }

    /// As a query string, empty fields left out: for links to this view.
    pub fn to_query(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    pub fn is_filtered(&self) -> bool {
        ![&self.user, &self.action, &self.from, &self.to]
            .iter()
            .all(|f| f.trim().is_empty())
    }
}

/// A checked filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub query: EventQuery,
    pub cursor: Cursor,
}

impl AuditLog<'_> {
    /// Checks the filter: a known user's email, a known action, real dates
    /// in order, numeric cursors.
    pub fn filter(
        &self,
        who: &SignedIn,
        form: &AuditFilterForm,
    ) -> Result<AuditFilter, AccountsError> {
        require(who, Permission::AuditView)?;
        let mut errors = FieldErrors::default();
        let mut query = EventQuery::default();
        let user = form.user.trim();
        if !user.is_empty() {
            match self.store.user_by_email(user)? {
                Some(found) => query.user = Some(found.id),
                None => errors.add("user", "No user has this email address."),
            }
        }
        let action = form.action.trim();
        if !action.is_empty() {
            match AuditAction::parse(action) {
                Some(a) => query.action = Some(a),
                None => errors.add("action", "Choose an action from the list."),
            }
        }
        query.since = errors.check("from", parse_day(&form.from)).flatten();
        let last_day = errors.check("to", parse_day(&form.to)).flatten();
        query.until = last_day.map(|day| day + 86_400);
        if let (Some(since), Some(last_day)) = (query.since, last_day)
            && last_day < since
        {
            errors.add("to", "The last day can't be before the first.");
        }
        let cursor = match (parse_id(&form.before), parse_id(&form.after)) {
            (Ok(Some(id)), Ok(None)) => Cursor::Before(id),
            (Ok(None), Ok(Some(id))) => Cursor::After(id),
            (Ok(None), Ok(None)) => Cursor::Newest,
            _ => {
                errors.add(
                    "page",
                    "That page of the log doesn't exist; start again from the newest.",
                );
                Cursor::Newest
            }
        };
        errors.into_result()?;
        Ok(AuditFilter { query, cursor })
    }

    /// One page of the filtered log, newest first.
    pub fn page(&self, who: &SignedIn, filter: &AuditFilter) -> Result<EventPage, AccountsError> {
        require(who, Permission::AuditView)?;
        Ok(self.store.events(&filter.query, filter.cursor, PAGE_SIZE)?)
    }

    /// Every event the filter matches (whatever page was shown), newest
    /// first, read in chunks so an export of a long log holds little memory.
    pub fn export(
        &self,
        who: &SignedIn,
        filter: &AuditFilter,
    ) -> Result<AuditExport, AccountsError> {
        require(who, Permission::AuditView)?;
        Ok(AuditExport {
            store: self.store.clone(),
            query: filter.query.clone(),
            cursor: Some(Cursor::Newest),
        })
    }
}

/// An export in progress: [`AuditExport::next_chunk`] until `None`.
pub struct AuditExport {
    store: Store,
    query: EventQuery,
    /// Where the next chunk starts; `None` once all is read.
    cursor: Option<Cursor>,
}

impl AuditExport {
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<AuditEvent>>, StoreError> {
        let Some(cursor) = self.cursor else {
            return Ok(None);
        };
        let query = self.query.clone();
        let page = self
            .store
            .blocking(move |s| s.events(&query, cursor, EXPORT_CHUNK))
            .await?;
        self.cursor = match page.events.last() {
            Some(oldest) if page.has_older => Some(Cursor::Before(oldest.id)),
            _ => None,
        };
        Ok(Some(page.events))
    }
}

/// A `YYYY-MM-DD` date (what `<input type=date>` sends) as the timestamp of
/// its first second, UTC; blank is `None`.
fn parse_day(input: &str) -> Result<Option<Timestamp>, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    let message = "Enter a date like 2026-03-31.";
    let parts: Vec<&str> = input.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(message);
    };
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return Err(message);
    }
    let number = |s: &str| s.parse::<u16>().map_err(|_| message);
    let month = time::Month::try_from(number(month)? as u8).map_err(|_| message)?;
    let date = time::Date::from_calendar_date(i32::from(number(year)?), month, number(day)? as u8)
        .map_err(|_| message)?;
    Ok(Some(date.midnight().assume_utc().unix_timestamp()))
}

fn parse_id(input: &str) -> Result<Option<u64>, ()> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    input.parse().map(Some).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_midnights() {
        assert_eq!(parse_day(""), Ok(None));
        assert_eq!(parse_day("1970-01-02"), Ok(Some(86_400)));
        assert_eq!(parse_day(" 2026-03-31 "), Ok(Some(1_774_915_200)));
        for bad in ["2026-02-30", "31/03/2026", "2026-3-31x", "yesterday"] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
    }
}
