//! The man page `docs/quoll.8` renders without a warning: `groff -man -ww` (every warning on)
//! and `mandoc -Tlint`. (Its OPTIONS section is checked against the flag table by
//! `flags::tests` in the unit tests.)

mod common;

use common::*;
use std::process::Command;

const PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/quoll.8");

fn installed(tool: &str, package: &str) {
    require(
        !sh(&format!("command -v {tool}")).is_empty(),
        &format!("{tool} is not installed ({package})"),
    );
}

#[test]
fn the_man_page_renders_without_warnings() {
    installed("groff", "groff");
    let out = run(
        Command::new("groff").args(["-man", "-Tutf8", "-ww", "-P", "-cbou", PAGE]),
        CMD_TIMEOUT,
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(out.stderr, "", "groff warns:\n{}", out.stderr);
    for section in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "FILES",
        "EXIT STATUS",
        "EXAMPLES",
    ] {
        assert!(out.stdout.contains(&format!("\n{section}\n")), "{section}");
    }
    // Every flag of `quoll -h` is in it.
    let help = run(Command::new(quoll_bin()).arg("-h"), CMD_TIMEOUT);
    let page: String = out.stdout.replace(['\u{2010}', '\u{2212}'], "-");
    for line in help.stdout.lines().filter(|l| l.starts_with('-')) {
        let flag = line.split_whitespace().next().unwrap();
        assert!(page.contains(flag), "{flag} is not in the man page");
    }
}

#[test]
fn mandoc_finds_nothing_to_lint() {
    installed("mandoc", "mandoc");
    let out = run(Command::new("mandoc").args(["-Tlint", PAGE]), CMD_TIMEOUT);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(out.stdout + &out.stderr, "");
}
