//! `print-config`: the option table rendered as the fully commented default file, which the
//! package ships as `/etc/config/acs-edge` (a test keeps the committed copy equal to it).

use super::spec::{Kind, MultiSectionSpec};
use super::table::{MULTI_SECTIONS, SECTIONS};
use crate::config::uci;
use std::fmt::Write as _;

pub fn default_config_text() -> String {
    let mut out = String::new();
    out.push_str(
        "# acs-edge configuration (/etc/config/acs-edge), in OpenWrt UCI format.\n\
         #\n\
         # Edit it with LuCI (Services > acs-edge), with `uci set acs-edge.mqtt.port=1884;\n\
         # uci commit acs-edge`, or with a text editor. Every option is shown with its default;\n\
         # a missing option or section takes the default. `acs-edge check-config` checks the\n\
         # file, `acs-edge print-config` prints this text. `uci commit` drops these comments.\n\
         #\n\
         # Booleans accept 1/0, true/false, yes/no, on/off, enabled/disabled.\n\
         #\n\
         # Applied by a reload (`/etc/init.d/acs-edge reload`, which sends SIGHUP):\n",
    );
    list_by_section(&mut out, true);
    out.push_str("# Need a restart (`/etc/init.d/acs-edge restart`):\n");
    list_by_section(&mut out, false);
    for section in SECTIONS {
        out.push('\n');
        push_comment(&mut out, "", section.doc);
        let _ = writeln!(
            out,
            "config {0} {1}",
            section.name,
            uci::quote(section.name)
        );
        for (i, opt) in section.options.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            push_comment(&mut out, "\t", opt.doc);
            let applies = if opt.reload {
                "applied by a reload"
            } else {
                "needs a restart"
            };
            let line = match allowed_values(opt.kind) {
                Some(allowed) => format!("{allowed}; {applies}."),
                None => format!("{}{}.", applies[..1].to_uppercase(), &applies[1..]),
            };
            push_comment(&mut out, "\t", &line);
            let _ = writeln!(out, "\toption {} {}", opt.name, uci::quote(opt.default));
        }
    }
    for multi in MULTI_SECTIONS {
        render_multi_section(&mut out, multi);
    }
    out
}

/// A multi-instance section: its documentation, each option's, and a commented-out example.
fn render_multi_section(out: &mut String, multi: &MultiSectionSpec) {
    out.push('\n');
    push_comment(out, "", multi.doc);
    out.push_str("#\n");
    for opt in multi.options {
        let required = if multi.required.contains(&opt.name) {
            " (required)"
        } else {
            ""
        };
        let _ = writeln!(out, "# option {}{required}:", opt.name);
        for line in opt.doc.lines() {
            let _ = writeln!(out, "#   {}", line.trim_start());
        }
        match allowed_values(opt.kind) {
            Some(allowed) => {
                let _ = writeln!(out, "#   {allowed}; default {}.", uci::quote(opt.default));
            }
            None if required.is_empty() => {
                let _ = writeln!(out, "#   Default {}.", uci::quote(opt.default));
            }
            None => {}
        }
    }
    out.push_str("#\n");
    for line in multi.example.lines() {
        let _ = writeln!(out, "#{line}");
    }
}

fn push_comment(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "{indent}# {}", line.trim_start());
    }
}

/// `#   section: a, b` lines for the options that a reload applies (or that need a restart).
fn list_by_section(out: &mut String, reload: bool) {
    let sections = SECTIONS
        .iter()
        .map(|s| (s.name, s.options))
        .chain(MULTI_SECTIONS.iter().map(|m| (m.name, m.options)));
    for (section, all) in sections {
        let names: Vec<_> = all
            .iter()
            .filter(|o| o.reload == reload)
            .map(|o| o.name)
            .collect();
        if names.is_empty() {
            continue;
        }
        let list = if names.len() == all.len() {
            "all options".to_owned()
        } else {
            names.join(", ")
        };
        let _ = writeln!(out, "#   {section}: {list}");
    }
}

/// The allowed values, for the rendered documentation.
fn allowed_values(kind: Kind) -> Option<String> {
    match kind {
        Kind::Bool(_) => Some("Boolean".into()),
        Kind::Int { min, max, .. } if max == min + 1 => Some(format!("{min} or {max}")),
        Kind::Int { min, max, .. } => Some(format!("{min} to {max}")),
        Kind::Choice { words, .. } => Some(match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => words.join(""),
        }),
        Kind::Text { .. } | Kind::Secret(_) | Kind::List { .. } => None,
    }
}
