//! The web console: sign-in with cookie and CSRF, pages, rate limit, language.

use eid_core::store::Role;
use eid_domain::UnitCode;

use crate::helpers::{
    agent, app, call, cookie_value, create_user, csrf_field, fresh_store, post_form, set_cookie,
    sign_in, spawn, Reply,
};

fn session_of(r: &Reply) -> String {
    let c = set_cookie(r, "eid_session").expect("a session cookie");
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"),
        "{c}"
    );
    format!("eid_session={}", cookie_value(&c))
}

#[test]
fn an_officer_signs_in_searches_and_opens_a_person_with_the_session_cookie() {
    let app = app();
    let p = app.local_person();

    let r = sign_in(&app.base, &app.commune.username, &app.commune.password);
    assert_eq!(r.status(), 303);
    let session = session_of(&r);

    let query = eid_domain::fold(&p.name.full()).replace(' ', "+");
    let page = call(
        agent()
            .get(&app.url(&format!("/search?name={query}")))
            .header("Cookie", &session),
    );
    assert_eq!(page.status(), 200);
    let html = page.into_string().unwrap();
    assert!(html.contains(p.id.as_str()), "the person is listed");
    assert!(html.contains("<html lang=\"vi\">"));
    assert!(html.contains("Tra cứu") && html.contains("Đơn vị"));
    assert!(
        !html.contains("href=\"/audit\""),
        "a commune officer has no audit section"
    );
    if let Some(phone) = &p.phone {
        assert!(
            html.contains(&phone.masked()) && !html.contains(&phone.national()),
            "phones are masked in lists"
        );
    }

    let page = call(
        agent()
            .get(&app.url(&format!("/persons/{}", p.id)))
            .header("Cookie", &session),
    );
    assert_eq!(page.status(), 200);
    let html = page.into_string().unwrap();
    assert!(html.contains(&p.name.full()));
    assert!(html.contains("Lịch sử thay đổi") && html.contains("cli:test"));

    let page = call(
        agent()
            .get(&app.url(&format!("/persons/{}", app.far_person().id)))
            .header("Cookie", &session),
    );
    assert_eq!(page.status(), 403);
}

#[test]
fn a_post_without_the_csrf_token_is_refused() {
    let app = app();
    let r = sign_in(&app.base, &app.district.username, &app.district.password);
    let session = session_of(&r);
    let page = call(agent().get(&app.url("/search")).header("Cookie", &session))
        .into_string()
        .unwrap();
    let csrf = csrf_field(&page);

    let without = post_form(
        agent().post(&app.url("/logout")).header("Cookie", &session),
        &[],
    );
    let wrong = post_form(
        agent().post(&app.url("/logout")).header("Cookie", &session),
        &[("csrf", "0000")],
    );
    let still_in = call(agent().get(&app.url("/search")).header("Cookie", &session));
    let with = post_form(
        agent().post(&app.url("/logout")).header("Cookie", &session),
        &[("csrf", &csrf)],
    );
    let after = call(agent().get(&app.url("/search")).header("Cookie", &session));

    assert_eq!(
        (without.status(), wrong.status(), still_in.status()),
        (403, 403, 200)
    );
    assert_eq!(with.status(), 303);
    assert_eq!(
        (after.status(), after.header("location")),
        (303, Some("/login"))
    );
}

#[test]
fn the_sign_in_form_itself_needs_its_csrf_token() {
    let app = app();

    let r = post_form(
        agent().post(&app.url("/login")),
        &[
            ("username", &app.commune.username),
            ("password", &app.commune.password),
        ],
    );

    assert_eq!(r.status(), 403);
    assert!(set_cookie(&r, "eid_session").is_none());
}

