//! `eid demo`, trust (issue 15): a few data-use entries for the demo citizen (a commune
//! officer's lookup, a relying party's release, a sector match), one signed checkpoint, and a
//! fresh officer code to try on `/me/verify-officer`; prints where to look.

use super::*;
use eid_core::store::Role;
use eid_core::transparency::{self, checkpoint, DataUse, Who};
use eid_core::{officer_code, Acting, Caller};

pub(super) fn demo_trust(
    state: &crate::state::AppState,
    citizen: Option<&eid_core::accounts::Account>,
    base: &str,
) -> Result<(), Failure> {
    let store = state.store.as_ref();
    let officer = store
        .list_staff()?
        .into_iter()
        .find(|s| s.role == Role::Commune && !s.disabled);
    if let (Some(a), Some(o)) = (citizen, officer.as_ref()) {
        let pid = a.personal_id.as_str();
        if transparency::entries_for(store, pid, 0)?.0.is_empty() {
            let t = now();
            let caller = Caller {
                staff: o.clone(),
                actor: Actor::Staff(o.id),
            };
            for (who, what, purpose, ago) in [
                (
                    Who::Sector {
                        source: "BHXH tỉnh (bảo hiểm y tế)".to_owned(),
                    },
                    "health_insurance",
                    "linkage.match",
                    72,
                ),
                (
                    Who::RelyingParty {
                        client_id: "demo-portal".to_owned(),
                        name: "Cổng dịch vụ công (mẫu)".to_owned(),
                    },
                    "name birthdate phone",
                    "oidc.userinfo",
                    30,
                ),
                (Who::staff(&caller), "person", "register.lookup", 3),
            ] {
                transparency::record(
                    store,
                    &DataUse {
                        personal_id: pid.to_owned(),
                        who,
                        what: what.to_owned(),
                        purpose: purpose.to_owned(),
                        at: t - time::Duration::hours(ago),
                    },
                )?;
            }
        }
    }
    let kek = state.oidc.kek().map_err(|e| Failure::from(e.description))?;
    let cp = match checkpoint::publish(store, &kek, now())? {
        Some(cp) => Some(cp),
        None => checkpoint::latest(store)?,
    };
    if let Some(cp) = cp {
        outln!(
            "trust: data-use log checkpoint {} signed — {base}/transparency/checkpoint; check with `eid audit verify`",
            cp.size
        )?;
    }
    outln!(
        "trust: the demo citizen's \"who used my data\" at {base}/me/data-use (report an entry; the auditor kiemtra answers at {base}/trust/reports); recovery without the old phone at {base}/me/recover"
    )?;
    if let Some(o) = officer {
        let acting = Acting::new(
            Caller {
                actor: Actor::Staff(o.id),
                staff: o,
            },
            "demo",
            now(),
        );
        let issued = officer_code::issue(store, &acting)?;
        outln!(
            "trust: officer code {} (5 minutes) — check it at {base}/me/verify-officer; officers make new ones at {base}/trust/officer-code",
            issued.code
        )?;
    }
    Ok(())
}
