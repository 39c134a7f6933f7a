//! Outreach lists with assignments and contacts, "clear on people".

use eid_domain::{redact, AccountLevel, AccountState, ApplicationState, PersonalId, UnitCode};
use time::{Date, OffsetDateTime};

use super::{corrupt, OpsError, ELIGIBLE_AGE};
use crate::account_key::{self, Key};
use crate::accounts::{day_date, day_number, day_of};
use crate::sql::{self, Val};
use crate::store::{to_ms, unit_path, Actor, Store, StoreError};

/// Outcomes of a contact.
pub const OUTCOMES: [&str; 7] = [
    "visited",
    "not_home",
    "no_phone",
    "moved_away",
    "dead",
    "refused",
    "emigrated",
];

/// Who to list. Its `Debug` shows the address filter's length only.
#[derive(Clone, Default)]
pub struct OutreachFilter {
    /// `no_application` (no application in progress or done, no level-2 account) or
    /// `no_account` (no active account at all).
    pub missing: String,
    /// Part of the address (case-insensitive, as typed).
    pub address: Option<String>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    /// `none`, `basic` or `smartphone`.
    pub phone_type: Option<String>,
    pub limit: u32,
}

/// One person on an outreach list. Its `Debug` masks the person.
#[derive(Clone, PartialEq, Eq)]
pub struct OutreachRow {
    pub personal_id: String,
    pub name: String,
    pub birth_date: String,
    pub address: String,
    pub phone: Option<String>,
    pub phone_type: String,
    /// The level of the person's active account, if any.
    pub account_level: Option<AccountLevel>,
    /// The state of the person's latest application, if any.
    pub application_state: Option<ApplicationState>,
    pub assignee: Option<String>,
    pub due: Option<Date>,
    pub last_outcome: Option<String>,
}