#[test]
fn the_unit_page_shows_children_with_population_and_the_auditor_sees_the_audit_log() {
    let app = app();
    let session = session_of(&sign_in(
        &app.base,
        &app.province.username,
        &app.province.password,
    ));

    let page = call(
        agent()
            .get(&app.url("/units/62"))
            .header("Cookie", &session),
    );
    assert_eq!(page.status(), 200);
    let html = page.into_string().unwrap();
    // Counts are grouped by thousands the Vietnamese way: 2.000.
    let digits = app.imported.to_string();
    let grouped: String = digits
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            let sep = (i > 0 && (digits.len() - i).is_multiple_of(3)).then_some('.');
            sep.into_iter().chain(std::iter::once(c))
        })
        .collect();
    assert!(
        html.contains("Tỉnh Kon Tum") && html.contains(&grouped),
        "{grouped}"
    );
    assert!(html.contains("href=\"/units/"), "children link down");

    let auditor = session_of(&sign_in(
        &app.base,
        &app.auditor.username,
        &app.auditor.password,
    ));
    let page = call(agent().get(&app.url("/audit")).header("Cookie", &auditor));
    assert_eq!(page.status(), 200);
    let html = page.into_string().unwrap();
    assert!(html.contains("auth.login") && html.contains("Nhật ký"));
    let search = call(
        agent()
            .get(&app.url("/persons/062099999999"))
            .header("Cookie", &auditor),
    );
    assert_eq!(search.status(), 403);
}

#[test]
fn the_language_switch_shows_english_strings() {
    let app = app();

    let r = call(agent().get(&app.url("/lang/en?next=/login")));
    assert_eq!((r.status(), r.header("location")), (303, Some("/login")));
    let lang = format!("lang={}", cookie_value(&set_cookie(&r, "lang").unwrap()));
    let english = call(agent().get(&app.url("/login")).header("Cookie", &lang))
        .into_string()
        .unwrap();
    let vietnamese = call(agent().get(&app.url("/login"))).into_string().unwrap();

    assert!(
        english.contains("<html lang=\"en\">")
            && english.contains("Sign in")
            && english.contains("Username")
    );
    assert!(
        vietnamese.contains("<html lang=\"vi\">")
            && vietnamese.contains("Đăng nhập")
            && vietnamese.contains("Tên đăng nhập")
    );
    let evil = call(agent().get(&app.url("/lang/en?next=//evil.example")));
    assert_eq!(evil.header("location"), Some("/"));
}

