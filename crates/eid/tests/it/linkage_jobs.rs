//! Sector imports as console jobs (issue 13) over HTTP: a job left open is resumed when the
//! server starts, an uploaded file runs in the background while its page refreshes itself,
//! bad rows download as CSV, a queued job is cancelled, and only national staff run jobs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eid::testkit::{create_user, fresh_store, spawn, TestUser};
use eid_core::import::{import_generated, ImportOptions, OnError};
use eid_core::linkage::files::Mapping;
use eid_core::linkage::job::{self, JobSpec};
use eid_core::linkage::service::{self, Source};
use eid_core::linkage::Thresholds;
use eid_core::store::Role;
use eid_core::{Actor, Store};
use eid_domain::{Person, UnitCode};

use crate::helpers::{
    agent, call, cookie_value, csrf_field, now, post_form, send_bytes, set_cookie, sign_in,
};

fn session(base: &str, u: &TestUser) -> (String, String) {
    let r = sign_in(base, &u.username, &u.password);
    assert_eq!(r.status(), 303);
    let cookie = format!(
        "eid_session={}",
        cookie_value(&set_cookie(&r, "eid_session").unwrap())
    );
    let page = call(
        agent()
            .get(&format!("{base}/search"))
            .header("Cookie", &cookie),
    );
    (cookie.clone(), csrf_field(&page.into_string().unwrap()))
}

fn multipart(boundary: &str, fields: &[(&str, &str)], file: (&str, &[u8])) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: text/csv\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

fn sector_file(persons: &[Person]) -> String {
    let mut lines =
        vec!["row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit".to_owned()];
    for (i, p) in persons.iter().enumerate() {
        lines.push(format!(
            "P{i},{},{},{},{},{},{},{}",
            if i % 3 == 0 { "" } else { p.id.as_str() },
            p.name.surname(),
            p.name.middle(),
            p.name.given(),
            p.birth,
            p.sex.as_str(),
            p.residence.unit.as_str()
        ));
    }
    lines.push("BAD,,Lê,,An,1990-13-45,M,".to_owned());
    lines.join("\n") + "\n"
}

