//! Intake devices: registered per unit with an Ed25519 public key and a daily capacity.

use eid_domain::{DeviceStatus, Tree, UnitCode, Units};
use time::OffsetDateTime;

use crate::sql::{self, SqlRow, Val};
use crate::store::{from_ms, to_ms, Actor, Store, StoreError};

use super::*;

/// An intake device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub name: String,
    pub unit: UnitCode,
    pub public_key: Vec<u8>,
    pub daily_capacity: u32,
    pub status: DeviceStatus,
    pub created_at: OffsetDateTime,
}

pub(super) const DEVICE_COLS: &str =
    "id, name, unit, public_key, daily_capacity, status, created_at";

pub(super) fn device_from(r: &SqlRow) -> Result<Device, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    Ok(Device {
        id: g(0).int()?,
        name: g(1).text()?,
        unit: UnitCode::parse(&g(2).text()?)
            .map_err(|e| StoreError::Corrupt(format!("device unit: {e}")))?,
        public_key: g(3).blob()?,
        daily_capacity: u32::try_from(g(4).int()?).unwrap_or(0),
        status: DeviceStatus::parse(&g(5).text()?).map_err(corrupt)?,
        created_at: from_ms(g(6).int()?),
    })
}

/// Registers an intake device for a unit (of the 2024 tree, below the nation).
pub fn add_device(
    store: &dyn Store,
    name: &str,
    unit: &UnitCode,
    public_key: &[u8; 32],
    daily_capacity: u32,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Device, Refusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Refusal::Invalid(
            "device.name",
            "a device name has 1 to 100 characters".into(),
        ));
    }
    if daily_capacity == 0 || daily_capacity > 10_000 {
        return Err(Refusal::Invalid(
            "device.capacity",
            "daily capacity must be 1 to 10,000".into(),
        ));
    }
    match Units::get().unit(Tree::Gso2024, unit) {
        Some(u) if u.level != eid_domain::Level::Nation => {}
        _ => {
            return Err(Refusal::Invalid(
                "device.unit",
                "the unit must be a province, district or commune of the 2024 tree".into(),
            ))
        }
    }
    sql::transact(store.db(), |tx| {
        if tx
            .row(
                "SELECT id FROM device WHERE public_key = $1",
                &[public_key.to_vec().into()],
            )?
            .is_some()
        {
            return Err(Refusal::Invalid(
                "device.key_taken",
                "another device has this public key".into(),
            ));
        }
        let id = tx.int(
            "INSERT INTO device (name, unit, public_key, daily_capacity, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'active', $5, $5) RETURNING id",
            &[
                name.into(),
                unit.as_str().into(),
                public_key.to_vec().into(),
                daily_capacity.into(),
                to_ms(now).into(),
            ],
        )?;
        record(
            tx,
            NewEvent {
                personal_id: "",
                account_id: None,
                application_id: None,
                kind: "device_added",
                commune: None,
                res_path: None,
                unit: Some(unit.as_str()),
                device_id: Some(id),
                actor,
                detail: serde_json::json!({ "name": name, "daily_capacity": daily_capacity }),
            },
            now,
        )?;
        let sql = format!("SELECT {DEVICE_COLS} FROM device WHERE id = $1");
        tx.row(&sql, &[id.into()])?
            .as_ref()
            .map(device_from)
            .transpose()?
            .ok_or(Refusal::NotFound("device.not_found"))
    })
}

/// The device status named by `s` (`active`, `suspended`, `retired`), as a refusal otherwise.
pub fn device_status(s: &str) -> Result<DeviceStatus, Refusal> {
    DeviceStatus::parse(s).map_err(|_| {
        Refusal::Invalid(
            "device.status",
            "status is active, suspended or retired".into(),
        )
    })
}

