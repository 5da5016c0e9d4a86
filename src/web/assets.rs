//! Static files embedded in the binary, served under content-hashed names
//! (`app.3fa2c1d4.css`) with a year of caching: a new build changes the
//! name, so browsers never keep a stale file and never re-ask for a fresh one.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "assets/"]
#[exclude = "*.md"]
struct Files;

struct Names {
    /// logical path → hashed path
    hashed: HashMap<String, String>,
    /// hashed path → logical path
    logical: HashMap<String, String>,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names = Names {
            hashed: HashMap::new(),
            logical: HashMap::new(),
        };
        for path in Files::iter() {
            let Some(file) = Files::get(&path) else {
                continue;
            };
            let digest = hex::encode(&Sha256::digest(&file.data)[..6]);
            let hashed = match path.rsplit_once('.') {
                Some((stem, ext)) if !stem.ends_with('/') => format!("{stem}.{digest}.{ext}"),
                _ => format!("{path}.{digest}"),
            };
            names.logical.insert(hashed.clone(), path.to_string());
            names.hashed.insert(path.to_string(), hashed);
        }
        names
    })
}

/// The URL of an embedded file, by its path under `assets/`.
pub fn url(path: &str) -> String {
    match names().hashed.get(path) {
        Some(hashed) => format!("/assets/{hashed}"),
        None => {
            tracing::error!(path, "no such embedded asset");
            format!("/assets/{path}")
        }
    }
}

pub async fn serve(Path(requested): Path<String>) -> Response {
    let Some(file) = names()
        .logical
        .get(&requested)
        .and_then(|logical| Files::get(logical))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = mime_guess::from_path(&requested).first_or_octet_stream();
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

/// SHA-256 of an embedded file, for tests that pin vendored files.
pub fn sha256_hex(path: &str) -> Option<String> {
    Files::get(path).map(|f| hex::encode(Sha256::digest(&f.data)))
}
