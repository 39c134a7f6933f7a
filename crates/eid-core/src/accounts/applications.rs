//! Level 2: applications collected by intake devices, reviewed and approved by officers, and
//! activated by the holder with the code sent to the phone; the self-service upgrade.

use std::fmt;

use eid_domain::redact;
use eid_domain::{AccountLevel, ApplicationState, DeviceStatus, PersonalId, Tree, UnitCode, Units};
use time::{Duration, OffsetDateTime};

use crate::intake::Packet;
use crate::secret::hex;
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, Actor, Role, Staff, Store, StoreError};

use super::*;

/// An application for level 2. Its `Debug` masks the phone.
#[derive(Clone, PartialEq)]
pub struct Application {
    pub id: i64,
    pub personal_id: PersonalId,
    /// E.164.
    pub phone: String,
    pub match_method: String,
    pub match_against: String,
    pub matched: bool,
    pub match_score: Option<f64>,
    pub officer_id: i64,
    pub device_id: i64,
    /// The collecting unit (the device's).
    pub unit: UnitCode,
    /// The applicant's residence commune.
    pub commune: UnitCode,
    pub collected_at: OffsetDateTime,
    pub state: ApplicationState,
    pub review_reason: Option<String>,
    pub reject_reason: Option<String>,
    pub decided_by: Option<String>,
    pub updated_at: OffsetDateTime,
}

pub(super) const APP_COLS: &str = "id, personal_id, phone, match_method, match_against, match_result, match_score, \
    officer_id, device_id, unit, commune, collected_at, state, review_reason, reject_reason, decided_by, updated_at, res_path";

pub(super) fn app_from(r: &SqlRow) -> Result<Application, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let unit = |v: Val| -> Result<UnitCode, StoreError> {
        UnitCode::parse(&v.text()?)
            .map_err(|e| StoreError::Corrupt(format!("application unit: {e}")))
    };
    Ok(Application {
        id: g(0).int()?,
        personal_id: PersonalId::parse(&g(1).text()?)
            .map_err(|e| StoreError::Corrupt(format!("application personal ID: {e}")))?,
        phone: g(2).text()?,
        match_method: g(3).text()?,
        match_against: g(4).text()?,
        matched: g(5).text()? == "match",
        match_score: g(6).opt_real()?,
        officer_id: g(7).int()?,
        device_id: g(8).int()?,
        unit: unit(g(9))?,
        commune: unit(g(10))?,
        collected_at: from_ms(g(11).int()?),
        state: ApplicationState::parse(&g(12).text()?).map_err(corrupt)?,
        review_reason: g(13).opt_text()?,
        reject_reason: g(14).opt_text()?,
        decided_by: g(15).opt_text()?,
        updated_at: from_ms(g(16).int()?),
    })
}

pub(super) fn app_where(
    tx: &mut dyn Tx,
    id: i64,
) -> Result<Option<(Application, i64)>, StoreError> {
    let sql = format!("SELECT {APP_COLS} FROM application WHERE id = $1");
    match tx.row(&sql, &[id.into()])? {
        Some(r) => {
            let path = r.get(17).cloned().unwrap_or(Val::Null).int()?;
            Ok(Some((app_from(&r)?, path)))
        }
        None => Ok(None),
    }
}

/// An application by id.
pub fn application(store: &dyn Store, id: i64) -> Result<Option<Application>, StoreError> {
    sql::read(store.db(), |tx| Ok(app_where(tx, id)?.map(|(a, _)| a)))
}

/// What to list.
#[derive(Debug, Clone)]
pub struct AppFilter {
    /// Collected inside this unit (2024 tree), or by a resident of it (as the unit's counters
    /// count them: a commune sees its residents' applications collected at the district).
    pub within: UnitCode,
    pub state: Option<ApplicationState>,
    /// Collected on this day (day number), if given.
    pub day: Option<i64>,
    pub limit: u32,
}

