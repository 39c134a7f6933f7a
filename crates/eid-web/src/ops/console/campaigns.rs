//! Peak campaigns: the list and the form to record one.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use eid_domain::iso;
use time::Duration;

use super::{campaign_view, console, tabs, unit_label, unit_options, CampaignView, DONE};
use crate::console::pages::here;
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::ops_api::svc;
use crate::state::AppState;
use crate::ui::form::{form_value, Opt, Tab};

/// The values of the new-campaign form.
#[derive(Default)]
pub struct CampaignForm {
    pub name: String,
    pub slogan: String,
    pub unit: String,
    pub start: String,
    pub end: String,
}

#[derive(Template)]
#[template(path = "ops_campaigns.html")]
struct CampaignsPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    scope: String,
    campaigns: Vec<CampaignView>,
    units: Vec<Opt>,
    form: CampaignForm,
    notice: Option<Notice>,
}

async fn campaigns_page(
    state: &AppState,
    user: &ConsoleUser,
    here_path: &str,
) -> Result<CampaignsPage, ConsoleError> {
    let lang = user.lang;
    let today = state.today();
    let list = svc::campaigns(state, &user.caller, today)
        .await
        .map_err(console(lang))?;
    let own = user.caller.staff.unit;
    Ok(CampaignsPage {
        page: PageCtx::new(lang, Some(user), "ops", here_path),
        tabs: tabs(lang, "campaigns"),
        scope: unit_label(&own),
        campaigns: list
            .iter()
            .map(|(c, b, d)| campaign_view(lang, c, *b, *d, today))
            .collect(),
        units: unit_options(&own, true, own.as_str()),
        form: CampaignForm {
            unit: own.as_str().to_owned(),
            start: iso(today),
            end: iso(today + Duration::days(20)),
            ..CampaignForm::default()
        },
        notice: None,
    })
}

/// `GET /ops/campaigns`
pub async fn campaigns(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let mut page = campaigns_page(&state, &user, &here(&uri)).await?;
    page.notice = Notice::done(user.lang, &q, "ops", DONE);
    render(&page)
}

/// `POST /ops/campaigns`: `name`, `slogan`, `unit`, `start`, `end`.
pub async fn campaign_add(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let f = CampaignForm {
        name: form_value(&form, "name"),
        slogan: form_value(&form, "slogan"),
        unit: form_value(&form, "unit"),
        start: form_value(&form, "start"),
        end: form_value(&form, "end"),
    };
    let done = async {
        let new = svc::NewCampaign {
            name: f.name.clone(),
            slogan: f.slogan.clone(),
            unit: f.unit.clone(),
            start: svc::parse_day(&f.start, "start")?,
            end: svc::parse_day(&f.end, "end")?,
        };
        svc::add_campaign(&state, &user.caller, new).await
    }
    .await;
    match done {
        Ok(_) => Ok(Redirect::to("/ops/campaigns?done=campaign").into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = campaigns_page(&state, &user, "/ops/campaigns").await?;
            page.notice = Some(Notice::refused(lang, &e));
            for o in &mut page.units {
                o.selected = o.value == f.unit;
            }
            page.form = f;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}
