//! The administration commands themselves, run the same way whether the
//! command line opened the data file or a server received them on its admin
//! socket: each returns what to print and the exit code, never prints.

use std::fmt::Write as _;

use super::protocol::{BackupTo, Output, Request, UserAdd, UserResetTwoFactor};
use crate::accounts::two_factor::reset_two_factor;
use crate::accounts::users::{NewUserForm, add_user};
use crate::accounts::{AccountsError, PasswordHasher};
use crate::config::Config;
use crate::domain::{UserQuery, time};
use crate::store::backup::{BackupError, RestoreError};
use crate::store::{Report, Store};

/// What the commands work on: the data file and a bounded password hasher.
#[derive(Clone)]
pub struct Commands {
    store: Store,
    hasher: PasswordHasher,
}

impl Commands {
    pub fn new(store: Store, hasher: PasswordHasher) -> Self {
        Self { store, hasher }
    }

    /// Runs one command. Store work goes to the blocking pool and hashing to
    /// the hasher, so a server's runtime threads stay free.
    pub async fn run(&self, request: Request) -> Output {
        match request {
            Request::UserAdd(args) => self.add_user(args).await,
            Request::UserList => self.list_users().await,
            Request::UserResetTwoFactor(args) => self.reset_two_factor(args).await,
            Request::CheckStore => self.check_store().await,
            Request::Backup(args) => self.backup(args).await,
        }
    }

    /// The report on standard output either way; exit 1 with a line on
    /// standard error when the file has problems.
    async fn check_store(&self) -> Output {
        match self.store.blocking(|s| s.check()).await {
            Ok(report) => report_output(&report),
            Err(e) => Output::failure(chain(&e)),
        }
    }

    async fn backup(&self, args: BackupTo) -> Output {
        let started = std::time::Instant::now();
        let written = self
            .store
            .blocking_or::<_, BackupError, _>(move |s| s.backup_to(&args.to, args.replace))
            .await;
        match written {
            Ok(backup) => Output::success(format!(
                "wrote a backup to {} ({} entries in {} tables, {} bytes, {} ms)\n",
                backup.path.display(),
                backup.entries,
                backup.tables,
                backup.bytes,
                started.elapsed().as_millis()
            )),
            Err(e) => Output::failure(chain(&e)),
        }
    }

    async fn reset_two_factor(&self, args: UserResetTwoFactor) -> Output {
        match reset_two_factor(&self.store, &args.email).await {
            Ok((user, true)) => Output::success(format!(
                "turned off 2FA for {} <{}> and signed them out everywhere\n",
                user.id, user.email
            )),
            Ok((user, false)) => Output::success(format!(
                "2FA was already off for {} <{}>; nothing changed\n",
                user.id, user.email
            )),
            Err(AccountsError::NotFound(_)) => {
                Output::failure(format!("no user has the email address {}", args.email))
            }
            Err(e) => Output::failure(chain(&e)),
        }
    }

    async fn add_user(&self, args: UserAdd) -> Output {
        let form = NewUserForm {
            first_name: args.first_name,
            last_name: args.last_name,
            email: args.email,
            password_confirm: args.password.clone(),
            password: args.password,
        };
        match add_user(&self.store, &self.hasher, &form, args.admin).await {
            Ok(user) => {
                let role = if args.admin {
                    " as Global Administrator"
                } else {
                    ""
                };
                Output::success(format!("created user {} <{}>{role}\n", user.id, user.email))
            }
            Err(AccountsError::Invalid(errors)) => {
                let lines: Vec<String> = errors
                    .iter()
                    .map(|(field, message)| format!("  {field}: {message}"))
                    .collect();
                Output::failure(format!("the user was not created:\n{}", lines.join("\n")))
            }
            Err(e) => Output::failure(chain(&e)),
        }
    }

    /// Every user, by name: page after page of the Users page's own query,
    /// so a big directory is never read in one go.
    async fn list_users(&self) -> Output {
        let read = self
            .store
            .blocking(|s| {
                let roles = s.roles()?;
                let mut users = Vec::new();
                let mut query = UserQuery::default();
                loop {
                    let page = s.user_page(&query)?;
                    users.extend(page.users);
                    if !page.has_more {
                        break;
                    }
                    query.page += 1;
                }
                Ok((roles, users))
            })
            .await;
        let (roles, users) = match read {
            Ok(found) => found,
            Err(e) => return Output::failure(chain(&e)),
        };
        let mut out = format!(
            "{:<6} {:<32} {:<28} {:<8} {:<24} LAST SIGN-IN\n",
            "ID", "EMAIL", "NAME", "STATUS", "ROLES"
        );
        for user in users {
            let names: Vec<&str> = user
                .roles
                .iter()
                .filter_map(|id| roles.iter().find(|r| r.id == *id).map(|r| r.name.as_str()))
                .collect();
            // Writing to a String cannot fail.
            let _ = writeln!(
                out,
                "{:<6} {:<32} {:<28} {:<8} {:<24} {}",
                user.id,
                user.email,
                user.full_name(),
                format!("{:?}", user.status),
                if names.is_empty() {
                    "-".to_owned()
                } else {
                    names.join(", ")
                },
                user.last_sign_in_at
                    .map_or_else(|| "never".to_owned(), time::display),
            );
        }
        Output::success(out)
    }
}

/// What `check-store` prints for `report`, and its exit code.
fn report_output(report: &Report) -> Output {
    let mut output = Output::success(report.render());
    if !report.is_clean() {
        output.stderr = format!(
            "latchkey: the data file has problems ({}); see above\n",
            report.problems.count()
        );
        output.exit_code = 1;
    }
    output
}

/// `latchkey restore --from FILE [--force]`: never through a server, which
/// must be stopped. The backup's check report is printed either way.
pub fn restore(config: &Config, from: &std::path::Path, replace: bool) -> Output {
    let socket = super::socket_path(&config.data_dir);
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Output::failure(format!(
            "a Latchkey server is running on {} (it answers on {}); stop it before restoring",
            config.data_dir.display(),
            socket.display()
        ));
    }
    match crate::store::backup::restore(&config.data_dir, from, replace) {
        Ok(restored) => {
            let mut output = report_output(&restored.report);
            let _ = writeln!(
                output.stdout,
                "{} {} with the backup {}",
                if restored.replaced {
                    "replaced"
                } else {
                    "created"
                },
                restored.data_file.display(),
                from.display()
            );
            output
        }
        Err(RestoreError::FailsCheck { path, report }) => {
            let mut output = report_output(&report);
            output.stderr = format!(
                "latchkey: the backup {} fails its check ({} problems); nothing was restored\n",
                path.display(),
                report.problems.count()
            );
            output.exit_code = 1;
            output
        }
        Err(e) => Output::failure(chain(&e)),
    }
}

/// An error and its causes, `outer: inner`, as `main` prints errors.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}
