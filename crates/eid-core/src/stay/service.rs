//! The use cases of stay notifications that write: register an establishment (the commune
//! police), bind an API client to one, check a guest against the register, and notify stays.
//!
//! Who registers an establishment: the commune police, in the console. SERVICES.md's VNeID flow
//! has the notifier *choose* the police unit, the establishment type and then the establishment
//! from a list — the list is the police's; accommodation and healthcare facilities are known to
//! the commune police, and a household is the register's household. A citizen never adds an
//! establishment; the officer names the citizens (account holders) who may notify for it.

use eid_domain::{fold, BirthDate, PersonalId, Tree, UnitCode, Units};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{Establishment, Guest, Kind, Notified, Notifier, Rule, StayIn, Via, DEADLINE};
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, unit_path};
use crate::{Acting, Error, Store, StoreError};

/// The one answer to a guest who does not match the register, whatever the reason (unknown ID,
/// other name, other date of birth): a host cannot tell them apart.
pub const GUEST_UNVERIFIED: &str = "stay.guest_unverified";

/// The longest stay: under 30 days is a stay (Law on Residence Art. 2(6)); longer is temporary
/// residence.
pub const MAX_STAY_DAYS: i64 = 30;

/// A new establishment.
#[derive(Clone)]
pub struct NewEstablishment {
    pub kind: Kind,
    pub name: String,
    pub address: String,
    pub commune: String,
    pub relatives_once: bool,
    /// Personal IDs of the account holders who may notify for it.
    pub notifiers: Vec<String>,
}

impl std::fmt::Debug for NewEstablishment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NewEstablishment({}, {}, {} notifiers)",
            self.kind.as_str(),
            self.commune,
            self.notifiers.len()
        )
    }
}

fn g(r: &SqlRow, i: usize) -> Val {
    r.get(i).cloned().unwrap_or(Val::Null)
}

pub(crate) const EST_COLS: &str = "id, kind, name, address, commune, relatives_once, created_at";

pub(crate) fn est_from(r: &SqlRow) -> Result<Establishment, StoreError> {
    let kind = g(r, 1).text()?;
    let commune = g(r, 4).text()?;
    Ok(Establishment {
        id: g(r, 0).int()?,
        kind: Kind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("establishment kind {kind}")))?,
        name: g(r, 2).text()?,
        address: g(r, 3).text()?,
        commune: UnitCode::parse(&commune)
            .map_err(|e| StoreError::Corrupt(format!("establishment commune: {e}")))?,
        relatives_once: g(r, 5).int()? != 0,
        created_at: from_ms(g(r, 6).int()?),
    })
}

fn text_field(code: &'static str, what: &str, s: &str, max: usize) -> Result<String, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::bad(code, format!("{what} is required")));
    }
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(Error::bad(
            code,
            format!("{what} has at most {max} characters and no control characters"),
        ));
    }
    Ok(s.to_owned())
}

fn commune_of(raw: &str) -> Result<(UnitCode, i64), Error> {
    let unit = crate::register::parse_unit(raw, Tree::Gso2024)?.code;
    let path = unit_path(&unit).ok_or_else(|| {
        Error::bad(
            "stay.bad_commune",
            "an establishment is in a commune (a unit of the lowest level)",
        )
    })?;
    Ok((unit, path))
}

