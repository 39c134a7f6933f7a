//! Proposed register changes from the field, confirmed or dismissed by an officer.

use eid_domain::{redact, PersonalId, ProposalState, Tree, UnitCode, Units};
use time::OffsetDateTime;

use super::{corrupt, OpsError};
use crate::sql::{self, Val};
use crate::store::{to_ms, Actor, Store, StoreError};

/// A proposed register change from the field. Its `Debug` masks the personal ID.
#[derive(Clone, PartialEq, Eq)]
pub struct Proposal {
    pub id: i64,
    pub personal_id: String,
    pub commune: UnitCode,
    pub proposed: String,
    pub state: ProposalState,
    pub created_at: OffsetDateTime,
}

/// Open proposals for communes inside `unit`.
pub fn proposals(store: &dyn Store, unit: &UnitCode) -> Result<Vec<Proposal>, StoreError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query("SELECT id, personal_id, commune, proposed, state, created_at FROM register_proposal WHERE state = 'open' ORDER BY id", &[])
    })?;
    let units = Units::get();
    let mut out = Vec::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let c = UnitCode::parse(&g(2).text()?)
            .map_err(|e| StoreError::Corrupt(format!("proposal unit: {e}")))?;
        if units.contains(Tree::Gso2024, unit, &c) {
            out.push(Proposal {
                id: g(0).int()?,
                personal_id: g(1).text()?,
                commune: c,
                proposed: g(3).text()?,
                state: ProposalState::parse(&g(4).text()?).map_err(|e| corrupt("proposal", e))?,
                created_at: crate::store::from_ms(g(5).int()?),
            });
        }
    }
    Ok(out)
}

/// Confirms (the register records the new life status, as an `updated` event by the officer)
/// or dismisses a proposal.
///
/// One transaction, opened as the register's writer: the proposal is read and locked
/// (PostgreSQL: `FOR UPDATE`; SQLite: the writer's lock), the person too, and the final update
/// only changes a proposal that is still open. Of two decisions sent together one wins; the
/// other finds the proposal decided (`proposal.decided`, a conflict) and writes nothing. A
/// stored life status the code does not know is `proposal.bad_value`, never read as "absent".
/// The account lock that follows a death is brought in line after the commit, as for a
/// correction.
pub fn decide_proposal(
    store: &dyn Store,
    id: i64,
    confirm: bool,
    actor: &Actor,
    may_see: &dyn Fn(&UnitCode) -> bool,
    now: OffsetDateTime,
) -> Result<Proposal, OpsError> {
    let reason = format!("confirmed outreach proposal {id}");
    let mut w = store.writer(actor, &reason, now)?;
    let row = {
        let mut tx = w.tx()?;
        let lock = if tx.engine() == "postgres" {
            " FOR UPDATE"
        } else {
            ""
        };
        tx.query(
            &format!(
                "SELECT personal_id, commune, proposed, state, created_at FROM register_proposal WHERE id = $1{lock}"
            ),
            &[id.into()],
        )?
        .into_iter()
        .next()
    };
    let p = row.ok_or(OpsError::NotFound("proposal.not_found"))?;
    let g = |i: usize| p.get(i).cloned().unwrap_or(Val::Null);
    let (pid, commune, proposed, state) = (g(0).text()?, g(1).text()?, g(2).text()?, g(3).text()?);
    let created_at = crate::store::from_ms(g(4).int()?);
    let commune = UnitCode::parse(&commune).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let state = ProposalState::parse(&state).map_err(|e| corrupt("proposal", e))?;
    if !may_see(&commune) {
        return Err(OpsError::Invalid(
            "scope.denied",
            "the proposal is outside your unit".into(),
        ));
    }
    let decided = || {
        OpsError::Conflict(
            "proposal.decided",
            "the proposal has already been decided; reload the list".into(),
        )
    };
    match state {
        ProposalState::Open => {}
        ProposalState::Confirmed | ProposalState::Dismissed => return Err(decided()),
    }
    let person_id = PersonalId::parse(&pid).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if confirm {
        let life = eid_domain::LifeState::parse(&proposed).ok_or_else(|| {
            OpsError::Bad(
                "proposal.bad_value",
                "the proposal holds a life status this version does not know".into(),
            )
        })?;
        let stored = w
            .current(&person_id)?
            .ok_or(OpsError::NotFound("person.not_found"))?;
        let mut next = stored.person.clone();
        next.life = eid_domain::LifeStatus {
            state: life,
            since: Some(now.to_offset(crate::accounts::vietnam()).date()),
        };
        w.put(&next)?;
    }
    let new_state = if confirm {
        ProposalState::Confirmed
    } else {
        ProposalState::Dismissed
    };
    let changed = w.tx()?.exec(
        "UPDATE register_proposal SET state = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND state = 'open'",
        &[new_state.as_str().into(), actor.to_db().into(), to_ms(now).into(), id.into()],
    )?;
    if changed != 1 {
        // Dropping the writer rolls the person's change back with it.
        return Err(decided());
    }
    w.commit()?;
    if confirm {
        crate::accounts::sync_register_lock(store, &person_id, now)?;
    }
    Ok(Proposal {
        id,
        personal_id: pid,
        commune,
        proposed,
        state: new_state,
        created_at,
    })
}

impl std::fmt::Debug for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proposal")
            .field("id", &self.id)
            .field("personal_id", &redact::Id(&self.personal_id))
            .field("commune", &self.commune)
            .field("proposed", &self.proposed)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// What an officer deciding a proposal reads beside it: the person's name, the field
/// officer's note on the contact that raised it, and who recorded that contact.
#[derive(Clone, PartialEq, Eq)]
pub struct ProposalContext {
    pub name: String,
    pub note: String,
    pub proposed_by: crate::store::Actor,
}

impl std::fmt::Debug for ProposalContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProposalContext")
            .field("proposed_by", &self.proposed_by)
            .finish_non_exhaustive()
    }
}

/// The context of the open proposals `ids` (those listed by [`proposals`], already in the
/// officer's scope), by proposal id.
pub fn proposal_context(
    store: &dyn Store,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, ProposalContext>, StoreError> {
    let mut out = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT r.id, p.surname, p.middle_name, p.given_name, c.note, c.actor \
             FROM register_proposal r \
             LEFT JOIN person p ON p.personal_id = r.personal_id \
             LEFT JOIN outreach_contact c ON c.seq = r.contact_seq \
             WHERE r.state = 'open' ORDER BY r.id",
            &[],
        )
    })?;
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let id = g(0).int()?;
        if !ids.contains(&id) {
            continue;
        }
        let mut name = Vec::new();
        for i in 1..=3 {
            if let Some(s) = g(i).opt_text()?.filter(|s| !s.is_empty()) {
                name.push(s);
            }
        }
        out.insert(
            id,
            ProposalContext {
                name: name.join(" "),
                note: g(4).opt_text()?.unwrap_or_default(),
                proposed_by: crate::store::Actor::from_db(&g(5).opt_text()?.unwrap_or_default()),
            },
        );
    }
    Ok(out)
}
