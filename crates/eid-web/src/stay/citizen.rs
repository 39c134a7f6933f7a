//! The citizen's stay pages: `/me/stays` (every stay notified for me and by whom; the
//! establishments I notify for; what I notified lately), `/me/stays/notify` (a host notifies
//! one or several guests), `/me/stays/upload` (a healthcare facility's CSV of inpatients) and
//! `/me/stays/self` ("I am the guest").

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use eid_core::stay::{self, view, Kind, Notifier, StayIn, Via};

use super::{day_time, kind_label};
use crate::citizen::{field, render, see_other, session, Citizen, Fields, MeError, MePage};
use crate::console::i18n::Lang;
use crate::error::AppError;
use crate::state::AppState;

/// Guest blocks shown on the form unless `?n=` asks for more (at most [`MAX_BLOCKS`]).
const BLOCKS: usize = 2;
const MAX_BLOCKS: usize = 10;

fn page_err(lang: Lang) -> impl Fn(AppError) -> MeError {
    move |e| MeError::Page(e, lang)
}

/// One stay as its guest sees it.
pub struct MineRow {
    pub establishment: String,
    pub kind: &'static str,
    pub arrival: String,
    pub departure: String,
    pub reason: String,
    pub by: String,
    pub late: bool,
}

/// One stay as its notifier sees it.
pub struct SentRow {
    pub establishment: String,
    pub guest: String,
    pub arrival: String,
    pub deadline: String,
    pub notified: String,
    pub late: bool,
    pub rule: &'static str,
}

/// An establishment the citizen notifies for.
pub struct EstRow {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub address: String,
    pub healthcare: bool,
}

#[derive(Template)]
#[template(path = "me_stays.html")]
struct StaysPage {
    page: MePage,
    done: String,
    mine: Vec<MineRow>,
    ests: Vec<EstRow>,
    sent: Vec<SentRow>,
}

/// `GET /me/stays`
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let lang = Lang::from_headers(&headers);
    let pid = s.personal_id.as_str().to_owned();
    let (mine, ests, sent) = state
        .read(move |store| {
            Ok((
                view::my_stays(store, &pid)?,
                stay::establishments_of(store, &pid)?,
                view::notified_by(store, &pid, 20)?,
            ))
        })
        .await
        .map_err(page_err(lang))?;
    let done = match (q.get("done"), q.get("late")) {
        (Some(n), Some(l)) => format!(
            "{} {} · {} {}",
            lang.t("stay.me.done"),
            n.parse::<u32>().unwrap_or(0),
            lang.t("stay.me.done_late"),
            l.parse::<u32>().unwrap_or(0)
        ),
        _ => String::new(),
    };
    let page = StaysPage {
        page: MePage::new(&headers, Some(&s), "stays", "/me/stays"),
        done,
        mine: mine
            .into_iter()
            .map(|m| MineRow {
                establishment: m.stay.establishment.clone(),
                kind: kind_label(lang, m.stay.kind),
                arrival: day_time(m.stay.arrival),
                departure: day_time(m.stay.departure),
                reason: m.stay.reason.clone(),
                by: m.notified_by,
                late: m.stay.late,
            })
            .collect(),
        ests: ests
            .into_iter()
            .map(|e| EstRow {
                id: e.id,
                kind: kind_label(lang, e.kind),
                healthcare: e.kind == Kind::Healthcare,
                name: e.name,
                address: e.address,
            })
            .collect(),
        sent: sent
            .into_iter()
            .map(|r| SentRow {
                establishment: r.establishment.clone(),
                guest: match r.guest_name.clone() {
                    Some(n) => n,
                    None => mask_id(&r.guest_key),
                },
                arrival: day_time(r.arrival),
                deadline: r.deadline.map(day_time).unwrap_or_default(),
                notified: day_time(r.notified_at),
                late: r.late,
                rule: lang.t(&format!("stay.rule.{}", r.rule.as_str())),
            })
            .collect(),
    };
    render(&page, StatusCode::OK)
}

