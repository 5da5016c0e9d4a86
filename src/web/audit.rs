//! The Audit log screen and its CSV export.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::context::SignedInCtx;
use super::form::Query;
use crate::accounts::audit::AuditFilterForm;
use crate::accounts::{Accounts, AccountsError, FieldErrors};
use crate::error::AppError;
use crate::views::audit::{audit_page, audit_panel, csv_header, csv_rows};

pub async fn show(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Query(form): Query<AuditFilterForm>,
) -> Result<Response, AppError> {
    let log = accounts.audit_log();
    let (status, panel) = match log.filter(&s.viewer, &form) {
        Ok(filter) => {
            let page = log.page(&s.viewer, &filter)?;
            let panel = audit_panel(&form, &FieldErrors::default(), Some(&page));
            (StatusCode::OK, panel)
        }
        Err(AccountsError::Invalid(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            audit_panel(&form, &errors, None),
        ),
        Err(other) => return Err(other.into()),
    };
    if s.ctx.htmx {
        return Ok((status, panel).into_response());
    }
    Ok((status, audit_page(&s.ctx.chrome(), panel)).into_response())
}

/// Every event of the filtered view as CSV, streamed: a chunk of events is
/// read, written and sent before the next is read, so a long log costs
/// little memory, and a client that hangs up stops the reading.
pub async fn export(
    State(accounts): State<Accounts>,
    s: SignedInCtx,
    Query(form): Query<AuditFilterForm>,
) -> Result<Response, AppError> {
    let log = accounts.audit_log();
    let filter = match log.filter(&s.viewer, &form.without_cursor()) {
        Ok(filter) => filter,
        Err(AccountsError::Invalid(_)) => {
            return Err(AppError::BadRequest(
                "The filter has errors: correct it on the Audit log page, then export again.",
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let mut export = log.export(&s.viewer, &filter)?;
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        if sender.send(Ok(Bytes::from(csv_header()))).await.is_err() {
            return;
        }
        loop {
            let chunk = match export.next_chunk().await {
                Ok(Some(events)) => Ok(Bytes::from(csv_rows(&events))),
                Ok(None) => return,
                Err(e) => {
                    // The header is sent: all that is left is to cut the
                    // download short, so the file is visibly incomplete.
                    tracing::error!(error = %e, "audit export failed");
                    Err(std::io::Error::other("audit export failed"))
                }
            };
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    let name = format!(
        "attachment; filename=\"latchkey-audit-{}.csv\"",
        crate::domain::time::now()
    );
    let mut response = Body::from_stream(Chunks(receiver)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The export's chunks as the stream a response body reads.
struct Chunks(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for Chunks {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
