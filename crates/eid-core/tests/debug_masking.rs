//! No personal data in `Debug`: every eid-core type that holds a personal ID, a name, a phone,
//! a birth date, an address, an SMS body, a code, a token or a hash is built with known values,
//! formatted with `{:?}` and `{:#?}`, and none of those values may appear; its id still does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eid_core::accounts::{Account, AccountEvent, Application, Collected, SignIn, Sms};
use eid_core::intake::{MatchResult, Packet, PacketFields};
use eid_core::ops::{OutreachFilter, OutreachRow, Proposal};
use eid_core::store::{
    AuditEntry, NewStaff, PersonEvent, Role, SearchQuery, Session, Staff, StoredPerson,
};
use eid_core::Actor;
use eid_domain::{
    AccountLevel, AccountState, ApplicationState, BirthDate, Card, LifeStatus, Person, PersonName,
    PersonalId, PhoneNumber, PhoneType, ProposalState, Residence, Sex, SmsState, UnitCode,
};
use time::macros::{date, datetime};
use time::OffsetDateTime;

const ID: &str = "001204012345";
const GUARDIAN: &str = "079199000123";
const PHONE: &str = "+84912345678";
const BIRTH: &str = "1990-05-17";
const ADDRESS: &str = "12 Ngõ Huế, phường Phố Huế";
const BODY: &str = "Ma xac thuc cua ban la 482915. Khong chia se ma nay.";
const CODE: &str = "482915";
const TOKEN: &str = "tok9f8e7d6c5b4a39";
const HANDLE: &str = "hdl55aa66bb77cc";
const CSRF: &str = "csrfa1b2c3d4e5f6";
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
const REASON: &str = "mất điện thoại ở chợ Đồng Xuân";
const USERNAME: &str = "nguyen.van.an";
const DISPLAY: &str = "Nguyễn Văn An";
const NONCE: &str = "nonce77aa88bb99cc";
const HOUSEHOLD: &str = "HK-0099-7788";
const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 UTC);

/// What must never show, in every form it could take.
const SECRETS: &[&str] = &[
    ID,
    GUARDIAN,
    PHONE,
    "0912345678",
    "912345678",
    BIRTH,
    "Ngõ Huế",
    "Phố Huế",
    "Ma xac thuc",
    CODE,
    TOKEN,
    HANDLE,
    CSRF,
    "argon2id",
    "mất điện thoại",
    USERNAME,
    "Nguyễn",
    "Khai",
    NONCE,
    HOUSEHOLD,
    "0707070707",
];

/// Formats `v` both ways; none of [`SECRETS`] may show, every `shown` must.
fn check<T: std::fmt::Debug>(what: &str, v: &T, shown: &[&str]) {
    for text in [format!("{v:?}"), format!("{v:#?}")] {
        for s in SECRETS {
            assert!(!text.contains(s), "{what} shows {s:?}: {text}");
        }
        for s in shown {
            assert!(text.contains(s), "{what} should show {s:?}: {text}");
        }
    }
}

