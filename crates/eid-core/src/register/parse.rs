//! Raw input (a path segment, a form field, a query parameter) into the register's domain
//! types, with the domain's reason on failure.

use eid_domain::{PersonalId, Tree, Unit, UnitError, Units};

use crate::Error;

/// Parses a personal ID from a path or form, with the domain's reason on failure.
pub fn parse_id(raw: &str) -> Result<PersonalId, Error> {
    PersonalId::parse(raw.trim())
        .map_err(|e| Error::bad("person.bad_id", format!("invalid personal ID: {e}")))
}

/// Parses a unit code and finds it in `tree`.
pub fn parse_unit(raw: &str, tree: Tree) -> Result<&'static Unit, Error> {
    Units::get().lookup(tree, raw.trim()).map_err(|e| match e {
        UnitError::Format(reason) => {
            Error::bad("unit.bad_code", format!("invalid unit code: {reason}"))
        }
        e @ UnitError::Unknown { .. } => Error::not_found("unit.not_found", e.to_string()),
    })
}

/// Parses `2024` or `2025` (empty: 2024).
pub fn parse_tree(raw: Option<&str>) -> Result<Tree, Error> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Tree::Gso2024),
        Some(s) => Tree::parse(s).ok_or_else(|| {
            Error::bad(
                "unit.bad_tree",
                format!("tree must be 2024 or 2025, got {s:?}"),
            )
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn code_of<T>(r: Result<T, Error>) -> &'static str {
        match r {
            Err(Error::Bad { code, .. } | Error::NotFound { code, .. }) => code,
            Err(e) => panic!("unexpected {e}"),
            Ok(_) => "ok",
        }
    }

    #[test]
    fn input_is_parsed_with_stable_codes() {
        assert_eq!(code_of(parse_id(" 001204012345 ")), "ok");
        assert_eq!(code_of(parse_id("12345")), "person.bad_id");
        assert_eq!(code_of(parse_unit("00004", Tree::Gso2024)), "ok");
        assert_eq!(code_of(parse_unit("0x", Tree::Gso2024)), "unit.bad_code");
        assert_eq!(
            code_of(parse_unit("99999", Tree::Gso2024)),
            "unit.not_found"
        );
        assert_eq!(parse_tree(None).unwrap(), Tree::Gso2024);
        assert_eq!(parse_tree(Some(" 2025 ")).unwrap(), Tree::Gso2025);
        assert_eq!(code_of(parse_tree(Some("2023"))), "unit.bad_tree");
    }
}
