//! JSON wire formats of the API, converted by hand from domain and store types.
//!
//! Domain types do not derive `Serialize`: what leaves the server is decided here, field by
//! field, so a new domain field is never exposed by accident.

use eid_core::store::{AuditEntry, PersonEvent, Population, Staff, StoredPerson};
use eid_domain::{card_expiry, iso, Residence, Tree, Unit, Units};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use eid_core::register::UnitView;

/// RFC 3339 text of a timestamp.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
#[schema(as = Name)]
pub struct NameJson {
    pub surname: String,
    pub middle: String,
    pub given: String,
    pub full: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Residence)]
pub struct ResidenceJson {
    pub unit: String,
    pub unit_name: Option<String>,
    pub address: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LifeStatus)]
pub struct LifeJson {
    pub state: &'static str,
    pub since: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Card)]
pub struct CardJson {
    pub issued: String,
    /// `None`: valid for life.
    pub expires: Option<String>,
    pub revoked: bool,
    pub valid: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Person)]
pub struct PersonJson {
    pub personal_id: String,
    pub name: NameJson,
    pub birth_date: String,
    pub sex: &'static str,
    pub hometown_unit: Option<String>,
    pub residence: ResidenceJson,
    pub temporary: Option<ResidenceJson>,
    pub household_id: Option<String>,
    pub phone: Option<String>,
    pub phone_type: &'static str,
    pub life_status: LifeJson,
    pub card: Option<CardJson>,
    /// The residence fields kept beside the record (term end, temporary absence); given by
    /// `GET /api/v1/persons/{id}`, left out of search results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residency: Option<ResidencyJson>,
    pub version: i64,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Residency)]
pub struct ResidencyJson {
    /// The last day of the temporary residence's term, `YYYY-MM-DD`.
    pub temp_until: Option<String>,
    pub absence: Option<AbsenceJson>,
}

/// A declared temporary absence.
#[derive(Serialize, ToSchema)]
#[schema(as = Absence)]
pub struct AbsenceJson {
    pub from: String,
    pub to: String,
    /// Where the person went (empty when not said).
    pub destination: String,
}

impl ResidencyJson {
    pub fn new(r: &eid_domain::Residency) -> ResidencyJson {
        ResidencyJson {
            temp_until: r.temp_until.map(iso),
            absence: r.absence.as_ref().map(|a| AbsenceJson {
                from: iso(a.from),
                to: iso(a.to),
                destination: a.destination.clone(),
            }),
        }
    }
}

/// The unit's name in the 2024 tree, if it exists.
pub fn unit_name(code: &eid_domain::UnitCode) -> Option<String> {
    Units::get()
        .unit(Tree::Gso2024, code)
        .map(|u| u.name.clone())
}

fn residence(r: &Residence) -> ResidenceJson {
    ResidenceJson {
        unit: r.unit.as_str().to_owned(),
        unit_name: unit_name(&r.unit),
        address: r.address.clone(),
    }
}

impl PersonJson {
    /// The full record, for a caller whose scope includes the person (phone in full).
    pub fn new(sp: &StoredPerson, today: Date) -> PersonJson {
        let p = &sp.person;
        PersonJson {
            personal_id: p.id.as_str().to_owned(),
            name: NameJson {
                surname: p.name.surname().to_owned(),
                middle: p.name.middle().to_owned(),
                given: p.name.given().to_owned(),
                full: p.name.full(),
            },
            birth_date: p.birth.to_string(),
            sex: p.sex.as_str(),
            hometown_unit: p.hometown.map(|u| u.as_str().to_owned()),
            residence: residence(&p.residence),
            temporary: p.temporary.as_ref().map(residence),
            household_id: p.household.clone(),
            phone: p.phone.as_ref().map(|x| x.as_str().to_owned()),
            phone_type: p.phone_type.as_str(),
            life_status: LifeJson {
                state: p.life.state.as_str(),
                since: p.life.since.map(iso),
            },
            card: p.card.map(|c| CardJson {
                issued: iso(c.issued),
                expires: card_expiry(p.birth, c.issued).map(iso),
                revoked: c.revoked,
                valid: c.is_valid(p.birth, today),
            }),
            residency: None,
            version: sp.version,
            updated_at: rfc3339(sp.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = Change)]
pub struct ChangeJson {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = PersonEvent)]
pub struct EventJson {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub reason: String,
    pub changes: Vec<ChangeJson>,
}

/// The changes of an event as a list: `created` events have no old values.
pub fn changes(e: &PersonEvent) -> Vec<ChangeJson> {
    let Some(obj) = e.changes.as_object() else {
        return Vec::new();
    };
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    let mut out: Vec<ChangeJson> = obj
        .iter()
        .map(|(field, v)| match v {
            serde_json::Value::Array(pair) => ChangeJson {
                field: field.clone(),
                old: text(pair.first()),
                new: text(pair.get(1)),
            },
            other => ChangeJson {
                field: field.clone(),
                old: None,
                new: text(Some(other)),
            },
        })
        .collect();
    // Keep the CSV column order, which people know.
    out.sort_by_key(|c| {
        eid_core::csvfmt::COLUMNS
            .iter()
            .position(|col| *col == c.field)
            .unwrap_or(usize::MAX)
    });
    out
}

impl EventJson {
    pub fn new(e: &PersonEvent) -> EventJson {
        EventJson {
            seq: e.seq,
            at: rfc3339(e.at),
            actor: e.actor.to_db(),
            kind: e.kind.clone(),
            reason: e.reason.clone(),
            changes: changes(e),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = History)]
pub struct HistoryJson {
    pub personal_id: String,
    pub events: Vec<EventJson>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SearchResult)]
pub struct SearchJson {
    pub unit: String,
    pub count: usize,
    pub persons: Vec<PersonJson>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Population)]
