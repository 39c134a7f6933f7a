//! Residence procedures on the web (issue 14): the citizen's pages (`/me/residence`: file a
//! request with scans, follow its clock, answer what the police ask, download the signed
//! confirmation of residence information), the commune police's queue in the console
//! (`/residence`: assign, ask for more, approve, refuse; `/residence/ops`: the figures per
//! commune against the legal limits), and the public check of a confirmation
//! (`/verify/residence`). Every rule is a use case of `eid_core::residence`.

mod api;
mod citizen;
mod console;
pub mod i18n;
mod qr;
mod verify;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use eid_core::residence::attach::Limits;
use eid_core::residence::{Procedure, State};
use eid_domain::{Tree, UnitCode, Units};
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use crate::console::i18n::Lang;
use crate::state::AppState;

/// The `[residence]` table of the configuration file: limits on the scans attached to a
/// request (each file, and how many per request or answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResidenceConfig {
    /// Bytes per file (default 5 MB).
    pub max_file_bytes: usize,
    /// Files per request or answer (default 5).
    pub max_files: usize,
}

impl Default for ResidenceConfig {
    fn default() -> ResidenceConfig {
        let l = Limits::default();
        ResidenceConfig {
            max_file_bytes: l.max_bytes,
            max_files: l.max_files,
        }
    }
}

impl ResidenceConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.max_file_bytes == 0 || self.max_file_bytes > 20 * 1024 * 1024 {
            return Err("residence.max_file_bytes must be between 1 and 20 MB".into());
        }
        if self.max_files == 0 || self.max_files > 10 {
            return Err("residence.max_files must be between 1 and 10".into());
        }
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_file_bytes,
            max_files: self.max_files,
        }
    }

    /// The largest form body: every file at its largest, and the fields.
    fn max_body(&self) -> usize {
        self.max_file_bytes.saturating_mul(self.max_files) + 256 * 1024
    }
}

/// The slice's JSON API (`/api/v1/app/residence…` for the citizen's app, `/api/v1/residence…`
/// for staff tokens), documented in the OpenAPI document.
pub fn api_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(api::my_list, api::my_submit))
        .routes(routes!(api::my_one))
        .routes(routes!(api::my_answer))
        .routes(routes!(api::queue))
        .routes(routes!(api::one))
        .routes(routes!(api::assign))
        .routes(routes!(api::ask))
        .routes(routes!(api::approve))
        .routes(routes!(api::refuse))
}

/// Every route of the slice.
pub fn router(state: AppState) -> Router<AppState> {
    let body = DefaultBodyLimit::max(state.config.residence.max_body());
    let me = Router::new()
        .route("/me/residence", get(citizen::list))
        .route(
            "/me/residence/new",
            get(citizen::new_form).post(citizen::submit).layer(body),
        )
        .route("/me/residence/confirmation", get(citizen::confirmation))
        .route(
            "/me/residence/confirmation.jwt",
            get(citizen::confirmation_file),
        )
        .route("/me/residence/{id}", get(citizen::one))
        .route(
            "/me/residence/{id}/answer",
            post(citizen::answer).layer(body),
        )
        .route("/me/residence/{id}/files/{file}", get(citizen::file))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            crate::citizen::session::ensure_device,
        ));
    Router::new()
        .merge(me)
        .route("/residence", get(console::queue))
        .route("/residence/ops", get(console::ops))
        .route("/residence/{id}", get(console::one))
        .route("/residence/{id}/{action}", post(console::act))
        .route("/residence/{id}/files/{file}", get(console::file))
        .route("/verify/residence", get(verify::page))
}

/// A procedure's name.
pub fn procedure_label(lang: Lang, p: Procedure) -> &'static str {
    lang.t(&format!("res.proc.{}", p.as_str()))
}

/// A state's name.
pub fn state_label(lang: Lang, s: State) -> &'static str {
    lang.t(&format!("res.state.{}", s.as_str()))
}

