//! Lists: a search box that filters as you type, a data table whose
//! columns may sort, and a pager. Generic over the list: each takes the
//! list's address ([`ListUrl`]) and the id of the element that holds its
//! results, which htmx swaps (`outerHTML`); without JavaScript the same
//! links and the plain GET form load whole pages.

use maud::{Markup, html};

/// The address of a list view with its query (search, sort, page, filters),
/// so a control can change one parameter and keep the others.
#[derive(Clone, Debug)]
pub struct ListUrl {
    path: String,
    params: Vec<(&'static str, String)>,
}

impl ListUrl {
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter; an empty value is left out of addresses.
    pub fn param(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.params.push((name, value.into()));
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The parameters, except `skip`, for hidden inputs of a form.
    pub fn params_except(&self, skip: &[&str]) -> Vec<(&'static str, &str)> {
        self.params
            .iter()
            .filter(|(n, v)| !skip.contains(n) && !v.is_empty())
            .map(|(n, v)| (*n, v.as_str()))
            .collect()
    }

    /// This address as it stands.
    pub fn href(&self) -> String {
        self.with(&[])
    }

    /// This address with some parameters changed (an empty value removes one).
    pub fn with(&self, changes: &[(&'static str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (name, value) in &self.params {
            let value = changes
                .iter()
                .find(|(n, _)| n == name)
                .map_or(value.as_str(), |(_, v)| *v);
            pairs.push((name, value));
        }
        for (name, value) in changes {
            if !self.params.iter().any(|(n, _)| n == name) {
                pairs.push((name, value));
            }
        }
        pairs.retain(|(_, v)| !v.is_empty());
        if pairs.is_empty() {
            return self.path.clone();
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{}?{query}", self.path)
    }
}

/// A search field that filters the results as the person types (htmx,
/// after a pause) and is also a plain GET form with a button. The other
/// parameters of the list (sorting, filters) ride along; the page goes
/// back to the first. Typing replaces the address rather than adding to
/// the history, so Back leaves the list instead of undoing letters.
pub struct SearchBox<'a> {
    pub url: &'a ListUrl,
    /// The parameter the term travels in (the input's id is `search-{name}`).
    pub name: &'static str,
    pub label: &'a str,
    pub placeholder: &'a str,
    /// The id of the results element (without `#`).
    pub target: &'a str,
}

impl SearchBox<'_> {
    pub fn render(&self) -> Markup {
        let id = format!("search-{}", self.name);
        let target = format!("#{}", self.target);
        let value = self.url.get(self.name).unwrap_or_default();
        let path = self.url.path();
        let kept = self.url.params_except(&[self.name, "page"]);
        html! {
            form.search role="search" method="get" action=(path)
                data-hx-get=(path) data-hx-target=(target) data-hx-swap="outerHTML"
                data-hx-replace-url="true" {
                label for=(id) { (self.label) }
                div.search-row {
                    input #(id) type="search" name=(self.name) value=(value)
                        placeholder=(self.placeholder) autocomplete="off" spellcheck="false"
                        aria-controls=(self.target)
                        data-hx-get=(path) data-hx-target=(target) data-hx-swap="outerHTML"
                        data-hx-replace-url="true" data-hx-include="closest form"
                        data-hx-trigger="input changed delay:300ms, search";
                    @for (name, value) in &kept {
                        input type="hidden" name=(name) value=(value);
                    }
                    button.button type="submit" { "Search" }
                }
            }
        }
    }
}

/// A column of a table.
pub struct Column<'a> {
    pub label: &'a str,
    /// Its key in the `sort` parameter, when the list sorts by it.
    pub sort: Option<&'a str>,
    /// Shown to screen readers only (an actions column).
    pub hidden_label: bool,
    /// A class for the heading cell (`actions-cell` right-aligns).
    pub class: Option<&'static str>,
    /// Drawn instead of the label (a select-all checkbox, which labels itself).
    pub content: Option<Markup>,
}

impl<'a> Column<'a> {
    pub fn new(label: &'a str) -> Self {
        Self {
            label,
            sort: None,
            hidden_label: false,
            class: None,
            content: None,
        }
    }

    pub fn sorted(label: &'a str, key: &'a str) -> Self {
        Self {
            sort: Some(key),
            ..Self::new(label)
        }
    }

    /// The right-aligned column of row actions, named for screen readers only.
    pub fn actions() -> Self {
        Self {
            hidden_label: true,
            class: Some("actions-cell"),
            ..Self::new("Actions")
        }
    }

