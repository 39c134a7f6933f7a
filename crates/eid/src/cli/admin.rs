//! `eid admin`: staff users, tokens, intake devices and accounts.

use super::*;

/// Checks that `unit` exists in the 2024 tree and fits `role`; returns it.
pub fn check_role_unit(role: Role, unit: &str) -> Result<UnitCode, String> {
    let unit = Units::get()
        .lookup(Tree::Gso2024, unit.trim())
        .map_err(|e| e.to_string())?;
    match role.level() {
        Some(level) if level != unit.level => Err(format!(
            "role {} needs a {} unit ({}), but {} ({}) is a {}",
            role.as_str(),
            level,
            match level {
                Level::Nation => "VN",
                Level::Province => "2 digits",
                Level::District => "3 digits",
                Level::Commune => "5 digits",
            },
            unit.code,
            unit.name,
            unit.level
        )),
        _ => Ok(unit.code),
    }
}

pub(super) fn admin(config: &Config, cmd: AdminCommand) -> Result<(), Failure> {
    match cmd {
        AdminCommand::CreateUser(a) => {
            let role = Role::parse(a.role.trim()).ok_or_else(|| {
                format!(
                    "role must be ministry, province, district, commune or auditor, got {:?}",
                    a.role
                )
            })?;
            let unit = check_role_unit(role, &a.unit)?;
            let (password, generated) = if a.password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .take(4096)
                    .read_to_string(&mut line)?;
                let pw = line.lines().next().unwrap_or("").to_owned();
                (pw, false)
            } else {
                (secret::random_password(), true)
            };
            secret::check_password_policy(&password)?;
            let store = open_store(&config.db)?;
            let new = NewStaff {
                username: a.username.trim().to_owned(),
                display_name: a
                    .display_name
                    .unwrap_or_else(|| a.username.trim().to_owned()),
                role,
                unit,
                password_hash: secret::hash_password(&password)?,
            };
            if generated {
                // Shown before the account exists: a password nobody saw is never stored.
                if store.staff_by_username(&new.username)?.is_some() {
                    return Err(format!("a user named {:?} already exists", new.username).into());
                }
                out::shown_once(
                    &format!("password (shown once): {password}\n"),
                    "the password",
                )?;
            }
            let id = store.create_staff(&new, now())?;
            store.audit(
                &Actor::Cli("admin".to_owned()),
                "staff.create",
                &new.username,
                "ok",
                "cli",
                now(),
            )?;
            outln!(
                "created user {} (id {id}), role {}, unit {}",
                new.username,
                role.as_str(),
                unit
            )
        }
        AdminCommand::IssueToken(a) => {
            let store = open_store(&config.db)?;
            let (staff, _) = store
                .staff_by_username(a.username.trim())?
                .ok_or_else(|| format!("no user named {:?}", a.username))?;
            let token = secret::random_token();
            // Shown before it is stored: a token nobody saw is never valid. Its id comes after,
            // on stderr, so that the token stays the last line of stdout.
            out::shown_once(
                &format!("token for {} (shown once):\n{token}\n", staff.username),
                "the token",
            )?;
            let id =
                store.create_api_token(staff.id, &a.name, &secret::token_hash(&token), now())?;
            store.audit(
                &Actor::Cli("admin".to_owned()),
                "token.issue",
                &id.to_string(),
                "ok",
                "cli",
                now(),
            )?;
            errln!("token {id} issued (eid admin revoke-token --id {id} revokes it)");
            Ok(())
        }
        AdminCommand::RevokeToken(a) => {
            let store = open_store(&config.db)?;
            store.revoke_api_token(a.id, now()).map_err(|e| match e {
                eid_core::StoreError::NotFound => format!("no token with id {}", a.id),
                e => e.to_string(),
            })?;
            store.audit(
                &Actor::Cli("admin".to_owned()),
                "token.revoke",
                &a.id.to_string(),
                "ok",
                "cli",
                now(),
            )?;
            outln!("token {} revoked", a.id)
        }
        AdminCommand::ListUsers => {
            let store = open_store(&config.db)?;
            print_users(&store.list_staff()?)
        }
        AdminCommand::ListTokens => {
            let store = open_store(&config.db)?;
            outln!(
                "{:>4}  {:>5}  {:<24}  {:<20}  revoked",
                "id",
                "user",
                "name",
                "created"
            )?;
            for t in store.list_api_tokens()? {
                outln!(
                    "{:>4}  {:>5}  {:<24}  {:<20}  {}",
                    t.id,
                    t.staff_id,
                    t.name,
                    crate::wire::rfc3339(t.created_at),
                    t.revoked_at
                        .map(crate::wire::rfc3339)
                        .unwrap_or_else(|| "-".to_owned())
                )?;
            }
            Ok(())
        }
        AdminCommand::Device(cmd) => admin_device(config, cmd),
        AdminCommand::Account(cmd) => admin_account(config, cmd),
        AdminCommand::Client(cmd) => super::oidc::admin_client(config, cmd),
        AdminCommand::Keys(cmd) => super::oidc::admin_keys(config, cmd),
        AdminCommand::Peak(cmd) => super::surge::peak(config, cmd),
        AdminCommand::Backup(a) => super::surge::backup(config, a),
        AdminCommand::Restore(a) => super::surge::restore(config, a),
    }
}

