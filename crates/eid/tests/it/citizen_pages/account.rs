//! The citizen's pages over HTTP, second part: registration on the pages, locks, phone and
//! password changes, children, the upgrade that sends an old card to the nearest units, and the
//! demo's citizen.

use super::*;

#[test]
fn a_citizen_registers_on_the_pages_locks_the_account_and_unlocks_it() {
    let w = World::new("me_register");
    let p = w.person(date!(2023 - 05 - 01));
    let mut b = Browser::new(&w.base);
    let csrf = b.csrf("/me/register");
    let (status, html, _) = b.get("/me/register");
    assert_eq!(status, 200);
    assert!(
        html.contains("accept=\"image/*\" capture=\"user\""),
        "{html}"
    );
    assert!(html.contains("enctype=\"multipart/form-data\""));

    // A photo that is not the person's: refused with what to do.
    let (status, html, _) = b.post_multipart(
        "/me/register",
        &[
            ("csrf", &csrf),
            ("personal_id", p.id.as_str()),
            ("phone", &p.phone.as_ref().unwrap().national()),
        ],
        b"someone else",
    );
    assert_eq!(status, 422, "{html}");
    assert!(text(&html).contains("Ảnh chân dung không khớp"), "{html}");

    let (status, html, _) = b.post_multipart(
        "/me/register",
        &[
            ("csrf", &csrf),
            ("personal_id", p.id.as_str()),
            ("phone", &p.phone.as_ref().unwrap().national()),
        ],
        &eid::verifier::dev_portrait(p.id.as_str()),
    );
    assert_eq!(status, 200, "{html}");
    let handle = hidden(&html, "handle");
    let code = w.code(&p, "register");
    // A weak password is shown in place.
    let (status, html, _) = b.post(
        "/me/register/confirm",
        &[
            ("csrf", &csrf),
            ("handle", &handle),
            ("code", &code),
            ("password", "ngan"),
            ("passcode", PASSCODE),
        ],
    );
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("ít nhất 12 ký tự"), "{html}");
    let (status, _, loc) = b.post(
        "/me/register/confirm",
        &[
            ("csrf", &csrf),
            ("handle", &handle),
            ("code", &code),
            ("password", PASSWORD),
            ("passcode", PASSCODE),
        ],
    );
    assert_eq!(
        (status, loc.as_deref()),
        (303, Some("/me/signin?done=registered"))
    );
    let (_, html, _) = b.get("/me/signin?done=registered");
    assert!(html.contains("Đã tạo tài khoản"), "{html}");

    // Registered on this browser: it is the bound device, no code needed.
    let (status, _, loc) = b.sign_in(&p, PASSWORD, "/me", "1");
    assert_eq!((status, loc.as_deref()), (303, Some("/me")));

    // The devices page lists this browser as the bound one; the history is in Vietnamese.
    let (status, html, _) = b.get("/me/devices");
    assert_eq!(status, 200);
    assert!(
        html.contains("Trình duyệt này") && html.contains("Thiết bị đã gắn"),
        "{html}"
    );
    let (status, html, _) = b.get("/me/events");
    assert_eq!(status, 200);
    assert!(
        html.contains("Kích hoạt tài khoản mức 1") && html.contains("Đăng nhập"),
        "{html}"
    );

    // The password changes with the passcode.
    let csrf = b.csrf("/me/password");
    let (status, html, _) = b.post(
        "/me/password",
        &[
            ("csrf", &csrf),
            ("new_password", "Mật-khẩu-Mới-2027"),
            ("passcode", "000000"),
        ],
    );
    assert_eq!(status, 401, "{html}");
    assert!(html.contains("Mã khóa không đúng"));
    let (status, _, loc) = b.post(
        "/me/password",
        &[
            ("csrf", &csrf),
            ("new_password", "Mật-khẩu-Mới-2027"),
            ("passcode", PASSCODE),
        ],
    );
    assert_eq!((status, loc.as_deref()), (303, Some("/me?done=password")));

    // The holder locks the account: the session ends and the page shows the lock.
    let (status, html, _) = b.post("/me/locks", &[("csrf", &csrf), ("passcode", PASSCODE)]);
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Bạn đã tự khóa tài khoản") && html.contains("action=\"/me/unlock\""),
        "{html}"
    );
    assert_eq!(b.get("/me").0, 303);

    // An officer locks it too; the holder unlocks their own lock and sees the officer's, with its reason.
    let (s, r) = w.api(
        &format!("/api/v1/accounts/{}/lock", p.id.as_str()),
        Some(&w.xa.token),
        json!({ "reason": "Xác minh lại thông tin" }),
    );
    assert_eq!(s, 200, "{r}");
    let creds = [
        ("csrf", csrf.as_str()),
        ("personal_id", p.id.as_str()),
        ("password", "Mật-khẩu-Mới-2027"),
        ("passcode", PASSCODE),
    ];
    let (status, html, _) = b.post("/me/unlock", &creds);
    assert_eq!(status, 423, "{html}");
    assert!(
        html.contains("Cơ quan công an đã khóa tài khoản")
            && html.contains("Xác minh lại thông tin"),
        "{html}"
    );
    assert!(!html.contains("Bạn đã tự khóa tài khoản"), "{html}");
    let (s, r) = w.api(
        &format!("/api/v1/accounts/{}/unlock", p.id.as_str()),
        Some(&w.xa.token),
        json!({ "reason": "Đã xác minh" }),
    );
    assert_eq!(s, 200, "{r}");
    let (status, _, loc) = b.post("/me/unlock", &creds);
    assert_eq!(
        (status, loc.as_deref()),
        (303, Some("/me/signin?done=unlocked"))
    );
    let (status, _, loc) = b.sign_in(&p, "Mật-khẩu-Mới-2027", "/me/locks", "1");
    assert_eq!((status, loc.as_deref()), (303, Some("/me/locks")));
    let (_, html, _) = b.get("/me/locks");
    assert!(html.contains("Tài khoản không bị khóa"), "{html}");
}

