//! CSV as spreadsheets read it (RFC 4180), safe to open.
//!
//! Fields holding a comma, a quote or a line break are quoted, with quotes
//! doubled. And since a spreadsheet runs a cell that starts with `=`, `+`,
//! `-` or `@` (or a tab or carriage return, which some strip first) as a
//! formula, such a field gets a leading `'` (OWASP's advice against CSV
//! injection): a role named `=HYPERLINK(…)` shows as text, not a link.

use std::borrow::Cow;

/// One field, neutralised and quoted as needed.
pub fn field(value: &str) -> Cow<'_, str> {
    let value: Cow<'_, str> = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    };
    if value.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    } else {
        value
    }
}

/// One record, ended by CRLF as RFC 4180 asks.
pub fn row<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, value) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(value));
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_quoting() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field(""), "");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("cr\rhere"), "\"cr\rhere\"");
        let mut out = String::new();
        row(&mut out, ["1", "a,b", ""]);
        assert_eq!(out, "1,\"a,b\",\r\n");
    }

    #[test]
    fn neutralises_formulas() {
        assert_eq!(field("=1+1"), "'=1+1");
        assert_eq!(field("+44 20"), "'+44 20");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("\tx"), "'\tx");
        assert_eq!(
            field("=HYPERLINK(\"http://x\",\"a,b\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"a,b\"\")\""
        );
        assert_eq!(field("a=b"), "a=b");
    }
}
