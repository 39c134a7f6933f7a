//! `eid admin client …` (the relying-party registry) and `eid admin keys rotate` (the provider's
//! signing keys). The registry's rules live in `eid_core::oidc::clients`; the command line acts
//! as a ministry-level caller recorded as `cli:admin` in the audit trail.

use super::*;
use eid_core::oidc::clients::{self, AuthMethod, Client, NewClient};
use eid_core::oidc::jose::Alg;
use eid_core::oidc::{keys, ACR_LOA1};
use eid_core::{Acting, Caller};

#[derive(Debug, Subcommand)]
pub enum RpCommand {
    /// Registers a relying party. With client_secret_basic the secret is printed once
    /// (`client_secret: …`); with private_key_jwt give its public keys (--jwks-file).
    Add(Box<RpAddArgs>),
    /// Lists the relying parties.
    List,
    /// Gives a client_secret_basic client a new secret, printed once; the old one stops working.
    RotateSecret(RpIdArgs),
    /// Disables a relying party: its requests are refused and its grants' tokens stop working.
    Disable(RpIdArgs),
}

#[derive(Debug, Args)]
pub struct RpAddArgs {
    /// The client id (letters, digits, '-', '_', '.') [default: chosen by the registry].
    #[arg(long)]
    pub client_id: Option<String>,
    /// The service's name in Vietnamese, as the consent screen shows it.
    #[arg(long)]
    pub name_vi: String,
    /// The service's name in English.
    #[arg(long)]
    pub name_en: String,
    /// The service's logo (an https URL).
    #[arg(long, value_name = "URL")]
    pub logo_uri: Option<String>,
    /// A redirect URI, matched exactly (repeat for several; https, or http on loopback).
    #[arg(long = "redirect-uri", value_name = "URI", required = true)]
    pub redirect_uris: Vec<String>,
    /// A URI the citizen may be sent back to after signing out (repeatable).
    #[arg(long = "post-logout-uri", value_name = "URI")]
    pub post_logout_uris: Vec<String>,
    /// The back-channel logout URI.
    #[arg(long, value_name = "URI")]
    pub backchannel_uri: Option<String>,
    /// The scopes it may ask for, space- or comma-separated (openid profile birthdate gender
    /// address phone vn_personal_id offline_access).
    #[arg(long, default_value = "openid profile")]
    pub scopes: String,
    /// The levels it may ask for, space- or comma-separated (urn:eid:vn:loa:1, urn:eid:vn:loa:2)
    /// [default: level 1].
    #[arg(long, value_name = "ACR")]
    pub acr: Option<String>,
    /// How its ID tokens are signed: ES256, RS256 or EdDSA.
    #[arg(long, default_value = "ES256")]
    pub alg: String,
    /// How it authenticates at the token endpoint: client_secret_basic or private_key_jwt.
    #[arg(long, default_value = "client_secret_basic")]
    pub auth_method: String,
    /// Its public keys (a JWKS JSON file), for private_key_jwt.
    #[arg(long, value_name = "PATH")]
    pub jwks_file: Option<PathBuf>,
    /// It must push its authorization requests (PAR, RFC 9126).
    #[arg(long)]
    pub require_par: bool,
    /// Its tokens are bound to a DPoP key (RFC 9449).
    #[arg(long)]
    pub dpop: bool,
    /// The pairwise-subject sector [default: the host of the first redirect URI].
    #[arg(long)]
    pub sector: Option<String>,
}

#[derive(Debug, Args)]
pub struct RpIdArgs {
    /// The client id, as `eid admin client list` shows it.
    pub client_id: String,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Rotates the signing keys of every algorithm: previous → retired, current → previous,
    /// next → current, and a new next (the JWKS publishes next, current and previous).
    Rotate(KeysRotateArgs),
    /// Lists the signing keys (never their private halves).
    List,
}

#[derive(Debug, Args)]
pub struct KeysRotateArgs {
    /// The key-encryption key file (32 bytes) the private halves are encrypted under [default:
    /// the configuration's [oidc] key_file, or DATABASE.oidc.key beside a SQLite database].
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
}

