//! xtask (stub)
fn main() {}
