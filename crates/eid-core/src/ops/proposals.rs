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
pub fn decide_proposal(
    store: &dyn Store,
    id: i64,
    confirm: bool,
    actor: &Actor,
    may_see: &dyn Fn(&UnitCode) -> bool,
    now: OffsetDateTime,
) -> Result<Proposal, OpsError> {
    let p = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT personal_id, commune, proposed, state FROM register_proposal WHERE id = $1",
            &[id.into()],
        )
    })?
    .ok_or(OpsError::NotFound("proposal.not_found"))?;
    let g = |i: usize| p.get(i).cloned().unwrap_or(Val::Null);
    let (pid, commune, proposed, state) = (g(0).text()?, g(1).text()?, g(2).text()?, g(3).text()?);
    let commune = UnitCode::parse(&commune).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let state = ProposalState::parse(&state).map_err(|e| corrupt("proposal", e))?;
    if !may_see(&commune) {
        return Err(OpsError::Invalid(
            "scope.denied",
            "the proposal is outside your unit".into(),
        ));
    }
    match state {
        ProposalState::Open => {}
        ProposalState::Confirmed | ProposalState::Dismissed => {
            return Err(OpsError::Invalid(
                "proposal.decided",
                format!("the proposal is already {state}"),
            ));
        }
    }
    let person_id = PersonalId::parse(&pid).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if confirm {
        let stored = store
            .person(&person_id)?
            .ok_or(OpsError::NotFound("person.not_found"))?;
        let mut next = stored.person.clone();
        next.life = eid_domain::LifeStatus {
            state: eid_domain::LifeState::parse(&proposed).unwrap_or(eid_domain::LifeState::Absent),
            since: Some(now.to_offset(crate::accounts::vietnam()).date()),
        };
        let mut w = store.writer(actor, &format!("confirmed outreach proposal {id}"), now)?;
        w.put(&next)?;
        w.commit()?;
        crate::accounts::sync_register_lock(store, &person_id, now)?;
    }
    let new_state = if confirm {
        ProposalState::Confirmed
    } else {
        ProposalState::Dismissed
    };
    sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE register_proposal SET state = $1, decided_by = $2, decided_at = $3 WHERE id = $4",
            &[new_state.as_str().into(), actor.to_db().into(), to_ms(now).into(), id.into()],
        )?;
        Ok::<_, OpsError>(())
    })?;
    Ok(Proposal {
        id,
        personal_id: pid,
        commune,
        proposed,
        state: new_state,
        created_at: now,
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
