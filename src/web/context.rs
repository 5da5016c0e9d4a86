//! Who is asking, and how: the session behind the cookie, the CSRF token
//! the page must carry, whether htmx sent the request, and the client address.
//!
//! `load_context` runs before every handler, only reads the store, and puts a
//! [`RequestContext`] in the request; extractors hand it to handlers. A
//! session half way through signing in (password accepted, 2FA code or
//! required set-up still to come) is kept apart from a signed-in viewer, so
//! [`SignedInCtx`], which nearly every handler takes, never sees it; only
//! the extractors of the pages that complete it do.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_cookies::Cookies;

use super::cookies;
use crate::accounts::sessions::Origin;
use crate::accounts::{Accounts, SignedIn};
use crate::domain::{SessionStage, Token, user_agent};
use crate::error::AppError;
use crate::views::Chrome;

#[derive(Clone, Debug)]
pub struct RequestContext {
    /// A fully signed-in session; the only kind that reaches ordinary pages.
    pub viewer: Option<SignedIn>,
    /// A session half way through signing in (awaiting a 2FA code, or
    /// required to set 2FA up): it reaches only the page that completes it.
    pub pending: Option<SignedIn>,
    /// The token forms and htmx must send back on a mutation.
    pub csrf: String,
    pub htmx: bool,
    pub client: IpAddr,
    /// The path asked for, to mark the current menu entry.
    pub path: String,
    /// The User-Agent header (bounded), for the list of sessions.
    pub user_agent: String,
}

impl RequestContext {
    pub fn chrome(&self) -> Chrome<'_> {
        Chrome {
            viewer: self.viewer.as_ref(),
            csrf: &self.csrf,
            path: &self.path,
        }
    }

    /// Where a session opened by this request comes from.
    pub fn origin(&self) -> Origin {
        Origin {
            client: self.client,
            user_agent: self.user_agent.clone(),
        }
    }

    /// Whichever session the browser has, complete or not.
    pub fn any_session(&self) -> Option<&SignedIn> {
        self.viewer.as_ref().or(self.pending.as_ref())
    }
}

pub async fn load_context(
    State(accounts): State<Accounts>,
    mut request: Request,
    next: Next,
) -> Response {
    let secure = accounts.config.server.is_https();
    let Some(cookie_jar) = request.extensions().get::<Cookies>().cloned() else {
        return AppError::Internal("cookie layer missing".into()).into_response();
    };
    let client = match client_address(&request, accounts.config.server.forwarded_hops) {
        Ok(client) => client,
        Err(e) => return e.into_response(),
    };
    let session = match cookies::get(&cookie_jar, cookies::SESSION, secure) {
        Some(value) => match accounts.sessions.resolve(&value, client) {
            Ok(Some(session)) => Some(session),
            Ok(None) => {
                // Ended or expired: stop the browser sending it.
                cookies::remove(&cookie_jar, cookies::SESSION, secure);
                None
            }
            Err(e) => return AppError::from(e).into_response(),
        },
        None => None,
    };
    let (viewer, pending) = match session {
        Some(s) if s.session.stage == SessionStage::SignedIn => (Some(s), None),
        other => (None, other),
    };
    let csrf = match viewer.as_ref().or(pending.as_ref()) {
        Some(v) => v.session.csrf.clone(),
        None => cookies::get(&cookie_jar, cookies::ANONYMOUS_CSRF, secure)
            .filter(|t| Token::parse(t).is_some())
            .unwrap_or_else(|| {
                let token = Token::generate().as_text();
                cookies::set_anonymous_csrf(&cookie_jar, token.clone(), secure);
                token
            }),
    };
    // htmx restoring history after Back asks for the whole page (it puts
    // the answer in place of the body), though it says HX-Request.
    let headers = request.headers();
    let htmx = header_is_true(headers, "HX-Request")
        && !header_is_true(headers, "HX-History-Restore-Request");
    let path = request.uri().path().to_owned();
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .map(|v| user_agent::bounded(&String::from_utf8_lossy(v.as_bytes())))
        .unwrap_or_default();
    request.extensions_mut().insert(Arc::new(RequestContext {
        viewer,
        pending,
        csrf,
        htmx,
        client,
        path,
        user_agent,
    }));
    next.run(request).await
}

fn header_is_true(headers: &axum::http::HeaderMap, name: &str) -> bool {
    headers.get(name).is_some_and(|v| v.as_bytes() == b"true")
}