/// Applications collected inside a unit or by its residents, newest first.
pub fn applications(store: &dyn Store, f: &AppFilter) -> Result<Vec<Application>, StoreError> {
    let units = Units::get();
    let within = f.within;
    // Collecting units are few; filter them in memory, rows by index.
    let rows: Vec<Application> = sql::read(store.db(), |tx| {
        let sql = format!(
            "SELECT {APP_COLS} FROM application WHERE ($1 = '' OR state = $1) AND ($2 < 0 OR collected_day = $2) \
             ORDER BY id DESC"
        );
        let mut out = Vec::new();
        for r in tx.query(
            &sql,
            &[
                f.state.map_or("", ApplicationState::as_str).into(),
                f.day.unwrap_or(-1).into(),
            ],
        )? {
            let a = app_from(&r)?;
            if units.contains(Tree::Gso2024, &within, &a.unit)
                || units.contains(Tree::Gso2024, &within, &a.commune)
            {
                out.push(a);
                if out.len() >= f.limit as usize {
                    break;
                }
            }
        }
        Ok::<_, StoreError>(out)
    })?;
    Ok(rows)
}

/// The outcome of collecting an application.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    pub application: Application,
    /// Set when the application went to the review queue.
    pub review_reason: Option<String>,
}

/// Collects a verified application packet (its signature already checked against `device`).
pub fn collect(
    store: &dyn Store,
    s: &Settings,
    device: &Device,
    packet: &Packet,
    now: OffsetDateTime,
) -> Result<Collected, Refusal> {
    let officer = store.staff_by_username(&packet.officer)?.map(|(st, _)| st);
    let rows = Confirm::Not {
        device: device.clone(),
        officer,
    };
    collect_with(store, s, None, rows, packet, now).map_err(|e| match e {
        CollectError::Refused(r) => r,
        // Rows read from the store are not confirmed, so they cannot be stale.
        CollectError::Stale => Refusal::Store(StoreError::Db("unconfirmed rows were stale".into())),
    })
}

/// The device and officer a collection acts on, and whether its transaction must confirm them
/// (they came from a cache).
pub(super) enum Confirm {
    /// Read from the store for this request.
    Not {
        device: Device,
        officer: Option<Staff>,
    },
    /// From a cache: the transaction reads both rows again and rolls back with
    /// [`CollectError::Stale`] if either differs.
    Cached { device: Device, officer: Staff },
}

/// Why a collection did not happen: a refusal, or a cached row that no longer matches the store.
#[derive(Debug)]
pub(super) enum CollectError {
    Refused(Refusal),
    Stale,
}

impl From<StoreError> for CollectError {
    fn from(e: StoreError) -> CollectError {
        CollectError::Refused(Refusal::Store(e))
    }
}

impl From<Refusal> for CollectError {
    fn from(r: Refusal) -> CollectError {
        CollectError::Refused(r)
    }
}

/// [`collect`] with its rows given, its transaction in `group`'s next group commit when there
/// is one (answered after that group's `COMMIT`; a refusal rolls back only its own writes).
pub(super) fn collect_with(
    store: &dyn Store,
    s: &Settings,
    group: Option<&sql::Group>,
    rows: Confirm,
    packet: &Packet,
    now: OffsetDateTime,
) -> Result<Collected, CollectError> {
    let (device, officer, confirm) = match rows {
        Confirm::Not { device, officer } => (device, officer, false),
        Confirm::Cached { device, officer } => (device, Some(officer), true),
    };
    match device.status {
        DeviceStatus::Active => {}
        DeviceStatus::Suspended | DeviceStatus::Retired => {
            return Err(Refusal::DeviceInactive(device.status).into());
        }
    }
    if packet.collected_at > now + Duration::minutes(5)
        || packet.collected_at < now - Duration::days(7)
    {
        return Err(Refusal::PacketTime.into());
    }
    let officer = match officer {
        Some(st) if !st.disabled && st.role != Role::Auditor => st,
        _ => return Err(Refusal::OfficerUnknown.into()),
    };
    if !Units::get().contains(Tree::Gso2024, &officer.unit, &device.unit) {
        return Err(Refusal::OfficerOutsideScope.into());
    }
    let today = now.to_offset(vietnam()).date();
    let person = store
        .person(&packet.personal_id)?
        .map(|p| p.person)
        .ok_or(Refusal::PersonUnknown)?;
    alive(&person)?;
    valid_card(&person, today)?;
    let (commune, res_path) = residence(&person)?;
    // Checks that send the application to review rather than refuse it.
    let mut review: Vec<&'static str> = Vec::new();
    if !packet.matching.matched {
        review.push("the device found no fingerprint or portrait match");
    }
    if person.birth.age_on(today) < MIN_AGE {
        review.push("under 14: needs a guardian's consent on file");
    }
    if person
        .phone
        .as_ref()
        .is_some_and(|p| p.as_str() != packet.phone.as_str())
    {
        review.push("the phone differs from the one in the register");
    }
    let (s, packet) = (s.clone(), packet.clone());
    sql::transact_grouped(store.db(), group, move |tx| {
        if confirm && !rows_current(tx, &device, &officer)? {
            return Err(CollectError::Stale);
        }
        write_collected(
            tx, &s, &device, &officer, &packet, &review, commune, res_path, now,
        )
        .map_err(CollectError::Refused)
    })
}