    pub fn custom(label: &'a str, content: Markup) -> Self {
        Self {
            content: Some(content),
            ..Self::new(label)
        }
    }
}

/// The order a sortable table is shown in, and where its sort links go:
/// the list's address and the id of the region they replace.
pub struct Sorting<'a> {
    pub key: &'a str,
    pub descending: bool,
    pub url: &'a ListUrl,
    pub target: &'a str,
}

/// A data table: a caption (for screen readers), a heading row whose
/// sortable columns link to their order, and the rows; when there are none,
/// one row spanning every column says `empty`. The table scrolls sideways
/// on a narrow screen inside a labelled region that keyboards can reach.
pub struct Table<'a> {
    pub caption: &'a str,
    pub columns: &'a [Column<'a>],
    pub sorting: Option<&'a Sorting<'a>>,
    pub empty: &'a str,
    /// Extra classes for the table (`stacked` lays rows out as cards on a phone).
    pub class: &'static str,
}

impl Table<'_> {
    pub fn render(&self, rows: Vec<Markup>) -> Markup {
        let class = if self.class.is_empty() {
            "data-table".to_owned()
        } else {
            format!("data-table {}", self.class)
        };
        html! {
            div.table-wrap role="region" aria-label=(self.caption) tabindex="0" {
                table class=(class) {
                    caption.visually-hidden { (self.caption) }
                    (self.head())
                    tbody {
                        @if rows.is_empty() {
                            tr.empty-row { td colspan=(self.columns.len()) { (self.empty) } }
                        }
                        @for row in rows { (row) }
                    }
                }
            }
        }
    }

    /// `<thead>`; with sorting, a link per sortable column that sorts by it
    /// or turns the order round, and `aria-sort` on the current one.
    fn head(&self) -> Markup {
        html! {
            thead {
                tr {
                    @for column in self.columns {
                        @let current = self.sorting.filter(|s| column.sort == Some(s.key));
                        @let aria_sort = current.map(|s| if s.descending { "descending" } else { "ascending" });
                        th scope="col" class=[column.class] aria-sort=[aria_sort] {
                            @if let Some(content) = &column.content {
                                (content)
                            } @else if column.hidden_label {
                                span.visually-hidden { (column.label) }
                            } @else if let (Some(key), Some(sorting)) = (column.sort, self.sorting) {
                                @let dir = if current.is_some_and(|s| !s.descending) { "desc" } else { "asc" };
                                @let href = sorting.url.with(&[("sort", key), ("dir", dir), ("page", "")]);
                                a.sort-link href=(href) data-hx-get=(href)
                                    data-hx-target=(format!("#{}", sorting.target))
                                    data-hx-swap="outerHTML" data-hx-push-url="true" {
                                    (column.label)
                                    span.sort-mark aria-hidden="true" {
                                        @match current {
                                            Some(s) if s.descending => "▼",
                                            Some(_) => "▲",
                                            None => "↕",
                                        }
                                    }
                                }
                            } @else {
                                (column.label)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A link between pages.
struct PageLink {
    href: String,
    text: &'static str,
    label: &'static str,
    rel: Option<&'static str>,
}

/// Links between the pages of a list, each a plain link (a page without
/// JavaScript) that htmx follows into the list's region, recording the
/// address. Two kinds: [`Pager::numbered`] for lists paged by number, and
/// [`Pager::newest_first`] for event logs paged by position in time.
/// Draws nothing when there is neither another page nor a status to say.
pub struct Pager<'a> {
    /// The id of the region the links replace (without `#`).
    target: &'a str,
    status: Option<String>,
    before: Vec<PageLink>,
    position: Option<String>,
    after: Vec<PageLink>,
}

impl<'a> Pager<'a> {
    /// Page `page` (1-based) of a list of `per_page`: where it sits ("Showing
    /// 51–100 of 1,234 users"), First, Previous, Next and Last. With an
    /// unknown `total` (a search too costly to count) it offers Next while
    /// there is more.
    #[allow(clippy::too_many_arguments)]
    pub fn numbered(
        url: &ListUrl,
        target: &'a str,
        page: u32,
        per_page: u32,
        shown: usize,
        total: Option<u64>,
        has_more: bool,
        nouns: (&str, &str),
    ) -> Self {
        let first = u64::from(page.saturating_sub(1)) * u64::from(per_page) + 1;
        let last = first + shown as u64 - 1;
        let pages = total.map(|t| t.div_ceil(u64::from(per_page.max(1))).max(1));
        let link = |n: u64| {
            let number = n.to_string();
            url.with(&[("page", if n == 1 { "" } else { number.as_str() })])
        };
        let status = if shown == 0 {
            format!("No {}", nouns.1)
        } else {
            let of = total.map_or(String::new(), |t| format!(" of {}", group_digits(t)));
            let noun = if total == Some(1) { nouns.0 } else { nouns.1 };
            format!(
                "Showing {}–{}{of} {noun}",
                group_digits(first),
                group_digits(last)
            )
        };
        let mut before = Vec::new();
        let mut after = Vec::new();
        let page = u64::from(page);
        if page > 2 {
            before.push(PageLink {
                href: link(1),
                text: "« First",
                label: "First page",
                rel: None,
            });
        }
        if page > 1 {
            before.push(PageLink {
                href: link(page - 1),
                text: "‹ Previous",
                label: "Previous page",
                rel: Some("prev"),
            });
        }
        if has_more {
            after.push(PageLink {
                href: link(page + 1),
                text: "Next ›",
                label: "Next page",
                rel: Some("next"),
            });
        }
        if let Some(pages) = pages
            && page + 1 < pages
        {
            after.push(PageLink {
                href: link(pages),
                text: "Last »",
                label: "Last page",
                rel: None,
            });
        }
        let position = (!before.is_empty() || !after.is_empty()).then(|| {
            let of = pages.map_or(String::new(), |p| format!(" of {}", group_digits(p)));
            format!("Page {}{of}", group_digits(page))
        });
        Self {
            target,
            status: Some(status),
            before,
            position,
            after,
        }
    }

    /// Newer and Older links for a log shown newest first.
    pub fn newest_first(target: &'a str, newer: Option<String>, older: Option<String>) -> Self {
        Self {
            target,
            status: None,
            before: newer
                .map(|href| PageLink {
                    href,
                    text: "‹ Newer",
                    label: "Newer events",
                    rel: Some("prev"),
                })
                .into_iter()
                .collect(),
            position: None,
            after: older
                .map(|href| PageLink {
                    href,
                    text: "Older ›",
                    label: "Older events",
                    rel: Some("next"),
                })
                .into_iter()
                .collect(),
        }
    }

    pub fn render(&self) -> Markup {
        let target = format!("#{}", self.target);
        let has_links = !self.before.is_empty() || !self.after.is_empty();
        let link = |l: &PageLink| {
            html! {
                li {
                    a.button.small href=(l.href) rel=[l.rel] aria-label=(l.label)
                        data-hx-get=(l.href) data-hx-target=(target)
                        data-hx-swap="outerHTML" data-hx-push-url="true" { (l.text) }
                }
            }
        };
        html! {
            @if self.status.is_some() || has_links {
                nav.pager aria-label="Pages" {
                    @if let Some(status) = &self.status { p.pager-status { (status) } }
                    @if has_links {
                        ul.pager-links {
                            @for l in &self.before { (link(l)) }
                            @if let Some(position) = &self.position {
                                li.pager-current aria-current="page" { (position) }
                            }
                            @for l in &self.after { (link(l)) }
                        }
                    }
                }
            }
        }
    }
}

/// `12345` as `12,345`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_parameter_keeps_the_others() {
        let url = ListUrl::new("/account/users")
            .param("q", "emma w")
            .param("sort", "email")
            .param("page", "3");
        assert_eq!(url.href(), "/account/users?q=emma+w&sort=email&page=3");
        assert_eq!(
            url.with(&[("page", ""), ("dir", "desc")]),
            "/account/users?q=emma+w&sort=email&dir=desc"
        );
        assert_eq!(ListUrl::new("/x").param("q", "").href(), "/x");
        assert_eq!(url.params_except(&["q", "page"]), [("sort", "email")]);
    }

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(100_000), "100,000");
        assert_eq!(group_digits(1_234_567), "1,234,567");
    }

    #[test]
    fn an_unknown_total_still_pages_forward() {
        let url = ListUrl::new("/l").param("q", "example");
        let html = Pager::numbered(&url, "results", 2, 50, 50, None, true, ("user", "users"))
            .render()
            .into_string();
        assert!(html.contains("Showing 51–100 users"), "{html}");
        assert!(html.contains("/l?q=example&amp;page=3"), "{html}");
        assert!(!html.contains("Last page"), "{html}");
    }
}
