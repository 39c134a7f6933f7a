//! The citizen's wallet pages (`/me/wallet`, level 2 only), the public verifier (`/verify`,
//! [`verify`]) and the relying parties' online check (`POST /api/v1/presentations/verify`,
//! [`api`]): the electronic identity card, integrated documents, and a QR presentation that
//! expires in a minute. Every rule is `eid_core::wallet`.

mod api;
pub mod i18n;
mod verify;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use eid_core::accounts::web_session::WebSession;
use eid_core::wallet::cred::{self, Attr};
use eid_core::wallet::{self, DocKind, Document, Slot};
use eid_domain::AccountLevel;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use time::{OffsetDateTime, UtcOffset};

use crate::citizen::{field, render, see_other, sign_in_url, Citizen, Fields, MeError, MePage};
use crate::console::i18n::Lang;
use crate::error::AppError;
use crate::state::AppState;
use crate::ui::format::day_label;

/// Every route of the wallet and the verifier.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/wallet", get(home))
        .route("/me/wallet/integrate", post(integrate))
        .route("/me/wallet/doc/{kind}", get(document))
        .route("/me/wallet/present", post(present))
        .route("/me/wallet/revoke", post(revoke))
        .merge(verify::router())
}

/// The wallet's `/api/v1` routes, with their documentation.
pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(api::verify))
}

/// The `[wallet]` table of the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalletConfig {
    /// How long a presented QR lives, in seconds (`qr_seconds`, `EID_WALLET_QR_SECONDS`;
    /// 15–600, default 60).
    pub qr_seconds: i64,
}

impl Default for WalletConfig {
    fn default() -> WalletConfig {
        WalletConfig {
            qr_seconds: cred::DEFAULT_TTL_SECONDS,
        }
    }
}

impl WalletConfig {
    pub const QR_SECONDS: std::ops::RangeInclusive<i64> = 15..=600;

    pub fn check(&self) -> Result<(), String> {
        if !Self::QR_SECONDS.contains(&self.qr_seconds) {
            return Err(format!(
                "wallet.qr_seconds must be between 15 and 600 seconds, got {}",
                self.qr_seconds
            ));
        }
        Ok(())
    }
}

/// How long a QR lives (the `[wallet]` table).
fn qr_seconds(state: &AppState) -> i64 {
    state.config.wallet.qr_seconds
}

/// The session if it reached level 2; otherwise the passcode step that comes back to `here`.
fn level2(s: &WebSession, here: &str) -> Result<(), MeError> {
    if s.level == AccountLevel::Two {
        Ok(())
    } else {
        Err(MeError::Redirect(sign_in_url(here, 2, false)))
    }
}

fn lang_err(lang: Lang) -> impl Fn(AppError) -> MeError {
    move |e| MeError::lang(e, lang)
}

fn vn_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC));
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

fn when(lang: Lang, t: OffsetDateTime) -> String {
    let vn = t.to_offset(UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC));
    format!(
        "{} {:02}:{:02}",
        day_label(lang, vn.date()),
        vn.hour(),
        vn.minute()
    )
}

/// A date as the sector wrote it (ISO) in the page's language; other text as it is.
fn sector_value(lang: Lang, key: &str, v: &str) -> String {
    match time::Date::parse(v, &time::format_description::well_known::Iso8601::DATE) {
        Ok(d) if key.ends_with("_to") || key.ends_with("_on") || key.contains("date") => {
            day_label(lang, d)
        }
        _ => v.to_owned(),
    }
}

fn label(lang: Lang, prefix: &str, key: &str) -> String {
    let t = lang.t(&format!("{prefix}{key}"));
    if t == "??" {
        key.to_owned()
    } else {
        t.to_owned()
    }
}

/// A document as the pages show it.
pub struct DocView {
    pub kind: &'static str,
    pub title: &'static str,
    pub source: String,
    pub facts: Vec<(String, String)>,
    pub received: String,
    pub verified: String,
}