/// A personal ID as a host sees it afterwards: the last four digits.
fn mask_id(id: &str) -> String {
    let tail: String = id
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("••••••••{tail}")
}

/// One guest block of the form, as typed.
#[derive(Default, Clone)]
pub struct Block {
    pub i: usize,
    pub personal_id: String,
    pub full_name: String,
    pub birth_date: String,
    pub passport: String,
    pub nationality: String,
    pub arrival: String,
    pub departure: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "me_stay_notify.html")]
struct NotifyPage {
    page: MePage,
    est_id: i64,
    est_name: String,
    est_kind: &'static str,
    healthcare: bool,
    blocks: Vec<Block>,
    more: usize,
    error: String,
    source: &'static str,
}

fn blocks_from(f: &Fields, n: usize) -> Vec<Block> {
    (0..n)
        .map(|i| {
            let v = |k: &str| field(f, &format!("g{i}.{k}")).to_owned();
            Block {
                i,
                personal_id: v("personal_id"),
                full_name: v("full_name"),
                birth_date: v("birth_date"),
                passport: v("passport"),
                nationality: v("nationality"),
                arrival: v("arrival"),
                departure: v("departure"),
                reason: v("reason"),
            }
        })
        .collect()
}

async fn own_establishment(
    state: &AppState,
    pid: &str,
    id: i64,
    lang: Lang,
) -> Result<eid_core::stay::Establishment, MeError> {
    let pid = pid.to_owned();
    let ests = state
        .read(move |store| Ok(stay::establishments_of(store, &pid)?))
        .await
        .map_err(page_err(lang))?;
    ests.into_iter()
        .find(|e| e.id == id)
        .ok_or(MeError::Page(AppError::ScopeDenied, lang))
}

fn est_param(q: &HashMap<String, String>) -> i64 {
    q.get("e").and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// `GET /me/stays/notify?e=<establishment>&n=<guests>`
pub async fn notify_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let lang = Lang::from_headers(&headers);
    let e = own_establishment(&state, s.personal_id.as_str(), est_param(&q), lang).await?;
    let n = q
        .get("n")
        .and_then(|v| v.parse().ok())
        .unwrap_or(BLOCKS)
        .clamp(1, MAX_BLOCKS);
    let page = NotifyPage {
        page: MePage::new(
            &headers,
            Some(&s),
            "stays",
            &format!("/me/stays/notify?e={}", e.id),
        ),
        est_id: e.id,
        est_name: e.name.clone(),
        est_kind: kind_label(lang, e.kind),
        healthcare: e.kind == Kind::Healthcare,
        blocks: blocks_from(&Fields::new(), n),
        more: (n + 1).min(MAX_BLOCKS),
        error: String::new(),
        source: stay::DEADLINE.source,
    };
    render(&page, StatusCode::OK)
}

/// The guest of a filled block.
fn stay_of(b: &Block) -> Result<StayIn, eid_core::Error> {
    let get = |k: &str| -> String {
        match k {
            "personal_id" => b.personal_id.clone(),
            "full_name" => b.full_name.clone(),
            "birth_date" => b.birth_date.clone(),
            "passport" => b.passport.clone(),
            "nationality" => b.nationality.clone(),
            "arrival" => b.arrival.clone(),
            "departure" => b.departure.clone(),
            "reason" => b.reason.clone(),
            _ => String::new(),
        }
    };
    stay::csv::stay_from_fields(&get)
}

fn filled(b: &Block) -> bool {
    !(b.personal_id.is_empty() && b.passport.is_empty() && b.full_name.is_empty())
}

/// The message of a refusal of the guest numbered `n` (1-based), in the page's language.
fn refusal_text(lang: Lang, n: usize, e: &AppError) -> String {
    let key = format!("stay.err.{}", e.code());
    let text = match lang.t(&key) {
        "??" => lang.t("stay.err.other"),
        t => t,
    };
    format!("{} {n}: {text}", lang.t("stay.guest"))
}

