//! Turns marked error responses into HTML: a full page for a browser, a
//! fragment for htmx, using the same views. See `crate::error`.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::context::RequestContext;
use crate::error::{ErrorPage, SignInRedirect};
use crate::views::components::{DIALOG_SLOT, dialog};
use crate::views::errors::{error_body, error_page};
use maud::html;

pub async fn render_errors(request: Request, next: Next) -> Response {
    let ctx = request.extensions().get::<Arc<RequestContext>>().cloned();
    // An error meant for the dialog slot is drawn as a dialog, so it opens
    // where the person is looking rather than at the foot of the page.
    let into_dialog = request
        .headers()
        .get("HX-Target")
        .is_some_and(|v| v.as_bytes() == DIALOG_SLOT.as_bytes());
    let response = next.run(request).await;
    let Some(ctx) = ctx else { return response };
    if response.extensions().get::<SignInRedirect>().is_some() && ctx.htmx {
        let target = response
            .headers()
            .get(header::LOCATION)
            .cloned()
            .unwrap_or(HeaderValue::from_static("/signin"));
        let mut hx = StatusCode::NO_CONTENT.into_response();
        hx.headers_mut().insert("HX-Redirect", target);
        return hx;
    }
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let status = response.status();
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let markup = if ctx.htmx && into_dialog {
        dialog(
            "error-dialog",
            page.title,
            html! { div.error-box role="alert" { p { (page.message) } } },
        )
    } else if ctx.htmx {
        error_body(page.title, &page.message, ctx.viewer.is_some())
    } else {
        error_page(&ctx.chrome(), page.title, &page.message)
    };
    let mut html = (status, markup).into_response();
    html.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Some(retry_after) = retry_after {
        html.headers_mut().insert(header::RETRY_AFTER, retry_after);
    }
    html
}

/// Sends an htmx answer to the element with id `id` rather than where the
/// request pointed, replacing it whole: a dialog's form that succeeded
/// refreshes the list or page behind the dialog.
pub fn retarget(markup: maud::Markup, id: &str) -> Response {
    let mut response = markup.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("#{id}")) {
        response.headers_mut().insert("HX-Retarget", value);
    }
    response
        .headers_mut()
        .insert("HX-Reswap", HeaderValue::from_static("outerHTML"));
    response
}
