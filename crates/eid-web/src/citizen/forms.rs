//! The pieces the citizen's pages are built from: a form page (`me_form.html`), a list page
//! (`me_list.html`), their inputs, and which refusals a form shows in place.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::{refusal, render, MeError, MePage};
use crate::console::i18n::Lang;
use crate::error::AppError;

/// One input of a form.
pub struct Input {
    pub name: &'static str,
    /// Its label, translated.
    pub label: &'static str,
    /// `text`, `password`, `tel`, `file` or `hidden`.
    pub kind: &'static str,
    pub value: String,
    pub pattern: &'static str,
    pub inputmode: &'static str,
    pub autocomplete: &'static str,
    pub maxlength: u32,
}

impl Input {
    fn new(name: &'static str, label: &'static str, kind: &'static str) -> Input {
        Input {
            name,
            label,
            kind,
            value: String::new(),
            pattern: "",
            inputmode: "",
            autocomplete: "off",
            maxlength: 0,
        }
    }

    pub fn personal_id(lang: Lang, name: &'static str, label: &str, value: &str) -> Input {
        Input {
            value: value.to_owned(),
            pattern: "[0-9]{12}",
            inputmode: "numeric",
            autocomplete: "username",
            maxlength: 12,
            ..Input::new(name, lang.t(label), "text")
        }
    }

    pub fn password(lang: Lang, name: &'static str, label: &str, new: bool) -> Input {
        Input {
            autocomplete: if new {
                "new-password"
            } else {
                "current-password"
            },
            ..Input::new(name, lang.t(label), "password")
        }
    }

    /// Six digits: a passcode (hidden as typed) or a code from an SMS.
    pub fn six(lang: Lang, name: &'static str, label: &str, secret: bool) -> Input {
        Input {
            pattern: "[0-9]{6}",
            inputmode: "numeric",
            autocomplete: if secret { "off" } else { "one-time-code" },
            maxlength: 6,
            ..Input::new(
                name,
                lang.t(label),
                if secret { "password" } else { "text" },
            )
        }
    }

    pub fn phone(lang: Lang, name: &'static str, label: &str, value: &str) -> Input {
        Input {
            value: value.to_owned(),
            inputmode: "tel",
            autocomplete: "tel",
            maxlength: 16,
            ..Input::new(name, lang.t(label), "tel")
        }
    }

    /// A portrait from the phone's front camera (`accept=image/* capture=user`).
    pub fn photo(lang: Lang) -> Input {
        Input::new("photo", lang.t("me.field.photo"), "file")
    }

    pub fn hidden(name: &'static str, value: &str) -> Input {
        Input {
            value: value.to_owned(),
            ..Input::new(name, "", "hidden")
        }
    }
}

/// A page with one form.
#[derive(Template)]
#[template(path = "me_form.html")]
pub struct FormPage {
    pub page: MePage,
    pub title: &'static str,
    pub intro: &'static str,
    pub note: &'static str,
    pub done: &'static str,
    pub action: &'static str,
    pub multipart: bool,
    pub inputs: Vec<Input>,
    pub submit: &'static str,
    pub danger: bool,
    pub error: &'static str,
    pub links: Vec<(&'static str, &'static str)>,
}

impl FormPage {
    /// A form titled `title` (a key) posting to `action`, submitted with `submit` (a key).
    pub fn new(
        page: MePage,
        title: &str,
        action: &'static str,
        submit: &str,
        inputs: Vec<Input>,
    ) -> FormPage {
        let lang = page.lang;
        FormPage {
            title: lang.t(title),
            intro: "",
            note: "",
            done: "",
            action,
            multipart: false,
            inputs,
            submit: lang.t(submit),
            danger: false,
            error: "",
            links: Vec::new(),
            page,
        }
    }

    pub fn intro(mut self, key: &str) -> FormPage {
        self.intro = self.page.t(key);
        self
    }

    pub fn note(mut self, key: &str) -> FormPage {
        self.note = self.page.t(key);
        self
    }

    pub fn multipart(mut self) -> FormPage {
        self.multipart = true;
        self
    }

    pub fn link(mut self, href: &'static str, key: &str) -> FormPage {
        let label = self.page.t(key);
        self.links.push((href, label));
        self
    }

    pub fn done(mut self, text: &'static str) -> FormPage {
        self.done = text;
        self
    }

    /// Shows the form.
    pub fn show(self) -> Result<Response, MeError> {
        render(&self, StatusCode::OK)
    }

    /// Shows the form again with a refusal in place when it is one a form shows (a wrong code,
    /// secret or entry); otherwise the refusal's own page.
    pub fn again(mut self, e: &AppError) -> Result<Response, MeError> {
        match in_place(e) {
            Some(key) => {
                self.error = self.page.t(key);
                render(&self, e.status())
            }
            None => Ok(refusal::page(e, self.page)),
        }
    }
}

/// The refusals a form shows above itself (the entry is to be corrected), by their message key.
pub fn in_place(e: &AppError) -> Option<&'static str> {
    Some(match e.code() {
        "auth.bad_credentials" => "me.err.auth.bad_credentials",
        "code.invalid" => "me.err.code.invalid",
        "account.bad_passcode" => "me.err.account.bad_passcode",
        "code.format" => "me.in.code.format",
        "passcode.invalid" => "me.in.passcode.invalid",
        "password.policy" => "me.in.password.policy",
        "phone.invalid" => "me.in.phone.invalid",
        "phone.same" => "me.in.phone.same",
        "person.bad_id" => "me.in.person.bad_id",
        "photo.size" | "photo.missing" => "me.in.photo",
        "account.not_a_child" => "me.in.account.not_a_child",
        _ => return None,
    })
}

/// One row of a list page.
pub struct Row {
    pub title: String,
    pub badges: Vec<&'static str>,
    pub sub: String,
    /// A button: (action, field name, field value, label).
    pub action: Option<(&'static str, &'static str, String, &'static str)>,
}

/// A page that lists rows, with an optional form below.
#[derive(Template)]
#[template(path = "me_list.html")]
pub struct ListPage {
    pub page: MePage,
    pub title: &'static str,
    pub intro: &'static str,
    pub empty: &'static str,
    pub done: &'static str,
    pub rows: Vec<Row>,
    pub has_form: bool,
    pub form_title: &'static str,
    pub form_action: &'static str,
    pub form_submit: &'static str,
    pub inputs: Vec<Input>,
    pub error: &'static str,
}

impl ListPage {
    pub fn new(page: MePage, title: &str, empty: &str, rows: Vec<Row>) -> ListPage {
        let lang = page.lang;
        ListPage {
            title: lang.t(title),
            intro: "",
            empty: lang.t(empty),
            done: "",
            rows,
            has_form: false,
            form_title: "",
            form_action: "",
            form_submit: "",
            inputs: Vec::new(),
            error: "",
            page,
        }
    }
}

/// A time as the citizen's pages show it: day/month/year hour:minute, in Vietnam.
pub fn when(t: time::OffsetDateTime) -> String {
    let v = t.to_offset(crate::state::vietnam());
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        v.day(),
        u8::from(v.month()),
        v.year(),
        v.hour(),
        v.minute()
    )
}
