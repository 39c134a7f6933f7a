//! Sector-file imports from the console as jobs (`/linkage/jobs`): national staff upload a CSV
//! or XLSX for a defined source; the job runs in the background (never in the request), its
//! page refreshes itself (meta refresh, no script) with rows read, matched and rejected, it can
//! be cancelled, and a server started again resumes the jobs left open from their last
//! committed slice ([`resume_open`]). Bad rows download as CSV. The rules, the checkpoints and
//! the audit are the core's ([`eid_core::linkage::job`]), shared with `eid link import`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use eid_core::linkage::job::{self, Job, JobSpec};
use eid_core::linkage::Thresholds;
use eid_core::Acting;

use crate::console::i18n::Lang;
use crate::console::pages::here;
use crate::console::{in_place, render, ConsoleError, ConsoleUser, Notice, PageCtx};
use crate::error::{request_id, AppError};
use crate::state::AppState;
use crate::ui::format::{day_label, num};

/// The job routes of the console.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/linkage/jobs",
            get(list)
                .post(upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    job::MAX_FILE + 64 * 1024,
                )),
        )
        .route("/linkage/jobs/{id}", get(one))
        .route("/linkage/jobs/{id}/cancel", post(cancel))
        .route("/linkage/jobs/{id}/rejected.csv", get(rejected_csv))
}

/// The jobs a runner of this process works on, by store and id, so that one job never has
/// two runners here (the core's checkpoint refuses a second one anyway).
static RUNNING: Mutex<Option<HashSet<(usize, i64)>>> = Mutex::new(None);

fn claim(key: (usize, i64), take: bool) -> bool {
    let mut guard = match RUNNING.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let set = guard.get_or_insert_with(HashSet::new);
    if take {
        set.insert(key)
    } else {
        set.remove(&key)
    }
}

/// Runs job `id` in the background, on a blocking thread, unless it already runs here.
pub fn spawn(state: &AppState, id: i64) {
    let key = (Arc::as_ptr(&state.store) as *const () as usize, id);
    if !claim(key, true) {
        return;
    }
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let store = Arc::clone(&state.store);
        let now = || state.now();
        match job::run(store.as_ref(), id, &now, job::SLICE, &mut |_| true) {
            Ok(_) => {}
            // Another process runs it: it is theirs to finish.
            Err(eid_core::Error::Conflict { .. }) => {
                tracing::info!(job = id, "link job run elsewhere");
            }
            Err(e) => {
                tracing::warn!(job = id, error = %e, "link job stopped");
                let _ = job::fail(store.as_ref(), id, &e.to_string(), state.now());
            }
        }
        claim(key, false);
    });
}

/// Starts a runner for every job left open (queued, or running when the server stopped), then
/// every half [`job::LEASE`] for the open jobs whose runner's lease expired (another server on
/// the same database that stopped mid-job): they are taken over here.
pub fn resume_open(state: &AppState) {
    let store = Arc::clone(&state.store);
    let state = state.clone();
    tokio::spawn(async move {
        let open = tokio::task::spawn_blocking(move || job::open_jobs(store.as_ref())).await;
        if let Ok(Ok(ids)) = open {
            for id in ids {
                tracing::info!(job = id, "resuming link job");
                spawn(&state, id);
            }
        }
        let every = std::time::Duration::from_secs((job::LEASE.whole_seconds() / 2).max(1) as u64);
        loop {
            tokio::time::sleep(every).await;
            let store = Arc::clone(&state.store);
            let t = state.now();
            let free =
                tokio::task::spawn_blocking(move || job::takeable_jobs(store.as_ref(), t)).await;
            if let Ok(Ok(ids)) = free {
                for id in ids {
                    tracing::info!(job = id, "taking over link job");
                    spawn(&state, id);
                }
            }
        }
    });
}

/// A job as the pages show it.
pub struct JobView {
    pub id: i64,
    pub source: String,
    pub file_name: String,
    pub received: String,
    pub state: &'static str,
    pub state_key: String,
    pub open: bool,
    pub total: String,
    pub done: String,
    pub rejected: String,
    pub rejected_n: u64,
    /// (label, count) per outcome.
    pub outcomes: Vec<(&'static str, String)>,
    pub verified: String,
    pub proposed: String,
    /// 0–100.
    pub percent: u32,
    pub error: String,
    pub cancel_asked: bool,
    pub batch: Option<i64>,
}

fn view(lang: Lang, j: &Job) -> JobView {
    let percent = match (j.done_rows * 100).checked_div(j.total_rows) {
        Some(p) => p.min(100) as u32,
        None if j.state == "done" => 100,
        None => 0,
    };
    JobView {
        id: j.id,
        source: j.source.clone(),
        file_name: j.file_name.clone(),
        received: day_label(lang, j.received_on),
        state: lang.t(&format!("link.job.state.{}", j.state)),
        state_key: j.state.clone(),
        open: j.is_open(),
        total: num(lang, j.total_rows),
        done: num(lang, j.done_rows),
        rejected: num(lang, j.rejected),
        rejected_n: j.rejected,
        outcomes: job::outcome_names()
            .iter()
            .zip(j.outcomes)
            .map(|(o, n)| (lang.t(&format!("link.outcome.{o}")), num(lang, n)))
            .collect(),
        verified: num(lang, j.verified),
        proposed: num(lang, j.proposed),
        percent,
        error: j.error.clone().unwrap_or_default(),
        cancel_asked: j.cancel,
        batch: j.batch_id,
    }
}

#[derive(Template)]
#[template(path = "link_jobs.html")]
struct ListPage {
    page: PageCtx,
    jobs: Vec<JobView>,
    sources: Vec<(String, String)>,
    today: String,
    notice: Option<Notice>,
}

async fn list_page(
    state: &AppState,
    user: &ConsoleUser,
    uri: &Uri,
    notice: Option<Notice>,
) -> Result<ListPage, ConsoleError> {
    let lang = user.lang;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let (jobs, sources) = state
        .blocking(move |store| {
            let jobs = job::list_as(store, &acting, 50)?;
            Ok((jobs, job::sources(store)?))
        })
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    Ok(ListPage {
        page: PageCtx::new(lang, Some(user), "linkage", &here(uri)),
        jobs: jobs.iter().map(|j| view(lang, j)).collect(),
        sources,
        today: state.today().to_string(),
        notice,
    })
}

/// `GET /linkage/jobs`: the upload form and the newest jobs.
pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
) -> Result<Response, ConsoleError> {
    render(&list_page(&state, &user, &uri, None).await?)
}

