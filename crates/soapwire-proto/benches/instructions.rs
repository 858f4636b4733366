//! The workloads of [`common::CASES`] at fixed call counts, for instruction counting under
//! callgrind: `cargo xtask bench instructions` runs `instructions run NAME` once per workload
//! with `--collect-atstart=no --toggle-collect=*soapwire_bench_measured*`, so only the calls
//! inside [`soapwire_bench_measured`] are counted (building the input is not).
//!
//! ```text
//! instructions list        one line per workload: NAME TAB ITERATIONS
//! instructions run NAME    prepare workload NAME, then call it ITERATIONS times
//! ```
//!
//! Run by `cargo bench` (`--bench`, perhaps with a filter), it only says how it is meant to be
//! used.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::process::ExitCode;

/// The measured region: `iterations` calls of `run`. Never inlined, so callgrind can toggle
/// collection on its entry and exit.
#[inline(never)]
fn soapwire_bench_measured(run: &dyn Fn(), iterations: u32) {
    for _ in 0..iterations {
        run();
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--bench") {
        println!("instructions: run by `cargo xtask bench instructions` (under callgrind); nothing to do here");
        return ExitCode::SUCCESS;
    }
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["list"] => {
            for case in common::CASES {
                println!("{}\t{}", case.name(), case.iterations);
            }
            ExitCode::SUCCESS
        }
        ["run", name] => {
            let Some(case) = common::CASES.iter().find(|c| c.name() == *name) else {
                eprintln!("instructions: no workload {name:?} (see `instructions list`)");
                return ExitCode::from(2);
            };
            let prepared = common::prepare(case.group, case.arg);
            soapwire_bench_measured(&*prepared.run, case.iterations);
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: instructions list | instructions run NAME");
            ExitCode::from(2)
        }
    }
}