/// `POST /me/stays/notify`: all guests or none; a refused guest is named with the same words
/// whatever of their ID, name or date did not match.
pub async fn notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let lang = Lang::from_headers(&headers);
    session::check_csrf(&headers, field(&f, "csrf")).map_err(page_err(lang))?;
    let id: i64 = field(&f, "e").parse().unwrap_or(0);
    let e = own_establishment(&state, s.personal_id.as_str(), id, lang).await?;
    let all = blocks_from(&f, MAX_BLOCKS);
    let used: Vec<Block> = all.iter().filter(|b| filled(b)).cloned().collect();
    let mut parsed = Vec::with_capacity(used.len());
    let mut refusal: Option<(usize, AppError)> = None;
    for (i, b) in used.iter().enumerate() {
        match stay_of(b) {
            Ok(st) => parsed.push(st),
            Err(err) => {
                refusal = Some((i, err.into()));
                break;
            }
        }
    }
    if refusal.is_none() {
        let notifier = Notifier::Citizen {
            personal_id: s.personal_id.as_str().to_owned(),
            via: Via::Web,
        };
        let now = state.now();
        let est = e.id;
        let r = state
            .blocking(move |store| {
                Ok(stay::notify(store, &notifier, est, &parsed, now)
                    .map_err(|r| (r.index, AppError::from(r.error))))
            })
            .await
            .map_err(page_err(lang))?;
        match r {
            Ok(done) => {
                let late = done.iter().filter(|n| n.late).count();
                return Ok(see_other(&format!(
                    "/me/stays?done={}&late={late}",
                    done.len()
                )));
            }
            Err((i, AppError::Internal(c))) => {
                let _ = i;
                return Err(MeError::Page(AppError::Internal(c), lang));
            }
            Err(x) => refusal = Some(x),
        }
    }
    let (i, err) = refusal.unwrap_or((0, AppError::bad("stay.no_guest", "")));
    let status = err.status();
    let n = used.len().max(BLOCKS);
    let mut blocks = used;
    while blocks.len() < n {
        blocks.push(Block::default());
    }
    for (k, b) in blocks.iter_mut().enumerate() {
        b.i = k;
    }
    let page = NotifyPage {
        page: MePage::new(
            &headers,
            Some(&s),
            "stays",
            &format!("/me/stays/notify?e={}", e.id),
        ),
        est_id: e.id,
        est_name: e.name.clone(),
        est_kind: kind_label(lang, e.kind),
        healthcare: e.kind == Kind::Healthcare,
        more: (n + 1).min(MAX_BLOCKS),
        blocks,
        error: refusal_text(lang, i + 1, &err),
        source: stay::DEADLINE.source,
    };
    render(&page, status)
}

/// A refused line of an upload.
pub struct BadLine {
    pub line: usize,
    pub reason: String,
    pub code: &'static str,
}

#[derive(Template)]
#[template(path = "me_stay_upload.html")]
struct UploadPage {
    page: MePage,
    est_name: String,
    written: usize,
    late: usize,
    repeated: usize,
    bad: Vec<BadLine>,
}

