//! Pieces the console's forms and tables share: translated values, trimmed form fields, the
//! options of a select and a section's tabs.

use std::collections::HashMap;

use crate::console::i18n::Lang;

/// The translation of `prefix.value`, or the value itself when the table has none.
pub fn label(lang: Lang, prefix: &str, value: &str) -> String {
    match lang.t(&format!("{prefix}.{value}")) {
        "??" => value.to_owned(),
        t => t.to_owned(),
    }
}

/// A form field, trimmed; empty when absent.
pub fn form_value(form: &HashMap<String, String>, key: &str) -> String {
    form.get(key)
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

/// One option of a select.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A tab of a console section.
pub struct Tab {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// The tabs of a section from `(id, href, translation key)`, the one with id `active` marked.
pub fn tabs(lang: Lang, active: &str, items: &[(&str, &'static str, &'static str)]) -> Vec<Tab> {
    items
        .iter()
        .map(|&(id, href, key)| Tab {
            href,
            label: lang.t(key),
            active: id == active,
        })
        .collect()
}