/// Whether the device's and the officer's rows are still those a cache gave, read inside `tx`.
fn rows_current(tx: &mut dyn Tx, device: &Device, officer: &Staff) -> Result<bool, StoreError> {
    let now = device_in(tx, device.id)?;
    if now.as_ref() != Some(device) {
        return Ok(false);
    }
    Ok(eid_store::staff::staff_in(tx, officer.id)?.as_ref() == Some(officer))
}

/// The application's writes: the checks that need the transaction (a replay, an open
/// application), the row, its events, the counters, and the code and SMS if approved.
#[allow(clippy::too_many_arguments)]
fn write_collected(
    tx: &mut dyn Tx,
    s: &Settings,
    device: &Device,
    officer: &Staff,
    packet: &Packet,
    review: &[&str],
    commune: UnitCode,
    res_path: i64,
    now: OffsetDateTime,
) -> Result<Collected, Refusal> {
    let officer_actor = Actor::Staff(officer.id);
    if tx
        .row(
            "SELECT id FROM application WHERE packet_hash = $1",
            &[packet.hash.to_vec().into()],
        )?
        .is_some()
    {
        return Err(Refusal::Replay);
    }
    if tx
        .row(
            "SELECT id FROM application WHERE personal_id = $1 AND state IN ('review', 'approved', 'code_sent')",
            &[packet.personal_id.as_str().into()],
        )?
        .is_some()
    {
        return Err(replay_or_open(tx, packet)?);
    }
    let state = if review.is_empty() {
        // Approved automatically: the code is issued below in this transaction, so the
        // row is written once, in its final state.
        ApplicationState::CodeSent
    } else {
        ApplicationState::Review
    };
    let review_reason = (!review.is_empty()).then(|| review.join("; "));
    let at = packet.collected_at.min(now);
    let inserted = tx.row(
        "INSERT INTO application (personal_id, phone, portrait_hash, match_method, match_against, match_result, \
         match_score, officer_id, device_id, unit, commune, res_path, packet_hash, collected_at, collected_day, \
         state, review_reason, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         ON CONFLICT DO NOTHING RETURNING id",
        &[
            packet.personal_id.as_str().into(),
            packet.phone.as_str().into(),
            packet.portrait_sha256.to_vec().into(),
            packet.matching.method.as_str().into(),
            packet.matching.against.as_str().into(),
            (if packet.matching.matched { "match" } else { "no_match" }).into(),
            packet.matching.score.into(),
            officer.id.into(),
            device.id.into(),
            device.unit.as_str().into(),
            commune.as_str().into(),
            res_path.into(),
            packet.hash.to_vec().into(),
            to_ms(at).into(),
            day_of(at).into(),
            state.as_str().into(),
            review_reason.clone().into(),
            to_ms(now).into(),
        ],
    )?;
    // Nothing inserted: a request running at the same time stored this packet, or another
    // open application for the person, after the checks above.
    let Some(id) = inserted.and_then(|r| r.into_iter().next()) else {
        return Err(replay_or_open(tx, packet)?);
    };
    let id = id.int()?;
    let ev = |kind: &'static str, detail: serde_json::Value| NewEvent {
        personal_id: packet.personal_id.as_str(),
        account_id: None,
        application_id: Some(id),
        kind,
        commune: Some(commune.as_str()),
        res_path: Some(res_path),
        unit: Some(device.unit.as_str()),
        device_id: Some(device.id),
        actor: &officer_actor,
        detail,
    };
    record(
        tx,
        ev(
            "application_collected",
            serde_json::json!({
                "method": packet.matching.method,
                "against": packet.matching.against,
                "matched": packet.matching.matched,
                "packet_sha256": hex(&packet.hash),
            }),
        ),
        at,
    )?;
    bump(tx, metric::APPLICATIONS_COLLECTED, res_path, at)?;
    tx.exec(
        "INSERT INTO device_day_count (device_id, day, n) VALUES ($1, $2, 1) \
         ON CONFLICT (device_id, day) DO UPDATE SET n = device_day_count.n + 1",
        &[device.id.into(), day_of(at).into()],
    )?;
    match &review_reason {
        Some(why) => record(
            tx,
            ev("application_review", serde_json::json!({ "reason": why })),
            now,
        )?,
        None => {
            record(
                tx,
                ev(
                    "application_approved",
                    serde_json::json!({ "by": "automatic" }),
                ),
                now,
            )?;
            send_activation(
                tx,
                s,
                id,
                &packet.personal_id,
                packet.phone.as_str(),
                &commune,
                res_path,
                now,
                false,
            )?;
        }
    }
    let (application, _) = app_where(tx, id)?.ok_or(Refusal::NotFound("application.not_found"))?;
    Ok(Collected {
        application,
        review_reason,
    })
}