/// The eligible people of a commune still to reach, "clear on people".
pub fn outreach(
    store: &dyn Store,
    commune: &UnitCode,
    today: Date,
    f: &OutreachFilter,
) -> Result<Vec<OutreachRow>, OpsError> {
    let path = unit_path(commune).ok_or(OpsError::Invalid(
        "unit.not_commune",
        "outreach lists are per commune".into(),
    ))?;
    let cutoff =
        eid_domain::birthday_cutoff(today, f.min_age.unwrap_or(ELIGIBLE_AGE).max(ELIGIBLE_AGE));
    let oldest = f
        .max_age
        .map(|a| eid_domain::birthday_cutoff(today, a + 1))
        .unwrap_or_default();
    let rows = sql::read(store.db(), |tx| {
        // The commune's accounts from its province's partition (PostgreSQL); the few whose
        // holder moved here after registering are read one by one from theirs.
        let accounts = account_key::of_province(tx.engine(), path, 4);
        let sql = format!(
            "SELECT p.personal_id, p.surname, p.middle_name, p.given_name, p.birth_date, p.residence_address, p.phone, p.phone_type, \
             a.level, a.state, (SELECT ap.state FROM application ap WHERE ap.personal_id = p.personal_id ORDER BY ap.id DESC LIMIT 1), \
             o.assignee, o.due_day, (SELECT c.outcome FROM outreach_contact c WHERE c.personal_id = p.personal_id ORDER BY c.seq DESC LIMIT 1), \
             {} \
             FROM person p {} \
             LEFT JOIN outreach_assignment o ON o.personal_id = p.personal_id \
             WHERE p.res_path = $1 AND p.life_status = 'alive' AND p.birth_date <= $2 AND p.birth_date > $3 \
             ORDER BY p.residence_address, p.personal_id",
            accounts.elsewhere, accounts.join
        );
        let mut args: Vec<Val> = vec![path.into(), cutoff.into(), oldest.into()];
        args.extend(accounts.args);
        let mut rows = tx.query(&sql, &args)?;
        for r in &mut rows {
            if r.get(14).is_none_or(|v| *v == Val::Null) {
                continue;
            }
            let pid = r.first().cloned().unwrap_or(Val::Null).text()?;
            let found = account_key::row(
                tx,
                "SELECT level, state FROM account WHERE {account}",
                &[],
                Key::Person(&pid),
            )?;
            if let (Some(found), Some(slots)) = (found, r.get_mut(8..10)) {
                for (slot, v) in slots.iter_mut().zip(found) {
                    *slot = v;
                }
            }
        }
        Ok::<_, StoreError>(rows)
    })?;
    let mut out = Vec::new();
    let address = f.address.as_ref().map(|a| a.to_lowercase());
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let account = match g(9).opt_text()? {
            Some(s) => Some(AccountState::parse(&s).map_err(|e| corrupt("account", e))?),
            None => None,
        };
        let level = match (account, g(8).opt_int()?) {
            (Some(AccountState::Active), Some(n)) => {
                Some(AccountLevel::from_number(n).map_err(|e| corrupt("account", e))?)
            }
            (Some(AccountState::Active), None) | (Some(AccountState::Pending) | None, _) => None,
        };
        let app = match g(10).opt_text()? {
            Some(s) => Some(ApplicationState::parse(&s).map_err(|e| corrupt("application", e))?),
            None => None,
        };
        let keep = match f.missing.as_str() {
            "no_account" => level.is_none(),
            _ => {
                level != Some(AccountLevel::Two)
                    && match app {
                        None | Some(ApplicationState::Rejected) => true,
                        Some(
                            ApplicationState::Review
                            | ApplicationState::Approved
                            | ApplicationState::CodeSent
                            | ApplicationState::Activated,
                        ) => false,
                    }
            }
        };
        if !keep {
            continue;
        }
        let addr = g(5).text()?;
        if let Some(a) = &address {
            if !addr.to_lowercase().contains(a.as_str()) {
                continue;
            }
        }
        let phone_type = g(7).text()?;
        if let Some(pt) = &f.phone_type {
            if !pt.is_empty() && *pt != phone_type {
                continue;
            }
        }
        let name = [g(1).text()?, g(2).text()?, g(3).text()?]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        out.push(OutreachRow {
            personal_id: g(0).text()?,
            name,
            birth_date: g(4).text()?,
            address: addr,
            phone: g(6).opt_text()?,
            phone_type,
            account_level: level,
            application_state: app,
            assignee: g(11).opt_text()?,
            due: g(12).opt_int()?.map(day_date),
            last_outcome: g(13).opt_text()?,
        });
    }
    // Addresses in the order a walker meets them: "Số 2" before "Số 10".
    out.sort_by(|a, b| {
        natural_cmp(&a.address, &b.address).then_with(|| a.personal_id.cmp(&b.personal_id))
    });
    out.truncate(f.limit.max(1) as usize);
    Ok(out)
}

/// Compares two texts with their runs of digits as numbers ("Số 2" < "Số 10"), letters
/// without regard to case.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let run = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                    let mut s = String::new();
                    while let Some(c) = it.peek().copied().filter(char::is_ascii_digit) {
                        s.push(c);
                        it.next();
                    }
                    s
                };
                let (m, n) = (run(&mut x), run(&mut y));
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                let o = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if o != Ordering::Equal {
                    return o;
                }
            }
            (Some(c), Some(d)) => {
                let o = c.to_lowercase().cmp(d.to_lowercase());
                if o != Ordering::Equal {
                    return o;
                }
                x.next();
                y.next();
            }
        }
    }
}