/// `POST /linkage/jobs` (multipart): `csrf`, `source`, `received`, `file`. Queues the job,
/// starts its runner and shows its page.
pub async fn upload(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    mut parts: Multipart,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let mut fields: HashMap<String, String> = HashMap::new();
    let (mut file, mut file_name) = (Vec::new(), String::new());
    while let Ok(Some(field)) = parts.next_field().await {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            file_name = field.file_name().unwrap_or("").to_owned();
            file = field.bytes().await.map(|b| b.to_vec()).map_err(|_| {
                ConsoleError(
                    AppError::bad("link.bad_file", "the file did not arrive whole"),
                    lang,
                )
            })?;
        } else if let Ok(text) = field.text().await {
            fields.insert(name, text);
        }
    }
    user.check_csrf(&fields)?;
    let received = match fields.get("received").map(|s| s.trim()) {
        None | Some("") => Ok(state.today()),
        Some(d) => eid_domain::parse_iso_date(d)
            .ok_or_else(|| AppError::bad("link.bad_received", "the day received is YYYY-MM-DD")),
    };
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let source = fields.get("source").cloned().unwrap_or_default();
    let submitted = match received {
        Err(e) => Err(e),
        Ok(received_on) => {
            let spec = JobSpec {
                source,
                file_name,
                received_on,
                thresholds: Thresholds::default(),
            };
            state
                .blocking(move |store| {
                    job::submit_as(store, &acting, &spec, &file).map_err(Into::into)
                })
                .await
        }
    };
    match submitted {
        Ok(id) => {
            spawn(&state, id);
            Ok(Redirect::to(&format!("/linkage/jobs/{id}")).into_response())
        }
        Err(e) => {
            let e = in_place(e, lang)?;
            let page = list_page(&state, &user, &uri, Some(Notice::refused(lang, &e))).await?;
            render(&page).map(|r| (e.status(), r).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "link_job.html")]
struct JobPage {
    page: PageCtx,
    job: JobView,
    notice: Option<Notice>,
}

fn parse_id(id: &str, lang: Lang) -> Result<i64, ConsoleError> {
    id.parse()
        .map_err(|_| ConsoleError(AppError::not_found("link.no_job", "no such job"), lang))
}

/// `GET /linkage/jobs/{id}`: the job's progress; refreshes itself while the job is open.
pub async fn one(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let j = state
        .blocking(move |store| job::get_as(store, &acting, id).map_err(Into::into))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    render(&JobPage {
        page: PageCtx::new(lang, Some(&user), "linkage", &here(&uri)),
        job: view(lang, &j),
        notice: Notice::done(lang, &q, "link.job", &["cancel"]),
    })
}

/// `POST /linkage/jobs/{id}/cancel`: asks the job to stop before its next slice.
pub async fn cancel(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form)?;
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let done = state
        .blocking(move |store| job::cancel_as(store, &acting, id).map_err(Into::into))
        .await;
    match done {
        Ok(j) => {
            // A queued job with no runner here (its server stopped) ends at once.
            if j.is_open() {
                spawn(&state, id);
            }
            Ok(Redirect::to(&format!("/linkage/jobs/{id}?done=cancel")).into_response())
        }
        Err(e) => Err(ConsoleError(e, lang)),
    }
}

/// `GET /linkage/jobs/{id}/rejected.csv`: the rejected rows (line, column, reason).
pub async fn rejected_csv(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let acting = Acting::new(user.caller.clone(), request_id(), state.now());
    let rows = state
        .blocking(move |store| job::rejected_as(store, &acting, id).map_err(Into::into))
        .await
        .map_err(|e| ConsoleError(e, lang))?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut write = || -> Result<Vec<u8>, csv::Error> {
        w.write_record(["line", "column", "reason"])?;
        for r in &rows {
            w.write_record([
                r.line.to_string().as_str(),
                r.column.as_str(),
                r.reason.as_str(),
            ])?;
        }
        w.flush()?;
        Ok(w.get_ref().clone())
    };
    let body = write().map_err(|_| {
        ConsoleError(
            AppError::Internal("the rejected rows did not write".into()),
            lang,
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"link-job-{id}-rejected.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}