/// Why a packet finds an open application: it is that application's own packet (a copy sent
/// again, possibly at the same moment), or the person applied with another packet.
pub(super) fn replay_or_open(tx: &mut dyn Tx, packet: &Packet) -> Result<Refusal, StoreError> {
    let replay = tx
        .row(
            "SELECT id FROM application WHERE packet_hash = $1",
            &[packet.hash.to_vec().into()],
        )?
        .is_some();
    Ok(if replay {
        Refusal::Replay
    } else {
        Refusal::ApplicationOpen
    })
}

/// Issues an activation code for an approved application and queues its SMS.
#[allow(clippy::too_many_arguments)]
pub(super) fn send_activation(
    tx: &mut dyn Tx,
    s: &Settings,
    app_id: i64,
    id: &PersonalId,
    phone: &str,
    commune: &UnitCode,
    res_path: i64,
    now: OffsetDateTime,
    resend: bool,
) -> Result<(), StoreError> {
    let (_, code, _) = new_code(
        tx,
        NewCode {
            purpose: "activate",
            personal_id: Some(id.as_str()),
            account_id: None,
            application_id: Some(app_id),
            phone: Some(phone),
            payload: String::new(),
            ttl: s.activation_ttl,
            second: false,
        },
        now,
    )?;
    let until = (now + s.activation_ttl).to_offset(vietnam()).date();
    queue_sms(
        tx,
        phone,
        &format!(
            "Ho so tai khoan dinh danh dien tu muc 2 da duoc duyet. Ma kich hoat: {code}, hieu luc den het ngay {:02}/{:02}/{}. Kich hoat tren ung dung VNeID.",
            until.day(),
            u8::from(until.month()),
            until.year()
        ),
        "activate",
        now,
    )?;
    tx.exec(
        "UPDATE application SET state = 'code_sent', updated_at = $1 WHERE id = $2 AND state <> 'code_sent'",
        &[to_ms(now).into(), app_id.into()],
    )?;
    let actor = Actor::Cli("c06".into());
    record(
        tx,
        NewEvent {
            personal_id: id.as_str(),
            account_id: None,
            application_id: Some(app_id),
            kind: if resend {
                "activation_code_resent"
            } else {
                "activation_code_sent"
            },
            commune: Some(commune.as_str()),
            res_path: Some(res_path),
            unit: None,
            device_id: None,
            actor: &actor,
            detail: serde_json::json!({ "valid_until": eid_domain::iso(until) }),
        },
        now,
    )?;
    Ok(())
}

/// Whether `officer` may decide a review of an application collected at `unit`: their unit
/// contains it and is above it.
pub fn may_review(officer: &Staff, unit: &UnitCode) -> bool {
    officer.role != Role::Auditor
        && !officer.disabled
        && officer.unit != *unit
        && Units::get().contains(Tree::Gso2024, &officer.unit, unit)
}

