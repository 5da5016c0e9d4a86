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
    /// No (live) session: go to the sign-in page, then back to `next`.
    SignInRequired {
        next: Option<String>,
    },
    /// A session half way through signing in must finish first, at `to`.
    StepRequired {
        to: String,
    },
    /// A sensitive action: confirm the password or a code, then back to `next`.
    ReauthenticationRequired {
        next: Option<String>,
    },
    CsrfRejected,
    /// Too many attempts or requests; the client may try again after
    /// `retry_after` seconds (sent as `Retry-After`).
    Throttled {
        retry_after: i64,
    },
    LinkInvalid,
    PayloadTooLarge,
    BadRequest(&'static str),
    /// The request is allowed but a rule or the state of things forbids it
    /// (2FA already on, a new address taken meanwhile, deleting yourself or
    /// the last Global Administrator); a whole sentence that says which.
    Conflict(&'static str),
    Internal(String),
}

/// Marks the redirects of [`AppError::SignInRequired`] and the other
/// "go there first" errors: htmx gets them as `HX-Redirect`, since it would
/// otherwise follow the 303 and swap a whole page into a fragment's place.
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
            AppError::SignInRequired { .. }
            | AppError::StepRequired { .. }
            | AppError::ReauthenticationRequired { .. } => {
                (StatusCode::UNAUTHORIZED, "Sign in required", "Please sign in to continue.".into())
            }
            AppError::CsrfRejected => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form has expired or did not come from Latchkey. Go back, reload the page and try again."
                    .into(),
            ),
            AppError::Throttled { retry_after } => {
                let minutes = ((*retry_after).max(1) + 59) / 60;
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    format!(
                        "There have been too many of these in a short time. Try again in {minutes} minute{}.",
                        if minutes == 1 { "" } else { "s" }
                    ),
                )
            }
            AppError::LinkInvalid => (
                StatusCode::NOT_FOUND,
                "Link not valid",
                "This link has already been used or has expired.".into(),
            ),
            AppError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "Request too large", "That request is too large.".into())
            }
            AppError::BadRequest(why) => (StatusCode::BAD_REQUEST, "Bad request", (*why).into()),
            AppError::Conflict(why) => (StatusCode::CONFLICT, "Not possible now", (*why).into()),
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
        let redirect = match &self {
            AppError::SignInRequired { next } => {
                Some(crate::web::return_to::sign_in_url(next.as_deref()))
            }
            AppError::StepRequired { to } => Some(to.clone()),
            AppError::ReauthenticationRequired { next } => Some(crate::web::return_to::with_next(
                "/reauthenticate",
                next.as_deref(),
            )),
            _ => None,
        };
        if let Some(target) = redirect {
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
        if let AppError::Throttled { retry_after } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
        }
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
            AccountsError::LinkInvalid => AppError::LinkInvalid,
            AccountsError::NotFound(_) => AppError::NotFound,
            AccountsError::EmailTaken => AppError::Conflict(
                "That email address is now used by another account, so it can't become yours. Ask for the change again with another address.",
            ),
            AccountsError::Invalid(_) => AppError::BadRequest("The form has errors."),
            AccountsError::BadCredentials => AppError::BadRequest("Incorrect email or password."),
            AccountsError::Throttled { retry_after } => AppError::Throttled { retry_after },
            AccountsError::Store(e) => AppError::Internal(e.to_string()),
            AccountsError::Hashing(e) => AppError::Internal(e),
            AccountsError::WrongCode => AppError::BadRequest("That code is not right."),
            AccountsError::CodeUsed => AppError::BadRequest("That code has been used already."),
            AccountsError::ReauthenticationRequired => {
                AppError::ReauthenticationRequired { next: None }
            }
            AccountsError::SetUpExpired => AppError::BadRequest(
                "This 2FA set-up has ended. Open Set up 2FA again to start over.",
            ),
            AccountsError::Conflict(what) => AppError::Conflict(what),
            AccountsError::Secret(e) => AppError::Internal(e.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        AppError::Internal(e.to_string())
    }
}