#[test]
fn repeated_failed_sign_ins_are_rate_limited_with_retry_after() {
    // A server of its own: the limit counts per client address, which all tests share.
    let store = fresh_store("ratelimit");
    let user = create_user(
        store.as_ref(),
        "an",
        Role::Commune,
        UnitCode::parse("23284").unwrap_or(UnitCode::NATION),
    );
    let base = spawn(store.clone());

    let unknown = sign_in(&base, "khong.co.ai", "wrong password 1A");
    let wrong: Vec<u16> = (0..4)
        .map(|_| sign_in(&base, "an", "wrong password 1A").status())
        .collect();
    let limited = sign_in(&base, "an", &user.password);

    assert_eq!(unknown.status(), 401);
    let unknown_html = unknown.into_string().unwrap();
    assert_eq!(wrong, vec![401; 4]);
    let wrong_html = sign_in(&base, "khong.co.ai", "x").into_string().unwrap();
    assert!(unknown_html.contains("Tên đăng nhập hoặc mật khẩu không đúng."));
    assert!(
        !wrong_html.contains("Tên đăng nhập hoặc mật khẩu không đúng."),
        "now limited"
    );
    assert_eq!(limited.status(), 429);
    assert!(
        limited
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    let log = store.audit_log(100).unwrap();
    assert!(log
        .iter()
        .any(|a| a.action == "auth.login" && a.outcome == "limited" && a.target == "an"));
    assert!(log
        .iter()
        .any(|a| a.action == "auth.login" && a.outcome == "failed" && a.target == "khong.co.ai"));
}

#[test]
fn an_officer_corrects_a_record_with_a_reason_and_the_change_is_an_event() {
    // A store of its own: the change must not disturb the shared app's people.
    let store = fresh_store("edit");
    let row = "038090001234,Lê,Văn,An,1990-05-02,M,38,14755,Số 5 Hàm Rồng,,,HK38-1,0912345678,smartphone,alive,,2021-06-01,0";
    let csv = format!("{}\n{row}\n", eid_core::csvfmt::COLUMNS.join(","));
    let opts = eid_core::import::ImportOptions {
        on_error: eid_core::import::OnError::Abort,
        today: crate::helpers::now().date(),
        now: crate::helpers::now(),
        actor: eid_core::store::Actor::Cli("test".into()),
        reason: "seed".into(),
    };
    eid_core::import::import_persons(
        store.as_ref(),
        csv.as_bytes(),
        &opts,
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap();
    let officer = create_user(
        store.as_ref(),
        "xa.14755",
        Role::Commune,
        UnitCode::parse("14755").unwrap(),
    );
    let auditor = create_user(store.as_ref(), "kiemtra", Role::Auditor, UnitCode::NATION);
    let base = spawn(store.clone());
    let session = session_of(&sign_in(&base, "xa.14755", &officer.password));
    let url = format!("{base}/persons/038090001234/edit");

    let form = call(agent().get(&url).header("Cookie", &session));
    assert_eq!(form.status(), 200);
    let html = form.into_string().unwrap();
    let csrf = csrf_field(&html);
    let fields = |reason: &str, version: &str, phone: &str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("version".to_owned(), version.to_owned()),
            ("address".to_owned(), "Số 9 Hàm Rồng".to_owned()),
            ("temp_unit".to_owned(), String::new()),
            ("temp_address".to_owned(), String::new()),
            ("phone".to_owned(), phone.to_owned()),
            ("phone_type".to_owned(), "smartphone".to_owned()),
            ("life".to_owned(), "alive".to_owned()),
            ("life_date".to_owned(), String::new()),
            ("reason".to_owned(), reason.to_owned()),
        ]
    };
    let post = |f: Vec<(String, String)>| {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        post_form(agent().post(&url).header("Cookie", &session), &pairs)
    };

    let no_reason = post(fields("", "1", "0901 234 567"));
    assert_eq!(no_reason.status(), 400);
    assert!(no_reason
        .into_string()
        .unwrap()
        .contains("Cần ghi lý do thay đổi"));
    let bad_phone = post(fields("đổi số", "1", "0241234567"));
    assert_eq!(bad_phone.status(), 400);
    let stale = post(fields("đổi số", "7", "0901 234 567"));
    assert_eq!(stale.status(), 409);
    let mut no_csrf = fields("đổi số", "1", "0901 234 567");
    no_csrf.retain(|(k, _)| k != "csrf");
    assert_eq!(post(no_csrf).status(), 403);
    let id = eid_domain::PersonalId::parse("038090001234").unwrap();
    assert_eq!(
        store.history(&id).unwrap().len(),
        1,
        "nothing written by refused posts"
    );

    let saved = post(fields(
        "công dân báo đổi số điện thoại",
        "1",
        "0901 234 567",
    ));
    assert_eq!(saved.status(), 303);
    assert_eq!(saved.header("location"), Some("/persons/038090001234"));

    let p = store.person(&id).unwrap().unwrap();
    assert_eq!(p.version, 2);
    assert_eq!(p.person.residence.address, "Số 9 Hàm Rồng");
    let history = store.history(&id).unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.kind, "updated");
    assert_eq!(last.actor, eid_core::store::Actor::Staff(officer.id));
    assert_eq!(last.reason, "công dân báo đổi số điện thoại");
    assert_eq!(
        last.changes["phone"],
        serde_json::json!(["0912345678", "0901234567"])
    );
    assert_eq!(
        last.changes.as_object().unwrap().len(),
        2,
        "{}",
        last.changes
    );

    let auditor_session = session_of(&sign_in(&base, "kiemtra", &auditor.password));
    assert_eq!(
        call(agent().get(&url).header("Cookie", &auditor_session)).status(),
        403
    );
}