/// Sets a device's status. A retired device stays retired.
pub fn set_device_status(
    store: &dyn Store,
    id: i64,
    status: DeviceStatus,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Device, Refusal> {
    sql::transact(store.db(), |tx| {
        let sql = format!("SELECT {DEVICE_COLS} FROM device WHERE id = $1");
        let d = tx
            .row(&sql, &[id.into()])?
            .as_ref()
            .map(device_from)
            .transpose()?
            .ok_or(Refusal::NotFound("device.not_found"))?;
        if !d.status.may_become(status) {
            return Err(Refusal::WrongState(
                "a retired device cannot be brought back".into(),
            ));
        }
        tx.exec(
            "UPDATE device SET status = $1, updated_at = $2 WHERE id = $3",
            &[status.as_str().into(), to_ms(now).into(), id.into()],
        )?;
        record(
            tx,
            NewEvent {
                personal_id: "",
                account_id: None,
                application_id: None,
                kind: "device_status",
                commune: None,
                res_path: None,
                unit: Some(d.unit.as_str()),
                device_id: Some(id),
                actor,
                detail: serde_json::json!({ "from": d.status.as_str(), "to": status.as_str() }),
            },
            now,
        )?;
        Ok(Device { status, ..d })
    })
}

/// A device by id.
pub fn device(store: &dyn Store, id: i64) -> Result<Option<Device>, StoreError> {
    sql::read(store.db(), |tx| {
        let sql = format!("SELECT {DEVICE_COLS} FROM device WHERE id = $1");
        tx.row(&sql, &[id.into()])?
            .as_ref()
            .map(device_from)
            .transpose()
    })
}

/// Devices whose unit is inside `within` (2024 tree), by unit then id.
pub fn devices(store: &dyn Store, within: &UnitCode) -> Result<Vec<Device>, StoreError> {
    let all: Vec<Device> = sql::read(store.db(), |tx| {
        let sql = format!("SELECT {DEVICE_COLS} FROM device ORDER BY unit, id");
        tx.query(&sql, &[])?
            .iter()
            .map(device_from)
            .collect::<Result<Vec<_>, _>>()
    })?;
    let units = Units::get();
    Ok(all
        .into_iter()
        .filter(|d| units.contains(Tree::Gso2024, within, &d.unit))
        .collect())
}

/// Applications collected by each device on each day in `[from, to]` (day numbers).
pub fn device_use(
    store: &dyn Store,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64, i64)>, StoreError> {
    sql::read(store.db(), |tx| {
        tx.query(
            "SELECT device_id, day, n FROM device_day_count WHERE day >= $1 AND day <= $2 ORDER BY device_id, day",
            &[from.into(), to.into()],
        )?
        .iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            Ok((g(0).int()?, g(1).int()?, g(2).int()?))
        })
        .collect()
    })
}

/// Takes a signed application packet from an intake device: the device is known by the id
/// inside the packet, and nothing else in it is read before the signature checks out with that
/// device's key; then [`collect`]. Audited as `intake.packet` by the device (`denied` for a bad
/// signature or a refused application), with the request's id.
pub fn intake(
    store: &dyn Store,
    s: &Settings,
    packet: &str,
    signature: &str,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<Collected, crate::Error> {
    let device_id =
        crate::intake::claimed_device(packet).map_err(|e| Refusal::BadPacket(e.to_string()))?;
    let device = device(store, device_id)?.ok_or(Refusal::DeviceUnknown)?;
    let key: [u8; 32] = device.public_key.clone().try_into().map_err(|_| {
        StoreError::Corrupt(format!(
            "the stored key of device {device_id} is not 32 bytes"
        ))
    })?;
    let actor = Actor::Cli(format!("device:{device_id}"));
    let packet = match crate::intake::verify(packet, signature, &key) {
        Ok(packet) => packet,
        Err(e) => {
            store.audit(
                &actor,
                "intake.packet",
                &device_id.to_string(),
                "denied",
                request_id,
                now,
            )?;
            return Err(Refusal::BadPacket(e.to_string()).into());
        }
    };
    let out = collect(store, s, &device, &packet, now);
    let outcome = if out.is_ok() { "ok" } else { "denied" };
    store.audit(
        &actor,
        "intake.packet",
        packet.personal_id.as_str(),
        outcome,
        request_id,
        now,
    )?;
    Ok(out?)
}
