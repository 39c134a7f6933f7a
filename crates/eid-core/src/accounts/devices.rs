//! Intake devices: registered per unit with an Ed25519 public key and a daily capacity.

use eid_domain::{DeviceStatus, Tree, UnitCode, Units};
use time::OffsetDateTime;

use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms, Actor, Staff, Store, StoreError};

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
    sql::read(store.db(), |tx| device_in(tx, id))
}

/// A device by id, read inside `tx`.
pub(super) fn device_in(tx: &mut dyn Tx, id: i64) -> Result<Option<Device>, StoreError> {
    let sql = format!("SELECT {DEVICE_COLS} FROM device WHERE id = $1");
    tx.row(&sql, &[id.into()])?
        .as_ref()
        .map(device_from)
        .transpose()
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
    intake_on(
        IntakeNode::default(),
        store,
        s,
        packet,
        signature,
        request_id,
        now,
    )
}

/// What a server node keeps for the applications it takes ([`intake_on`]).
#[derive(Clone, Copy, Default)]
pub struct IntakeNode<'a> {
    /// The group commit the applications' transactions share (`None`: each commits alone).
    pub group: Option<&'a sql::Group>,
    /// The devices and officers the applications read (`None`: read from the store each time).
    pub cache: Option<&'a IntakeCache>,
}