/// Registers an establishment and its notifiers. The commune police of its commune (or an
/// officer whose unit contains it); audited `stay.establishment.add`.
pub fn register_establishment(
    store: &dyn Store,
    acting: &Acting,
    new: &NewEstablishment,
) -> Result<Establishment, Error> {
    let run = || -> Result<Establishment, Error> {
        let (commune, path) = commune_of(&new.commune)?;
        if !acting.caller.sees(&commune) || acting.caller.not_auditor().is_err() {
            return Err(Error::ScopeDenied);
        }
        let name = text_field("stay.bad_name", "the name", &new.name, 200)?;
        let address = text_field("stay.bad_address", "the address", &new.address, 300)?;
        let mut notifiers = Vec::new();
        for raw in &new.notifiers {
            let id = PersonalId::parse(raw.trim()).map_err(|e| {
                Error::bad(
                    "stay.bad_notifier",
                    format!("a notifier's personal ID: {e}"),
                )
            })?;
            if store.person(&id)?.is_none() {
                return Err(Error::bad(
                    "stay.bad_notifier",
                    "a notifier is not in the register",
                ));
            }
            if !notifiers.contains(&id) {
                notifiers.push(id);
            }
        }
        let now = acting.now;
        let id = sql::transact(store.db(), |tx| -> Result<i64, Error> {
            let id = tx.int(
                "INSERT INTO stay_establishment (kind, name, address, commune, unit_path, \
                 relatives_once, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 RETURNING id",
                &[
                    new.kind.as_str().into(),
                    name.as_str().into(),
                    address.as_str().into(),
                    commune.as_str().into(),
                    path.into(),
                    new.relatives_once.into(),
                    acting.actor().to_db().into(),
                    to_ms(now).into(),
                ],
            )?;
            for n in &notifiers {
                tx.exec(
                    "INSERT INTO stay_notifier (establishment_id, personal_id) VALUES ($1, $2)",
                    &[id.into(), n.as_str().into()],
                )?;
            }
            Ok(id)
        })?;
        Ok(Establishment {
            id,
            kind: new.kind,
            name,
            address,
            commune,
            relatives_once: new.relatives_once,
            created_at: now,
        })
    };
    let r = run();
    let target = r.as_ref().map(|e| e.id.to_string()).unwrap_or_default();
    acting.audited(store, "stay.establishment.add", &target, r)
}

/// One establishment.
pub fn establishment(store: &dyn Store, id: i64) -> Result<Establishment, Error> {
    sql::read(store.db(), |tx| {
        let r = tx.row(
            &format!("SELECT {EST_COLS} FROM stay_establishment WHERE id = $1"),
            &[id.into()],
        )?;
        match r {
            Some(r) => Ok(est_from(&r)?),
            None => Err(Error::not_found(
                "stay.establishment_not_found",
                "no establishment has this number",
            )),
        }
    })
}

/// The establishments a citizen may notify for.
pub fn establishments_of(
    store: &dyn Store,
    personal_id: &str,
) -> Result<Vec<Establishment>, Error> {
    sql::read(store.db(), |tx| {
        let rows = tx.query(
            "SELECT e.id, e.kind, e.name, e.address, e.commune, e.relatives_once, e.created_at \
             FROM stay_establishment e JOIN stay_notifier n ON n.establishment_id = e.id \
             WHERE n.personal_id = $1 ORDER BY e.name",
            &[personal_id.into()],
        )?;
        Ok(rows.iter().map(est_from).collect::<Result<_, _>>()?)
    })
}

/// The establishments of a commune (where "I am the guest" may be notified).
pub fn establishments_in(store: &dyn Store, commune: &str) -> Result<Vec<Establishment>, Error> {
    let (_, path) = commune_of(commune)?;
    sql::read(store.db(), |tx| {
        let rows = tx.query(
            &format!(
                "SELECT {EST_COLS} FROM stay_establishment WHERE unit_path = $1 ORDER BY name"
            ),
            &[path.into()],
        )?;
        Ok(rows.iter().map(est_from).collect::<Result<_, _>>()?)
    })
}

/// Binds a registered OpenID client to an establishment: its system may then take a
/// client-credentials token with scope `stay:notify` and notify that establishment's stays.
/// An officer whose unit contains the establishment; audited `stay.client.bind`.
pub fn bind_client(
    store: &dyn Store,
    acting: &Acting,
    client_id: &str,
    establishment_id: i64,
) -> Result<(), Error> {
    let run = || -> Result<(), Error> {
        acting.caller.not_auditor()?;
        let e = establishment(store, establishment_id)?;
        if !acting.caller.sees(&e.commune) {
            return Err(Error::ScopeDenied);
        }
        if crate::oidc::clients::get(store, client_id)?.is_none() {
            return Err(Error::not_found(
                "stay.client_not_found",
                "no relying party has this client id",
            ));
        }
        sql::transact(store.db(), |tx| -> Result<(), Error> {
            tx.exec(
                "DELETE FROM stay_client WHERE client_id = $1",
                &[client_id.into()],
            )?;
            tx.exec(
                "INSERT INTO stay_client (client_id, establishment_id, created_at) \
                 VALUES ($1, $2, $3)",
                &[
                    client_id.into(),
                    establishment_id.into(),
                    to_ms(acting.now).into(),
                ],
            )?;
            Ok(())
        })
    };
    let r = run();
    acting.audited(store, "stay.client.bind", client_id, r)
}

