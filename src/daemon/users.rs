//! passwd lookups.
//! STUB: signatures fixed, bodies to be written.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    /// Login shell; `/bin/sh` when the passwd field is empty.
    pub shell: String,
}

/// getpwnam_r
pub fn by_name(name: &str) -> Option<User> {
    let _ = name;
    todo!()
}

/// getpwuid_r
pub fn by_uid(uid: u32) -> Option<User> {
    let _ = uid;
    todo!()
}
