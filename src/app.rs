//! Assembly: opens the store, builds the use cases and the router, starts the
//! background workers, serves until SIGINT/SIGTERM, then drains in-flight
//! requests before returning.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::accounts::two_factor::seal_stored_secrets;
use crate::accounts::{Accounts, PasswordHasher, Services, SessionManager};
use crate::admin::{AdminSocket, Commands};
use crate::config::{BackupConfig, Config};
use crate::domain::time;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::store::{BackupError, REQUEST_WINDOW, Store, StoreError};

/// How often expired sessions, links and stale counters are removed.
const SWEEP_EVERY: Duration = Duration::from_secs(300);

/// Sent and failed messages stay listed on the Settings page this long.
const OUTBOX_KEEPS: i64 = 30 * 86_400;

/// How soon a scheduled backup that failed is tried again (or the
/// interval, if shorter).
const BACKUP_RETRY: Duration = Duration::from_secs(300);

/// How long shutdown waits for a delivery under way to finish.
const MAIL_DRAIN: Duration = Duration::from_secs(10);

/// A built application, ready to serve.
pub struct App {
    pub accounts: Accounts,
    workers: Vec<JoinHandle<()>>,
    /// The outbox worker, stopped after the last request and given time to
    /// finish a delivery under way.
    mail_worker: JoinHandle<()>,
    stop_mail: watch::Sender<bool>,
    /// Where `latchkey user …` reaches this server; `None` if it could not start.
    admin: Option<AdminSocket>,
    /// What `/metrics` shows; counted whether or not it is served.
    pub metrics: Arc<Metrics>,
    /// `[metrics] listen`, once bound.
    metrics_listener: Option<TcpListener>,
}

impl App {
    /// Opens the store and starts the background workers and the admin
    /// socket. Must run inside a Tokio runtime.
    pub fn build(config: Config) -> Result<Self, StoreError> {
        let store = Store::open(&config.data_dir, config.accounts)?;
        let (sessions, activity) = SessionManager::new(store.clone(), config.sessions);
        let mailer = Mailer::new(&config);
        let (stop_mail, stop_mail_rx) = watch::channel(false);
        let mail_worker = tokio::spawn(
            mailer
                .worker(store.clone(), config.mail.retry)
                .run(stop_mail_rx),
        );
        let accounts = Accounts::new(Services {
            store,
            hasher: PasswordHasher::new(config.sign_in.max_concurrent_hashes),
            sessions,
            mailer,
            config: Arc::new(config),
        });
        let mut workers = vec![tokio::spawn(activity)];
        let mailer = accounts.mailer.clone();
        workers.push(tokio::spawn(async move {
            // Said at start, so a wrong host or password shows in the log
            // before the first password reset goes missing.
            match mailer.transport().check().await {
                Ok(how) => tracing::info!("outgoing mail: {how}"),
                Err(e) => tracing::warn!(
                    error = %e,
                    "outgoing mail: the mail server can't be reached now; messages wait in the outbox and are retried"
                ),
            }
        }));
        workers.push(tokio::spawn(sweep(accounts.clone())));
        // Reads every 2FA record, so it runs beside the first requests rather
        // than before them; a secret not yet sealed still opens meanwhile.
        let (store, key) = (
            accounts.store.clone(),
            accounts.config.two_factor.encryption_key.clone(),
        );
        workers.push(tokio::spawn(async move {
            let sealed = store
                .blocking(move |s| seal_stored_secrets(s, key.as_ref()))
                .await;
            if let Err(e) = sealed {
                tracing::warn!(error = %e, "could not check the stored 2FA secrets");
            }
        }));
        if let Some(backup) = accounts.config.backup.clone() {
            workers.push(tokio::spawn(scheduled_backups(
                accounts.store.clone(),
                backup,
            )));
        }
        let hasher = accounts.hasher.clone();
        workers.push(tokio::spawn(async move {
            if let Err(e) = hasher.warm_up().await {
                tracing::warn!(error = %e, "could not prepare the password hasher");
            }
        }));
        // The web service matters more than the shell: without the socket,
        // warn and serve anyway.
        let commands = Commands::new(accounts.store.clone(), accounts.hasher.clone());
        let admin = AdminSocket::start(&accounts.config.data_dir, commands)
            .inspect_err(|e| {
                tracing::warn!(
                    error = %e,
                    "`latchkey user` commands won't work while this server runs"
                );
            })
            .ok();
        Ok(Self {
            accounts,
            workers,
            mail_worker,
            stop_mail,
            admin,
            metrics: Arc::new(Metrics::new()),
            metrics_listener: None,
        })
    }

    pub fn router(&self) -> axum::Router {
        crate::web::router(self.accounts.clone(), self.metrics.clone())
    }