fn unit(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

fn person() -> Person {
    Person {
        id: PersonalId::parse(ID).unwrap(),
        name: PersonName::parse("Nguyễn", "Thị Minh", "Khai").unwrap(),
        birth: BirthDate::Full(date!(1990 - 05 - 17)),
        sex: Sex::Female,
        hometown: None,
        residence: Residence {
            unit: unit("00004"),
            address: ADDRESS.into(),
        },
        temporary: Some(Residence {
            unit: unit("00004"),
            address: ADDRESS.into(),
        }),
        household: Some(HOUSEHOLD.into()),
        phone: Some(PhoneNumber::parse(PHONE).unwrap()),
        phone_type: PhoneType::Smartphone,
        life: LifeStatus::ALIVE,
        card: Some(Card {
            issued: date!(2021 - 03 - 01),
            revoked: false,
        }),
    }
}

fn account() -> Account {
    Account {
        id: 4242,
        personal_id: PersonalId::parse(ID).unwrap(),
        level: AccountLevel::Two,
        state: AccountState::Active,
        phone: PHONE.into(),
        guardian: Some(GUARDIAN.into()),
        commune: unit("00004"),
        res_path: 7,
        verifier: Some("dev-hash".into()),
        verifier_score: Some(0.97),
        holder_lock: false,
        officer_lock: Some(REASON.into()),
        register_lock: None,
        failures: 1,
        locked_out_until: None,
        device_hash: Some(TOKEN.as_bytes().to_vec()),
        created_at: NOW,
        activated_at: Some(NOW),
    }
}

fn application() -> Application {
    Application {
        id: 5151,
        personal_id: PersonalId::parse(ID).unwrap(),
        phone: PHONE.into(),
        match_method: "fingerprint".into(),
        match_against: "card".into(),
        matched: true,
        match_score: Some(0.99),
        officer_id: 3,
        device_id: 9,
        unit: unit("00004"),
        commune: unit("00004"),
        collected_at: NOW,
        state: ApplicationState::Rejected,
        review_reason: None,
        reject_reason: Some(REASON.into()),
        decided_by: Some("staff:3".into()),
        updated_at: NOW,
    }
}

fn staff() -> Staff {
    Staff {
        id: 31,
        username: USERNAME.into(),
        display_name: DISPLAY.into(),
        role: Role::Commune,
        unit: unit("00004"),
        disabled: false,
    }
}

#[test]
fn the_register_types_mask_the_person() {
    check(
        "Person",
        &person(),
        &["PersonalId(001204…)", "BirthDate(1990-…)"],
    );
    check(
        "StoredPerson",
        &StoredPerson {
            person: person(),
            version: 3,
            updated_at: NOW,
        },
        &["version: 3"],
    );
    check(
        "PersonEvent",
        &PersonEvent {
            seq: 77,
            at: NOW,
            actor: Actor::Staff(3),
            kind: "updated".into(),
            reason: REASON.into(),
            changes: serde_json::json!({ "phone": [PHONE, "+84987654321"], "residence_address": [ADDRESS, "x"] }),
        },
        &["seq: 77", "\"phone\"", "\"residence_address\""],
    );
    check(
        "SearchQuery",
        &SearchQuery {
            name_prefix: "nguyen thi minh khai".into(),
            birth_year: Some(1990),
            birth_date: Some(date!(1990 - 05 - 17)),
            within: unit("01"),
            limit: 20,
        },
        &["limit: 20"],
    );
}

#[test]
fn the_account_types_mask_phones_bodies_codes_and_tokens() {
    check(
        "Account",
        &account(),
        &["id: 4242", "PersonalId(001204…)", "0******678"],
    );
    check(
        "AccountEvent",
        &AccountEvent {
            seq: 12,
            at: NOW,
            kind: "locked_by_officer".into(),
            actor: Actor::Staff(3),
            application_id: None,
            unit: None,
            device_id: None,
            detail: serde_json::json!({ "reason": REASON, "to": PHONE }),
        },
        &["seq: 12", "locked_by_officer", "\"reason\""],
    );
    check(
        "Sms",
        &Sms {
            id: 88,
            to: PHONE.into(),
            body: BODY.into(),
            purpose: "register".into(),
            state: SmsState::Pending,
            attempts: 0,
            created_at: NOW,
            sent_at: None,
            last_error: None,
        },
        &["id: 88", "0******678", "register"],
    );
    check("Application", &application(), &["id: 5151", "Rejected"]);
    check(
        "Collected",
        &Collected {
            application: application(),
            review_reason: None,
        },
        &["id: 5151"],
    );
    check(
        "SignIn::Session",
        &SignIn::Session {
            token: TOKEN.into(),
            expires_at: NOW,
        },
        &["Session", "expires_at"],
    );
    check(
        "SignIn::DeviceCheck",
        &SignIn::DeviceCheck {
            handle: HANDLE.into(),
        },
        &["DeviceCheck"],
    );
}

#[test]
fn intake_packets_mask_the_applicant() {
    let matching = MatchResult {
        method: "fingerprint".into(),
        against: "card".into(),
        matched: true,
        score: Some(0.9),
    };
    check(
        "Packet",
        &Packet {
            device: 9,
            personal_id: PersonalId::parse(ID).unwrap(),
            phone: PhoneNumber::parse(PHONE).unwrap(),
            portrait_sha256: [7; 32],
            matching,
            officer: "can.bo.xa".into(),
            collected_at: NOW,
            nonce: NONCE.into(),
            hash: [1; 32],
        },
        &["device: 9", "PersonalId(001204…)", "fingerprint"],
    );
    check(
        "PacketFields",
        &PacketFields {
            device: 9,
            personal_id: ID,
            phone: PHONE,
            portrait_sha256: [7; 32],
            method: "fingerprint",
            against: "card",
            matched: true,
            score: 0.9,
            officer: "can.bo.xa",
            collected_at: NOW,
            nonce: [9; 16],
        },
        &["device: 9", "PersonalId(001204…)", "0******678"],
    );
}

#[test]
fn operations_types_mask_the_people_on_lists() {
    check(
        "OutreachRow",
        &OutreachRow {
            personal_id: ID.into(),
            name: "Nguyễn Thị Minh Khai".into(),
            birth_date: BIRTH.into(),
            address: ADDRESS.into(),
            phone: Some(PHONE.into()),
            phone_type: "smartphone".into(),
            account_level: Some(AccountLevel::One),
            application_state: Some(ApplicationState::Review),
            assignee: Some("to 3".into()),
            due: None,
            last_outcome: Some("not_home".into()),
        },
        &["PersonalId(001204…)", "0******678", "Review"],
    );
    check(
        "OutreachFilter",
        &OutreachFilter {
            missing: "no_account".into(),
            address: Some(ADDRESS.into()),
            min_age: Some(14),
            max_age: None,
            phone_type: None,
            limit: 50,
        },
        &["no_account", "limit: 50"],
    );
    check(
        "Proposal",
        &Proposal {
            id: 61,
            personal_id: ID.into(),
            commune: unit("00004"),
            proposed: "dead".into(),
            state: ProposalState::Open,
            created_at: NOW,
        },
        &["id: 61", "PersonalId(001204…)", "Open"],
    );
}

#[test]
fn staff_sessions_and_audit_entries_hide_names_hashes_and_tokens() {
    check("Staff", &staff(), &["id: 31", "Commune"]);
    check(
        "NewStaff",
        &NewStaff {
            username: USERNAME.into(),
            display_name: DISPLAY.into(),
            role: Role::Province,
            unit: unit("01"),
            password_hash: HASH.into(),
        },
        &["Province"],
    );
    check(
        "Session",
        &Session {
            staff: staff(),
            csrf: CSRF.into(),
            expires_at: NOW,
        },
        &["id: 31"],
    );
    check(
        "AuditEntry",
        &AuditEntry {
            seq: 909,
            at: NOW,
            actor: Actor::Staff(31),
            action: "person.read".into(),
            target: ID.into(),
            outcome: "ok".into(),
            request_id: "req-1".into(),
        },
        &["seq: 909", "person.read", "PersonalId(001204…)", "req-1"],
    );
}
