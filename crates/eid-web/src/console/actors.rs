//! Who did something, as the console shows it: a staff member's name and username (never
//! `staff:4`), the owner of an API token, the system for commands run on the server (never
//! `cli:demo`). One lookup per page for all the actors its tables show.

use std::collections::{BTreeSet, HashMap};

use eid_core::store::{Actor, Store};

use crate::console::i18n::Lang;
use crate::error::AppError;
use crate::state::AppState;

/// Display names of the staff behind a page's actors ("Name (username)") and of API tokens'
/// owners.
#[derive(Default, Clone)]
pub struct Names {
    staff: HashMap<i64, String>,
    tokens: HashMap<i64, String>,
}

impl Names {
    /// Looks up every actor of `actors` in `store`.
    pub fn load<'a>(
        store: &dyn Store,
        actors: impl IntoIterator<Item = &'a Actor>,
    ) -> Result<Names, AppError> {
        let mut staff = BTreeSet::new();
        let mut tokens = BTreeSet::new();
        for a in actors {
            match a {
                Actor::Staff(id) => {
                    staff.insert(*id);
                }
                Actor::Token(id) => {
                    tokens.insert(*id);
                }
                _ => {}
            }
        }
        let mut n = Names::default();
        let name = |id: i64| -> Result<Option<String>, AppError> {
            Ok(store
                .staff_by_id(id)?
                .map(|s| format!("{} ({})", s.display_name, s.username)))
        };
        if !tokens.is_empty() {
            for t in store.list_api_tokens()? {
                if tokens.contains(&t.id) {
                    if let Some(s) = name(t.staff_id)? {
                        n.tokens.insert(t.id, s);
                    }
                }
            }
        }
        for id in staff {
            if let Some(s) = name(id)? {
                n.staff.insert(id, s);
            }
        }
        Ok(n)
    }

    /// `Names::load` off the async runtime.
    pub async fn fetch(state: &AppState, actors: Vec<Actor>) -> Result<Names, AppError> {
        state
            .read(move |store| Names::load(store, actors.iter()))
            .await
    }

    /// The actor as a reader sees it.
    pub fn label(&self, lang: Lang, actor: &Actor) -> String {
        match actor {
            Actor::Staff(id) => self
                .staff
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("{} #{id}", lang.t("actor.staff"))),
            Actor::Token(id) => match self.tokens.get(id) {
                Some(n) => format!("{n} · {} #{id}", lang.t("actor.token")),
                None => format!("{} #{id}", lang.t("actor.token")),
            },
            Actor::Cli(what) => format!("{} ({what})", lang.t("actor.system")),
            Actor::Anonymous => lang.t("actor.anonymous").to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_actor_shows_as_its_stored_form() {
        let mut n = Names::default();
        n.staff.insert(4, "Lê Văn A (xa.1)".to_owned());
        for lang in [Lang::Vi, Lang::En] {
            for a in [
                Actor::Staff(4),
                Actor::Staff(5),
                Actor::Token(2),
                Actor::Cli("demo".into()),
                Actor::Anonymous,
            ] {
                let shown = n.label(lang, &a);
                assert!(!shown.contains(&a.to_db()), "{shown}");
                assert!(!shown.contains("??"), "{shown}");
            }
        }
        assert_eq!(n.label(Lang::Vi, &Actor::Staff(4)), "Lê Văn A (xa.1)");
        assert_eq!(
            n.label(Lang::Vi, &Actor::Cli("demo".into())),
            "Hệ thống (demo)"
        );
    }
}
