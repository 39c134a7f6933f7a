//! The wallet over real HTTP (issue 15): level 2 only; a document asked for before its sector
//! row matched says why; once matched it shows; a QR presentation discloses only the chosen
//! claims and verifies with the published JWKS and status list (eid's core, the `eid verify
//! credential` CLI, and pip `pycose` — not eid's code); the online check accepts it once and
//! records the read; a withdrawn one is refused.

use std::process::Command;

use eid_core::linkage::files::Mapping;
use eid_core::linkage::service::{self, Source};
use eid_core::linkage::Thresholds;
use eid_core::wallet::{cred, status};
use eid_core::Actor;
use serde_json::Value;
use time::macros::date;

use super::{text, Browser, World, PASSCODE};
use crate::helpers::{agent, call, post_form};

fn textarea(html: &str, id: &str) -> String {
    let key = format!("id=\"{id}\"");
    let at = html.find(&key).unwrap_or_else(|| panic!("no {id}: {html}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</textarea>").unwrap();
    // askama escapes HTML; base45 has no character it escapes but the space is kept as is.
    rest[start..end].to_owned()
}

fn python() -> String {
    std::env::var("EID_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_owned())
}

#[test]
fn the_wallet_integrates_a_matched_card_and_its_qr_verifies_online_offline_and_independently() {
    let w = World::new("me_wallet");
    let p = w.person(date!(2023 - 05 - 01));
    let q = w.person(date!(2023 - 05 - 01));
    w.level2_by_app(&p);
    let mut b = Browser::new(&w.base);

    // A level-1 session is sent to the passcode step first.
    let (status, _, loc) = b.sign_in_new(&w, &p, "/me", "1");
    assert_eq!(status, 303);
    assert_eq!(loc.as_deref(), Some("/me"));
    let (status, _, loc) = b.get("/me/wallet");
    assert_eq!(status, 303);
    assert_eq!(
        loc.as_deref(),
        Some("/me/signin?next=%2Fme%2Fwallet&acr=2&fresh=0")
    );
    let (_, html, _) = b.get("/me/signin/passcode?next=%2Fme%2Fwallet&acr=2");
    let csrf = crate::helpers::csrf_field(&html);
    let (status, _, loc) = b.post(
        "/me/signin/passcode",
        &[
            ("csrf", &csrf),
            ("passcode", PASSCODE),
            ("next", "/me/wallet"),
            ("acr", "2"),
        ],
    );
    assert_eq!((status, loc.as_deref()), (303, Some("/me/wallet")));

    // The electronic identity card as the register holds it.
    let (status, html, _) = b.get("/me/wallet");
    assert_eq!(status, 200, "{html}");
    let page = text(&html);
    assert!(page.contains("Thẻ Căn cước điện tử"), "{page}");
    assert!(page.contains("Nguyễn Thị Hoa"));
    assert!(page.contains(p.id.as_str()));
    assert!(page.contains("15/03/1990"));
    assert!(page.contains("Chưa tích hợp"));

    // Asked for before any sector row: a page that says why and what to do.
    let csrf = crate::helpers::csrf_field(&html);
    let (status, _, loc) = b.post(
        "/me/wallet/integrate",
        &[("csrf", &csrf), ("kind", "health_insurance")],
    );
    assert_eq!(
        (status, loc.as_deref()),
        (303, Some("/me/wallet/doc/health_insurance"))
    );
    let (_, html, _) = b.get("/me/wallet/doc/health_insurance");
    assert!(
        text(&html).contains("chưa gửi dữ liệu nào của bạn"),
        "{html}"
    );
    assert!(!html.contains("GD4"));
    // A form without its token is refused.
    let (status, _, _) = b.post("/me/wallet/integrate", &[("kind", "driving_licence")]);
    assert_eq!(status, 403);

    // The health-insurance file arrives and matches p (and q): the card shows, with its source.
    let actor = Actor::Cli("test".into());
    let now = crate::helpers::now();
    service::define_source(
        w.store.as_ref(),
        &actor,
        now,
        &Source {
            name: "bhyt".into(),
            kind: "health_insurance".into(),
            mapping: Mapping::identity(),
        },
    )
    .unwrap();
    let mut rows = vec![
        "row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit_tree,unit,card_number,valid_to"
            .to_owned(),
    ];
    // Others of the commune in the same file, so that the matcher has a population to learn.
    let others: Vec<_> = (1..40)
        .map(|d| w.person_born(date!(1960 - 01 - 01) + time::Duration::days(d * 211), None))
        .collect();
    for (i, x) in [&p, &q].into_iter().chain(others.iter()).enumerate() {
        rows.push(format!(
            "H{i},{},Nguyễn,Thị,Hoa,{},F,2024,{},GD479000000{i},2027-12-31",
            x.id.as_str(),
            x.birth,
            w.commune.as_str()
        ));
    }
    service::import(
        w.store.as_ref(),
        &actor,
        now,
        "bhyt",
        "bhyt.csv",
        date!(2026 - 11 - 20),
        rows.join("\n").as_bytes(),
        &Thresholds::default(),
        &mut |_| {},
    )
    .unwrap();
    let (_, html, _) = b.get("/me/wallet/doc/health_insurance");
    let page = text(&html);
    assert!(page.contains("GD4790000000"), "{page}");
    assert!(page.contains("31/12/2027"));
    assert!(page.contains("bhyt"));
    assert!(page.contains("20/11/2026"));
    assert!(!page.contains("GD4790000001"), "only p's own card");

    // A QR disclosing name and health-insurance number.
    let (_, html, _) = b.get("/me/wallet");
    let csrf = crate::helpers::csrf_field(&html);
    let form = [
        ("csrf", csrf.as_str()),
        ("purpose", "health"),
        ("attr", "name"),
        ("attr", "hi"),
    ];
    let (status, html, _) = b.post("/me/wallet/present", &form);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<svg"), "the QR is drawn on the server");
    let qr = textarea(&html, "qr-text");
    assert!(qr.starts_with("EID1:"), "{qr}");
    assert!(!qr.contains(p.id.as_str()));

    // The published keys and status list verify it (eid's core, as the desk does).
    let jwks: Value = call(agent().get(&format!("{}/oauth2/jwks", w.base)))
        .into_json()
        .unwrap();
    let r = call(agent().get(&format!("{}{}", w.base, status::PATH)));
    assert_eq!(r.header("content-type"), Some("application/statuslist+jwt"));
    let token = r.into_string().unwrap();
    let list = status::read_token(&token, &jwks, now).unwrap();
    let v = cred::verify(&qr, &jwks, Some(&list), now).unwrap();
    let names: Vec<&str> = v.claims.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["name", "hi", "hi_to"]);
    assert_eq!(v.claims[1].1, "GD4790000000");

    // The CLI, offline, from the saved JWKS and status list.
    let dir = crate::helpers::temp_dir("wallet-cli");
    let (jf, sf, tf) = (
        dir.join("jwks.json"),
        dir.join("status.jwt"),
        dir.join("qr.txt"),
    );
    std::fs::write(&jf, jwks.to_string()).unwrap();
    std::fs::write(&sf, &token).unwrap();
    std::fs::write(&tf, &qr).unwrap();
    let eid = |text: &str| {
        Command::new(env!("CARGO_BIN_EXE_eid"))
            .args(["verify", "credential", text, "--jwks"])
            .arg(&jf)
            .arg("--status")
            .arg(&sf)
            .env_remove("EID_DB")
            .output()
            .unwrap()
    };
    let out = eid(&qr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("hi: GD4790000000"), "{stdout}");
    let mut bytes = cred::decode_text(&qr).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x40;
    let tampered = format!("{}{}", cred::PREFIX, cred::base45(&bytes));
    let out = eid(&tampered);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad_signature"));

    // An independent implementation (pip pycose, cbor2, base45) with only the published JWKS.
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/wallet/verify_pycose.py"
    );
    let py = |text_file: &std::path::Path, at: Option<i64>| {
        let mut c = Command::new(python());
        c.arg(script).arg(&jf).arg(text_file);
        if let Some(t) = at {
            c.arg(t.to_string());
        }
        c.output().unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): scripts/test installs pycose",
                python()
            )
        })
    };
    let out = py(&tf, Some(now.unix_timestamp()));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !said.contains("No module named"),
        "pip pycose, cbor2 and base45 are needed (scripts/test installs them): {said}"
    );
    assert!(out.status.success(), "{said}");
    let shown: Value = serde_json::from_str(said.trim()).unwrap();
    assert_eq!(shown["name"], "Nguyễn Thị Hoa");
    assert_eq!(shown["hi"], "GD4790000000");
    assert_eq!(shown["purpose"], "health");
    assert!(shown.get("pid").is_none());
    // Expired for it a minute later; tampered refused.
    let out = py(&tf, Some(now.unix_timestamp() + 61));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("expired"));
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, &tampered).unwrap();
    let out = py(&bad, Some(now.unix_timestamp()));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad_signature"));

    // Online: accepted once and recorded for the citizen; a second read is a replay.
    let online = |text: &str| -> Value {
        post_form(
            agent().post(&format!("{}/verify/online", w.base)),
            &[("text", text), ("verifier", "Bệnh viện Chợ Rẫy, quầy 2")],
        )
        .into_json()
        .unwrap()
    };
    let r = online(&qr);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["claims"]["hi"], "GD4790000000");
    assert_eq!(online(&qr)["code"], "replayed");
    assert_eq!(online(&tampered)["code"], "bad_signature");
    let (_, html, _) = b.get("/me/wallet");
    assert!(text(&html).contains("Bệnh viện Chợ Rẫy, quầy 2"), "{html}");
    // The read is in the citizen's "who used my data" log too, with what was disclosed.
    let (_, uses, _) = b.get("/me/data-use");
    let uses = text(&uses);
    assert!(
        uses.contains("Bệnh viện Chợ Rẫy, quầy 2") && uses.contains("thẻ bảo hiểm y tế"),
        "{uses}"
    );

    // Withdrawn: the status list says so and the online check refuses it.
    let csrf = crate::helpers::csrf_field(&html);
    let form = [
        ("csrf", csrf.as_str()),
        ("purpose", "age"),
        ("attr", "over18"),
    ];
    let (_, html, _) = b.post("/me/wallet/present", &form);
    let second = textarea(&html, "qr-text");
    let cti = super::hidden(&html, "cti");
    let (status, _, loc) = b.post("/me/wallet/revoke", &[("csrf", &csrf), ("cti", &cti)]);
    assert_eq!(
        (status, loc.as_deref()),
        (303, Some("/me/wallet?done=revoked"))
    );
    let token = call(agent().get(&format!("{}{}", w.base, status::PATH)))
        .into_string()
        .unwrap();
    let list = status::read_token(&token, &jwks, now).unwrap();
    assert_eq!(
        cred::verify(&second, &jwks, Some(&list), now),
        Err(cred::Invalid::Revoked)
    );
    assert_eq!(online(&second)["code"], "revoked");

    // The desk page: its own script, allowed by its policy, and the labels in Vietnamese.
    let r = call(agent().get(&format!("{}/verify", w.base)));
    assert_eq!(r.status(), 200);
    let csp = r.header("content-security-policy").unwrap().to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = r.into_string().unwrap();
    assert!(html.contains("/static/verify.js"));
    assert!(html.contains("Số thẻ bảo hiểm y tế"));
    let r = call(agent().get(&format!("{}/static/verify.js", w.base)));
    assert_eq!(r.status(), 200);
    assert!(r.into_string().unwrap().contains("crypto.subtle.verify"));
}