    /// Binds the metrics listener of `[metrics] listen`, if there is one, and
    /// returns its address. Called before serving, so that a taken port stops
    /// start-up with a clear error; [`App::serve`] calls it too.
    pub async fn listen_metrics(&mut self) -> std::io::Result<Option<SocketAddr>> {
        if let Some(listener) = &self.metrics_listener {
            return listener.local_addr().map(Some);
        }
        let Some(addr) = self.accounts.config.metrics.as_ref().and_then(|m| m.listen) else {
            return Ok(None);
        };
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("metrics: listening on {addr}: {e}"))
        })?;
        let local = listener.local_addr()?;
        self.metrics_listener = Some(listener);
        Ok(Some(local))
    }

    /// With no users yet, makes and logs the one-time set-up link; returns it.
    pub async fn announce_setup_link(
        &self,
    ) -> Result<Option<String>, crate::accounts::AccountsError> {
        let link = self.accounts.prepare_setup_link().await?;
        if let Some(url) = &link {
            tracing::warn!(
                "no users yet: open this one-time link to create the first administrator: {url}"
            );
        }
        Ok(link)
    }

    /// Serves on `listener`, and `/metrics` on the metrics listener if there
    /// is one, until `shutdown` completes; then waits for open requests to
    /// finish and stops the workers.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.listen_metrics().await?;
        let header_read_timeout = self.accounts.config.server.header_read_timeout;
        let (stop, stopped) = watch::channel(false);
        let metrics_server = self.metrics_listener.take().map(|metrics_listener| {
            let router =
                crate::web::metrics::listener_router(self.accounts.clone(), self.metrics.clone());
            tokio::spawn(accept(
                metrics_listener,
                router,
                header_read_timeout,
                stopped.clone(),
            ))
        });
        let main = accept(listener, self.router(), header_read_timeout, stopped);
        let signal = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        tokio::join!(main, signal);
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        let _ = self.stop_mail.send(true);
        let mut mail_worker = self.mail_worker;
        if tokio::time::timeout(MAIL_DRAIN, &mut mail_worker)
            .await
            .is_err()
        {
            // Whatever was on the wire is sent again at the next start.
            mail_worker.abort();
        }
        for worker in &self.workers {
            worker.abort();
        }
        // Removes the socket file: the command line then opens the data file.
        drop(self.admin);
        Ok(())
    }
}

/// Serves `router` on `listener` until `stop` turns true, then waits for
/// open requests to finish.
///
/// The connection loop is ours rather than `axum::serve` so that hyper's
/// header-read timeout can be set: a client that trickles its headers (or
/// a keep-alive connection left idle) is cut off instead of holding a
/// connection forever. The whole-request timeout is a layer of the router.
/// Public so that the benchmark's baseline is served by this same loop.
pub async fn accept(
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connections = GracefulShutdown::new();
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off, don't spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            // The guard `wait_for` returns must not live across an await.
            () = async { let _ = stop.wait_for(|stop| *stop).await; } => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = connections.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(client = %remote, error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
}

/// Every [`SWEEP_EVERY`], starting one period after start: what expired
/// while the server was down is refused when read anyway, and a server that
/// has just started writes only what its requests cause (tests that count
/// writes rely on that).
async fn sweep(accounts: Accounts) {
    let start = tokio::time::Instant::now() + SWEEP_EVERY;
    let mut ticker = tokio::time::interval_at(start, SWEEP_EVERY);
    loop {
        ticker.tick().await;
        let now = time::now();
        match accounts.sessions.sweep(now).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(sessions = n, "removed expired sessions"),
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
        let window = accounts.config.sign_in.lockout.as_secs() as i64;
        if let Err(e) = accounts
            .store
            .blocking(move |s| s.prune_throttle(window, REQUEST_WINDOW, now))
            .await
        {
            tracing::warn!(error = %e, "could not prune sign-in counters");
        }
        if let Err(e) = accounts
            .store
            .blocking(move |s| {
                s.prune_expired_tokens(now)?;
                s.prune_outbox(now - OUTBOX_KEEPS)
            })
            .await
        {
            tracing::warn!(error = %e, "could not prune expired links and old mail");
        }
    }
}

/// Writes a backup when one is due (see `store::backup::next_scheduled_in`),
/// then every interval, while the server keeps serving.
async fn scheduled_backups(store: Store, config: BackupConfig) {
    let mut wait = crate::store::backup::next_scheduled_in(&config.dir, config.interval);
    tracing::info!(
        folder = %config.dir.display(),
        every = ?config.interval,
        keep = config.keep,
        first_in = ?wait,
        "scheduled backups are on"
    );
    loop {
        tokio::time::sleep(wait).await;
        let started = std::time::Instant::now();
        let (dir, keep) = (config.dir.clone(), config.keep);
        let written = store
            .blocking_or::<_, BackupError, _>(move |s| s.write_scheduled_backup(&dir, keep))
            .await;
        wait = match written {
            Ok(backup) => {
                tracing::info!(
                    path = %backup.path.display(),
                    bytes = backup.bytes,
                    entries = backup.entries,
                    took_ms = started.elapsed().as_millis() as u64,
                    "backup written"
                );
                config.interval
            }
            Err(e) => {
                let retry = BACKUP_RETRY.min(config.interval);
                tracing::error!(
                    folder = %config.dir.display(),
                    error = %e,
                    retry_in = ?retry,
                    "scheduled backup failed"
                );
                retry
            }
        };
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (`docker stop`, systemd).
///
/// The handlers are installed when this is called, not when the future is
/// first polled, so a signal that arrives early still stops us gracefully.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    tracing::warn!("could not install signal handlers; stop with SIGKILL");
                    std::future::pending::<()>().await
                }
            }
            tracing::info!("shutting down: finishing open requests");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing open requests");
    }
}