/// The establishment a client is bound to, if any (what allows the client-credentials grant).
pub fn client_establishment(store: &dyn Store, client_id: &str) -> Result<Option<i64>, StoreError> {
    sql::read_one(store.db(), |tx| {
        let r = tx.row(
            "SELECT establishment_id FROM stay_client WHERE client_id = $1",
            &[client_id.into()],
        )?;
        r.map(|r| g(&r, 0).int()).transpose()
    })
}

/// A typed date of birth: `dd/mm/yyyy`, `yyyy-mm-dd` or a year.
fn typed_birth(s: &str) -> Option<BirthDate> {
    let s = s.trim();
    if let Some(b) = BirthDate::parse(s) {
        return Some(b);
    }
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [d, m, y] => BirthDate::parse(&format!("{y}-{m:0>2}-{d:0>2}")),
        _ => None,
    }
}

fn birth_key(b: BirthDate) -> String {
    match b {
        BirthDate::Full(d) => eid_domain::iso(d),
        BirthDate::Year(y) => y.to_string(),
    }
}

fn guest_digest(id: &str, folded_name: &str, birth: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in [id, folded_name, birth] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    h.finalize().to_vec()
}

/// Checks a citizen guest against the register: personal ID, full name (compared folded, as
/// the register's search does) and date of birth together. The same work whatever is wrong —
/// one point read of the register, one digest of each side, one constant-time comparison — and
/// the same refusal ([`GUEST_UNVERIFIED`]) for an unknown ID, another name or another date.
pub fn check_guest(
    store: &dyn Store,
    personal_id: &str,
    full_name: &str,
    birth: &str,
) -> Result<PersonalId, Error> {
    let refused = || {
        Error::bad(
            GUEST_UNVERIFIED,
            "the personal ID, full name and date of birth do not match together",
        )
    };
    let id = PersonalId::parse(personal_id.trim()).ok();
    // A malformed ID is looked up as a well-formed one, so its answer costs the same.
    let lookup = id.or_else(|| PersonalId::parse("001000000000").ok());
    let found = match &lookup {
        Some(l) => store.person(l)?,
        None => None,
    };
    let key = lookup
        .as_ref()
        .map(|l| l.as_str().to_owned())
        .unwrap_or_default();
    let typed_birth = typed_birth(birth);
    let typed = guest_digest(
        &key,
        &fold(full_name),
        &typed_birth.map(birth_key).unwrap_or_default(),
    );
    let (register, year_only) = match &found {
        Some(p) => (
            guest_digest(
                p.person.id.as_str(),
                &p.person.name.folded(),
                &birth_key(p.person.birth),
            ),
            matches!(p.person.birth, BirthDate::Year(_)),
        ),
        None => (guest_digest("", "\u{0}", "\u{0}"), false),
    };
    // A record with the year only matches a typed full date of that year.
    let typed_year = typed_birth
        .map(|b| b.year().to_string())
        .unwrap_or_default();
    let typed_as_year = guest_digest(&key, &fold(full_name), &typed_year);
    let exact = crate::secret::constant_time_eq(&typed, &register);
    let by_year = crate::secret::constant_time_eq(&typed_as_year, &register);
    let ok = found.is_some() && (exact || (year_only && by_year));
    match id {
        Some(id) if ok => Ok(id),
        _ => Err(refused()),
    }
}

/// A stay checked and ready to write.
struct Ready {
    guest_key: String,
    guest_pid: Option<String>,
    passport: Option<String>,
    nationality: Option<String>,
    guest_name: Option<String>,
    foreign: bool,
    arrival: OffsetDateTime,
    departure: OffsetDateTime,
    reason: String,
}

