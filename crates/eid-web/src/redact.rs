//! `Debug` for the web crate's types that hold personal data: the SMS outbox message and the
//! wire views of persons, their history, staff and audit entries. Each shows its ids and masks
//! the rest with the forms of [`eid_domain::redact`]; the types stay where they are, only their
//! `Debug` lives here. A typed person search (`eid_core::register::SearchParams`) masks itself in
//! the core and is checked here too.

use std::fmt;

use eid_domain::masked_debug;
use eid_domain::redact::MaybeId;

use crate::sms::OutboxMessage;
use crate::wire::{
    AuditJson, ChangeJson, EventJson, HistoryJson, MeJson, NameJson, PersonJson, ResidenceJson,
};

// The SMS outbox (its body carries codes).
masked_debug!(OutboxMessage, "OutboxMessage" {
    show: [id, attempts], phone: [to], text: [body],
});

// A person search as typed: `eid_core::register::SearchParams` masks itself.

// Wire views of the register.
masked_debug!(NameJson, "NameJson" { show: [], hide: [surname, middle, given, full] });
masked_debug!(ResidenceJson, "ResidenceJson" { show: [unit, unit_name], text: [address] });
masked_debug!(PersonJson, "PersonJson" {
    show: [name, sex, hometown_unit, residence, temporary, phone_type, life_status, card, version],
    id: [personal_id],
    hide: [birth_date, household_id, phone],
});
masked_debug!(ChangeJson, "ChangeJson" { show: [field], hide: [old, new] });
masked_debug!(EventJson, "EventJson" {
    show: [seq, at, actor, kind, changes], text: [reason],
});
masked_debug!(HistoryJson, "HistoryJson" { show: [events], id: [personal_id] });
masked_debug!(MeJson, "MeJson" {
    show: [id, role, unit, unit_name, actor], hide: [username, display_name],
});

impl fmt::Debug for AuditJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditJson")
            .field("seq", &self.seq)
            .field("at", &self.at)
            .field("actor", &self.actor)
            .field("action", &self.action)
            .field("target", &MaybeId(&self.target))
            .field("outcome", &self.outcome)
            .field("request_id", &self.request_id)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use eid_core::store::{AuditEntry, PersonEvent, Role, Staff, StoredPerson};
    use eid_core::Actor;
    use eid_domain::redact::testing::*;
    use eid_domain::{
        BirthDate, LifeStatus, Person, PersonName, PersonalId, PhoneNumber, PhoneType, Residence,
        Sex, UnitCode,
    };
    use time::macros::date;

    use super::*;
    use crate::access::SearchParams;
    use crate::auth::Caller;
    use crate::wire::SearchJson;

    fn unit(s: &str) -> UnitCode {
        UnitCode::parse(s).unwrap()
    }
    fn stored() -> StoredPerson {
        StoredPerson {
            person: Person {
                id: PersonalId::parse(ID).unwrap(),
                name: PersonName::parse("Nguyễn", "Thị Minh", "Khai").unwrap(),
                birth: BirthDate::Full(date!(1990 - 05 - 17)),
                sex: Sex::Female,
                hometown: None,
                residence: Residence {
                    unit: unit("00004"),
                    address: ADDRESS.into(),
                },
                temporary: None,
                household: Some("HK-0099-7788".into()),
                phone: Some(PhoneNumber::parse(PHONE).unwrap()),
                phone_type: PhoneType::Smartphone,
                life: LifeStatus::ALIVE,
                card: None,
            },
            version: 4,
            updated_at: NOW,
        }
    }

    fn staff() -> Staff {
        Staff {
            id: 31,
            username: USERNAME.into(),
            display_name: "Nguyễn Văn An".into(),
            role: Role::Commune,
            unit: unit("00004"),
            disabled: false,
        }
    }

    #[test]
    fn the_outbox_message_masks_the_phone_and_the_body() {
        let m = OutboxMessage {
            id: 88,
            to: PHONE.into(),
            body: BODY.into(),
            attempts: 2,
        };
        check(
            "OutboxMessage",
            &m,
            &["id: 88", "0******678", "attempts: 2"],
        );
    }

    #[test]
    fn wire_views_mask_the_person_and_the_staff() {
        let person = crate::wire::PersonJson::new(&stored(), date!(2026 - 11 - 23));
        check(
            "PersonJson",
            &person,
            &["PersonalId(001204…)", "version: 4"],
        );
        check(
            "SearchJson",
            &SearchJson {
                unit: "00004".into(),
                count: 1,
                persons: vec![person],
            },
            &["count: 1", "PersonalId(001204…)"],
        );
        let event = PersonEvent {
            seq: 77,
            at: NOW,
            actor: Actor::Staff(31),
            kind: "updated".into(),
            reason: "sửa địa chỉ Ngõ Huế".into(),
            changes: serde_json::json!({ "phone": [PHONE, "+84987654321"], "residence_address": [ADDRESS, "x"] }),
        };
        let history = HistoryJson {
            personal_id: ID.into(),
            events: vec![EventJson::new(&event)],
        };
        check(
            "HistoryJson",
            &history,
            &["seq: 77", "PersonalId(001204…)", "\"phone\""],
        );
        check(
            "MeJson",
            &MeJson::new(&staff(), &Actor::Staff(31)),
            &["id: 31"],
        );
        let audit = AuditEntry {
            seq: 909,
            at: NOW,
            actor: Actor::Staff(31),
            action: "person.read".into(),
            target: ID.into(),
            outcome: "ok".into(),
            request_id: "req-1".into(),
        };
        check(
            "AuditJson",
            &AuditJson::new(&audit),
            &["person.read", "PersonalId(001204…)"],
        );
        check(
            "Caller",
            &Caller {
                staff: staff(),
                actor: Actor::Staff(31),
            },
            &["id: 31"],
        );
        check(
            "SearchParams",
            &SearchParams {
                name: Some("nguyen thi minh khai".into()),
                birth: Some("1990-05-17".into()),
                unit: Some("00004".into()),
                limit: None,
            },
            &["00004"],
        );
    }
}