pub struct PopulationJson {
    pub total: u64,
    pub alive: u64,
}

impl From<Population> for PopulationJson {
    fn from(p: Population) -> PopulationJson {
        PopulationJson {
            total: p.total,
            alive: p.alive,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UnitRef)]
pub struct UnitRefJson {
    pub code: String,
    pub name: String,
    pub level: &'static str,
}

impl UnitRefJson {
    pub fn new(u: &Unit) -> UnitRefJson {
        UnitRefJson {
            code: u.code.as_str().to_owned(),
            name: u.name.clone(),
            level: u.level.as_str(),
        }
    }
}

/// The units a name lookup found, provinces first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UnitMatches)]
pub struct UnitMatchesJson {
    pub tree: &'static str,
    pub units: Vec<UnitRefJson>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UnitChild)]
pub struct ChildJson {
    pub code: String,
    pub name: String,
    pub level: &'static str,
    pub urban: bool,
    pub population: PopulationJson,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Unit)]
pub struct UnitJson {
    pub tree: &'static str,
    pub code: String,
    pub name: String,
    pub level: &'static str,
    pub urban: bool,
    pub ancestors: Vec<UnitRefJson>,
    pub population: PopulationJson,
    /// False when the unit is above the caller's own: the counts cover only the caller's part.
    pub complete: bool,
    pub children: Vec<ChildJson>,
    pub unmapped: Option<PopulationJson>,
    pub maps_to_2025: Option<UnitRefJson>,
}

impl UnitJson {
    pub fn new(v: &UnitView) -> UnitJson {
        UnitJson {
            tree: v.tree.as_str(),
            code: v.unit.code.as_str().to_owned(),
            name: v.unit.name.clone(),
            level: v.unit.level.as_str(),
            urban: v.unit.urban,
            ancestors: v.ancestors.iter().map(|u| UnitRefJson::new(u)).collect(),
            population: v.population.into(),
            complete: v.complete,
            children: v
                .children
                .iter()
                .map(|(u, p)| ChildJson {
                    code: u.code.as_str().to_owned(),
                    name: u.name.clone(),
                    level: u.level.as_str(),
                    urban: u.urban,
                    population: (*p).into(),
                })
                .collect(),
            unmapped: v.unmapped.map(Into::into),
            maps_to_2025: v.maps_to.map(UnitRefJson::new),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = Me)]
pub struct MeJson {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: &'static str,
    pub unit: String,
    pub unit_name: Option<String>,
    /// How this request was authenticated, e.g. `token:3`.
    pub actor: String,
}

impl MeJson {
    pub fn new(s: &Staff, actor: &eid_core::Actor) -> MeJson {
        MeJson {
            id: s.id,
            username: s.username.clone(),
            display_name: s.display_name.clone(),
            role: s.role.as_str(),
            unit: s.unit.as_str().to_owned(),
            unit_name: unit_name(&s.unit),
            actor: actor.to_db(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub struct AuditJson {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub request_id: String,
}

impl AuditJson {
    pub fn new(a: &AuditEntry) -> AuditJson {
        AuditJson {
            seq: a.seq,
            at: rfc3339(a.at),
            actor: a.actor.to_db(),
            action: a.action.clone(),
            target: a.target.clone(),
            outcome: a.outcome.clone(),
            request_id: a.request_id.clone(),
        }
    }
}
