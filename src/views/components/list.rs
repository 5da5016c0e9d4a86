//! Lists: a search box that filters as you type, a table head whose
//! columns sort, and a pager. Generic over the list: each takes the list's
//! address ([`ListUrl`]) and the id of the element that holds its results,
//! which htmx swaps (`outerHTML`); without JavaScript the same links and the
//! plain GET form load whole pages.

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
/// after a pause) and is also a plain GET form with a button.
pub struct SearchBox<'a> {
    pub url: &'a ListUrl,
    /// The parameter the term travels in.
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
        // Filters and sorting stay; the page goes back to the first.
        let kept = self.url.params_except(&[self.name, "page"]);
        html! {
            form.search role="search" method="get" action=(path)
                data-hx-get=(path) data-hx-target=(target) data-hx-swap="outerHTML"
                data-hx-push-url="true" {
                label for=(id) { (self.label) }
                div.search-row {
                    input #(id) type="search" name=(self.name) value=(value)
                        placeholder=(self.placeholder) autocomplete="off" spellcheck="false"
                        aria-controls=(self.target)
                        data-hx-get=(path) data-hx-target=(target) data-hx-swap="outerHTML"
                        data-hx-push-url="true" data-hx-include="closest form"
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

/// A column of a list table; `sort` is its key in the `sort` parameter
/// when the list sorts by it.
pub struct Column<'a> {
    pub label: &'a str,
    pub sort: Option<&'a str>,
    /// Shown to screen readers only (an actions column).
    pub hidden_label: bool,
    /// Drawn instead of the label (a select-all checkbox, which labels itself).
    pub content: Option<Markup>,
}

impl<'a> Column<'a> {
    pub fn sorted(label: &'a str, key: &'a str) -> Self {
        Self {
            label,
            sort: Some(key),
            hidden_label: false,
            content: None,
        }
    }

    pub fn plain(label: &'a str) -> Self {
        Self {
            label,
            sort: None,
            hidden_label: false,
            content: None,
        }
    }

    pub fn unlabelled(label: &'a str) -> Self {
        Self {
            label,
            sort: None,
            hidden_label: true,
            content: None,
        }
    }

    pub fn custom(label: &'a str, content: Markup) -> Self {
        Self {
            label,
            sort: None,
            hidden_label: false,
            content: Some(content),
        }
    }
}

/// The order a list is shown in.
pub struct Sorting<'a> {
    pub key: &'a str,
    pub descending: bool,
}

/// `<thead>` with a link per sortable column: it sorts by that column, or
/// turns the order round when it already does. `aria-sort` says which.
pub fn table_head(
    columns: &[Column<'_>],
    sorting: &Sorting<'_>,
    url: &ListUrl,
    target: &str,
) -> Markup {
    let target = format!("#{target}");
    html! {
        thead {
            tr {
                @for column in columns {
                    @let current = column.sort.is_some_and(|k| k == sorting.key);
                    @let aria_sort = current.then_some(if sorting.descending { "descending" } else { "ascending" });
                    th scope="col" aria-sort=[aria_sort] {
                        @if let Some(content) = &column.content {
                            (content)
                        } @else if column.hidden_label {
                            span.visually-hidden { (column.label) }
                        } @else if let Some(key) = column.sort {
                            @let dir = if current && !sorting.descending { "desc" } else { "asc" };
                            @let href = url.with(&[("sort", key), ("dir", dir), ("page", "")]);
                            a.sort-link href=(href) data-hx-get=(href) data-hx-target=(target)
                                data-hx-swap="outerHTML" data-hx-push-url="true" {
                                (column.label)
                                span.sort-mark aria-hidden="true" {
                                    @if current { @if sorting.descending { "▼" } @else { "▲" } } @else { "↕" }
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

/// Pages of a list: where this page sits, with links to its neighbours.
/// Works with an unknown total (a search too costly to count): then it
/// offers Next while there is more.
pub struct Pager<'a> {
    pub url: &'a ListUrl,
    pub target: &'a str,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
    /// Items on this page.
    pub shown: usize,
    pub total: Option<u64>,
    pub has_more: bool,
    /// The thing counted, one and many (`("user", "users")`).
    pub nouns: (&'a str, &'a str),
}

impl Pager<'_> {
    pub fn render(&self) -> Markup {
        let first = u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page) + 1;
        let last = first + self.shown as u64 - 1;
        let pages = self
            .total
            .map(|t| t.div_ceil(u64::from(self.per_page.max(1))).max(1));
        let target = format!("#{}", self.target);
        let link = |page: u64| {
            let number = page.to_string();
            self.url
                .with(&[("page", if page == 1 { "" } else { number.as_str() })])
        };
        let previous = (self.page > 1).then(|| link(u64::from(self.page) - 1));
        let next = self.has_more.then(|| link(u64::from(self.page) + 1));
        html! {
            nav.pager aria-label="Pages" {
                p.pager-status {
                    @if self.shown == 0 {
                        "No " (self.nouns.1)
                    } @else {
                        "Showing " (group_digits(first)) "–" (group_digits(last))
                        @if let Some(total) = self.total { " of " (group_digits(total)) }
                        " " (if self.total == Some(1) { self.nouns.0 } else { self.nouns.1 })
                    }
                }
                @if previous.is_some() || next.is_some() {
                    ul.pager-links {
                        @if self.page > 2 {
                            li { (pager_link(&link(1), &target, "First page", "« First")) }
                        }
                        @if let Some(href) = &previous {
                            li { (pager_link(href, &target, "Previous page", "‹ Previous")) }
                        }
                        li.pager-current aria-current="page" {
                            "Page " (group_digits(u64::from(self.page)))
                            @if let Some(pages) = pages { " of " (group_digits(pages)) }
                        }
                        @if let Some(href) = &next {
                            li { (pager_link(href, &target, "Next page", "Next ›")) }
                        }
                        @if let Some(pages) = pages && u64::from(self.page) + 1 < pages {
                            li { (pager_link(&link(pages), &target, "Last page", "Last »")) }
                        }
                    }
                }
            }
        }
    }
}

fn pager_link(href: &str, target: &str, label: &str, text: &str) -> Markup {
    html! {
        a.button.small href=(href) aria-label=(label) data-hx-get=(href) data-hx-target=(target)
            data-hx-swap="outerHTML" data-hx-push-url="true" { (text) }
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
        let html = Pager {
            url: &url,
            target: "results",
            page: 2,
            per_page: 50,
            shown: 50,
            total: None,
            has_more: true,
            nouns: ("user", "users"),
        }
        .render()
        .into_string();
        assert!(html.contains("Showing 51–100 users"), "{html}");
        assert!(html.contains("/l?q=example&amp;page=3"), "{html}");
        assert!(!html.contains("Last page"), "{html}");
    }
}