#[test]
fn a_relying_partys_check_of_a_qr_reads_naturally_on_who_used_my_data_in_both_languages() {
    let w = World::new("me_wallet_rp");
    let p = w.person(date!(2023 - 05 - 01));
    w.level2_by_app(&p);
    let mut b = Browser::new(&w.base);
    let (status, _, _) = b.sign_in_new(&w, &p, "/me", "1");
    assert_eq!(status, 303);
    let (_, html, _) = b.get("/me/signin/passcode?next=%2Fme%2Fwallet&acr=2");
    let csrf = crate::helpers::csrf_field(&html);
    let (status, _, _) = b.post(
        "/me/signin/passcode",
        &[
            ("csrf", &csrf),
            ("passcode", PASSCODE),
            ("next", "/me/wallet"),
            ("acr", "2"),
        ],
    );
    assert_eq!(status, 303);

    // The citizen shows a QR (over 18 and name, for banking) to a bank's system.
    let (_, html, _) = b.get("/me/wallet");
    let csrf = crate::helpers::csrf_field(&html);
    let (status, html, _) = b.post(
        "/me/wallet/present",
        &[
            ("csrf", csrf.as_str()),
            ("purpose", "bank"),
            ("attr", "over18"),
            ("attr", "name"),
        ],
    );
    assert_eq!(status, 200, "{html}");
    let qr = textarea(&html, "qr-text");
    let (_, secret) = eid_core::oidc::clients::add(
        w.store.as_ref(),
        &crate::oidc::ministry(),
        &eid_core::oidc::clients::NewClient {
            client_id: Some("vcb".into()),
            name_vi: "Ngân hàng Ngoại thương".into(),
            name_en: "Vietcombank".into(),
            logo_uri: None,
            redirect_uris: vec!["https://vcb.example.vn/cb".into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            scopes: vec!["profile".into()],
            acr_values: vec![eid_core::oidc::ACR_LOA1.into()],
            id_token_alg: eid_core::oidc::jose::Alg::Es256,
            auth_method: eid_core::oidc::clients::AuthMethod::ClientSecretBasic,
            jwks: None,
            require_par: false,
            sector_identifier: None,
            dpop_bound: false,
        },
    )
    .unwrap();
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("vcb:{}", secret.unwrap()),
    );
    let r = crate::helpers::send_json(
        agent()
            .post(&format!("{}/api/v1/presentations/verify", w.base))
            .header("authorization", &format!("Basic {basic}")),
        serde_json::json!({ "presentation": qr, "purpose": "bank" }),
    );
    assert_eq!(r.status(), 200);
    let read: Value = r.into_json().unwrap();
    assert_eq!(read["claims"]["name"], "Nguyễn Thị Hoa", "{read}");
    assert_eq!(read["claims"]["over18"], true, "{read}");

    // Vietnamese (the default): the service by name, what it saw and why, in words.
    let (_, html, _) = b.get("/me/data-use");
    let page = text(&html);
    let entry = |page: &str| -> String {
        let at = page
            .find("Ngân hàng Ngoại thương")
            .unwrap_or_else(|| panic!("{page}"));
        page[at..].chars().take(220).collect()
    };
    let vi = entry(&page);
    for words in [
        "Dịch vụ",
        "Dữ liệu: đủ 18 tuổi, họ tên",
        "Mục đích: Giao dịch ngân hàng, qua mã QR bạn xuất trình",
    ] {
        assert!(vi.contains(words), "{words:?} in {vi}");
    }
    for raw in ["wallet", "rp.bank", "over18", "Service", "Banking"] {
        assert!(!vi.contains(raw), "{raw:?} leaks into {vi}");
    }
    // The wallet's own list of reads names the bank too.
    let (_, html, _) = b.get("/me/wallet");
    assert!(text(&html).contains("Ngân hàng Ngoại thương"));

    // English.
    b.jar.insert("lang".into(), "en".into());
    let (_, html, _) = b.get("/me/data-use");
    let en = entry(&text(&html));
    for words in [
        "Service",
        "What: over 18, name",
        "Purpose: Banking, from a QR code you showed",
    ] {
        assert!(en.contains(words), "{words:?} in {en}");
    }
    for raw in ["wallet", "rp.bank", "over18", "Dịch vụ", "Giao dịch"] {
        assert!(!en.contains(raw), "{raw:?} leaks into {en}");
    }
}
