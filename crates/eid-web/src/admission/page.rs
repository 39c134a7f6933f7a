//! The answers to a request turned away: a small page for people that reloads itself after the
//! expected wait (no script: `<meta http-equiv="refresh">`), and the API's JSON error, both
//! `503` with `Retry-After`. Built from a few strings, with no database or template work, so
//! turning a request away costs almost nothing.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};

use super::Shed;
use crate::console::i18n::Lang;
use crate::error::AppError;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The waiting page in `lang` for a wait of `secs` seconds, offering to try `again` at once.
pub fn waiting_page(lang: Lang, secs: u64, again: &str) -> String {
    let t = |k: &str| lang.t(k);
    let code = match lang {
        Lang::Vi => "vi",
        Lang::En => "en",
    };
    format!(
        "<!doctype html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"refresh\" content=\"{secs}\">\
<title>{title}</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head>\
<body class=\"waiting\"><main class=\"narrow\" data-surge=\"waiting\">\
<h1>{title}</h1><p>{why}</p>\
<p class=\"wait\" role=\"status\">{expect} <strong>{secs} {seconds}</strong>. {auto}</p>\
<p><a class=\"button\" href=\"{again}\">{now}</a></p>\
<p class=\"muted\">{keep}</p></main></body></html>\n",
        title = escape(t("surge.wait.title")),
        why = escape(t("surge.wait.why")),
        expect = escape(t("surge.wait.expect")),
        seconds = escape(t("surge.wait.seconds")),
        auto = escape(t("surge.wait.auto")),
        now = escape(t("surge.wait.now")),
        keep = escape(t("surge.wait.keep")),
        again = escape(again),
    )
}

/// The answer to a request turned away: the waiting page for a browser, the JSON error
/// `server.busy` otherwise; `503` with `Retry-After` either way.
pub fn turned_away(shed: Shed, html: bool, lang: Lang, uri: &Uri) -> Response {
    let secs = shed.retry_after.as_secs().max(1);
    let mut response = if html {
        let again = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| p.starts_with('/') && !p.starts_with("//"))
            .unwrap_or("/");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(waiting_page(lang, secs, again)),
        )
            .into_response()
    } else {
        AppError::Refused {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "server.busy",
            message: format!(
                "the server is answering as many requests as it can; try again in {secs} seconds"
            ),
            detail: Some(serde_json::json!({
                "retry_after_seconds": secs,
                "reason": shed.reason.as_str(),
            })),
        }
        .into_response()
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        headers.insert(header::RETRY_AFTER, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_page_is_vietnamese_reloads_itself_and_escapes_the_address() {
        let page = waiting_page(Lang::Vi, 7, "/me/register?x=\"<b>");
        assert!(page.contains("<meta http-equiv=\"refresh\" content=\"7\">"));
        assert!(page.contains("lang=\"vi\""));
        assert!(page.contains("7 giây"));
        assert!(page.contains("/me/register?x=&quot;&lt;b&gt;"));
        assert!(!page.contains("<script"));
        let en = waiting_page(Lang::En, 3, "/");
        assert!(en.contains("3 seconds"));
    }
}
