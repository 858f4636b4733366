//! `cargo xtask fuzz --seconds N [--target T]`: runs the cargo-fuzz targets of `fuzz/`
//! one after the other, each for N seconds, and prints executions, coverage and crashes.
//!
//! cargo-fuzz needs nightly compiler flags; the stable toolchain accepts them with
//! `RUSTC_BOOTSTRAP=1`, which is set for the runs only. Each target's corpus,
//! `fuzz/corpus/<target>/` (ignored by git), is seeded from the tracked `fuzz/seeds/<target>/`.
//! libFuzzer's output goes to `fuzz/target/fuzz-<target>.log`; crash inputs to
//! `fuzz/artifacts/<target>/`. The command fails if any target crashed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{cargo, describe, repo_root, run};

pub(crate) const USAGE: &str = "\
usage: cargo xtask fuzz --seconds N [--target T]

Runs each cargo-fuzz target of fuzz/fuzz_targets/ (or only T) for N seconds, sequentially,
with RUSTC_BOOTSTRAP=1. Installs cargo-fuzz when missing and seeds fuzz/corpus/<target>/
from fuzz/seeds/<target>/. Prints executions, coverage (cov/ft) and crashes per target;
exits non-zero if any target crashed.";

struct Outcome {
    target: String,
    executions: Option<u64>,
    cov: Option<u64>,
    ft: Option<u64>,
    crashed: bool,
    artifact: Option<String>,
    log: PathBuf,
    secs: f64,
}

pub(crate) fn fuzz(args: &[&str]) -> Result<()> {
    let mut seconds: Option<u64> = None;
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match *arg {
            "--seconds" => {
                let v = it.next().context("--seconds needs a value")?;
                seconds = Some(v.parse().with_context(|| format!("--seconds {v:?} is not a number"))?);
            }
            "--target" => only = Some(it.next().context("--target needs a value")?.to_string()),
            "help" | "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let seconds = seconds.with_context(|| format!("--seconds is required\n\n{USAGE}"))?;
    let fuzz_dir = repo_root().join("fuzz");
    let mut targets = list_targets(&fuzz_dir)?;
    if let Some(t) = only {
        if !targets.contains(&t) {
            bail!("no fuzz target {t:?}; the targets are {}", targets.join(", "));
        }
        targets = vec![t];
    }
    ensure_cargo_fuzz()?;
    build_targets(&fuzz_dir, &targets)?;

    let mut outcomes = Vec::new();
    for target in &targets {
        let corpus = seed_corpus(&fuzz_dir, target)?;
        println!("\n==> fuzz {target} for {seconds} s (corpus {})", corpus.display());
        let outcome = run_target(&fuzz_dir, target, &corpus, seconds)?;
        println!("    {}", line(&outcome));
        outcomes.push(outcome);
    }

    println!("\n==> summary ({seconds} s per target)");
    println!("    {:<16} {:>14} {:>8} {:>8}  result", "target", "executions", "cov", "ft");
    for o in &outcomes {
        println!(
            "    {:<16} {:>14} {:>8} {:>8}  {}",
            o.target,
            show(o.executions),
            show(o.cov),
            show(o.ft),
            verdict(o)
        );
    }
    let crashed: Vec<&str> = outcomes.iter().filter(|o| o.crashed).map(|o| o.target.as_str()).collect();
    if !crashed.is_empty() {
        bail!("fuzz targets crashed: {} (inputs under fuzz/artifacts/, logs under fuzz/target/)", crashed.join(", "));
    }
    Ok(())
}

fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

fn verdict(o: &Outcome) -> String {
    match (&o.crashed, &o.artifact) {
        (false, _) => "no crash".to_string(),
        (true, Some(a)) => format!("CRASHED: {a}"),
        (true, None) => format!("FAILED (see {})", o.log.display()),
    }
}

fn line(o: &Outcome) -> String {
    format!(
        "{}: {} executions in {:.0} s, cov {}, ft {}, {}",
        o.target,
        show(o.executions),
        o.secs,
        show(o.cov),
        show(o.ft),
        verdict(o)
    )
}

/// The targets: the file stems of `fuzz/fuzz_targets/*.rs`, sorted.
fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut targets: Vec<String> = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    targets.sort();
    if targets.is_empty() {
        bail!("no fuzz targets in {}", dir.display());
    }
    Ok(targets)
}