/// A review decision.
pub enum Decision<'a> {
    Approve,
    Reject(&'a str),
}

/// Decides an application in review (approve: the code is sent), or rejects one in progress.
pub fn decide(
    store: &dyn Store,
    s: &Settings,
    app_id: i64,
    officer: &Staff,
    d: Decision<'_>,
    now: OffsetDateTime,
) -> Result<Application, Refusal> {
    sql::transact(store.db(), |tx| {
        // Takes the application's row lock first, so that decisions and re-sends of one
        // application arriving at once run one after the other, each seeing the last.
        tx.exec(
            "UPDATE application SET updated_at = updated_at WHERE id = $1",
            &[app_id.into()],
        )?;
        let (a, res_path) =
            app_where(tx, app_id)?.ok_or(Refusal::NotFound("application.not_found"))?;
        if !may_review(officer, &a.unit) {
            return Err(
                if officer.sees(&a.commune)
                    || Units::get().contains(Tree::Gso2024, &officer.unit, &a.unit)
                {
                    Refusal::NotHigherLevel
                } else {
                    Refusal::OfficerOutsideScope
                },
            );
        }
        let actor = Actor::Staff(officer.id);
        let ev = |kind: &'static str, detail: serde_json::Value| NewEvent {
            personal_id: a.personal_id.as_str(),
            account_id: None,
            application_id: Some(a.id),
            kind,
            commune: Some(a.commune.as_str()),
            res_path: Some(res_path),
            unit: Some(a.unit.as_str()),
            device_id: Some(a.device_id),
            actor: &actor,
            detail,
        };
        match d {
            Decision::Approve => {
                match a.state {
                    ApplicationState::Review => {}
                    ApplicationState::Approved
                    | ApplicationState::CodeSent
                    | ApplicationState::Activated
                    | ApplicationState::Rejected => {
                        return Err(Refusal::WrongState(format!(
                            "only an application in review can be approved; this one is {}",
                            a.state
                        )));
                    }
                }
                tx.exec(
                    "UPDATE application SET state = 'approved', decided_by = $1, updated_at = $2 WHERE id = $3",
                    &[actor.to_db().into(), to_ms(now).into(), a.id.into()],
                )?;
                record(
                    tx,
                    ev(
                        "application_approved",
                        serde_json::json!({ "by": "officer" }),
                    ),
                    now,
                )?;
                send_activation(
                    tx,
                    s,
                    a.id,
                    &a.personal_id,
                    &a.phone,
                    &a.commune,
                    res_path,
                    now,
                    false,
                )?;
            }
            Decision::Reject(reason) => {
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > 500 {
                    return Err(Refusal::Invalid(
                        "application.reason",
                        "a rejection needs a reason of 1 to 500 characters".into(),
                    ));
                }
                if !a.state.is_open() {
                    return Err(Refusal::WrongState(format!(
                        "the application is already {}",
                        a.state
                    )));
                }
                tx.exec(
                    "UPDATE application SET state = 'rejected', reject_reason = $1, decided_by = $2, updated_at = $3 WHERE id = $4",
                    &[reason.into(), actor.to_db().into(), to_ms(now).into(), a.id.into()],
                )?;
                tx.exec(
                    "UPDATE code SET state = 'dead' WHERE application_id = $1 AND state = 'open'",
                    &[a.id.into()],
                )?;
                record(
                    tx,
                    ev(
                        "application_rejected",
                        serde_json::json!({ "reason": reason }),
                    ),
                    now,
                )?;
            }
        }
        app_where(tx, a.id)?
            .map(|(a, _)| a)
            .ok_or(Refusal::NotFound("application.not_found"))
    })
}