/// The badge class of a state.
pub fn state_class(s: State) -> &'static str {
    match s {
        State::Approved => "ok",
        State::Refused => "bad",
        State::MoreInfo => "warn",
        State::Submitted | State::Assigned => "info",
    }
}

/// A commune's name with its district and province.
pub fn unit_name(code: &UnitCode) -> String {
    let units = Units::get();
    let mut parts = Vec::new();
    let mut at = Some(*code);
    while let Some(c) = at {
        match units.unit(Tree::Gso2024, &c) {
            Some(u) => {
                parts.push(u.name.clone());
                at = u.parent;
            }
            None => break,
        }
    }
    parts.join(", ")
}

/// dd/mm/yyyy.
pub fn day(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// dd/mm/yyyy hh:mm in Vietnam.
pub fn moment(t: OffsetDateTime) -> String {
    eid_core::residence::confirm::vn_time(t)
}

/// A fee in VND as the language writes it: "7.000 đ", or "Miễn phí".
pub fn fee(lang: Lang, vnd: i64) -> String {
    if vnd <= 0 {
        return lang.t("res.free").to_owned();
    }
    format!(
        "{} đ",
        crate::ui::format::num(lang, u64::try_from(vnd).unwrap_or(0))
    )
}

/// The clock in words: "còn 2 ngày làm việc", "quá hạn 1 ngày làm việc", "xong trong 3 ngày".
pub fn clock_text(lang: Lang, r: &eid_core::residence::Request, today: Date) -> (String, bool) {
    let c = r.clock(today);
    let text = if !r.state.is_open() {
        format!("{} {}", lang.t("res.clock.took"), r.took().unwrap_or(0))
    } else if c.overdue {
        format!("{} {}", lang.t("res.clock.overdue"), -c.left)
    } else {
        format!("{} {}", lang.t("res.clock.left"), c.left)
    };
    (format!("{text} {}", lang.t("res.clock.days")), c.overdue)
}

/// One step of a request as both sides see it.
pub struct StepView {
    pub kind: String,
    pub label: &'static str,
    pub who: &'static str,
    pub body: String,
    pub at: String,
    pub files: Vec<(i64, String, String)>,
}

/// The steps of a request, with who took them and their files.
pub fn step_views(lang: Lang, steps: &[eid_core::residence::Step]) -> Vec<StepView> {
    steps
        .iter()
        .map(|s| StepView {
            kind: s.kind.clone(),
            label: lang.t(&format!("res.step.{}", s.kind)),
            who: if s.actor == "citizen" {
                lang.t("res.who.citizen")
            } else {
                lang.t("res.who.police")
            },
            body: s.body.clone(),
            at: moment(s.at),
            files: s
                .files
                .iter()
                .map(|f| (f.id, f.name.clone(), f.mime.clone()))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_checked_and_read_from_the_file() {
        let c: ResidenceConfig = toml::from_str("max_file_bytes = 1048576\nmax_files = 2").unwrap();
        assert_eq!(c.limits().max_bytes, 1_048_576);
        assert_eq!(c.limits().max_files, 2);
        assert!(c.check().is_ok());
        assert!(ResidenceConfig { max_files: 0, ..c }.check().is_err());
        assert!(ResidenceConfig {
            max_file_bytes: 30 << 20,
            ..c
        }
        .check()
        .is_err());
        assert!(toml::from_str::<ResidenceConfig>("max_size = 1").is_err());
        assert_eq!(ResidenceConfig::default().max_file_bytes, 5 * 1024 * 1024);
    }

    #[test]
    fn a_fee_and_a_day_are_written_the_vietnamese_way() {
        assert_eq!(fee(Lang::Vi, 7000), "7.000 đ");
        assert_eq!(fee(Lang::Vi, 0), "Miễn phí");
        assert_eq!(day(time::macros::date!(2026 - 02 - 17)), "17/02/2026");
    }
}
