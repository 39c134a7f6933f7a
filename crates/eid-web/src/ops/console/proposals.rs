//! Proposed register changes: the open proposals and the decision on one.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};

use super::{console, tabs, unit_label, DONE};
use crate::console::pages::{here, local};
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::AppError;
use crate::ops_api::svc;
use crate::state::AppState;
use crate::ui::form::{form_value, label, Tab};

/// One open proposal.
pub struct ProposalRow {
    pub id: i64,
    pub personal_id: String,
    pub commune: String,
    pub proposed: String,
    pub created: String,
    /// The person's name, the field officer's note and who proposed.
    pub name: String,
    pub note: String,
    pub proposed_by: String,
}

#[derive(Template)]
#[template(path = "ops_proposals.html")]
struct ProposalsPage {
    page: PageCtx,
    tabs: Vec<Tab>,
    scope: String,
    rows: Vec<ProposalRow>,
    notice: Option<Notice>,
}

async fn proposals_page(
    state: &AppState,
    user: &ConsoleUser,
    here_path: &str,
) -> Result<ProposalsPage, ConsoleError> {
    let lang = user.lang;
    let list = svc::proposals(state, &user.caller)
        .await
        .map_err(console(lang))?;
    let ids: Vec<i64> = list.iter().map(|p| p.id).collect();
    let (context, names) = state
        .read(move |store| {
            let context = eid_core::ops::proposal_context(store, &ids)?;
            let names = crate::console::actors::Names::load(
                store,
                context.values().map(|c| &c.proposed_by),
            )?;
            Ok((context, names))
        })
        .await
        .map_err(console(lang))?;
    Ok(ProposalsPage {
        page: PageCtx::new(lang, Some(user), "ops", here_path),
        tabs: tabs(lang, "proposals"),
        scope: unit_label(&user.caller.staff.unit),
        rows: list
            .iter()
            .map(|p| ProposalRow {
                id: p.id,
                personal_id: p.personal_id.clone(),
                commune: unit_label(&p.commune),
                proposed: label(lang, "life", &p.proposed),
                created: local(p.created_at),
                name: context
                    .get(&p.id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                note: context
                    .get(&p.id)
                    .map(|c| c.note.clone())
                    .unwrap_or_default(),
                proposed_by: context
                    .get(&p.id)
                    .map(|c| names.label(lang, &c.proposed_by))
                    .unwrap_or_default(),
            })
            .collect(),
        notice: None,
    })
}

/// `GET /ops/proposals`
pub async fn proposals(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let mut page = proposals_page(&state, &user, &here(&uri)).await?;
    page.notice = Notice::done(user.lang, &q, "ops", DONE);
    render(&page)
}

/// `POST /ops/proposals/{id}`: `decision=confirm|dismiss`.
pub async fn proposal_decide(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id: i64 = id.parse().map_err(|_| {
        ConsoleError(
            AppError::not_found("proposal.not_found", "no proposal has this id"),
            lang,
        )
    })?;
    let confirm = match form_value(&form, "decision").as_str() {
        "confirm" => Ok(true),
        "dismiss" => Ok(false),
        _ => Err(AppError::bad(
            "proposal.decision",
            "decision is confirm or dismiss",
        )),
    };
    let done = match confirm {
        Ok(c) => svc::decide(&state, &user.caller, id, c).await.map(|_| c),
        Err(e) => Err(e),
    };
    match done {
        Ok(c) => Ok(Redirect::to(if c {
            "/ops/proposals?done=confirmed"
        } else {
            "/ops/proposals?done=dismissed"
        })
        .into_response()),
        Err(e) => {
            let e = in_place(e, lang)?;
            let mut page = proposals_page(&state, &user, "/ops/proposals").await?;
            page.notice = Some(Notice::refused(lang, &e));
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}
