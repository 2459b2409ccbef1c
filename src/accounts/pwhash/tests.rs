//! Known-answer vectors of every scheme, and settings and inputs refused or survived.

use super::md5crypt::MD5_ORDER;
use super::*;

fn h(pw: &str, setting: &str) -> String {
    hash(pw.as_bytes(), setting)
        .unwrap_or_else(|| panic!("no hash for {setting}"))
        .to_string()
}

#[test]
fn md5crypt_vectors() {
    // `openssl passwd -1 -salt SALT PASSWORD`.
    assert_eq!(
        h("password", "$1$saltstri"),
        "$1$saltstri$qQY4WxjABChYG1ccLpfkz/"
    );
    // The salt stops at 8 characters, and at a '$'.
    assert_eq!(
        h("password", "$1$saltstringlonger"),
        "$1$saltstri$qQY4WxjABChYG1ccLpfkz/"
    );
    assert_eq!(
        h("password", "$1$saltstri$qQY4WxjABChYG1ccLpfkz/"),
        "$1$saltstri$qQY4WxjABChYG1ccLpfkz/"
    );
    assert_eq!(h("password", "$1$"), "$1$$I2o9Z7NcvQAKp7wyCTlia0");
    assert_eq!(h("password", "$1$$"), "$1$$I2o9Z7NcvQAKp7wyCTlia0");
    assert_eq!(h("", "$1$abc"), "$1$abc$Or2rbeUYTvt12aiVzMuS/.");
    assert_eq!(
        h("0.s0.l33t", "$1$deadbeef"),
        "$1$deadbeef$0Huu6KHrKLVWfqa4WljDE0"
    );
    assert_eq!(
        h(
            "a password longer than sixteen bytes, and longer than sixty-four bytes as well: 0123456789",
            "$1$ab"
        ),
        "$1$ab$XcROxWHPcVKhQwMDbM1To1"
    );
    // passwd.rs's own known answer.
    assert_eq!(
        h("password", "$1$saltsalt"),
        "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"
    );
}

#[test]
fn sha256crypt_vectors() {
    // Drepper's spec.
    let v = [
        (
            "$5$saltstring",
            "Hello world!",
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
        ),
        (
            "$5$rounds=10000$saltstringsaltstring",
            "Hello world!",
            "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
        ),
        (
            "$5$rounds=5000$toolongsaltstring",
            "This is just a test",
            "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5",
        ),
        (
            "$5$rounds=1400$anotherlongsaltstring",
            "a very much longer text to encrypt.  This one even stretches over morethan one line.",
            "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1",
        ),
        (
            "$5$rounds=77777$short",
            "we have a short salt string but not a short password",
            "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/",
        ),
        (
            "$5$rounds=123456$asaltof16chars..",
            "a short string",
            "$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD",
        ),
        (
            "$5$rounds=10$roundstoolow",
            "the minimum number is still observed",
            "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC",
        ),
    ];
    for (setting, pw, want) in v {
        assert_eq!(h(pw, setting), want, "{setting}");
        // The full hash as the setting gives itself back.
        assert_eq!(h(pw, want), want, "{want}");
    }
    // rounds=5000 given is kept in the result (libxcrypt's test suite).
    assert_eq!(
        h("Hello world!", "$5$rounds=5000$saltstring"),
        "$5$rounds=5000$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
    );
}

#[test]
fn sha512crypt_vectors() {
    // Drepper's spec, and (the last) an empty salt.
    let v = [
        (
            "$6$saltstring",
            "Hello world!",
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
        ),
        (
            "$6$rounds=10000$saltstringsaltstring",
            "Hello world!",
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
        ),
        (
            "$6$rounds=5000$toolongsaltstring",
            "This is just a test",
            "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0",
        ),
        (
            "$6$rounds=1400$anotherlongsaltstring",
            "a very much longer text to encrypt.  This one even stretches over morethan one line.",
            "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1",
        ),
        (
            "$6$rounds=77777$short",
            "we have a short salt string but not a short password",
            "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0",
        ),
        (
            "$6$rounds=123456$asaltof16chars..",
            "a short string",
            "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1",
        ),
        (
            "$6$rounds=10$roundstoolow",
            "the minimum number is still observed",
            "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
        ),
        (
            "$6$$bar$",
            "foo",
            "$6$$QMXjqd7rHQZPQ1yHsXkQqC1FBzDiVfTHXL.LaeDAeVV.IzMaV9VU4MQ8kPuZa2SOP1A0RPm772EaFYjpEJtdu.",
        ),
    ];
    for (setting, pw, want) in v {
        assert_eq!(h(pw, setting), want, "{setting}");
        assert_eq!(h(pw, want), want, "{want}");
    }
    // passwd.rs's own known answer (`openssl passwd -6`).
    assert_eq!(
        h("password", "$6$saltsalt"),
        "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/"
    );
}