fn ensure_cargo_fuzz() -> Result<()> {
    let present = cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    println!("==> cargo-fuzz is missing: installing it");
    let mut cmd = cargo();
    cmd.args(["install", "cargo-fuzz", "--locked"]);
    run(cmd).context("installing cargo-fuzz failed")
}

/// Copies the tracked seeds into the run corpus (never overwriting what runs found).
fn seed_corpus(fuzz_dir: &Path, target: &str) -> Result<PathBuf> {
    let corpus = fuzz_dir.join("corpus").join(target);
    fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let seeds = fuzz_dir.join("seeds").join(target);
    if let Ok(entries) = fs::read_dir(&seeds) {
        for path in entries.flatten().map(|e| e.path()).filter(|p| p.is_file()) {
            let Some(name) = path.file_name() else { continue };
            let dest = corpus.join(name);
            if !dest.exists() {
                fs::copy(&path, &dest).with_context(|| format!("copying {}", path.display()))?;
            }
        }
    }
    Ok(corpus)
}

/// Builds every target in one `cargo fuzz build` (one compilation of the shared crates, the
/// binaries linked in parallel), so that each `cargo fuzz run` afterwards starts at once and
/// its seconds are spent fuzzing.
fn build_targets(fuzz_dir: &Path, targets: &[String]) -> Result<()> {
    let mut cmd = cargo();
    cmd.current_dir(fuzz_dir).env("RUSTC_BOOTSTRAP", "1").env_remove("CARGO_TARGET_DIR").args(["fuzz", "build"]);
    if let [only] = targets {
        cmd.arg(only);
    }
    println!("\n==> {}", describe(&cmd));
    let started = Instant::now();
    let status = cmd.status().with_context(|| format!("could not start `{}`", describe(&cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(&cmd));
    }
    println!("    built in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn run_target(fuzz_dir: &Path, target: &str, corpus: &Path, seconds: u64) -> Result<Outcome> {
    let log = fuzz_dir.join("target").join(format!("fuzz-{target}.log"));
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent)?;
    }
    let file = fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = cargo();
    // The fuzz crate builds into its own target dir (fuzz/target), even when the caller set
    // CARGO_TARGET_DIR for the workspace: that would put a second, sanitizer build there.
    cmd.current_dir(fuzz_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("CARGO_TARGET_DIR")
        .args(["fuzz", "run", target])
        .arg(corpus)
        .args(["--", &format!("-max_total_time={seconds}"), "-print_final_stats=1"])
        .stdout(file.try_clone()?)
        .stderr(file);
    println!("    {} > {}", describe(&cmd), log.display());
    let started = Instant::now();
    let status = cmd.status().with_context(|| format!("could not start `{}`", describe(&cmd)))?;
    let secs = started.elapsed().as_secs_f64();
    let text = fs::read_to_string(&log).unwrap_or_default();
    let mut outcome = parse_log(target, &text);
    outcome.log = log;
    outcome.secs = secs;
    outcome.crashed |= !status.success();
    Ok(outcome)
}

/// Reads libFuzzer's output: `stat::number_of_executed_units`, the last `cov:`/`ft:` status
/// line, and the crash artifact (`Test unit written to ...`).
fn parse_log(target: &str, text: &str) -> Outcome {
    let field = |line: &str, key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.split_whitespace().next()?.parse().ok()
    };
    let executions = text.lines().find_map(|l| l.strip_prefix("stat::number_of_executed_units:")?.trim().parse().ok());
    let status = text.lines().rev().find(|l| l.starts_with('#') && l.contains(" cov: "));
    let artifact = text.lines().find_map(|l| l.split_once("Test unit written to ").map(|(_, p)| p.trim().to_string()));
    let crashed = artifact.is_some() || text.contains("==ERROR: libFuzzer") || text.contains("deadly signal");
    Outcome {
        target: target.to_string(),
        executions,
        cov: status.and_then(|l| field(l, " cov: ")),
        ft: status.and_then(|l| field(l, " ft: ")),
        crashed,
        artifact,
        log: PathBuf::new(),
        secs: 0.0,
    }
}
