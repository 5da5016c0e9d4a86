//! The audit log's CSV: any fields come out as one RFC 4180 record that
//! reads back as those fields, with every cell a spreadsheet would run as
//! a formula turned into text.
#![no_main]

use latchkey::views::csv;
use libfuzzer_sys::fuzz_target;

/// Reads one CRLF-ended record back (RFC 4180).
fn read_record(text: &str) -> Vec<String> {
    let body = text.strip_suffix("\r\n").expect("a record ends with CRLF");
    let mut fields = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next().expect("a quoted field is closed") {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                assert!(!matches!(c, '"' | '\r' | '\n'), "unquoted {c:?}");
                field.push(c);
                chars.next();
            }
        }
        fields.push(field);
        match chars.next() {
            Some(',') => continue,
            None => return fields,
            Some(c) => panic!("{c:?} after a field"),
        }
    }
}

fuzz_target!(|fields: Vec<&str>| {
    if fields.is_empty() {
        return;
    }
    let mut out = String::new();
    csv::row(&mut out, fields.iter().copied());
    let read = read_record(&out);
    assert_eq!(read.len(), fields.len());
    for (cell, field) in read.iter().zip(&fields) {
        let formula = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
        if formula {
            assert_eq!(cell, &format!("'{field}"));
        } else {
            assert_eq!(cell, field);
        }
    }
});