#[test]
fn rounds_are_parsed_strictly() {
    // Leading zeros are dropped and low counts raised, as the spec's code does.
    assert!(h("x", "$5$rounds=01000$ab").starts_with("$5$rounds=1000$ab$"));
    assert!(h("x", "$5$rounds=0$ab").starts_with("$5$rounds=1000$ab$"));
    assert_eq!(h("x", "$6$rounds=0$ab"), h("x", "$6$rounds=1000$ab"));
    assert_ne!(h("x", "$6$rounds=1001$ab"), h("x", "$6$rounds=1000$ab"));
    for bad in [
        "$5$rounds=abc$salt",
        "$5$rounds=$salt",
        "$5$rounds=+1000$salt",
        "$5$rounds=-1$salt",
        "$5$rounds= 1000$salt",
        "$5$rounds=1000",
        "$5$rounds=1000x$salt",
        "$6$rounds=1000000000$salt",
        "$6$rounds=4294967296$salt",
        "$6$rounds=99999999999999999999$salt",
        "$6$rounds=99999999999999999999$",
    ] {
        assert!(hash(b"x", bad).is_none(), "{bad}");
    }
    // A second rounds= is salt.
    assert!(h("x", "$5$rounds=1000$rounds=2000$x").starts_with("$5$rounds=1000$rounds=2000$"));
}

#[test]
fn settings_and_passwords_refused() {
    for bad in [
        "",
        "$",
        "$1",
        "$2b$05$abcdefghijklmnopqrstuu",
        "$y$j9T$abc",
        "$7$",
        "ab",
        "*",
        "!",
        "$5$a:b",
        "$5$a b",
        "$1$a*b",
        "$6$a;b",
        "$6$a\\b",
        "$6$a!b",
        "$1$\u{e9}t\u{e9}",
        "$6$ab\n",
        "$6$ab\0",
    ] {
        assert!(hash(b"password", bad).is_none(), "{bad:?}");
    }
    assert!(hash(b"pass\0word", "$6$ab").is_none());
    assert!(hash(&[b'x'; MAX_PASSWORD], "$6$ab").is_some());
    assert!(hash(&[b'x'; MAX_PASSWORD + 1], "$6$ab").is_none());
    assert!(hash(&[b'x'; 1000], "$1$ab").is_none());
    assert!(knows("$1$") && knows("$5$x") && knows("$6$rounds=5000$x$y"));
    assert!(!knows("$y$j9T$abc") && !knows("$2b$") && !knows("ab") && !knows(""));
}

#[test]
fn odd_inputs_do_not_panic() {
    let passwords: [&[u8]; 5] = [b"", b"x", &[0xff; 64], &[b'p'; 1000], &[0x80; 511]];
    let settings = [
        "$1$",
        "$5$",
        "$6$",
        "$1$$",
        "$5$$",
        "$6$$",
        "$5$$$$",
        "$6$$$",
        "$1$$$$$",
        "$5$rounds=",
        "$5$rounds=$",
        "$5$rounds=abc$",
        "$5$rounds=0$",
        "$6$rounds=99999999999999999999$",
        "$6$rounds=1000$$",
        "$1$abcdefghijklmnopqrstuvwxyz",
        "$5$abcdefghijklmnopqrstuvwxyz",
        "$6$abcdefghijklmnopqrstuvwxyz$",
        "$5",
        "$6",
        "$1",
    ];
    for pw in passwords {
        for s in settings {
            if let Some(out) = hash(pw, s) {
                assert!(out.starts_with(&s[..3]), "{s}");
                assert!(out.bytes().all(|b| b.is_ascii_graphic()));
            }
        }
    }
    // The empty salt is a salt.
    assert!(h("", "$5$").starts_with("$5$$"));
    assert!(h("", "$6$$").starts_with("$6$$"));
    // Random settings built from the pieces that matter.
    // (At most two digits after rounds=: a setting costs at most 5000 rounds here.)
    let pieces = ["$", "1", "5", "6", "rounds=", "0", "a", "./", "!", ":", "é"];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        let mut s = String::new();
        for _ in 0..(seed % 8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        let _ = hash(b"pw", &s);
    }
}

#[test]
fn encode_orders_are_permutations() {
    for order in [&MD5_ORDER[..], &SHA256_ORDER[..], &SHA512_ORDER[..]] {
        let mut seen = order.to_vec();
        seen.sort_unstable();
        assert!(seen.iter().enumerate().all(|(i, &b)| usize::from(b) == i));
    }
}
