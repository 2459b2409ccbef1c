//! `quoll keygen`: make or inspect a host key with the one binary.
//! STUB: signatures fixed, bodies to be written.

/// Runs the subcommand with the arguments after `keygen`; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let _ = args;
    todo!()
}