/// `POST /me/stays/upload` (multipart: `csrf`, `e`, `file`): a healthcare facility's inpatients.
pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    mut parts: Multipart,
) -> Result<Response, MeError> {
    let lang = Lang::from_headers(&headers);
    let mut fields = Fields::new();
    let mut file = Vec::new();
    while let Some(part) = parts.next_field().await.map_err(|_| {
        MeError::Page(
            AppError::bad("stay.file_row", "the upload is not a form"),
            lang,
        )
    })? {
        let name = part.name().unwrap_or("").to_owned();
        let bytes = part.bytes().await.map_err(|_| {
            MeError::Page(
                AppError::bad("stay.file_too_large", "the file is too large"),
                lang,
            )
        })?;
        if name == "file" {
            file = bytes.to_vec();
        } else {
            fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    session::check_csrf(&headers, field(&fields, "csrf")).map_err(page_err(lang))?;
    let id: i64 = field(&fields, "e").parse().unwrap_or(0);
    let e = own_establishment(&state, s.personal_id.as_str(), id, lang).await?;
    if e.kind != Kind::Healthcare {
        return Err(MeError::Page(AppError::ScopeDenied, lang));
    }
    let rows = stay::csv::parse(&file).map_err(|err| MeError::Page(AppError::from(err), lang))?;
    let notifier = Notifier::Citizen {
        personal_id: s.personal_id.as_str().to_owned(),
        via: Via::Csv,
    };
    let now = state.now();
    let est = e.id;
    let out = state
        .blocking(move |store| Ok(stay::notify_bulk(store, &notifier, est, rows, now)?))
        .await
        .map_err(page_err(lang))?;
    let bad = out
        .refused
        .into_iter()
        .map(|(line, err)| {
            let err = AppError::from(err);
            let key = format!("stay.err.{}", err.code());
            BadLine {
                line,
                reason: match lang.t(&key) {
                    "??" => err.message(),
                    t => t.to_owned(),
                },
                code: err.code(),
            }
        })
        .collect();
    let page = UploadPage {
        page: MePage::new(&headers, Some(&s), "stays", "/me/stays"),
        est_name: e.name,
        written: out.written.iter().filter(|(_, n)| !n.repeated).count(),
        late: out
            .written
            .iter()
            .filter(|(_, n)| n.late && !n.repeated)
            .count(),
        repeated: out.written.iter().filter(|(_, n)| n.repeated).count(),
        bad,
    };
    render(&page, StatusCode::OK)
}

/// An establishment to choose for "I am the guest".
pub struct Choice {
    pub id: i64,
    pub label: String,
}

#[derive(Template)]
#[template(path = "me_stay_self.html")]
struct SelfPage {
    page: MePage,
    commune: String,
    choices: Vec<Choice>,
    error: String,
}

/// `GET /me/stays/self?commune=<code>`: choose the commune, then the establishment.
pub async fn self_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, MeError> {
    let lang = Lang::from_headers(&headers);
    let commune = q
        .get("commune")
        .map(|c| c.trim().to_owned())
        .unwrap_or_default();
    let (choices, error) = if commune.is_empty() {
        (Vec::new(), String::new())
    } else {
        let c = commune.clone();
        match state
            .read(move |store| Ok(stay::establishments_in(store, &c)?))
            .await
        {
            Ok(list) => (
                list.into_iter()
                    .map(|e| Choice {
                        id: e.id,
                        label: format!("{} — {} ({})", e.name, e.address, kind_label(lang, e.kind)),
                    })
                    .collect(),
                String::new(),
            ),
            Err(e) => (Vec::new(), refusal_text(lang, 1, &e)),
        }
    };
    let page = SelfPage {
        page: MePage::new(&headers, Some(&s), "stays", "/me/stays/self"),
        commune,
        choices,
        error,
    };
    render(&page, StatusCode::OK)
}

/// `POST /me/stays/self`
pub async fn self_notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Citizen(s): Citizen,
    Form(f): Form<Fields>,
) -> Result<Response, MeError> {
    let lang = Lang::from_headers(&headers);
    session::check_csrf(&headers, field(&f, "csrf")).map_err(page_err(lang))?;
    let id: i64 = field(&f, "e").parse().unwrap_or(0);
    let times = (
        stay::csv::parse_time(field(&f, "arrival")),
        stay::csv::parse_time(field(&f, "departure")),
    );
    let (Some(arrival), Some(departure)) = times else {
        return Err(MeError::Page(
            AppError::bad(
                "stay.bad_time",
                "the arrival and departure are dates and times",
            ),
            lang,
        ));
    };
    let reason = field(&f, "reason").to_owned();
    let pid = s.personal_id.as_str().to_owned();
    let now = state.now();
    let n = state
        .blocking(move |store| {
            Ok(stay::notify_self(
                store, &pid, id, arrival, departure, &reason, now,
            )?)
        })
        .await
        .map_err(page_err(lang))?;
    Ok(see_other(&format!(
        "/me/stays?done=1&late={}",
        u8::from(n.late)
    )))
}