/// Checks one stay (dates, reason, guest) for `notifier`. The refusals are the same whichever
/// field of a citizen guest is wrong.
fn prepare(store: &dyn Store, notifier: &Notifier, s: &StayIn) -> Result<Ready, Error> {
    if s.departure < s.arrival {
        return Err(Error::bad(
            "stay.departure_before_arrival",
            "the expected departure is before the arrival",
        ));
    }
    if s.departure - s.arrival > time::Duration::days(MAX_STAY_DAYS) {
        return Err(Error::bad(
            "stay.too_long",
            "a stay is under 30 days; a longer one is a temporary residence registration",
        ));
    }
    let reason = text_field("stay.bad_reason", "the reason", &s.reason, 200)?;
    match &s.guest {
        Guest::Citizen {
            personal_id,
            full_name,
            birth,
        } => {
            let id = check_guest(store, personal_id, full_name, birth)?;
            if let Notifier::Citizen {
                personal_id: me,
                via: Via::SelfGuest,
            } = notifier
            {
                if me != id.as_str() {
                    return Err(Error::bad(
                        "stay.not_self",
                        "\"I am the guest\" notifies one's own stay only",
                    ));
                }
            }
            Ok(Ready {
                guest_key: id.as_str().to_owned(),
                guest_pid: Some(id.as_str().to_owned()),
                passport: None,
                nationality: None,
                guest_name: None,
                foreign: false,
                arrival: s.arrival,
                departure: s.departure,
                reason,
            })
        }
        Guest::Foreigner {
            passport,
            nationality,
            full_name,
        } => {
            let passport = passport.trim().to_uppercase();
            if passport.len() < 5
                || passport.len() > 20
                || !passport.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(Error::bad(
                    "stay.bad_passport",
                    "a passport number is 5 to 20 letters and digits",
                ));
            }
            let nat = nationality.trim().to_uppercase();
            if !(2..=3).contains(&nat.len()) || !nat.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Error::bad(
                    "stay.bad_nationality",
                    "the nationality is a country code of 2 or 3 letters (ISO 3166)",
                ));
            }
            if matches!(
                notifier,
                Notifier::Citizen {
                    via: Via::SelfGuest,
                    ..
                }
            ) {
                return Err(Error::bad(
                    "stay.not_self",
                    "\"I am the guest\" notifies one's own stay only",
                ));
            }
            let name = text_field("stay.bad_name", "the guest's name", full_name, 100)?;
            Ok(Ready {
                guest_key: format!("P:{nat}:{passport}"),
                guest_pid: None,
                passport: Some(passport),
                nationality: Some(nat),
                guest_name: Some(name),
                foreign: true,
                arrival: s.arrival,
                departure: s.departure,
                reason,
            })
        }
    }
}

/// Whether `notifier` may notify for establishment `e`.
fn may_notify(store: &dyn Store, notifier: &Notifier, e: &Establishment) -> Result<(), Error> {
    let allowed = match notifier {
        Notifier::Citizen {
            via: Via::SelfGuest,
            ..
        } => true,
        Notifier::Citizen { personal_id, .. } => sql::read_one(store.db(), |tx| {
            Ok(tx
                .row(
                    "SELECT 1 FROM stay_notifier WHERE establishment_id = $1 AND personal_id = $2",
                    &[e.id.into(), personal_id.as_str().into()],
                )?
                .is_some())
        })?,
        Notifier::Client { client_id } => client_establishment(store, client_id)? == Some(e.id),
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::ScopeDenied)
    }
}