/// Sends a new activation code for an application whose code was sent (the old code dies),
/// up to the configured number of sends.
pub fn resend_activation(
    store: &dyn Store,
    s: &Settings,
    app_id: i64,
    officer: &Staff,
    now: OffsetDateTime,
) -> Result<Application, Refusal> {
    sql::transact(store.db(), |tx| {
        // Takes the application's row lock first, so that decisions and re-sends of one
        // application arriving at once run one after the other, each seeing the last.
        tx.exec(
            "UPDATE application SET updated_at = updated_at WHERE id = $1",
            &[app_id.into()],
        )?;
        let (a, res_path) =
            app_where(tx, app_id)?.ok_or(Refusal::NotFound("application.not_found"))?;
        if !Units::get().contains(Tree::Gso2024, &officer.unit, &a.unit)
            && !officer.sees(&a.commune)
        {
            return Err(Refusal::OfficerOutsideScope);
        }
        if a.state != ApplicationState::CodeSent {
            return Err(Refusal::WrongState(format!(
                "a code is re-sent only after one was sent; this application is {}",
                a.state
            )));
        }
        let sends = tx.int(
            "SELECT count(*) FROM code WHERE application_id = $1 AND purpose = 'activate'",
            &[a.id.into()],
        )?;
        if sends >= i64::from(s.max_sends) {
            return Err(Refusal::TooManySends);
        }
        tx.exec(
            "UPDATE code SET state = 'dead' WHERE application_id = $1 AND state = 'open'",
            &[a.id.into()],
        )?;
        send_activation(
            tx,
            s,
            a.id,
            &a.personal_id,
            &a.phone,
            &a.commune,
            res_path,
            now,
            true,
        )?;
        app_where(tx, a.id)?
            .map(|(a, _)| a)
            .ok_or(Refusal::NotFound("application.not_found"))
    })
}

/// Activates level 2 with the code from the SMS: creates the account, or raises an existing one
/// to level 2, with the application's phone and the new secrets.
#[allow(clippy::too_many_arguments)]
pub fn activate(
    store: &dyn Store,
    s: &Settings,
    id: &PersonalId,
    code: &str,
    password_hash: &str,
    passcode_hash: &str,
    device_hash: &[u8],
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    let person = store.person(id)?.map(|p| p.person);
    with_code(
        store,
        s,
        now,
        (code, None),
        |tx| {
            let sql = format!(
            "SELECT {CODE_COLS} FROM code WHERE personal_id = $1 AND purpose = 'activate' AND state = 'open' \
             ORDER BY id DESC LIMIT 1"
        );
            let found = tx
                .row(&sql, &[id.as_str().into()])?
                .as_ref()
                .map(code_from)
                .transpose()?;
            Ok(found)
        },
        |tx, c| {
            let (Some(p), Some(app_id)) = (person.as_ref(), c.application_id) else {
                return Err(Refusal::BadCode);
            };
            let (commune, res_path) = residence(p)?;
            let phone = c.phone.clone().unwrap_or_default();
            let existing = account_where(tx, Key::Person(id.as_str()))?;
            let newly_active = !existing.as_ref().is_some_and(Account::is_active);
            let account_id = match existing {
            Some(a) => {
                account_key::exec(
                    tx,
                    "UPDATE account SET level = 2, state = 'active', phone = $1, password_hash = $2, passcode_hash = $3, \
                     device_hash = $4, commune = $5, res_path = $6, failures = 0, locked_out_until = NULL, \
                     activated_at = COALESCE(activated_at, $7), updated_at = $7 WHERE {account}",
                    &[phone.clone().into(), password_hash.into(), passcode_hash.into(), device_hash.to_vec().into(), commune.as_str().into(), res_path.into(), to_ms(now).into()],
                    a.key(),
                )?;
                a.id
            }
            None => tx.int(
                "INSERT INTO account (personal_id, level, state, phone, password_hash, passcode_hash, commune, res_path, \
                 device_hash, register_lock, created_at, activated_at, updated_at) \
                 VALUES ($1, 2, 'active', $2, $3, $4, $5, $6, $7, $8, $9, $9, $9) RETURNING id",
                &[
                    id.as_str().into(),
                    phone.clone().into(),
                    password_hash.into(),
                    passcode_hash.into(),
                    commune.as_str().into(),
                    res_path.into(),
                    device_hash.to_vec().into(),
                    register_lock_reason(p).into(),
                    to_ms(now).into(),
                ],
            )?,
        };
            tx.exec(
                "UPDATE application SET state = 'activated', updated_at = $1 WHERE id = $2",
                &[to_ms(now).into(), app_id.into()],
            )?;
            let a = account_where(tx, Key::Id(account_id))?
                .ok_or(Refusal::NotFound("account.not_found"))?;
            let actor = Actor::Anonymous;
            let mut e = NewEvent::account(&a, "level2_activated", &actor);
            e.application_id = Some(app_id);
            record(tx, e, now)?;
            bump(tx, metric::LEVEL2_ACTIVATED, res_path, now)?;
            if newly_active {
                bump(tx, metric::ACCOUNTS_ACTIVATED, res_path, now)?;
            }
            Ok(a)
        },
    )
}

