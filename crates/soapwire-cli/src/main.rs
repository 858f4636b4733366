//! The `soapwire` command line (stub).
fn main() {}
