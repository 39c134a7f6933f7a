//! `eid admin keys list|rotate`: the OpenID Connect provider's signing keys.

use eid_core::oidc::keys::{self, Kek};

use super::*;

pub(super) fn keys(config: &Config, cmd: KeysCommand) -> Result<(), Failure> {
    let store = open_store(&config.db)?;
    match cmd {
        KeysCommand::List => {}
        KeysCommand::Rotate => {
            let path = eid_web::oidc::key_file(config).ok_or(
                "set [oidc] key_file: the signing keys are sealed with a key-encryption key",
            )?;
            let kek = Kek::load_or_create(&path)?;
            keys::rotate(
                store.as_ref(),
                &kek,
                &Actor::Cli("admin".to_owned()),
                "cli",
                now(),
            )?;
        }
    }
    for k in keys::list(store.as_ref())? {
        outln!(
            "{}\t{}\t{}\t{}",
            k.kid,
            k.alg.as_str(),
            k.state.as_str(),
            k.created_at.date()
        )?;
    }
    Ok(())
}