/// The unit a device is registered for: one of the 2024 tree, below the nation.
pub(super) fn device_unit(raw: &str) -> Result<UnitCode, Failure> {
    let unit = Units::get().lookup(Tree::Gso2024, raw.trim())?;
    if unit.level == Level::Nation {
        return Err("a device belongs to a province, district or commune, not to VN".into());
    }
    Ok(unit.code)
}

pub(super) fn unit_label(code: &UnitCode) -> String {
    match Units::get().unit(Tree::Gso2024, code) {
        Some(u) => format!("{} ({})", u.code, u.name),
        None => code.to_string(),
    }
}

pub(super) fn admin_device(config: &Config, cmd: DeviceCommand) -> Result<(), Failure> {
    let cli = Actor::Cli("admin".to_owned());
    match cmd {
        DeviceCommand::Add(a) => {
            let unit = device_unit(&a.unit)?;
            let (public_hex, seed) = match (&a.public_key, a.generate_key) {
                (Some(k), false) => (k.trim().to_owned(), None),
                (None, true) => {
                    let (seed, public) = eid_core::intake::new_key();
                    (public, Some(seed))
                }
                _ => return Err("give either --public-key or --generate-key".into()),
            };
            let key = eid_core::intake::parse_public_key(&public_hex)
                .map_err(|e| format!("--public-key: {e}"))?;
            let store = open_store(&config.db)?;
            if let Some(seed) = &seed {
                // The seed first, alone on the first line (`| head -1` keeps it), and before the
                // device exists: a device whose seed nobody received is never registered.
                out::shown_once(
                    &format!("private key seed (shown once; keep it on the device, which signs its packets with it): {seed}\n"),
                    "the private key seed",
                )?;
            }
            let r = acc::add_device(
                store.as_ref(),
                &a.name,
                &unit,
                &key,
                a.capacity,
                &cli,
                now(),
            );
            store.audit(
                &cli,
                "device.add",
                unit.as_str(),
                if r.is_ok() { "ok" } else { "denied" },
                "cli",
                now(),
            )?;
            let d = r?;
            outln!(
                "device {} added: {}, unit {}, {} applications a day",
                d.id,
                d.name,
                unit_label(&d.unit),
                d.daily_capacity
            )?;
            outln!("public key {public_hex}")
        }
        DeviceCommand::Suspend(a) => device_status(config, a.id, DeviceStatus::Suspended),
        DeviceCommand::Activate(a) => device_status(config, a.id, DeviceStatus::Active),
        DeviceCommand::Retire(a) => device_status(config, a.id, DeviceStatus::Retired),
        DeviceCommand::List(a) => {
            let within = match &a.unit {
                Some(u) => Units::get().lookup(Tree::Gso2024, u.trim())?.code,
                None => UnitCode::NATION,
            };
            let store = open_store(&config.db)?;
            let devices = acc::devices(store.as_ref(), &within)?;
            outln!(
                "{:>4}  {:<6}  {:<9}  {:>8}  {:<16}  name",
                "id",
                "unit",
                "status",
                "capacity",
                "public key"
            )?;
            for d in &devices {
                let key = eid_core::secret::hex(&d.public_key);
                outln!(
                    "{:>4}  {:<6}  {:<9}  {:>8}  {:<16}  {}",
                    d.id,
                    d.unit.as_str(),
                    d.status,
                    d.daily_capacity,
                    format!("{}…", key.get(..15).unwrap_or(&key)),
                    d.name
                )?;
            }
            errln!(
                "{} device{}",
                devices.len(),
                if devices.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
    }
}

pub(super) fn device_status(config: &Config, id: i64, status: DeviceStatus) -> Result<(), Failure> {
    let cli = Actor::Cli("admin".to_owned());
    let store = open_store(&config.db)?;
    let before =
        acc::device(store.as_ref(), id)?.ok_or_else(|| format!("no device with id {id}"))?;
    let r = acc::set_device_status(store.as_ref(), id, status, &cli, now());
    store.audit(
        &cli,
        "device.status",
        &id.to_string(),
        if r.is_ok() { "ok" } else { "denied" },
        "cli",
        now(),
    )?;
    let d = r?;
    outln!(
        "device {} ({}) is {} (was {})",
        d.id,
        d.name,
        d.status,
        before.status
    )?;
    Ok(())
}

/// The staff user a CLI command acts as (`--as USERNAME`): it must exist, be enabled and not be
/// an auditor.
pub fn acting_staff(store: &dyn Store, username: &str) -> Result<Staff, Failure> {
    let (staff, _) = store
        .staff_by_username(username.trim())?
        .ok_or_else(|| format!("no staff user named {:?}", username.trim()))?;
    if staff.disabled {
        return Err(format!("staff user {} is disabled", staff.username).into());
    }
    if staff.role == Role::Auditor {
        return Err(format!(
            "{} is an auditor: auditors do not lock or unlock accounts",
            staff.username
        )
        .into());
    }
    Ok(staff)
}

pub(super) fn admin_account(config: &Config, cmd: AccountCommand) -> Result<(), Failure> {
    let (a, lock) = match cmd {
        AccountCommand::Lock(a) => (a, true),
        AccountCommand::Unlock(a) => (a, false),
    };
    let id = eid_domain::PersonalId::parse(a.personal_id.trim())
        .map_err(|e| format!("personal ID {:?}: {e}", a.personal_id.trim()))?;
    let store = open_store(&config.db)?;
    let staff = acting_staff(store.as_ref(), &a.as_staff)?;
    let actor = Actor::Cli(format!("admin:{}", staff.username));
    let action = if lock {
        "account.lock"
    } else {
        "account.unlock"
    };
    let Some(account) = acc::sync_register_lock(store.as_ref(), &id, now())? else {
        store.audit(&actor, action, id.as_str(), "failed", "cli", now())?;
        return Err(format!("no account for personal ID {id}").into());
    };
    let r = acc::set_lock(
        store.as_ref(),
        &account,
        acc::LockBy::Officer(&staff, &a.reason),
        lock,
        now(),
    );
    store.audit(
        &actor,
        action,
        id.as_str(),
        if r.is_ok() { "ok" } else { "denied" },
        "cli",
        now(),
    )?;
    let account = r?;
    outln!(
        "account of {id} {} by {}; it is now {}{}",
        if lock { "locked" } else { "unlocked" },
        staff.username,
        account.status(),
        match account.locks() {
            l if l.is_empty() => String::new(),
            l => format!(" (locks: {})", l.join(", ")),
        }
    )?;
    Ok(())
}
pub(super) fn print_users(users: &[Staff]) -> Result<(), Failure> {
    outln!(
        "{:>4}  {:<16}  {:<9}  {:<6}  {:<30}  disabled",
        "id",
        "username",
        "role",
        "unit",
        "display name"
    )?;
    for s in users {
        outln!(
            "{:>4}  {:<16}  {:<9}  {:<6}  {:<30}  {}",
            s.id,
            s.username,
            s.role.as_str(),
            s.unit.as_str(),
            s.display_name,
            if s.disabled { "yes" } else { "no" }
        )?;
    }
    Ok(())
}