/// The command line as a caller: ministry level, recorded as `cli:admin`.
fn cli_acting() -> Acting {
    let staff = Staff {
        id: 0,
        username: "admin".to_owned(),
        display_name: "eid admin (command line)".to_owned(),
        role: Role::Ministry,
        unit: UnitCode::NATION,
        disabled: false,
    };
    Acting::new(
        Caller {
            staff,
            actor: Actor::Cli("admin".to_owned()),
        },
        "cli",
        now(),
    )
}

/// A list given as words separated by spaces or commas.
pub fn words(s: &str) -> Vec<String> {
    s.split([' ', ','])
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn new_client(a: &RpAddArgs) -> Result<NewClient, Failure> {
    let id_token_alg = Alg::parse(a.alg.trim())
        .ok_or_else(|| format!("--alg must be ES256, RS256 or EdDSA, got {:?}", a.alg))?;
    let auth_method = AuthMethod::parse(a.auth_method.trim()).ok_or_else(|| {
        format!(
            "--auth-method must be client_secret_basic or private_key_jwt, got {:?}",
            a.auth_method
        )
    })?;
    let jwks = match &a.jwks_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--jwks-file {}: {e}", path.display()))?;
            Some(
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| format!("--jwks-file {}: not JSON: {e}", path.display()))?,
            )
        }
        None => None,
    };
    if auth_method == AuthMethod::ClientSecretBasic && jwks.is_some() {
        return Err("--jwks-file is for private_key_jwt clients".into());
    }
    Ok(NewClient {
        client_id: a.client_id.as_ref().map(|s| s.trim().to_owned()),
        name_vi: a.name_vi.clone(),
        name_en: a.name_en.clone(),
        logo_uri: a.logo_uri.clone(),
        redirect_uris: a.redirect_uris.clone(),
        post_logout_redirect_uris: a.post_logout_uris.clone(),
        backchannel_logout_uri: a.backchannel_uri.clone(),
        scopes: words(&a.scopes),
        acr_values: a
            .acr
            .as_deref()
            .map(words)
            .unwrap_or_else(|| vec![ACR_LOA1.to_owned()]),
        id_token_alg,
        auth_method,
        jwks,
        require_par: a.require_par,
        sector_identifier: a.sector.clone(),
        dpop_bound: a.dpop,
    })
}