/// Assigns people of a commune to an officer or working group with a due date.
pub fn assign(
    store: &dyn Store,
    commune: &UnitCode,
    ids: &[PersonalId],
    assignee: &str,
    due: Date,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<u64, OpsError> {
    let assignee = assignee.trim();
    if assignee.is_empty() || assignee.chars().count() > 100 {
        return Err(OpsError::Invalid(
            "outreach.assignee",
            "name an officer or working group (up to 100 characters)".into(),
        ));
    }
    let path = unit_path(commune).ok_or(OpsError::Invalid(
        "unit.not_commune",
        "outreach lists are per commune".into(),
    ))?;
    sql::transact(store.db(), |tx| {
        let mut n = 0;
        for id in ids {
            let inside = tx.row(
                "SELECT 1 FROM person WHERE personal_id = $1 AND res_path = $2",
                &[id.as_str().into(), path.into()],
            )?;
            if inside.is_none() {
                return Err(OpsError::Invalid(
                    "outreach.not_in_commune",
                    "a listed person does not live in this commune".into(),
                ));
            }
            tx.exec(
                "INSERT INTO outreach_assignment (personal_id, commune, assignee, due_day, assigned_by, assigned_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (personal_id) DO UPDATE SET assignee = $3, due_day = $4, assigned_by = $5, assigned_at = $6",
                &[id.as_str().into(), commune.as_str().into(), assignee.into(), day_number(due).into(), actor.to_db().into(), to_ms(now).into()],
            )?;
            n += 1;
        }
        Ok(n)
    })
}

/// Records a contact's outcome. Dead, moved away and emigrated become a proposed register
/// change for an officer to confirm; returns the proposal's id when one was made.
pub fn record_contact(
    store: &dyn Store,
    id: &PersonalId,
    outcome: &str,
    note: &str,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Option<i64>, OpsError> {
    if !OUTCOMES.contains(&outcome) {
        return Err(OpsError::Invalid(
            "outreach.outcome",
            format!("outcome is one of {}", OUTCOMES.join(", ")),
        ));
    }
    if note.chars().count() > 500 {
        return Err(OpsError::Invalid(
            "outreach.note",
            "a note has at most 500 characters".into(),
        ));
    }
    let p = store
        .person(id)?
        .ok_or(OpsError::NotFound("person.not_found"))?;
    let commune = p.person.residence.unit;
    sql::transact(store.db(), |tx| {
        let seq = tx.int(
            "INSERT INTO outreach_contact (personal_id, commune, at, day, outcome, note, actor) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
            &[id.as_str().into(), commune.as_str().into(), to_ms(now).into(), day_of(now).into(), outcome.into(), note.trim().into(), actor.to_db().into()],
        )?;
        let proposed = match outcome {
            "dead" => Some("dead"),
            "emigrated" => Some("emigrated"),
            "moved_away" => Some("absent"),
            _ => None,
        };
        let Some(proposed) = proposed else {
            return Ok(None);
        };
        let pid = tx.int(
            "INSERT INTO register_proposal (personal_id, commune, proposed, contact_seq, state, created_at) VALUES ($1, $2, $3, $4, 'open', $5) RETURNING id",
            &[id.as_str().into(), commune.as_str().into(), proposed.into(), seq.into(), to_ms(now).into()],
        )?;
        Ok(Some(pid))
    })
}

// Debug without personal data

impl std::fmt::Debug for OutreachFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutreachFilter")
            .field("missing", &self.missing)
            .field("address", &self.address.as_deref().map(redact::Text))
            .field("min_age", &self.min_age)
            .field("max_age", &self.max_age)
            .field("phone_type", &self.phone_type)
            .field("limit", &self.limit)
            .finish()
    }
}

impl std::fmt::Debug for OutreachRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutreachRow")
            .field("personal_id", &redact::Id(&self.personal_id))
            .field("name", &redact::Hidden)
            .field("birth_date", &redact::Hidden)
            .field("address", &redact::Hidden)
            .field("phone", &self.phone.as_deref().map(redact::Phone))
            .field("phone_type", &self.phone_type)
            .field("account_level", &self.account_level)
            .field("application_state", &self.application_state)
            .field("assignee", &self.assignee)
            .field("due", &self.due)
            .field("last_outcome", &self.last_outcome)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn house_numbers_sort_as_numbers() {
        let mut v = vec![
            "Số 10, Thôn 2",
            "Số 2, Thôn 10",
            "số 2, Thôn 2",
            "Số 1",
            "Số 02a",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "Số 1",
                "số 2, Thôn 2",
                "Số 2, Thôn 10",
                "Số 02a",
                "Số 10, Thôn 2"
            ]
        );
    }
}
