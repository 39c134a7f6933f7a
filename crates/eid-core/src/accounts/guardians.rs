//! Guardians and the accounts of children they register.

use eid_domain::{AccountLevel, AccountStatus, PersonalId};
use time::OffsetDateTime;

use crate::sql;
use crate::store::{to_ms, Actor, Store, StoreError};

use super::*;

/// Records in the register that `guardian` is the guardian of `child`.
pub fn record_guardian(
    store: &dyn Store,
    child: &PersonalId,
    guardian: &PersonalId,
    relation: &str,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    if child == guardian {
        return Err(Refusal::Invalid(
            "guardian.self",
            "a person cannot be their own guardian".into(),
        ));
    }
    let relation = relation.trim();
    if !matches!(relation, "father" | "mother" | "guardian") {
        return Err(Refusal::Invalid(
            "guardian.relation",
            "relation is father, mother or guardian".into(),
        ));
    }
    let c = store.person(child)?.ok_or(Refusal::PersonUnknown)?;
    store.person(guardian)?.ok_or(Refusal::PersonUnknown)?;
    let (commune, res_path) = residence(&c.person)?;
    sql::transact(store.db(), |tx| {
        tx.exec(
            "INSERT INTO guardian (child_id, guardian_id, relation, recorded_at, actor) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (child_id, guardian_id) DO UPDATE SET relation = $3",
            &[child.as_str().into(), guardian.as_str().into(), relation.into(), to_ms(now).into(), actor.to_db().into()],
        )?;
        record(
            tx,
            NewEvent {
                personal_id: child.as_str(),
                account_id: None,
                application_id: None,
                kind: "guardian_recorded",
                commune: Some(commune.as_str()),
                res_path: Some(res_path),
                unit: None,
                device_id: None,
                actor,
                detail: serde_json::json!({ "relation": relation }),
            },
            now,
        )?;
        Ok(())
    })
}

/// Whether the register records `guardian` as a guardian of `child`.
pub fn is_guardian(
    store: &dyn Store,
    child: &PersonalId,
    guardian: &PersonalId,
) -> Result<bool, StoreError> {
    sql::read(store.db(), |tx| {
        Ok(tx
            .row(
                "SELECT 1 FROM guardian WHERE child_id = $1 AND guardian_id = $2",
                &[child.as_str().into(), guardian.as_str().into()],
            )?
            .is_some())
    })
}

/// A guardian with an active level-2 account opens a level-1 account for a child under 14; the
/// child's account uses the guardian's phone.
pub fn register_child(
    store: &dyn Store,
    guardian: &Account,
    child: &PersonalId,
    password_hash: &str,
    passcode_hash: &str,
    now: OffsetDateTime,
) -> Result<Account, Refusal> {
    if guardian.level < AccountLevel::Two || guardian.status() != AccountStatus::Active {
        return Err(Refusal::GuardianRequired);
    }
    let p = store
        .person(child)?
        .map(|p| p.person)
        .ok_or(Refusal::PersonUnknown)?;
    alive(&p)?;
    let today = now.to_offset(vietnam()).date();
    if p.birth.age_on(today) >= MIN_AGE {
        return Err(Refusal::Invalid(
            "account.not_a_child",
            "from 14 a person registers an account of their own".into(),
        ));
    }
    if !is_guardian(store, child, &guardian.personal_id)? {
        return Err(Refusal::NotGuardian);
    }
    let (commune, res_path) = residence(&p)?;
    sql::transact(store.db(), |tx| {
        let existing = account_where(tx, Key::Person(child.as_str()))?;
        if existing.as_ref().is_some_and(Account::is_active) {
            return Err(Refusal::WrongState(
                "the child already has an account".into(),
            ));
        }
        if let Some(pending) = existing {
            account_key::exec(
                tx,
                "DELETE FROM account WHERE {account} AND state = 'pending'",
                &[],
                pending.key(),
            )?;
        }
        let id = account_key::insert_new(
            tx,
            "INSERT INTO account (personal_id, level, state, phone, password_hash, passcode_hash, guardian_id, commune, \
             res_path, created_at, activated_at, updated_at) VALUES ($1, 1, 'active', $2, $3, $4, $5, $6, $7, $8, $8, $8)",
            &[
                child.as_str().into(),
                guardian.phone.as_str().into(),
                password_hash.into(),
                passcode_hash.into(),
                guardian.personal_id.as_str().into(),
                commune.as_str().into(),
                res_path.into(),
                to_ms(now).into(),
            ],
        )?
        .ok_or_else(|| Refusal::WrongState("the child already has an account".into()))?;
        let a = account_where(tx, Key::At { id, res_path })?
            .ok_or(Refusal::NotFound("account.not_found"))?;
        let actor = Actor::Cli(format!("guardian:{}", guardian.id));
        record(
            tx,
            NewEvent::account(&a, "level1_activated", &actor)
                .detail(serde_json::json!({ "by": "guardian" })),
            now,
        )?;
        bump(tx, metric::LEVEL1_ACTIVATED, res_path, now)?;
        bump(tx, metric::ACCOUNTS_ACTIVATED, res_path, now)?;
        Ok(a)
    })
}

/// A child the register records under a guardian, with the child's account if any. Its
/// `Debug` hides the name and the birth date.
#[derive(Clone, PartialEq)]
pub struct Child {
    pub personal_id: PersonalId,
    /// The child's full name, from the register (empty when the person is gone from it).
    pub name: String,
    pub birth: Option<eid_domain::BirthDate>,
    pub account: Option<Account>,
}

/// The children the register records under `guardian`, by personal ID, with their accounts:
/// what the guardian's own pages list.
pub fn children_of(store: &dyn Store, guardian: &PersonalId) -> Result<Vec<Child>, StoreError> {
    let ids: Vec<String> = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT child_id FROM guardian WHERE guardian_id = $1 ORDER BY child_id",
            &[guardian.as_str().into()],
        )?
        .iter()
        .map(|r| r.first().cloned().unwrap_or(crate::sql::Val::Null).text())
        .collect::<Result<Vec<_>, _>>()
    })?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Ok(pid) = PersonalId::parse(&id) else {
            continue;
        };
        let person = store.person(&pid)?.map(|p| p.person);
        out.push(Child {
            name: person.as_ref().map(|p| p.name.full()).unwrap_or_default(),
            birth: person.map(|p| p.birth),
            account: account_of(store, &pid)?,
            personal_id: pid,
        });
    }
    Ok(out)
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("personal_id", &self.personal_id)
            .field("name", &eid_domain::redact::Hidden)
            .field("birth", &eid_domain::redact::Hidden)
            .field("account", &self.account)
            .finish()
    }
}
