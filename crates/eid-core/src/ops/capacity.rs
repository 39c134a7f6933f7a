//! Intake capacity against what remains of a quota.

use eid_domain::UnitCode;

use super::OpsError;
use crate::store::Store;

/// Intake capacity of a unit against what remains of a quota.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    pub devices: u32,
    /// Sum of the active devices' daily capacity.
    pub per_day: u64,
    /// Days of full-capacity work the remaining applications need (None: no capacity).
    pub days_needed: Option<u64>,
    pub days_left: i64,
    /// More devices (of the average capacity) that would meet the deadline; 0 if enough.
    pub more_devices: u64,
}

/// Capacity of `unit`'s active intake devices for `remaining` applications in `days_left`.
pub fn capacity(
    store: &dyn Store,
    unit: &UnitCode,
    remaining: u64,
    days_left: i64,
) -> Result<Capacity, OpsError> {
    let devices: Vec<_> = crate::accounts::devices(store, unit)?
        .into_iter()
        .filter(|d| d.status == eid_domain::DeviceStatus::Active)
        .collect();
    let per_day = devices.iter().fold(0u64, |sum, d| {
        sum.saturating_add(u64::from(d.daily_capacity))
    });
    let n = u32::try_from(devices.len()).unwrap_or(u32::MAX);
    let days_needed = (per_day > 0).then(|| remaining.div_ceil(per_day));
    let avg = if n > 0 { per_day / u64::from(n) } else { 250 };
    let more = if days_left <= 0 {
        0
    } else {
        let needed_per_day = remaining.div_ceil(days_left.unsigned_abs());
        needed_per_day.saturating_sub(per_day).div_ceil(avg.max(1))
    };
    Ok(Capacity {
        devices: n,
        per_day,
        days_needed,
        days_left,
        more_devices: more,
    })
}
