//! One layout for every message: a greeting, a few paragraphs, at most one
//! button (whose link is also written out in full, for text-only readers and
//! for copying), and a signature naming the product and its address. The
//! text and HTML bodies come from the same [`Letter`], so they never say
//! different things; HTML is built with maud, so names are escaped.

use maud::{DOCTYPE, html};

use crate::config::Mailbox;
use crate::domain::MailMessage;
use crate::store::OutboxMessage;

/// The product's name, in every subject and signature.
pub const PRODUCT: &str = "Latchkey";

/// Builds messages with absolute links and turns them into MIME.
pub struct Composer {
    public_url: String,
    from: Mailbox,
}

/// What a message says, before it is laid out.
pub struct Letter {
    /// The line after the subject, like "Hello Ada,".
    pub greeting: String,
    /// Paragraphs before the button.
    pub paragraphs: Vec<String>,
    /// The button: label and absolute link.
    pub action: Option<(String, String)>,
    /// Paragraphs after the button (how long the link works, what to do if
    /// it wasn't you).
    pub after: Vec<String>,
}

impl Composer {
    /// `public_url` without a trailing slash.
    pub fn new(public_url: &str, from: Mailbox) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            from,
        }
    }

    /// The absolute address of a path on this server.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.public_url)
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Lays `letter` out as text and HTML, with `subject` after the product name.
    pub fn letter(&self, to: &str, subject: &str, letter: Letter) -> MailMessage {
        let subject = format!("{PRODUCT}: {subject}");
        let mut text = format!("{}\n\n", letter.greeting);
        for paragraph in &letter.paragraphs {
            text.push_str(paragraph);
            text.push_str("\n\n");
        }
        if let Some((label, link)) = &letter.action {
            text.push_str(&format!("{label}:\n{link}\n\n"));
        }
        for paragraph in &letter.after {
            text.push_str(paragraph);
            text.push_str("\n\n");
        }
        text.push_str(&format!("-- \n{PRODUCT}\n{}\n", self.public_url));

        let html = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (subject) }
                }
                body style="margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;line-height:1.5" {
                    div style="max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #d0d7de;border-radius:8px;padding:24px" {
                        p style="margin:0 0 16px;font-weight:600;color:#0b57d0" { (PRODUCT) }
                        p { (letter.greeting) }
                        @for paragraph in &letter.paragraphs { p { (paragraph) } }
                        @if let Some((label, link)) = &letter.action {
                            p style="margin:24px 0" {
                                a href=(link) style="display:inline-block;background:#0b57d0;color:#ffffff;text-decoration:none;padding:10px 18px;border-radius:6px;font-weight:600" { (label) }
                            }
                            p style="font-size:13px;color:#57606a;word-break:break-all" {
                                "Or open this address: " a href=(link) style="color:#0b57d0" { (link) }
                            }
                        }
                        @for paragraph in &letter.after { p style="color:#57606a" { (paragraph) } }
                        p style="margin-top:24px;font-size:13px;color:#57606a" {
                            (PRODUCT) " · " a href=(self.public_url) style="color:#57606a" { (self.public_url) }
                        }
                    }
                }
            }
        };
        MailMessage {
            to: to.to_owned(),
            subject,
            text,
            html: html.into_string(),
        }
    }

    /// The message as it goes on the wire or into an `.eml` file: multipart
    /// text and HTML, dated when it was queued, with its fixed Message-ID.
    pub fn mime(&self, message: &OutboxMessage) -> std::io::Result<Vec<u8>> {
        use mail_send::mail_builder::MessageBuilder;
        let from = (self.from.name.as_str(), self.from.address.as_str());
        MessageBuilder::new()
            .from(from)
            .to(message.message.to.as_str())
            .subject(message.message.subject.as_str())
            .message_id(self.message_id(message))
            .date(message.created_at)
            // RFC 3834: an automatic message, not to be answered by auto-replies.
            .header(
                "Auto-Submitted",
                mail_send::mail_builder::headers::raw::Raw::new("auto-generated"),
            )
            .text_body(message.message.text.as_str())
            .html_body(message.message.html.as_str())
            .write_to_vec()
    }

    /// The full Message-ID (without angle brackets).
    pub fn message_id(&self, message: &OutboxMessage) -> String {
        format!("{}@{}", message.message_id, self.from.domain())
    }
}

/// A duration as people say it: "1 hour", "24 hours", "7 days", "30 minutes".
pub fn in_words(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    let (n, unit) = if seconds > 86_400 && seconds.is_multiple_of(86_400) {
        (seconds / 86_400, "day")
    } else if seconds >= 3600 && seconds.is_multiple_of(3600) {
        (seconds / 3600, "hour")
    } else if seconds >= 60 {
        (seconds.div_ceil(60), "minute")
    } else {
        (seconds, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::time;

    fn composer() -> Composer {
        Composer::new(
            "https://accounts.example.com/",
            Mailbox::parse("Latchkey <latchkey@example.com>").unwrap(),
        )
    }

    #[test]
    fn text_and_html_say_the_same_with_absolute_links_and_escaped_names() {
        let message = composer().letter(
            "ada@example.com",
            "Reset your password",
            Letter {
                greeting: "Hello <b>Ada</b>,".into(),
                paragraphs: vec!["Someone asked.".into()],
                action: Some((
                    "Reset your password".into(),
                    composer().url("/password/reset?token=abc"),
                )),
                after: vec!["The link works once.".into()],
            },
        );
        assert_eq!(message.subject, "Latchkey: Reset your password");
        let link = "https://accounts.example.com/password/reset?token=abc";
        assert!(message.text.contains(link), "{}", message.text);
        assert!(message.html.contains(link));
        assert!(message.text.contains("Hello <b>Ada</b>,"));
        assert!(message.html.contains("Hello &lt;b&gt;Ada&lt;/b&gt;,"));
        assert!(message.text.contains("The link works once."));
        assert!(message.html.contains("The link works once."));
    }

    #[test]
    fn the_mime_message_is_multipart_with_a_stable_message_id() {
        let c = composer();
        let mail = c.letter(
            "ada@example.com",
            "Hello",
            Letter {
                greeting: "Hello Ada,".into(),
                paragraphs: vec![],
                action: None,
                after: vec![],
            },
        );
        let mut record = OutboxMessage::new(mail, time::now());
        record.message_id = "7.00ff.latchkey".into();
        let first = String::from_utf8(c.mime(&record).unwrap()).unwrap();
        let second = String::from_utf8(c.mime(&record).unwrap()).unwrap();
        assert!(
            first.contains("Message-ID: <7.00ff.latchkey@example.com>"),
            "{first}"
        );
        assert!(first.contains("multipart/alternative"));
        assert!(first.contains("text/plain") && first.contains("text/html"));
        assert!(first.contains("Auto-Submitted: auto-generated"));
        assert_eq!(
            first.lines().find(|l| l.starts_with("Date:")),
            second.lines().find(|l| l.starts_with("Date:")),
            "dated when queued, not when sent"
        );
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(in_words(Duration::from_secs(3600)), "1 hour");
        assert_eq!(in_words(Duration::from_secs(86_400)), "24 hours");
        assert_eq!(in_words(Duration::from_secs(7 * 86_400)), "7 days");
        assert_eq!(in_words(Duration::from_secs(90)), "2 minutes");
        assert_eq!(in_words(Duration::from_secs(1)), "1 second");
    }
}