/// Raises a level-1 account to level 2 from the app, with a fresh face match, when the holder's
/// card was issued on or after the self-service cut-off. Otherwise refuses with the units that
/// collect applications nearest to the holder's residence.
pub fn self_upgrade(
    store: &dyn Store,
    s: &Settings,
    account: &Account,
    verifier: &str,
    score: f64,
    matched: bool,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    let today = now.to_offset(vietnam()).date();
    if account.level >= AccountLevel::Two {
        return Err(Refusal::WrongState("the account is already level 2".into()));
    }
    let person = store
        .person(&account.personal_id)?
        .map(|p| p.person)
        .ok_or(Refusal::PersonUnknown)?;
    alive(&person)?;
    let issued = valid_card(&person, today)?;
    if issued < s.self_service_from {
        return Err(Refusal::GoInPerson {
            card_issued: Some(issued),
            units: nearest_collecting_units(store, &account.commune)?,
        });
    }
    if !matched {
        return Err(Refusal::FaceMismatch);
    }
    sql::transact(store.db(), |tx| {
        account_key::exec(
            tx,
            "UPDATE account SET level = 2, verifier = $1, verifier_score = $2, updated_at = $3 WHERE {account} AND level = 1",
            &[verifier.into(), score.into(), to_ms(now).into()],
            account.key(),
        )?;
        let actor = Actor::Anonymous;
        record(
            tx,
            NewEvent::account(account, "level2_activated", &actor).detail(
                serde_json::json!({ "by": "self_service", "verifier": verifier, "score": score }),
            ),
            now,
        )?;
        bump(tx, metric::LEVEL2_ACTIVATED, account.res_path, now)?;
        account_where(tx, account.key())?.ok_or(Refusal::NotFound("account.not_found"))
    })
}

/// Units with an active intake device, nearest first: the commune, its district, its province.
pub fn nearest_collecting_units(
    store: &dyn Store,
    commune: &UnitCode,
) -> Result<Vec<String>, StoreError> {
    let units = Units::get();
    let mut rings: Vec<UnitCode> = vec![*commune];
    // `ancestors` is nearest first: the district, then the province.
    for a in units.ancestors(Tree::Gso2024, commune) {
        rings.push(a.code);
    }
    // One read of the province's active devices, then ring by ring.
    let province = rings.last().copied().unwrap_or(*commune);
    let active: Vec<Device> = devices(store, &province)?
        .into_iter()
        .filter(|d| d.status == DeviceStatus::Active)
        .collect();
    let mut out: Vec<String> = Vec::new();
    for ring in rings {
        for d in active
            .iter()
            .filter(|d| units.contains(Tree::Gso2024, &ring, &d.unit))
        {
            if !out.iter().any(|u| u == d.unit.as_str()) {
                out.push(d.unit.as_str().to_owned());
            }
        }
        if out.len() >= 5 {
            break;
        }
    }
    out.truncate(5);
    Ok(out)
}

impl fmt::Debug for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Application")
            .field("id", &self.id)
            .field("personal_id", &self.personal_id)
            .field("phone", &redact::Phone(&self.phone))
            .field("match_method", &self.match_method)
            .field("match_against", &self.match_against)
            .field("matched", &self.matched)
            .field("match_score", &self.match_score)
            .field("officer_id", &self.officer_id)
            .field("device_id", &self.device_id)
            .field("unit", &self.unit)
            .field("commune", &self.commune)
            .field("collected_at", &self.collected_at)
            .field("state", &self.state)
            .field("review_reason", &self.review_reason)
            .field(
                "reject_reason",
                &self.reject_reason.as_deref().map(redact::Text),
            )
            .field("decided_by", &self.decided_by)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}
