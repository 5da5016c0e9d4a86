//! The admin socket's wire format: one JSON request line from the command
//! line, one JSON response line from the server, then the connection closes.
//!
//! ```text
//! → {"version":1,"request":{"command":"user-list"}}
//! ← {"version":1,"output":{"stdout":"…","stderr":"","exit_code":0}}
//! ```
//!
//! The version is read before the request, so a server can say clearly that
//! it and the command line come from different Latchkey releases. A new
//! command is a new [`Request`] variant; the answer is always an [`Output`].

use serde::{Deserialize, Serialize};

/// Bumped when a request or the output changes shape incompatibly.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest request line the server reads (a password is at most 128
/// characters; everything else is names and flags).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// One administration command and its arguments.
///
/// No `Debug`: `user add` carries a password, and nothing should print it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Request {
    UserAdd(UserAdd),
    UserList,
    #[serde(rename = "user-reset-2fa")]
    UserResetTwoFactor(UserResetTwoFactor),
    CheckStore,
    Backup(BackupTo),
}

impl Request {
    /// The command's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Request::UserAdd(_) => "user add",
            Request::UserList => "user list",
            Request::UserResetTwoFactor(_) => "user reset-2fa",
            Request::CheckStore => "check-store",
            Request::Backup(_) => "backup",
        }
    }
}

/// `latchkey user reset-2fa`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserResetTwoFactor {
    pub email: String,
}

/// `latchkey backup --to FILE`. The path is absolute: the command line
/// resolves it against its own working folder before sending it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupTo {
    pub to: std::path::PathBuf,
    /// Replace a file already there.
    pub replace: bool,
}

/// `latchkey user add`, with the password already read from standard input.
///
/// Unknown fields are refused: an older server must not quietly ignore an
/// option a newer command line added.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserAdd {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub admin: bool,
    pub password: String,
}

/// What a command prints and how it exits, so that running it against the
/// file directly and through the server looks the same to the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: u8,
}

impl Output {
    pub fn success(stdout: String) -> Self {
        Self {
            stdout,
            stderr: String::new(),
            exit_code: 0,
        }
    }

    /// A failed command: `latchkey: <message>` on standard error, exit 1,
    /// as `main` prints any other error.
    pub fn failure(message: impl std::fmt::Display) -> Self {
        Self {
            stdout: String::new(),
            stderr: format!("latchkey: {message}\n"),
            exit_code: 1,
        }
    }
}

/// The request line. The server reads `request` only once `version` matches.
#[derive(Serialize, Deserialize)]
pub(super) struct RequestLine<R> {
    pub version: u32,
    pub request: R,
}

/// The response line.
#[derive(Serialize, Deserialize)]
pub(super) struct ResponseLine {
    pub version: u32,
    pub output: Output,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_unknown_commands_are_refused() {
        let line = serde_json::to_string(&RequestLine {
            version: PROTOCOL_VERSION,
            request: Request::UserList,
        })
        .unwrap();
        assert_eq!(line, r#"{"version":1,"request":{"command":"user-list"}}"#);
        let back: RequestLine<Request> = serde_json::from_str(&line).unwrap();
        assert!(matches!(back.request, Request::UserList));

        let add: Request = serde_json::from_str(
            r#"{"command":"user-add","email":"a@b.c","first_name":"A","last_name":"B","admin":true,"password":"p"}"#,
        )
        .unwrap();
        assert_eq!(add.name(), "user add");
        assert!(serde_json::from_str::<Request>(r#"{"command":"launch-rockets"}"#).is_err());
        let newer = r#"{"command":"user-add","email":"a@b.c","first_name":"A","last_name":"B","admin":true,"password":"p","force":true}"#;
        assert!(serde_json::from_str::<Request>(newer).is_err());
        let reset: Request =
            serde_json::from_str(r#"{"command":"user-reset-2fa","email":"a@b.c"}"#).unwrap();
        assert_eq!(reset.name(), "user reset-2fa");
        let check: Request = serde_json::from_str(r#"{"command":"check-store"}"#).unwrap();
        assert_eq!(check.name(), "check-store");
        let backup: Request =
            serde_json::from_str(r#"{"command":"backup","to":"/b/x.redb","replace":false}"#)
                .unwrap();
        assert!(matches!(
            backup,
            Request::Backup(BackupTo { replace: false, .. })
        ));
    }
}