/// The address the request came from. Behind trusted proxies it is the
/// entry they appended to `X-Forwarded-For`, counted from the right: entries
/// further left were sent by the client and prove nothing. A header that
/// can't be read is refused rather than replaced by the proxy's own address,
/// which would put everyone behind the proxy under one sign-in limit.
fn client_address(request: &Request, forwarded_hops: Option<usize>) -> Result<IpAddr, AppError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let Some(hops) = forwarded_hops else {
        return Ok(peer);
    };
    let mut entries = Vec::new();
    for value in request.headers().get_all("X-Forwarded-For") {
        let Ok(text) = value.to_str() else {
            return Err(unreadable_forwarded_for(peer));
        };
        entries.extend(text.split(',').map(str::trim));
    }
    entries
        .len()
        .checked_sub(hops)
        .and_then(|i| parse_forwarded(entries[i]))
        .ok_or_else(|| unreadable_forwarded_for(peer))
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, or with a port.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

fn unreadable_forwarded_for(peer: IpAddr) -> AppError {
    tracing::warn!(
        proxy = %peer,
        "refused a request without a readable X-Forwarded-For entry from the trusted proxy; check server.trusted_proxy_hops"
    );
    AppError::BadRequest(
        "The proxy in front of Latchkey did not say which address this request came from.",
    )
}

/// Any request's context.
pub struct Ctx(pub Arc<RequestContext>);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Arc<RequestContext>>()
            .cloned()
            .map(Ctx)
            .ok_or_else(|| AppError::Internal("request context missing".into()))
    }
}

/// The context of a signed-in request. Anyone else is sent to sign in, and
/// a session half way through signing in to the page that completes it:
/// every handler that takes this is out of its reach.
pub struct SignedInCtx {
    pub ctx: Arc<RequestContext>,
    pub viewer: SignedIn,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedInCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Ctx(ctx) = Ctx::from_request_parts(parts, state).await?;
        let next = page_to_return_to(parts, &ctx);
        if let Some(viewer) = ctx.viewer.clone() {
            return Ok(SignedInCtx { ctx, viewer });
        }
        Err(match &ctx.pending {
            Some(pending) => unfinished_sign_in(pending, next.as_deref()),
            None => AppError::SignInRequired { next },
        })
    }
}

/// A page (not a fragment or a form post) is worth coming back to.
fn page_to_return_to(parts: &Parts, ctx: &RequestContext) -> Option<String> {
    (parts.method == axum::http::Method::GET && !ctx.htmx)
        .then(|| parts.uri.path_and_query().map(ToString::to_string))
        .flatten()
}

/// Where a half-signed-in session must go instead of where it asked.
fn unfinished_sign_in(pending: &SignedIn, next: Option<&str>) -> AppError {
    let page = match pending.session.stage {
        SessionStage::TwoFactorSetUpRequired => "/profile/2fa",
        _ => "/signin/2fa",
    };
    AppError::StepRequired {
        to: super::return_to::with_next(page, next),
    }
}

/// A session awaiting its 2FA code (the sign-in's second step).
pub struct SecondStepCtx {
    pub ctx: Arc<RequestContext>,
    pub pending: SignedIn,
}

impl<S: Send + Sync> FromRequestParts<S> for SecondStepCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Ctx(ctx) = Ctx::from_request_parts(parts, state).await?;
        match &ctx.pending {
            Some(p) if p.session.stage == SessionStage::AwaitingSecondFactor => {
                let pending = p.clone();
                Ok(SecondStepCtx { ctx, pending })
            }
            Some(p) => Err(unfinished_sign_in(p, None)),
            None if ctx.viewer.is_some() => Err(AppError::StepRequired {
                to: "/profile".into(),
            }),
            // Expired (or never begun): start again.
            None => Err(AppError::SignInRequired { next: None }),
        }
    }
}

/// A session that may set 2FA up: a signed-in one, or one that sign-in
/// sent to set-up because 2FA is required.
pub struct SetUpCtx {
    pub ctx: Arc<RequestContext>,
    pub who: SignedIn,
}

impl SetUpCtx {
    /// Whether set-up is what stands between this session and the rest.
    pub fn required(&self) -> bool {
        self.who.session.stage == SessionStage::TwoFactorSetUpRequired
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SetUpCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Ctx(ctx) = Ctx::from_request_parts(parts, state).await?;
        let next = page_to_return_to(parts, &ctx);
        if let Some(who) = ctx.viewer.clone() {
            return Ok(SetUpCtx { ctx, who });
        }
        match ctx.pending.clone() {
            Some(p) if p.session.stage == SessionStage::TwoFactorSetUpRequired => {
                Ok(SetUpCtx { ctx, who: p })
            }
            Some(p) => Err(unfinished_sign_in(&p, None)),
            None => Err(AppError::SignInRequired { next }),
        }
    }
}

/// Any session, complete or not: for signing out.
pub struct AnySessionCtx {
    pub who: SignedIn,
}

impl<S: Send + Sync> FromRequestParts<S> for AnySessionCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Ctx(ctx) = Ctx::from_request_parts(parts, state).await?;
        let who = ctx
            .any_session()
            .cloned()
            .ok_or(AppError::SignInRequired { next: None })?;
        Ok(AnySessionCtx { who })
    }
}
