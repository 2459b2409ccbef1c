//! The options in front of a key (sshd(8), "AUTHORIZED_KEYS FILE FORMAT").

use super::line::Parsed;
use super::KeyOptions;

/// Parses the comma-separated options at the start of `line` and returns them with the rest
/// of the line (the key), and whether the line is a `cert-authority` one.
///
/// A malformed value (`from` pattern, `environment` without `=`, `permitopen` without a
/// port) makes the whole line an error, as in OpenSSH. `no-user-rc`/`user-rc` are accepted
/// and mean nothing: quoll runs no rc file.
pub(super) fn parse_options(line: &str) -> Result<(Parsed, bool, &str), String> {
    let mut options = KeyOptions::default();
    let mut from: Option<String> = None;
    let mut cert_authority = false;
    let mut rest = line;
    loop {
        let (name, value, after) = next_option(rest)?;
        rest = after;
        let lower = name.to_ascii_lowercase();
        let Some(&(_, needs_value)) = OPTIONS.iter().find(|(n, _)| *n == lower) else {
            return Err(format!("unknown option {}", shown(name)));
        };
        if needs_value != value.is_some() {
            return Err(format!("malformed option {lower}"));
        }
        match lower.as_str() {
            "command" if options.command.is_some() => {
                return Err("more than one command option".into());
            }
            "command" => options.command = value,
            "restrict" => {
                options.no_pty = true;
                options.no_port_forwarding = true;
                options.no_agent_forwarding = true;
                options.no_x11_forwarding = true;
            }
            "no-pty" => options.no_pty = true,
            "pty" => options.no_pty = false,
            "no-port-forwarding" => options.no_port_forwarding = true,
            "port-forwarding" => options.no_port_forwarding = false,
            "no-agent-forwarding" => options.no_agent_forwarding = true,
            "agent-forwarding" => options.no_agent_forwarding = false,
            "no-x11-forwarding" => options.no_x11_forwarding = true,
            "x11-forwarding" => options.no_x11_forwarding = false,
            "cert-authority" => cert_authority = true,
            "principals" if options.principals.is_some() => {
                return Err("more than one principals option".into());
            }
            "principals" => {
                let v = value.unwrap_or_default();
                if v.is_empty() || v.split(',').any(|p| p.is_empty()) {
                    return Err("malformed option principals".into());
                }
                options.principals = Some(v);
            }
            "no-touch-required" => options.no_touch_required = true,
            "verify-required" => options.verify_required = true,
            "from" => {
                let v = value.unwrap_or_default();
                if from.is_some() || v.is_empty() || v.split(',').any(|p| p.is_empty()) {
                    return Err("malformed option from".into());
                }
                from = Some(v);
            }
            "environment" => {
                let v = value.unwrap_or_default();
                let Some((n, val)) = v.split_once('=') else {
                    return Err("malformed option environment".into());
                };
                let name_ok =
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !name_ok {
                    return Err("malformed option environment".into());
                }
                options.environment.push((n.to_string(), val.to_string()));
            }
            "permitopen" => {
                let v = value.unwrap_or_default();
                match v.rsplit_once(':') {
                    Some((h, p)) if !h.is_empty() && (p == "*" || p.parse::<u16>().is_ok()) => {}
                    _ => return Err("malformed option permitopen".into()),
                }
                options.permit_open.push(v);
            }
            "permitlisten" => {
                let v = value.unwrap_or_default();
                let port = v.rsplit_once(':').map_or(v.as_str(), |(_, p)| p);
                if !(port == "*" || port.parse::<u16>().is_ok()) {
                    return Err("malformed option permitlisten".into());
                }
                options.permit_listen.push(v);
            }
            // no-user-rc, user-rc: quoll runs no rc file.
            _ => {}
        }
        match rest.as_bytes().first() {
            Some(b',') => rest = &rest[1..],
            Some(b' ' | b'\t') => return Ok(((options, from), cert_authority, rest.trim_start())),
            _ => return Err("no key after the options".into()),
        }
    }
}

/// The OpenSSH options we know (lower case), and whether each takes a value.
const OPTIONS: &[(&str, bool)] = &[
    ("command", true),
    ("environment", true),
    ("from", true),
    ("permitlisten", true),
    ("permitopen", true),
    ("principals", true),
    ("agent-forwarding", false),
    ("cert-authority", false),
    ("no-agent-forwarding", false),
    ("no-port-forwarding", false),
    ("no-pty", false),
    ("no-touch-required", false),
    ("no-user-rc", false),
    ("no-x11-forwarding", false),
    ("port-forwarding", false),
    ("pty", false),
    ("restrict", false),
    ("user-rc", false),
    ("verify-required", false),
    ("x11-forwarding", false),
];

