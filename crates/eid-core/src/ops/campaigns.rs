//! Peak campaigns (đợt cao điểm) and their rates before and during.

use eid_domain::{Tree, UnitCode, Units};
use time::{Date, OffsetDateTime};

use super::{done, range, OpsError};
use crate::accounts::{day_date, day_number};
use crate::sql::{self, Val};
use crate::store::{to_ms, Actor, Store, StoreError};

/// A peak campaign (đợt cao điểm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub slogan: String,
    pub unit: UnitCode,
    pub start: Date,
    pub end: Date,
}

/// Records a peak campaign over a unit's subtree.
#[allow(clippy::too_many_arguments)]
pub fn add_campaign(
    store: &dyn Store,
    name: &str,
    slogan: &str,
    unit: &UnitCode,
    start: Date,
    end: Date,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Campaign, OpsError> {
    let (name, slogan) = (name.trim(), slogan.trim());
    if name.is_empty() || name.chars().count() > 200 || slogan.chars().count() > 300 {
        return Err(OpsError::Invalid(
            "campaign.name",
            "a campaign needs a name (up to 200 characters) and a slogan up to 300".into(),
        ));
    }
    if end < start {
        return Err(OpsError::Invalid(
            "campaign.dates",
            "the campaign ends before it starts".into(),
        ));
    }
    range(unit)?;
    sql::transact(store.db(), |tx| {
        let id = tx.int(
            "INSERT INTO campaign (name, slogan, unit, start_day, end_day, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[name.into(), slogan.into(), unit.as_str().into(), day_number(start).into(), day_number(end).into(), actor.to_db().into(), to_ms(now).into()],
        )?;
        Ok(Campaign {
            id,
            name: name.to_owned(),
            slogan: slogan.to_owned(),
            unit: *unit,
            start,
            end,
        })
    })
}

/// Campaigns over `unit`, its ancestors or its descendants, latest first.
pub fn campaigns(store: &dyn Store, unit: &UnitCode) -> Result<Vec<Campaign>, StoreError> {
    let rows = sql::read(store.db(), |tx| {
        tx.query("SELECT id, name, slogan, unit, start_day, end_day FROM campaign ORDER BY start_day DESC, id DESC", &[])
    })?;
    let units = Units::get();
    let mut out = Vec::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let u = UnitCode::parse(&g(3).text()?)
            .map_err(|e| StoreError::Corrupt(format!("campaign unit: {e}")))?;
        if units.contains(Tree::Gso2024, &u, unit) || units.contains(Tree::Gso2024, unit, &u) {
            out.push(Campaign {
                id: g(0).int()?,
                name: g(1).text()?,
                slogan: g(2).text()?,
                unit: u,
                start: day_date(g(4).int()?),
                end: day_date(g(5).int()?),
            });
        }
    }
    Ok(out)
}

/// The average daily count of `metric` in the campaign's unit before it (the same number of
/// days) and during it (up to `as_of`).
pub fn campaign_rates(
    store: &dyn Store,
    c: &Campaign,
    metric: &str,
    as_of: Date,
) -> Result<(f64, f64), OpsError> {
    let start = day_number(c.start);
    let end = day_number(c.end.min(as_of));
    if end < start {
        return Ok((0.0, 0.0));
    }
    let days = end - start + 1;
    let during = done(store, metric, &c.unit, start, end)?;
    let before = done(store, metric, &c.unit, start - days, start - 1)?;
    Ok((before as f64 / days as f64, during as f64 / days as f64))
}
