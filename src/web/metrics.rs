//! `/metrics` over HTTP: the layer that counts every request, the scrape
//! handler, and the router of the separate metrics listener.
//!
//! The scrape answers only when `[metrics]` is enabled, and asks for the
//! bearer token whenever one is configured (always, on the main listener).
//! Recording touches memory only: a signed-in GET still writes nothing to
//! the store.

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::accounts::Accounts;
use crate::config::Secret;
use crate::domain::time;
use crate::metrics::{Metrics, StoreGauges, UNMATCHED};

/// What Prometheus expects of text format 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Counts the request under its route template (known here, after routing)
/// and hands the counters to handlers that record outcomes of their own.
pub async fn track(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    request.extensions_mut().insert(metrics.clone());
    let response = next.run(request).await;
    metrics.record_request(
        route.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `GET /metrics`.
pub async fn scrape(
    State(accounts): State<Accounts>,
    Extension(metrics): Extension<Arc<Metrics>>,
    headers: HeaderMap,
) -> Response {
    let Some(config) = &accounts.config.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(token) = &config.bearer_token
        && !bearer_matches(&headers, token)
    {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            "Metrics need the bearer token from the [metrics] configuration.\n",
        )
            .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"latchkey metrics\""),
        );
        return response;
    }
    let sizes = match accounts.store.sizes() {
        Ok(sizes) => sizes,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read the store");
            return (StatusCode::SERVICE_UNAVAILABLE, "store not readable\n").into_response();
        }
    };
    let gauges = StoreGauges {
        users: sizes.users,
        sessions: sizes.sessions,
        outbox_queued: sizes.outbox_queued,
        outbox_oldest_queued_age: sizes
            .oldest_queued_at
            .map_or(0, |at| time::now().saturating_sub(at)),
        sign_in_throttle_entries: sizes.sign_in_throttle,
        request_throttle_entries: sizes.request_throttle,
    };
    (
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        metrics.render(&gauges),
    )
        .into_response()
}

/// `Authorization: Bearer <token>`, compared in constant time. Both sides
/// are hashed first, so not even the token's length shows in the timing.
fn bearer_matches(headers: &HeaderMap, token: &Secret) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, given)| given.trim())
    else {
        return false;
    };
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(token.expose().as_bytes());
    given.ct_eq(&expected).into()
}

/// The separate metrics listener: `/metrics` and nothing else.
pub fn listener_router(accounts: Accounts, metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "This address serves only /metrics.\n",
            )
        })
        .layer(Extension(metrics))
        .with_state(accounts)
}
