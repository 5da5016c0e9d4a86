//! CSRF protection for every mutation, in one layer so no handler can forget.
//!
//! Any request other than GET/HEAD must carry the token of its context
//! (the session's, or before sign-in the anonymous cookie's) in the
//! `X-CSRF-Token` header (htmx) or the `csrf` form field (plain forms).

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::context::RequestContext;
use crate::error::AppError;

/// Largest form body accepted; our forms are a few hundred bytes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

pub async fn require_csrf(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let Some(ctx) = request.extensions().get::<Arc<RequestContext>>().cloned() else {
        return AppError::Internal("request context missing".into()).into_response();
    };
    let expected = ctx.csrf.as_bytes();
    if let Some(header) = request.headers().get("X-CSRF-Token") {
        return if bool::from(header.as_bytes().ct_eq(expected)) {
            next.run(request).await
        } else {
            AppError::CsrfRejected.into_response()
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return AppError::CsrfRejected.into_response();
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return AppError::PayloadTooLarge.into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let matches = fields
        .iter()
        .find(|(name, _)| name == "csrf")
        .is_some_and(|(_, value)| bool::from(value.as_bytes().ct_eq(expected)));
    if !matches {
        return AppError::CsrfRejected.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