fn doc_view(lang: Lang, d: &Document) -> DocView {
    DocView {
        kind: d.kind.as_str(),
        title: lang.t(&format!("wallet.doc.{}", d.kind.as_str())),
        source: d.source.clone(),
        facts: d
            .attributes
            .iter()
            .filter(|(k, v)| !v.is_empty() && k != "death_date")
            .map(|(k, v)| (label(lang, "wallet.col.", k), sector_value(lang, k, v)))
            .collect(),
        received: day_label(lang, d.received_on),
        verified: when(lang, d.verified_at),
    }
}

/// One kind of document in the list.
pub struct SlotView {
    pub kind: &'static str,
    pub title: &'static str,
    /// `none`, `waiting` or `ok`.
    pub state: &'static str,
    pub state_label: &'static str,
    pub sub: String,
}

/// A disclosable attribute on the form.
pub struct AttrView {
    pub key: &'static str,
    pub label: &'static str,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "me_wallet.html")]
struct WalletPage {
    page: MePage,
    card: Vec<(&'static str, String)>,
    card_valid: bool,
    slots: Vec<SlotView>,
    attrs: Vec<AttrView>,
    purposes: Vec<(&'static str, &'static str)>,
    reads: Vec<(String, String, String, String)>,
    qr_seconds: i64,
    done: &'static str,
}

async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<Fields>,
) -> Result<Response, MeError> {
    level2(&s, "/me/wallet")?;
    let page = MePage::new(&headers, Some(&s), "wallet", "/me/wallet");
    let lang = page.lang;
    let (id, today) = (s.personal_id, state.today());
    let (card, docs, reads) = state
        .read(move |store| {
            Ok((
                wallet::identity_card(store, &id, today)?,
                wallet::documents(store, &id)?,
                cred::reads(store, &id)?,
            ))
        })
        .await
        .map_err(lang_err(lang))?;
    let t = |k: &str| lang.t(k);
    let mut facts = vec![
        (t("wallet.card.name"), card.full_name.clone()),
        (t("wallet.card.pid"), card.personal_id.clone()),
        (
            t("wallet.card.birth"),
            match card.birth {
                eid_domain::BirthDate::Full(d) => day_label(lang, d),
                eid_domain::BirthDate::Year(y) => y.to_string(),
            },
        ),
        (
            t("wallet.card.sex"),
            t(if card.sex == "M" {
                "wallet.sex.m"
            } else {
                "wallet.sex.f"
            })
            .to_owned(),
        ),
        (t("wallet.card.nationality"), t("wallet.nat.vn").to_owned()),
    ];
    if let Some(h) = &card.hometown {
        facts.push((t("wallet.card.hometown"), h.clone()));
    }
    facts.push((t("wallet.card.permanent"), card.permanent.clone()));
    if let Some(tr) = &card.temporary {
        facts.push((t("wallet.card.temporary"), tr.clone()));
    }
    if let Some(d) = card.card_issued {
        facts.push((t("wallet.card.issued"), day_label(lang, d)));
    }
    facts.push((
        t("wallet.card.expires"),
        match (card.card_issued, card.card_expires) {
            (None, _) => t("wallet.card.no_card").to_owned(),
            (Some(_), Some(d)) => day_label(lang, d),
            (Some(_), None) => t("wallet.card.for_life").to_owned(),
        },
    ));
    let mut integrated = Vec::new();
    let slots = docs
        .iter()
        .map(|(kind, slot)| {
            let title = t(&format!("wallet.doc.{}", kind.as_str()));
            let (state, state_label, sub) = match slot {
                Slot::NotRequested => ("none", t("wallet.state.none"), String::new()),
                Slot::Waiting(_, w) => (
                    "waiting",
                    t("wallet.state.waiting"),
                    t(&format!("wallet.wait.{}", w.as_str())).to_owned(),
                ),
                Slot::Integrated(_, d) => {
                    integrated.push(*kind);
                    (
                        "ok",
                        t("wallet.state.ok"),
                        format!(
                            "{} {} · {} {}",
                            t("wallet.source"),
                            d.source,
                            t("wallet.verified"),
                            when(lang, d.verified_at)
                        ),
                    )
                }
            };
            SlotView {
                kind: kind.as_str(),
                title,
                state,
                state_label,
                sub,
            }
        })
        .collect();
    let attrs = Attr::ALL
        .into_iter()
        .map(|a| AttrView {
            key: a.key(),
            label: t(&format!("wallet.attr.{}", a.key())),
            enabled: a.document().is_none_or(|k| integrated.contains(&k)),
        })
        .collect();
    let reads = reads
        .iter()
        .map(|r| {
            (
                when(lang, r.at),
                r.verifier.clone(),
                t(&format!("wallet.purpose.{}", r.purpose)).to_owned(),
                r.claims
                    .split(',')
                    .map(|c| t(&format!("wallet.attr.{c}")))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
        .collect();
    let done = match q.get("done").map(String::as_str) {
        Some("revoked") => t("wallet.done.revoked"),
        _ => "",
    };
    render(
        &WalletPage {
            card: facts,
            card_valid: card.card_valid,
            slots,
            attrs,
            purposes: cred::PURPOSES
                .iter()
                .map(|p| (*p, t(&format!("wallet.purpose.{p}"))))
                .collect(),
            reads,
            qr_seconds: qr_seconds(&state),
            done,
            page,
        },
        StatusCode::OK,
    )
}

fn kind_of(s: &str) -> Result<DocKind, AppError> {
    DocKind::parse(s).ok_or_else(|| AppError::not_found("wallet.no_kind", "no such document"))
}

async fn integrate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    level2(&s, "/me/wallet")?;
    let lang = Lang::from_headers(&headers);
    crate::citizen::session::check_csrf(&headers, field(&f, "csrf")).map_err(lang_err(lang))?;
    let kind = kind_of(field(&f, "kind")).map_err(lang_err(lang))?;
    let (id, now) = (s.personal_id, state.now());
    state
        .blocking(move |store| Ok(wallet::request(store, &id, kind, now)?))
        .await
        .map_err(lang_err(lang))?;
    Ok(see_other(&format!("/me/wallet/doc/{}", kind.as_str())))
}

#[derive(Template)]
#[template(path = "me_wallet_doc.html")]
struct DocPage {
    page: MePage,
    title: &'static str,
    doc: Option<DocView>,
    /// Why it is not shown, and what to do.
    why: &'static str,
    next: &'static str,
    requested: bool,
    kind: &'static str,
}

async fn document(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Path(kind): Path<String>,
) -> Result<Response, MeError> {
    let here = format!("/me/wallet/doc/{kind}");
    level2(&s, &here)?;
    let lang = Lang::from_headers(&headers);
    let kind = kind_of(&kind).map_err(lang_err(lang))?;
    let page = MePage::new(&headers, Some(&s), "wallet", &here);
    let id = s.personal_id;
    let docs = state
        .read(move |store| Ok(wallet::documents(store, &id)?))
        .await
        .map_err(lang_err(lang))?;
    let slot = docs
        .into_iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, s)| s)
        .unwrap_or(Slot::NotRequested);
    let t = |k: &str| lang.t(k);
    let (doc, why, next, requested, status) = match &slot {
        Slot::Integrated(_, d) => (Some(doc_view(lang, d)), "", "", true, StatusCode::OK),
        Slot::Waiting(_, w) => (
            None,
            t(&format!("wallet.wait.{}", w.as_str())),
            t(&format!("wallet.next.{}.{}", w.as_str(), kind.as_str())),
            true,
            StatusCode::OK,
        ),
        Slot::NotRequested => (
            None,
            t("wallet.wait.not_requested"),
            t("wallet.next.not_requested"),
            false,
            StatusCode::OK,
        ),
    };
    render(
        &DocPage {
            page,
            title: t(&format!("wallet.doc.{}", kind.as_str())),
            doc,
            why,
            next,
            requested,
            kind: kind.as_str(),
        },
        status,
    )
}

#[derive(Template)]
#[template(path = "me_wallet_qr.html")]
struct QrPage {
    page: MePage,
    svg: String,
    text: String,
    cti: String,
    expires: String,
    seconds: i64,
    purpose: &'static str,
    shown: Vec<&'static str>,
    bytes: usize,
}

/// The QR of `text` as an SVG element (medium error correction; no XML prolog).
pub fn qr_svg(text: &str) -> Result<String, AppError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| AppError::Internal(format!("QR: {e}")))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(280, 280)
        .quiet_zone(true)
        .build();
    Ok(match image.find("<svg") {
        Some(i) => image.get(i..).unwrap_or_default().to_owned(),
        None => image,
    })
}