/// Writes one checked stay; a stay already notified (same establishment, guest and arrival) is
/// not written again and comes back `repeated`.
fn write(
    tx: &mut dyn Tx,
    e: &Establishment,
    path: i64,
    notifier: &Notifier,
    r: &Ready,
    now: OffsetDateTime,
) -> Result<Notified, StoreError> {
    let arrival = to_ms(r.arrival);
    if let Some(old) = tx.row(
        "SELECT id, late, deadline, rule FROM stay WHERE establishment_id = $1 AND guest_key = $2 \
         AND arrival = $3",
        &[e.id.into(), r.guest_key.as_str().into(), arrival.into()],
    )? {
        return notified_from(&old, true);
    }
    let rule = if e.relatives_once && !r.foreign {
        let before = tx.row(
            "SELECT 1 FROM stay WHERE establishment_id = $1 AND guest_key = $2 LIMIT 1",
            &[e.id.into(), r.guest_key.as_str().into()],
        )?;
        if before.is_some() {
            Rule::RelativesRepeat
        } else {
            Rule::RelativesFirst
        }
    } else {
        Rule::EachStay
    };
    let deadline = (rule != Rule::RelativesRepeat).then(|| DEADLINE.deadline(r.arrival, r.foreign));
    let late = deadline.is_some_and(|d| now > d);
    let (via, notifier_pid, client_id) = match notifier {
        Notifier::Citizen { personal_id, via } => (*via, Some(personal_id.clone()), None),
        Notifier::Client { client_id } => (Via::Api, None, Some(client_id.clone())),
    };
    let day = eid_domain::iso(DEADLINE.day_of(r.arrival));
    let inserted = tx.query(
        "INSERT INTO stay (establishment_id, unit_path, kind, guest_key, guest_pid, passport, \
         nationality, guest_name, arrival, departure, day, reason, deadline, notified_at, late, \
         rule, via, notifier_pid, client_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15, $16, $17, $18, $19) \
         ON CONFLICT (establishment_id, guest_key, arrival) DO NOTHING RETURNING id",
        &[
            e.id.into(),
            path.into(),
            e.kind.as_str().into(),
            r.guest_key.as_str().into(),
            r.guest_pid.clone().into(),
            r.passport.clone().into(),
            r.nationality.clone().into(),
            r.guest_name.clone().into(),
            arrival.into(),
            to_ms(r.departure).into(),
            day.into(),
            r.reason.as_str().into(),
            deadline.map(to_ms).into(),
            to_ms(now).into(),
            late.into(),
            rule.as_str().into(),
            via.as_str().into(),
            notifier_pid.into(),
            client_id.into(),
        ],
    )?;
    match inserted.first() {
        Some(row) => {
            // A guest from the register: the stay is in their "who used my data" log, in the
            // same transaction (what the check read: the ID, the name and the birth date).
            if let Some(pid) = &r.guest_pid {
                crate::transparency::note_in(
                    tx,
                    &crate::transparency::DataUse {
                        personal_id: pid.clone(),
                        who: crate::transparency::Who::Establishment {
                            id: e.id.to_string(),
                            name: e.name.clone(),
                        },
                        what: super::view::CHECKED_FIELDS.join(" "),
                        purpose: "stay.notify".to_owned(),
                        at: now,
                    },
                )
                .map_err(|e| StoreError::Db(e.to_string()))?;
            }
            Ok(Notified {
                id: g(row, 0).int()?,
                late,
                deadline,
                rule,
                repeated: false,
            })
        }
        // Another request wrote the same stay between our read and our insert.
        None => match tx.row(
            "SELECT id, late, deadline, rule FROM stay WHERE establishment_id = $1 \
             AND guest_key = $2 AND arrival = $3",
            &[e.id.into(), r.guest_key.as_str().into(), arrival.into()],
        )? {
            Some(old) => notified_from(&old, true),
            None => Err(StoreError::Corrupt(
                "a stay neither written nor found".into(),
            )),
        },
    }
}

fn notified_from(r: &SqlRow, repeated: bool) -> Result<Notified, StoreError> {
    let rule = g(r, 3).text()?;
    Ok(Notified {
        id: g(r, 0).int()?,
        late: g(r, 1).int()? != 0,
        deadline: g(r, 2).opt_int()?.map(from_ms),
        rule: Rule::parse(&rule).ok_or_else(|| StoreError::Corrupt(format!("stay rule {rule}")))?,
        repeated,
    })
}

/// A refusal of one stay of a submission, by its position (0-based).
#[derive(Debug)]
pub struct RowRefusal {
    pub index: usize,
    pub error: Error,
}

/// Notifies `stays` at establishment `establishment_id` for `notifier`, all or nothing: the
/// first refused stay refuses the submission (its position in [`RowRefusal`]). The guest's
/// personal data is checked, never shown back.
pub fn notify(
    store: &dyn Store,
    notifier: &Notifier,
    establishment_id: i64,
    stays: &[StayIn],
    now: OffsetDateTime,
) -> Result<Vec<Notified>, RowRefusal> {
    let at = |index: usize| move |error: Error| RowRefusal { index, error };
    if stays.is_empty() {
        return Err(RowRefusal {
            index: 0,
            error: Error::bad("stay.no_guest", "add at least one guest"),
        });
    }
    if stays.len() > 500 {
        return Err(RowRefusal {
            index: 500,
            error: Error::bad("stay.too_many", "at most 500 guests at once"),
        });
    }
    let e = establishment(store, establishment_id).map_err(at(0))?;
    may_notify(store, notifier, &e).map_err(at(0))?;
    let mut ready = Vec::with_capacity(stays.len());
    for (i, s) in stays.iter().enumerate() {
        ready.push(prepare(store, notifier, s).map_err(at(i))?);
    }
    write_all(store, &e, notifier, &ready, now).map_err(at(0))
}