/// An unknown option's name for the log, only if it looks like one: the "options" may be
/// any text (a symlink to a root-owned file passes the permission checks), and none of it
/// belongs in the log.
fn shown(name: &str) -> String {
    let plausible =
        name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if plausible {
        format!("\"{name}\"")
    } else {
        "(unprintable)".into()
    }
}

/// Splits `name` or `name="value"` off the front of `s`. In the value `\"` stands for `"`
/// (the only escape OpenSSH knows; other backslashes are kept as they are).
fn next_option(s: &str) -> Result<(&str, Option<String>, &str), String> {
    let end = s.find(['=', ',', ' ', '\t']).unwrap_or(s.len());
    let (name, rest) = s.split_at(end);
    if name.is_empty() {
        return Err("empty option".into());
    }
    let Some(rest) = rest.strip_prefix('=') else {
        return Ok((name, None, rest));
    };
    let Some(quoted) = rest.strip_prefix('"') else {
        return Err(format!("value of option {} is not quoted", shown(name)));
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((name, Some(value), &quoted[i + 1..])),
            '\\' if quoted[i + 1..].starts_with('"') => {
                value.push('"');
                chars.next();
            }
            c => value.push(c),
        }
    }
    Err(format!("unterminated quote in option {}", shown(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_option_names_are_shown_only_when_plausible() {
        assert_eq!(
            parse_options("frob k").unwrap_err(),
            "unknown option \"frob\""
        );
        let err = parse_options("root:$6$secret$hash:19000:0:99999:7::: k").unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn options_parsing() {
        let full =
            |s: &str| parse_options(s).map(|(o, ca, rest)| (!ca).then(|| (o, rest.to_string())));
        let opts = |s: &str| full(s).map(|o| o.map(|((o, _), rest)| (o, rest)));
        assert_eq!(
            opts("command=\"a,b \\\"c\\\" d\\e\",no-pty ssh-ed25519 AAAA"),
            Ok(Some((
                KeyOptions {
                    command: Some("a,b \"c\" d\\e".into()),
                    no_pty: true,
                    ..Default::default()
                },
                "ssh-ed25519 AAAA".into()
            )))
        );
        // restrict implies every no-*; a later pty allows a terminal again.
        let r = opts("restrict k").unwrap().unwrap().0;
        assert!(r.no_pty && r.no_port_forwarding && r.no_agent_forwarding && r.no_x11_forwarding);
        let r = opts("restrict,pty k").unwrap().unwrap().0;
        assert!(!r.no_pty && r.no_port_forwarding);
        let o = opts(
            "No-Port-Forwarding,no-X11-forwarding,no-agent-forwarding,permitopen=\"h:1\",\
             permitopen=\"[::1]:*\",permitlisten=\"8080\",environment=\"A_1=B=c\" k",
        )
        .unwrap()
        .unwrap()
        .0;
        assert!(o.no_port_forwarding && o.no_x11_forwarding && o.no_agent_forwarding);
        assert_eq!(
            o.permit_open,
            vec!["h:1".to_string(), "[::1]:*".to_string()]
        );
        assert_eq!(o.permit_listen, vec!["8080".to_string()]);
        assert_eq!(o.environment, vec![("A_1".to_string(), "B=c".to_string())]);
        let from = full("from=\"10.0.0.0/8,!10.1.*\" k").unwrap().unwrap().0 .1;
        assert_eq!(from.as_deref(), Some("10.0.0.0/8,!10.1.*"));
        assert_eq!(opts("cert-authority k"), Ok(None));
        for bad in [
            "unknown k",
            "command=unquoted k",
            "command k",
            "no-pty=\"x\" k",
            "command=\"a\",command=\"b\" k",
            "command=\"open k",
            "no-pty,",
            "no-pty",
            ",no-pty k",
            "from=\"\" k",
            "from=\"a,,b\" k",
            "environment=\"NOEQUALS\" k",
            "environment=\"BAD NAME=x\" k",
            "permitopen=\"nohost\" k",
            "permitlisten=\"x:y\" k",
            "no-pty;x k",
        ] {
            assert!(opts(bad).is_err(), "{bad}");
        }
    }
}