async fn present(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, MeError> {
    level2(&s, "/me/wallet")?;
    let lang = Lang::from_headers(&headers);
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.trim());
    crate::citizen::session::check_csrf(&headers, get("csrf")).map_err(lang_err(lang))?;
    let purpose = cred::PURPOSES
        .iter()
        .copied()
        .find(|p| *p == get("purpose"))
        .unwrap_or("");
    let attrs: Vec<Attr> = f
        .iter()
        .filter(|(n, _)| n == "attr")
        .filter_map(|(_, v)| Attr::parse(v))
        .collect();
    let (id, now, today) = (s.personal_id, state.now(), state.today());
    let st = state.clone();
    let ttl = qr_seconds(&state);
    let shown_attrs = attrs.clone();
    let issued = state
        .blocking(move |store| {
            let (keys, _) = st
                .oidc
                .keys(store, now)
                .map_err(|e| AppError::Internal(format!("signing keys: {}", e.description)))?;
            let ask = cred::Ask {
                purpose,
                attrs: &shown_attrs,
                ttl_seconds: ttl,
                issuer: &st.oidc.issuer,
            };
            Ok(cred::issue(store, &keys, &id, &ask, now, today)?)
        })
        .await
        .map_err(lang_err(lang))?;
    let svg = qr_svg(&issued.text).map_err(lang_err(lang))?;
    let page = MePage::new(&headers, Some(&s), "wallet", "/me/wallet");
    render(
        &QrPage {
            svg,
            seconds: (issued.expires_at - now).whole_seconds(),
            expires: vn_time(issued.expires_at),
            cti: issued.cti.clone(),
            purpose: lang.t(&format!("wallet.purpose.{purpose}")),
            shown: Attr::ALL
                .into_iter()
                .filter(|a| attrs.contains(a))
                .map(|a| lang.t(&format!("wallet.attr.{}", a.key())))
                .collect(),
            bytes: issued.bytes,
            text: issued.text,
            page,
        },
        StatusCode::OK,
    )
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    level2(&s, "/me/wallet")?;
    let lang = Lang::from_headers(&headers);
    crate::citizen::session::check_csrf(&headers, field(&f, "csrf")).map_err(lang_err(lang))?;
    let cti = field(&f, "cti").to_owned();
    let (id, now) = (s.personal_id, state.now());
    state
        .blocking(move |store| Ok(cred::revoke(store, &id, &cti, now)?))
        .await
        .map_err(lang_err(lang))?;
    Ok(see_other("/me/wallet?done=revoked"))
}

/// The QR symbol of `text` as the pages draw it: (version, modules per side).
pub fn qr_size(text: &str) -> Result<(i16, usize), AppError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| AppError::Internal(format!("QR: {e}")))?;
    let v = match code.version() {
        qrcode::Version::Normal(n) | qrcode::Version::Micro(n) => n,
    };
    Ok((v, code.width()))
}