/// `eid demo` prints a demo citizen; a newcomer signs in with it on /me, on a new browser, with
/// the code from the development outbox.
#[test]
fn the_demo_prints_a_citizen_who_signs_in_on_the_pages() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    let dir = crate::helpers::temp_dir("me-demo");
    let db = format!("sqlite://{}", dir.join("eid.db").display());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eid"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EID_")) {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .env("EID_LOG", "warn")
        .args(["--db", &db, "--listen", "127.0.0.1:0", "demo"])
        .args([
            "--people",
            "3000",
            "--history-days",
            "4",
            "--history-applications",
            "40",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let (tx, rx) = mpsc::channel::<String>();
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx2.send(line);
        }
    });
    let _child = Kill(child);
    let (mut base, mut citizen, mut all) = (None, None, String::new());
    // Until the address, the citizen and the line after it (where a new browser's code shows).
    while base.is_none() || citizen.is_none() || !all.contains("/sms") {
        let line = rx
            .recv_timeout(Duration::from_secs(240))
            .unwrap_or_else(|_| panic!("the demo did not print a citizen and its address:\n{all}"));
        all.push_str(&line);
        all.push('\n');
        if let Some(b) = line.strip_prefix("eid listening on ") {
            base = Some(b.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("citizen pages: open ") {
            citizen = Some(rest.to_owned());
        }
    }
    let (base, citizen) = (base.unwrap(), citizen.unwrap());
    // "<base>/me/signin as personal ID <id> (level 2), password <pw>, passcode <pc>"
    let word_after = |key: &str| {
        let at = citizen
            .find(key)
            .unwrap_or_else(|| panic!("{key} in {citizen}"))
            + key.len();
        citizen[at..]
            .split([' ', ','])
            .find(|w| !w.is_empty())
            .unwrap()
            .to_owned()
    };
    let (id, password, passcode) = (
        word_after("personal ID "),
        word_after("password "),
        word_after("passcode "),
    );
    assert!(citizen.contains("(level 2)"), "{citizen}");
    assert!(all.contains("/sms"), "{all}");

    // A ministry token on the same database reads the outbox.
    let o = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args([
            "--db",
            &db,
            "admin",
            "issue-token",
            "--username",
            "bo.congan",
            "--name",
            "test",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let token = String::from_utf8_lossy(&o.stdout)
        .trim()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned();

    let mut b = Browser::new(&base);
    let csrf = b.csrf("/me/signin?next=%2Fme&acr=2&fresh=0");
    let (status, html, _) = b.post(
        "/me/signin",
        &[
            ("csrf", &csrf),
            ("personal_id", &id),
            ("password", &password),
            ("next", "/me"),
            ("acr", "2"),
        ],
    );
    assert_eq!(status, 202, "a new browser: {html}");
    let handle = hidden(&html, "handle");
    // The code, from the outbox: the newest device code.
    let r = call(
        agent()
            .get(&format!("{base}/api/v1/sms?limit=50"))
            .header("Authorization", &format!("Bearer {token}")),
    );
    let body: Value = r.into_json().unwrap();
    let code = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["purpose"] == "device")
        .map(|m| six_digits(m["body"].as_str().unwrap()))
        .expect("the device code in the outbox");
    let (status, _, loc) = b.post(
        "/me/signin/code",
        &[
            ("csrf", &csrf),
            ("handle", &handle),
            ("code", &code),
            ("next", "/me"),
            ("acr", "2"),
        ],
    );
    assert_eq!(status, 303);
    let loc = loc.unwrap();
    assert!(loc.starts_with("/me/signin/passcode"), "{loc}");
    let (status, _, loc) = b.post(
        "/me/signin/passcode",
        &[
            ("csrf", &csrf),
            ("passcode", &passcode),
            ("next", "/me"),
            ("acr", "2"),
        ],
    );
    assert_eq!((status, loc.as_deref()), (303, Some("/me")));
    let (status, html, _) = b.get("/me");
    assert_eq!(status, 200);
    assert!(
        html.contains("Mức 2") && html.contains("mã khóa (mức 2)"),
        "{html}"
    );
}

#[test]
fn a_card_from_before_the_cut_off_is_sent_to_the_nearest_units() {
    let w = World::new("me_inperson");
    let (_, public) = eid_core::intake::new_key();
    let (s, r) = w.api(
        "/api/v1/devices",
        Some(&w.bo.token),
        json!({ "name": "Máy thu nhận xã", "unit": w.commune.as_str(), "public_key": public, "daily_capacity": 100 }),
    );
    assert_eq!(s, 201, "{r}");
    let p = w.person(date!(2020 - 06 - 01));
    w.level1_by_app(&p);
    let mut b = Browser::new(&w.base);
    let (status, _, _) = b.sign_in_new(&w, &p, "/me", "1");
    assert_eq!(status, 303);
    let (status, html, _) = b.get("/me/upgrade");
    assert_eq!(status, 200);
    assert!(html.contains("01/04/2022"), "{html}");
    let csrf = crate::helpers::csrf_field(&html);
    let (status, html, _) = b.post_multipart(
        "/me/upgrade",
        &[("csrf", &csrf), ("passcode", PASSCODE)],
        &eid::verifier::dev_portrait(p.id.as_str()),
    );
    assert_eq!(status, 409, "{html}");
    let t = text(&html);
    let name = Units::get()
        .unit(Tree::Gso2024, &w.commune)
        .unwrap()
        .name
        .clone();
    assert!(
        t.contains("Cần đến nơi tiếp nhận để nâng cấp") && t.contains(&name),
        "{t}"
    );
    assert!(t.contains("1900 0368"), "{t}");
}

#[test]
fn the_phone_changes_with_both_codes_and_a_forgotten_password_is_reset() {
    let w = World::new("me_changes");
    let p = w.person(date!(2023 - 05 - 01));
    w.level1_by_app(&p);
    let mut b = Browser::new(&w.base);
    assert_eq!(b.sign_in_new(&w, &p, "/me", "1").0, 303);
    let csrf = b.csrf("/me/phone");
    let old = p.phone.as_ref().unwrap().national();
    let (status, html, _) = b.post(
        "/me/phone",
        &[("csrf", &csrf), ("new_phone", &old), ("passcode", PASSCODE)],
    );
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("Số mới trùng với số hiện tại"), "{html}");
    let new = PhoneNumber::parse("0987654321").unwrap();
    let (status, html, _) = b.post(
        "/me/phone",
        &[
            ("csrf", &csrf),
            ("new_phone", &new.national()),
            ("passcode", PASSCODE),
        ],
    );
    assert_eq!(status, 200, "{html}");
    let handle = hidden(&html, "handle");
    let (code_old, code_new) = (
        w.code(&p, "phone_old"),
        w.code_to(new.as_str(), "phone_new"),
    );
    let (status, _, loc) = b.post(
        "/me/phone/confirm",
        &[
            ("csrf", &csrf),
            ("handle", &handle),
            ("code_old", &code_old),
            ("code_new", &code_new),
        ],
    );
    assert_eq!((status, loc.as_deref()), (303, Some("/me?done=phone")));
    let (_, html, _) = b.get("/me?done=phone");
    assert!(
        html.contains("Đã đổi số điện thoại") && html.contains(&new.masked()),
        "{html}"
    );

    // Signed out, on another browser: the reset code goes to the new number.
    let mut r = Browser::new(&w.base);
    let csrf = r.csrf("/me/reset");
    let (status, html, _) = r.post(
        "/me/reset",
        &[
            ("csrf", &csrf),
            ("personal_id", p.id.as_str()),
            ("phone", &new.national()),
        ],
    );
    assert_eq!(status, 200, "{html}");
    let handle = hidden(&html, "handle");
    let code = w.code_to(new.as_str(), "reset");
    let (status, _, loc) = r.post(
        "/me/reset/confirm",
        &[
            ("csrf", &csrf),
            ("handle", &handle),
            ("code", &code),
            ("password", "Mật-khẩu-Đặt-Lại-2028"),
        ],
    );
    assert_eq!(
        (status, loc.as_deref()),
        (303, Some("/me/signin?done=reset"))
    );
    // The new password is taken (a new browser: the code page), the old one is not.
    assert_eq!(r.sign_in(&p, PASSWORD, "/me", "1").0, 401);
    assert_eq!(r.sign_in(&p, "Mật-khẩu-Đặt-Lại-2028", "/me", "1").0, 202);
}

#[test]
fn a_guardian_opens_a_childs_account_from_the_children_page() {
    let w = World::new("me_children");
    let parent = w.person(date!(2023 - 05 - 01));
    w.level2_by_app(&parent);
    let child = w.person_born(date!(2016 - 09 - 01), None);
    let (s, r) = w.api(
        &format!("/api/v1/persons/{}/guardians", child.id.as_str()),
        Some(&w.xa.token),
        json!({ "guardian_id": parent.id.as_str(), "relation": "mother" }),
    );
    assert_eq!(s, 204, "{r}");
    let mut b = Browser::new(&w.base);
    assert_eq!(b.sign_in_new(&w, &parent, "/me", "1").0, 303);
    let (status, html, _) = b.get("/me/children");
    assert_eq!(status, 200);
    assert!(
        html.contains("Nguyễn Thị Hoa") && html.contains("Chưa có tài khoản"),
        "{html}"
    );
    let csrf = crate::helpers::csrf_field(&html);
    let form = |pc: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("child_personal_id", child.id.as_str().to_owned()),
            ("child_password", "Mật-khẩu-Của-Con-2026".to_owned()),
            ("child_passcode", "112233".to_owned()),
            ("passcode", pc.to_owned()),
        ]
    };
    let wrong = form("000000");
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html, _) = b.post("/me/children", &wrong);
    assert_eq!(status, 401, "{html}");
    assert!(html.contains("Mã khóa không đúng"), "{html}");
    let right = form(PASSCODE);
    let right: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, loc) = b.post("/me/children", &right);
    assert_eq!(
        (status, loc.as_deref()),
        (303, Some("/me/children?done=child"))
    );
    let (_, html, _) = b.get("/me/children?done=child");
    assert!(
        html.contains("Đã tạo tài khoản cho con") && html.contains("Đã có tài khoản"),
        "{html}"
    );
}