fn write_all(
    store: &dyn Store,
    e: &Establishment,
    notifier: &Notifier,
    ready: &[Ready],
    now: OffsetDateTime,
) -> Result<Vec<Notified>, Error> {
    let path = unit_path(&e.commune)
        .ok_or_else(|| Error::Store(StoreError::Corrupt("establishment commune".into())))?;
    sql::transact(store.db(), |tx| -> Result<Vec<Notified>, Error> {
        let mut out = Vec::with_capacity(ready.len());
        for r in ready {
            out.push(write(tx, e, path, notifier, r, now)?);
        }
        Ok(out)
    })
}

/// One row of a bulk notification: the stay, or why its line was refused.
#[derive(Debug)]
pub struct BulkOutcome {
    pub written: Vec<(usize, Notified)>,
    /// (line number in the file, refusal).
    pub refused: Vec<(usize, Error)>,
}

/// Notifies a bulk of stays (a healthcare facility's CSV): good rows are kept, bad rows are
/// reported with their line, in one write transaction. `rows` are (line, parsed stay or its
/// parse refusal).
pub fn notify_bulk(
    store: &dyn Store,
    notifier: &Notifier,
    establishment_id: i64,
    rows: super::csv::Rows,
    now: OffsetDateTime,
) -> Result<BulkOutcome, Error> {
    let e = establishment(store, establishment_id)?;
    may_notify(store, notifier, &e)?;
    let mut refused = Vec::new();
    let mut ready = Vec::new();
    for (line, parsed) in rows {
        match parsed.and_then(|s| prepare(store, notifier, &s)) {
            Ok(r) => ready.push((line, r)),
            Err(Error::Store(s)) => return Err(Error::Store(s)),
            Err(err) => refused.push((line, err)),
        }
    }
    let (lines, ready): (Vec<usize>, Vec<Ready>) = ready.into_iter().unzip();
    let written = write_all(store, &e, notifier, &ready, now)?;
    Ok(BulkOutcome {
        written: lines.into_iter().zip(written).collect(),
        refused,
    })
}

/// Refusal of a whole bulk submission (no row written), for the web's error mapping.
impl From<RowRefusal> for Error {
    fn from(r: RowRefusal) -> Error {
        r.error
    }
}

/// Units of the 2024 tree a commune code names, for the establishment's label.
pub fn commune_name(code: &UnitCode) -> String {
    Units::get()
        .unit(Tree::Gso2024, code)
        .map(|u| u.name.clone())
        .unwrap_or_default()
}

/// "I am the guest": the signed-in citizen notifies their own stay at any establishment. Their
/// identity is the session's; the register supplies what a host would type.
pub fn notify_self(
    store: &dyn Store,
    personal_id: &str,
    establishment_id: i64,
    arrival: OffsetDateTime,
    departure: OffsetDateTime,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Notified, Error> {
    let id = PersonalId::parse(personal_id)
        .map_err(|e| Error::bad("person.bad_id", format!("invalid personal ID: {e}")))?;
    let me = store
        .person(&id)?
        .ok_or_else(|| Error::not_found("person.not_found", "not in the register"))?;
    let stay = StayIn {
        guest: Guest::Citizen {
            personal_id: personal_id.to_owned(),
            full_name: me.person.name.full(),
            birth: birth_key(me.person.birth),
        },
        arrival,
        departure,
        reason: reason.to_owned(),
    };
    let notifier = Notifier::Citizen {
        personal_id: personal_id.to_owned(),
        via: Via::SelfGuest,
    };
    let mut out = notify(store, &notifier, establishment_id, &[stay], now)?;
    out.pop()
        .ok_or_else(|| Error::Store(StoreError::Corrupt("no stay written".into())))
}