fn wait_for(store: &dyn Store, id: i64, state: &str) -> job::Job {
    let start = Instant::now();
    loop {
        let j = job::get(store, id).unwrap();
        if j.state == state {
            return j;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "job {id}: {j:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn console_jobs_run_in_the_background_resume_at_start_and_cancel() {
    let store = fresh_store("linkjobs");
    let today = now().date();
    let persons: Vec<Person> = eid_gen::Generator::new(&eid_gen::GenConfig {
        count: 300,
        seed: 5,
        province: Some(UnitCode::parse("62").unwrap()),
        today,
    })
    .unwrap()
    .filter(|p| p.check(today).is_ok())
    .collect();
    let opts = ImportOptions {
        on_error: OnError::Skip,
        today,
        now: now(),
        actor: Actor::Cli("test".to_owned()),
        reason: "test data".to_owned(),
    };
    import_generated(store.as_ref(), persons.clone().into_iter(), &opts).unwrap();
    let actor = Actor::Cli("test".into());
    service::define_source(
        store.as_ref(),
        &actor,
        now(),
        &Source {
            name: "bhxh-job".into(),
            kind: "social_insurance".into(),
            mapping: Mapping::parse("row_id=row_id,personal_id=personal_id,surname=surname,middle_name=middle_name,given_name=given_name,birth_date=birth_date,sex=sex,unit=unit").unwrap(),
        },
    )
    .unwrap();
    let file = sector_file(&persons);
    let spec = JobSpec {
        source: "bhxh-job".into(),
        file_name: "bhxh.csv".into(),
        received_on: today,
        thresholds: Thresholds::default(),
    };
    // Left queued by a server that stopped: the next one resumes it.
    let left = job::submit(store.as_ref(), &actor, now(), &spec, file.as_bytes()).unwrap();
    let bo = create_user(store.as_ref(), "job-bo", Role::Ministry, UnitCode::NATION);
    let tinh = create_user(
        store.as_ref(),
        "job-tinh",
        Role::Province,
        UnitCode::parse("62").unwrap(),
    );
    let base = spawn(Arc::clone(&store));
    let resumed = wait_for(store.as_ref(), left, "done");
    assert_eq!(resumed.total_rows, persons.len() as u64);
    assert_eq!(resumed.done_rows, resumed.total_rows);
    assert_eq!(resumed.rejected, 1);
    assert!(
        resumed.outcomes[0] as usize > persons.len() / 2,
        "{resumed:?}"
    );

    let (cookie, csrf) = session(&base, &bo);
    let get = |cookie: &str, path: &str| {
        let r = call(
            agent()
                .get(&format!("{base}{path}"))
                .header("Cookie", cookie),
        );
        let ct = r.header("content-type").unwrap_or("").to_owned();
        (r.status(), ct, r.into_string().unwrap())
    };
    let (st, _, html) = get(&cookie, "/linkage/jobs");
    assert_eq!(st, 200);
    assert!(html.contains("Nhập tệp dữ liệu ngành"), "{html}");
    assert!(html.contains("enctype=\"multipart/form-data\""));
    assert!(html.contains("<option value=\"bhxh-job\">"), "{html}");
    assert!(html.contains(&format!("/linkage/jobs/{left}")));

    // Upload: without the CSRF token refused; with it, a redirect to the job's page.
    let boundary = "eidjobboundary";
    let send = |fields: &[(&str, &str)]| {
        send_bytes(
            agent()
                .post(&format!("{base}/linkage/jobs"))
                .header("Cookie", &cookie)
                .header(
                    "Content-Type",
                    &format!("multipart/form-data; boundary={boundary}"),
                ),
            &multipart(boundary, fields, ("bhxh-12.csv", file.as_bytes())),
        )
    };
    assert_eq!(send(&[("source", "bhxh-job")]).status(), 403);
    let r = send(&[("csrf", &csrf), ("source", "nope")]);
    assert_eq!(r.status(), 404);
    assert!(r.into_string().unwrap().contains("Không có nguồn này."));
    let r = send(&[
        ("csrf", &csrf),
        ("source", "bhxh-job"),
        ("received", "2026-11-20"),
    ]);
    assert_eq!(r.status(), 303);
    let at = r.header("location").unwrap().to_owned();
    let id: i64 = at.trim_start_matches("/linkage/jobs/").parse().unwrap();
    let done = wait_for(store.as_ref(), id, "done");
    assert_eq!(done.outcomes, resumed.outcomes);
    assert_eq!(done.received_on, time::macros::date!(2026 - 11 - 20));
    let (st, _, html) = get(&cookie, &at);
    assert_eq!(st, 200);
    assert!(
        html.contains("Hoàn tất") && !html.contains("http-equiv=\"refresh\""),
        "{html}"
    );
    assert!(
        html.contains(&format!("{} / {}", done.total_rows, done.total_rows)),
        "{html}"
    );
    assert!(html.contains(&format!("/linkage/jobs/{id}/rejected.csv")));
    let (st, ct, csv) = get(&cookie, &format!("/linkage/jobs/{id}/rejected.csv"));
    assert_eq!((st, ct.as_str()), (200, "text/csv; charset=utf-8"));
    let bad_line = persons.len() + 2;
    assert!(
        csv.starts_with(&format!("line,column,reason\n{bad_line},birth_date,")),
        "{csv}"
    );

    // A queued job with no runner: its page refreshes itself; cancelled, it ends at once.
    let q = job::submit(store.as_ref(), &actor, now(), &spec, file.as_bytes()).unwrap();
    let (_, _, html) = get(&cookie, &format!("/linkage/jobs/{q}"));
    assert!(
        html.contains("http-equiv=\"refresh\"") && html.contains("Đang chờ"),
        "{html}"
    );
    assert!(html.contains(&format!("action=\"/linkage/jobs/{q}/cancel\"")));
    let cancel = |form: &[(&str, &str)]| {
        post_form(
            agent()
                .post(&format!("{base}/linkage/jobs/{q}/cancel"))
                .header("Cookie", &cookie),
            form,
        )
    };
    assert_eq!(cancel(&[]).status(), 403);
    let r = cancel(&[("csrf", &csrf)]);
    assert_eq!(r.status(), 303);
    let c = wait_for(store.as_ref(), q, "cancelled");
    assert_eq!((c.done_rows, c.batch_id), (0, None));
    let (_, _, html) = get(&cookie, &format!("/linkage/jobs/{q}?done=cancel"));
    assert!(
        html.contains("Đã huỷ") && html.contains("Đã yêu cầu huỷ lượt nhập."),
        "{html}"
    );
    // Once ended, a cancel is refused.
    assert_eq!(cancel(&[("csrf", &csrf)]).status(), 409);

    // A province officer has no jobs: the pages and the download are refused.
    let (tc, _) = session(&base, &tinh);
    for path in [
        "/linkage/jobs".to_owned(),
        format!("/linkage/jobs/{id}"),
        format!("/linkage/jobs/{id}/rejected.csv"),
    ] {
        assert_eq!(get(&tc, &path).0, 403, "{path}");
    }
    assert_eq!(get(&cookie, "/linkage/jobs/999999").0, 404);
}
