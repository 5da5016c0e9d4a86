//! The one error type of the web edge.
//!
//! A handler returns `AppError`; this module decides once what each variant
//! means as a status code, and marks the response so the `render_errors`
//! middleware can draw it as a full page or an htmx fragment (it knows the
//! request and the viewer; `IntoResponse` does not). Internal causes are
//! logged here and never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::accounts::AccountsError;

#[derive(Debug)]
pub enum AppError {
    NotFound,
    Forbidden(&'static str),
    /// A rule stands in the way; the message says which.
    Refused(&'static str),
    /// No (live) session: go to the sign-in page, then back to `next`.
    SignInRequired {
        next: Option<String>,
    },
    CsrfRejected,
    LinkInvalid,
    PayloadTooLarge,
    BadRequest(&'static str),
    Internal(String),
}

/// Marks the redirect of [`AppError::SignInRequired`].
#[derive(Clone, Copy, Debug)]
pub struct SignInRedirect;

/// Attached to an error response; the renderer turns it into HTML.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub title: &'static str,
    pub message: String,
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            AppError::NotFound => {
                (StatusCode::NOT_FOUND, "Page not found", "There is nothing at this address.".into())
            }
            AppError::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                format!("You don't have permission to do that: {why}."),
            ),
            AppError::Refused(why) => (StatusCode::CONFLICT, "Not possible", (*why).into()),
            AppError::SignInRequired { .. } => {
                (StatusCode::UNAUTHORIZED, "Sign in required", "Please sign in to continue.".into())
            }
            AppError::CsrfRejected => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form has expired or did not come from Latchkey. Go back, reload the page and try again."
                    .into(),
            ),
            AppError::LinkInvalid => (
                StatusCode::NOT_FOUND,
                "Link not valid",
                "This link has already been used or has expired.".into(),
            ),
            AppError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "Request too large", "That request is too large.".into())
            }
            AppError::BadRequest(why) => (StatusCode::BAD_REQUEST, "Bad request", (*why).into()),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Latchkey could not complete that request. Nothing was changed; please try again.".into(),
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        if let AppError::SignInRequired { next } = &self {
            // The renderer turns this into HX-Redirect for htmx, whose
            // requests would otherwise follow the 303 and swap in a page.
            let target = crate::web::return_to::sign_in_url(next.as_deref());
            let mut response = Redirect::to(&target).into_response();
            response.extensions_mut().insert(SignInRedirect);
            return response;
        }
        let (status, title, message) = self.parts();
        let mut response = (status, message.clone()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
            .extensions_mut()
            .insert(ErrorPage { title, message });
        response
    }
}

impl From<AccountsError> for AppError {
    fn from(e: AccountsError) -> Self {
        match e {
            AccountsError::Forbidden(why) => AppError::Forbidden(why),
            AccountsError::Refused(why) => AppError::Refused(why),
            AccountsError::LinkInvalid => AppError::LinkInvalid,
            AccountsError::NotFound(_) => AppError::NotFound,
            AccountsError::Invalid(_) => AppError::BadRequest("The form has errors."),
            AccountsError::BadCredentials => AppError::BadRequest("Incorrect email or password."),
            AccountsError::Throttled { .. } => AppError::BadRequest("Too many attempts."),
            AccountsError::Store(e) => AppError::Internal(e.to_string()),
            AccountsError::Hashing(e) => AppError::Internal(e),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        AppError::Internal(e.to_string())
    }
}
