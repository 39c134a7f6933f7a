//! The demo's staff accounts and intake devices.

use super::*;

/// The staff account `username`, created (unit `unit`, role `role`) if missing.
pub(super) fn officer(
    store: &dyn Store,
    username: &str,
    display: String,
    role: Role,
    unit: UnitCode,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<Staff, String> {
    if let Some((s, _)) = store
        .staff_by_username(username)
        .map_err(|e| e.to_string())?
    {
        return Ok(s);
    }
    store
        .create_staff(
            &NewStaff {
                username: username.to_owned(),
                display_name: display,
                role,
                unit,
                password_hash: password_hash.to_owned(),
            },
            now,
        )
        .map_err(|e| e.to_string())?;
    store
        .staff_by_username(username)
        .map_err(|e| e.to_string())?
        .map(|(s, _)| s)
        .ok_or_else(|| format!("staff {username} was not created"))
}

/// Registers demo device `k` of `unit`, whose key derives from the demo's seed.
#[allow(clippy::too_many_arguments)]
pub(super) fn demo_device(
    store: &dyn Store,
    seed: u64,
    unit: UnitCode,
    k: usize,
    name: String,
    capacity: u32,
    officer: &Staff,
    at: OffsetDateTime,
) -> Result<(acc::Device, DemoDevice), String> {
    let seed_hex = device_seed(seed, &unit, k);
    let key = eid_core::intake::signing_key(&seed_hex).map_err(|e| e.to_string())?;
    let public = eid_core::intake::parse_public_key(&eid_core::intake::public_hex(&key))
        .map_err(|e| e.to_string())?;
    let dev = acc::add_device(
        store,
        &name,
        &unit,
        &public,
        capacity,
        &Actor::Cli("demo".to_owned()),
        at,
    )
    .map_err(|e| format!("demo device {name}: {e}"))?;
    let demo = DemoDevice {
        id: dev.id,
        name,
        unit,
        capacity,
        status: dev.status,
        seed_hex,
        officer: officer.username.clone(),
    };
    Ok((dev, demo))
}