/// [`intake`] on a server node: the application's transaction goes to the node's group commit,
/// and the device and officer come from the node's cache. A row from the cache is confirmed
/// inside the transaction (read again and compared; a difference rolls back and the request
/// runs once more from the store), and a refusal that a cached row decided — a bad signature,
/// an inactive device, an unknown, disabled or out-of-scope officer — is decided again from the
/// store before it is answered or audited. So a device suspended or an officer disabled
/// anywhere (another node, the CLI) never gets an application written on its old row.
pub fn intake_on(
    node: IntakeNode<'_>,
    store: &dyn Store,
    s: &Settings,
    packet: &str,
    signature: &str,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<Collected, crate::Error> {
    let device_id =
        crate::intake::claimed_device(packet).map_err(|e| Refusal::BadPacket(e.to_string()))?;
    let actor = Actor::Cli(format!("device:{device_id}"));
    let mut done = None;
    for fresh in [node.cache.is_none(), true] {
        match try_intake(node, store, s, device_id, packet, signature, now, fresh)? {
            Try::Again => {
                if let Some(c) = node.cache {
                    c.forget_all();
                }
            }
            other => {
                done = Some(other);
                break;
            }
        }
    }
    match done {
        Some(Try::BadSignature(e)) => {
            store.audit(
                &actor,
                "intake.packet",
                &device_id.to_string(),
                "denied",
                request_id,
                now,
            )?;
            Err(Refusal::BadPacket(e).into())
        }
        Some(Try::Done(personal_id, out)) => {
            let outcome = if out.is_ok() { "ok" } else { "denied" };
            store.audit(
                &actor,
                "intake.packet",
                personal_id.as_str(),
                outcome,
                request_id,
                now,
            )?;
            Ok((*out)?)
        }
        Some(Try::Again) | None => Err(StoreError::Db(
            "an application read from the store asked to be read again".into(),
        )
        .into()),
    }
}

/// One try at an application.
enum Try {
    /// The signature does not verify with the device's key (read from the store).
    BadSignature(String),
    /// Collected or refused; the applicant's ID is the audit line's target.
    Done(eid_domain::PersonalId, Box<Result<Collected, Refusal>>),
    /// A cached row decided a refusal, or the transaction found it changed.
    Again,
}

/// Verifies and collects with the device and officer from the cache, or (`fresh`) from the
/// store.
#[allow(clippy::too_many_arguments)]
fn try_intake(
    node: IntakeNode<'_>,
    store: &dyn Store,
    s: &Settings,
    device_id: i64,
    packet: &str,
    signature: &str,
    now: OffsetDateTime,
    fresh: bool,
) -> Result<Try, crate::Error> {
    let (device_cached, device) = match node.cache {
        Some(c) => c.device(store, device_id, fresh)?,
        None => device(store, device_id)?.map(|d| (false, d)),
    }
    .ok_or(Refusal::DeviceUnknown)?;
    let key: [u8; 32] = device.public_key.clone().try_into().map_err(|_| {
        StoreError::Corrupt(format!(
            "the stored key of device {device_id} is not 32 bytes"
        ))
    })?;
    let packet = match crate::intake::verify(packet, signature, &key) {
        Ok(packet) => packet,
        Err(_) if device_cached => return Ok(Try::Again),
        Err(e) => return Ok(Try::BadSignature(e.to_string())),
    };
    // From here on a failure is the application's outcome, audited as before.
    let officer = match node.cache {
        Some(c) => c.officer(store, &packet.officer, fresh),
        None => store
            .staff_by_username(&packet.officer)
            .map(|found| found.map(|(st, _)| (false, st))),
    };
    let officer = match officer {
        Ok(officer) => officer,
        Err(e) => return Ok(Try::Done(packet.personal_id, Box::new(Err(e.into())))),
    };
    let any_cached = device_cached || officer.as_ref().is_some_and(|(c, _)| *c);
    let rows = match officer {
        Some((_, officer)) if any_cached => Confirm::Cached { device, officer },
        officer => Confirm::Not {
            device,
            officer: officer.map(|(_, st)| st),
        },
    };
    Ok(
        match collect_with(store, s, node.group, rows, &packet, now) {
            Ok(c) => Try::Done(packet.personal_id, Box::new(Ok(c))),
            Err(CollectError::Stale) => Try::Again,
            Err(CollectError::Refused(
                Refusal::DeviceInactive(_) | Refusal::OfficerUnknown | Refusal::OfficerOutsideScope,
            )) if any_cached => Try::Again,
            Err(CollectError::Refused(r)) => Try::Done(packet.personal_id, Box::new(Err(r))),
        },
    )
}

/// How long a cached device or officer row is used before it is read again. Every
/// application confirms its rows in its own transaction whatever their age, so this only
/// bounds how long a cache keeps rows no one uses.
const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(5);
/// Beyond this many rows of one kind, the cache starts again.
const CACHE_MAX: usize = 10_000;

/// A per-node cache of the intake devices and officers that every application reads: a hit
/// saves a read transaction each (see [`intake_on`] for how a change is caught).
#[derive(Default)]
pub struct IntakeCache {
    devices: Rows<i64, Device>,
    officers: Rows<String, Staff>,
}

impl IntakeCache {
    /// The device, from the cache unless `fresh` (then read and cached again), and whether it
    /// came from the cache.
    fn device(
        &self,
        store: &dyn Store,
        id: i64,
        fresh: bool,
    ) -> Result<Option<(bool, Device)>, StoreError> {
        if !fresh {
            if let Some(d) = self.devices.get(&id) {
                return Ok(Some((true, d)));
            }
        }
        let found = device(store, id)?;
        match &found {
            Some(d) => self.devices.put(id, d.clone()),
            None => self.devices.forget(&id),
        }
        Ok(found.map(|d| (false, d)))
    }

    /// The officer by username, as [`IntakeCache::device`].
    fn officer(
        &self,
        store: &dyn Store,
        username: &str,
        fresh: bool,
    ) -> Result<Option<(bool, Staff)>, StoreError> {
        if !fresh {
            if let Some(st) = self.officers.get(username) {
                return Ok(Some((true, st)));
            }
        }
        let found = store.staff_by_username(username)?.map(|(st, _)| st);
        match &found {
            Some(st) => self.officers.put(username.to_owned(), st.clone()),
            None => self.officers.forget(username),
        }
        Ok(found.map(|st| (false, st)))
    }

    /// Drops every row (one was found changed).
    pub fn forget_all(&self) {
        self.devices.clear();
        self.officers.clear();
    }
}

/// Rows by key, each with the moment it was read.
struct Rows<K, V>(std::sync::Mutex<std::collections::HashMap<K, (V, std::time::Instant)>>);

impl<K, V> Default for Rows<K, V> {
    fn default() -> Self {
        Rows(std::sync::Mutex::new(std::collections::HashMap::new()))
    }
}

impl<K: Eq + std::hash::Hash, V: Clone> Rows<K, V> {
    fn get<Q>(&self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        let rows = self.0.lock().ok()?;
        let (v, at) = rows.get(k)?;
        (at.elapsed() < CACHE_FOR).then(|| v.clone())
    }

    fn put(&self, k: K, v: V) {
        if let Ok(mut rows) = self.0.lock() {
            if rows.len() >= CACHE_MAX {
                rows.clear();
            }
            rows.insert(k, (v, std::time::Instant::now()));
        }
    }

    fn forget<Q>(&self, k: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        if let Ok(mut rows) = self.0.lock() {
            rows.remove(k);
        }
    }

    fn clear(&self) {
        if let Ok(mut rows) = self.0.lock() {
            rows.clear();
        }
    }
}