pub(super) fn admin_client(config: &Config, cmd: RpCommand) -> Result<(), Failure> {
    let store = open_store(&config.db)?;
    let store = store.as_ref();
    let acting = cli_acting();
    match cmd {
        RpCommand::Add(a) => {
            let new = new_client(&a)?;
            let (client, secret) = clients::add(store, &acting, &new)?;
            outln!("client_id: {}", client.client_id)?;
            if let Some(secret) = secret {
                // Stored before it can be shown (the registry makes it); if nobody can read it,
                // the client is disabled at once, so a secret nobody saw never opens anything.
                if let Err(f) = out::shown_once(&format!("client_secret: {secret}\n"), "the secret")
                {
                    clients::disable(store, &acting, &client.client_id)?;
                    return Err(Failure {
                        message: format!("{}; client {} disabled", f.message, client.client_id),
                        code: f.code,
                    });
                }
                errln!("the secret is shown once: eid keeps only its hash");
            }
            errln!(
                "registered {} ({}), {} redirect URI{}",
                client.client_id,
                client.name_vi,
                client.redirect_uris.len(),
                if client.redirect_uris.len() == 1 {
                    ""
                } else {
                    "s"
                }
            );
            Ok(())
        }
        RpCommand::List => {
            let all = clients::list(store, &acting)?;
            outln!(
                "{:<24}  {:<8}  {:<6}  {:<19}  {:<30}  redirect URIs",
                "client id",
                "state",
                "alg",
                "auth",
                "name"
            )?;
            for c in &all {
                print_client(c)?;
            }
            errln!(
                "{} client{}",
                all.len(),
                if all.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
        RpCommand::RotateSecret(a) => {
            let secret = clients::rotate_secret(store, &acting, a.client_id.trim())?;
            if let Err(f) = out::shown_once(&format!("client_secret: {secret}\n"), "the secret") {
                // Nobody saw it: replace it again, so no unseen secret stays valid.
                clients::rotate_secret(store, &acting, a.client_id.trim())?;
                return Err(f);
            }
            errln!(
                "new secret for {} (shown once); the old one no longer works",
                a.client_id.trim()
            );
            Ok(())
        }
        RpCommand::Disable(a) => {
            clients::disable(store, &acting, a.client_id.trim())?;
            outln!("client {} disabled", a.client_id.trim())
        }
    }
}

fn print_client(c: &Client) -> Result<(), Failure> {
    outln!(
        "{:<24}  {:<8}  {:<6}  {:<19}  {:<30}  {}",
        c.client_id,
        if c.disabled { "disabled" } else { "active" },
        c.id_token_alg.as_str(),
        c.auth_method.as_str(),
        c.name_vi,
        c.redirect_uris.join(" ")
    )
}

pub(super) fn admin_keys(config: &Config, cmd: KeysCommand) -> Result<(), Failure> {
    let store = open_store(&config.db)?;
    let store = store.as_ref();
    let list = match cmd {
        KeysCommand::Rotate(a) => {
            let path = match a.key_file {
                Some(p) => p,
                None => key_file(config)?,
            };
            let kek = keys::Kek::load_or_create(&path)?;
            let list = keys::rotate(store, &kek, &Actor::Cli("admin".to_owned()), "cli", now())?;
            errln!("signing keys rotated: the next keys are now current");
            list
        }
        KeysCommand::List => keys::list(store)?,
    };
    outln!("{:<8}  {:<5}  {:<24}  kid", "state", "alg", "created")?;
    for k in &list {
        outln!(
            "{:<8}  {:<5}  {:<24}  {}",
            k.state.as_str(),
            k.alg.as_str(),
            crate::wire::rfc3339(k.created_at),
            k.kid
        )?;
    }
    Ok(())
}

/// `eid migrate`: makes the signing keys (a current and a next key per algorithm) when the
/// database has none, so a new database's first request does not pay for key generation (two
/// RSA keys take about a second). Without a key-encryption key's place (PostgreSQL without
/// `[oidc] key_file`) it says so and leaves the keys to `eid serve`.
pub(super) fn make_keys(config: &Config, store: &dyn Store) -> Result<(), Failure> {
    let Ok(path) = key_file(config) else {
        outln!("signing keys: set [oidc] key_file to make them at migrate; eid serve makes them at start")?;
        return Ok(());
    };
    let kek = keys::Kek::load_or_create(&path)?;
    if keys::ensure(store, &kek, now())? {
        outln!("signing keys made (a current and a next key per algorithm)")?;
    }
    Ok(())
}

/// The key-encryption key file when `--key-file` is not given: the server's (`[oidc]
/// key_file`, or `<database file>.oidc.key` beside a SQLite database).
pub(super) fn key_file(config: &Config) -> Result<PathBuf, Failure> {
    if let Some(p) = &config.oidc.key_file {
        return Ok(PathBuf::from(p));
    }
    config
        .db
        .strip_prefix("sqlite://")
        .filter(|p| !p.is_empty() && !p.contains(":memory:"))
        .map(|p| PathBuf::from(format!("{p}.oidc.key")))
        .ok_or_else(|| {
            "give --key-file or set [oidc] key_file: on PostgreSQL the key-encryption key has no default place"
                .into()
        })
}

/// `eid demo`: registers the sample relying party for the server at `base` (its redirect URI on
/// the server's own address) and prints where it is.
pub(super) fn demo_portal(store: &dyn Store, base: &str) -> Result<(), Failure> {
    let mut acting = cli_acting();
    acting.caller.actor = Actor::Cli("demo".to_owned());
    let portal = eid_core::rp::register_demo_portal(store, &acting, base)?;
    outln!(
        "sign in with eID on a sample portal (Cổng dịch vụ công, minh hoạ): {portal} — client {}",
        eid_core::rp::DEMO_PORTAL
    )
}
