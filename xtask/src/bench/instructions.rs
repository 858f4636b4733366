//! `cargo xtask bench instructions`: instruction counts of the hot paths under callgrind (as
//! rustls's ci-bench does), deterministic enough that a regression shows on a noisy machine.
//!
//! The workloads are those of the divan micro-benchmarks (crates/soapwire-proto/benches/common/),
//! run at fixed call counts by soapwire-proto's `instructions` benchmark target, one process
//! per workload under `valgrind --tool=callgrind`. Collection is off at start and toggled on
//! only inside the target's `soapwire_bench_measured` function, so building the inputs is not
//! counted. This module owns running them, reading callgrind's totals and the comparison with
//! a saved baseline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};

use super::xml::{Table, bench_executable};
use super::{OptionArgs, TempDir, machine, on_path, thousands, write_bench_file};
use crate::{describe, is_root, run};

mod server;

pub(super) const USAGE: &str = "\
usage: cargo xtask bench instructions [options]

Builds soapwire-proto's `instructions` benchmark (benches/instructions.rs) in release and runs
each workload of benches/common/ (the hot paths of the divan micro-benchmarks, at fixed call
counts) under `valgrind --tool=callgrind`, counting only the measured calls (building the
input is not counted). Then the http_server/* workloads: the release `soapwire serve echo`
under callgrind, served echo11.xml requests (as wrk sends them in `bench echo`) over 1 and 32
keep-alive connections; only the requests after a warm-up are counted (callgrind_control
--zero / --dump), so Ir per call is the whole server's user-space cost of one request.
Prints the instructions executed (Ir) per workload and per call.
Installs valgrind with apt-get when it is missing (needs root).

options:
  --filter TEXT     only the workloads whose name contains TEXT
  --save FILE       also write this run's counts to FILE (TSV: workload, calls, Ir)
  --baseline FILE   compare with a TSV written by --save: change of Ir per call in %
  --jobs N          workloads under valgrind at once (default: the number of CPUs)
  --keep DIR        keep callgrind's output files in DIR (for callgrind_annotate)
  --markdown        print the table as Markdown";

/// The callgrind function-name pattern of the measured region (see benches/instructions.rs).
const TOGGLE: &str = "*soapwire_bench_measured*";

/// Options of `bench instructions`.
struct Options {
    filter: Option<String>,
    save: Option<PathBuf>,
    baseline: Option<PathBuf>,
    jobs: usize,
    markdown: bool,
    keep: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[&str]) -> Result<Options> {
        let mut o = Options {
            filter: None,
            save: None,
            baseline: None,
            jobs: std::thread::available_parallelism().map_or(1, usize::from),
            markdown: false,
            keep: None,
        };
        let mut args = OptionArgs::new(args);
        while let Some((arg, name, inline)) = args.next_option(&[]) {
            let mut value = || args.value(name, inline);
            match name {
                "--filter" => o.filter = Some(value()?.to_string()),
                "--save" => o.save = Some(PathBuf::from(value()?)),
                "--baseline" => o.baseline = Some(PathBuf::from(value()?)),
                "--jobs" => o.jobs = value()?.parse().context("--jobs: a number")?,
                "--markdown" => o.markdown = true,
                "--keep" => o.keep = Some(PathBuf::from(value()?)),
                _ => bail!("unknown option {arg:?}\n\n{USAGE}"),
            }
        }
        if o.jobs == 0 {
            bail!("--jobs must be at least 1");
        }
        Ok(o)
    }
}

/// One workload's count.
#[derive(Clone, Debug, PartialEq)]
struct Count {
    calls: u64,
    ir: u64,
}

impl Count {
    fn per_call(&self) -> f64 {
        self.ir as f64 / self.calls.max(1) as f64
    }
}

/// valgrind from apt when missing (interop/peers' installs do not bring it).
fn ensure_valgrind() -> Result<()> {
    if on_path("valgrind") {
        return Ok(());
    }
    if !is_root() {
        bail!("valgrind is missing and installing it needs root: apt-get install -y valgrind");
    }
    let install = || {
        let mut cmd = Command::new("apt-get");
        cmd.args(["install", "-y", "--no-install-recommends", "valgrind"]).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    println!("==> valgrind missing: {}", describe(&install()));
    if run(install()).is_err() {
        let mut update = Command::new("apt-get");
        update.arg("update").env("DEBIAN_FRONTEND", "noninteractive");
        run(update)?;
        run(install())?;
    }
    Ok(())
}

/// The workloads the target lists (`NAME TAB CALLS`).
fn list(exe: &Path) -> Result<Vec<(String, u64)>> {
    let out = Command::new(exe).arg("list").output().with_context(|| format!("running {} list", exe.display()))?;
    if !out.status.success() {
        bail!("{} list failed ({})", exe.display(), out.status);
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (name, calls) = l.split_once('\t').with_context(|| format!("bad workload line {l:?}"))?;
            Ok((name.to_string(), calls.parse().with_context(|| format!("bad call count in {l:?}"))?))
        })
        .collect()
}

/// The instructions callgrind counted, from the `totals:` (or `summary:`) line of its output.
fn callgrind_total(text: &str) -> Option<u64> {
    let total =
        |prefix: &str| text.lines().find_map(|l| l.strip_prefix(prefix)?.split_whitespace().next()?.parse().ok());
    total("totals:").or_else(|| total("summary:"))
}

/// Runs workload `name` under callgrind; returns the instructions of its measured calls.
fn measure(exe: &Path, name: &str, dir: &Path) -> Result<u64> {
    let file = dir.join(format!("{}.callgrind", name.replace(['/', ' '], "_")));
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", file.display()))
        .args(["--collect-atstart=no", &format!("--toggle-collect={TOGGLE}")])
        .arg(exe)
        .args(["run", name]);
    let shown = describe(&cmd);
    let out = cmd.output().with_context(|| format!("running `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    let text = fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    match callgrind_total(&text) {
        Some(0) | None => bail!("callgrind counted nothing for {name}: did {TOGGLE} match no function? (`{shown}`)"),
        Some(ir) => Ok(ir),
    }
}

/// Runs every workload, `jobs` at a time (valgrind is single-threaded); results by name.
fn measure_all(exe: &Path, workloads: &[(String, u64)], jobs: usize, dir: &Path) -> Result<BTreeMap<String, Count>> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(workloads.len()) {
            s.spawn(|| {
                while let Some((name, calls)) = workloads.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let r = measure(exe, name, dir).map(|ir| Count { calls: *calls, ir });
                    if let Ok(c) = &r {
                        println!("    {name}: {} Ir", thousands(c.ir as f64));
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner()).push((name.clone(), r));
                }
            });
        }
    });
    let mut out = BTreeMap::new();
    for (name, r) in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        out.insert(name, r?);
    }
    Ok(out)
}

/// The TSV of `--save` and of target/bench/.
fn to_tsv(counts: &BTreeMap<String, Count>) -> String {
    let mut text = String::from("workload\tcalls\tir\n");
    for (name, c) in counts {
        let _ = writeln!(text, "{name}\t{}\t{}", c.calls, c.ir);
    }
    text
}

fn from_tsv(text: &str) -> Result<BTreeMap<String, Count>> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with("workload\t")) {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, calls, ir] = f.as_slice() else { bail!("bad baseline line {line:?}") };
        let count = Count {
            calls: calls.parse().with_context(|| format!("calls in {line:?}"))?,
            ir: ir.parse().with_context(|| format!("Ir in {line:?}"))?,
        };
        out.insert(name.to_string(), count);
    }
    Ok(out)
}

/// The table: per workload (in `order`), calls, Ir, Ir per call and the change against the
/// baseline's Ir per call.
fn report(
    order: &[(String, u64)],
    counts: &BTreeMap<String, Count>,
    baseline: Option<&BTreeMap<String, Count>>,
    markdown: bool,
) -> String {
    let mut head = vec!["workload", "calls", "Ir", "Ir/call"];
    if baseline.is_some() {
        head.extend(["baseline Ir/call", "change"]);
    }
    let mut t = Table::new(&head, 1);
    for (name, _) in order {
        let Some(c) = counts.get(name) else { continue };
        let mut row = vec![name.clone(), c.calls.to_string(), thousands(c.ir as f64), thousands(c.per_call())];
        if let Some(base) = baseline {
            match base.get(name) {
                Some(b) => {
                    let change = (c.per_call() / b.per_call() - 1.0) * 100.0;
                    row.extend([thousands(b.per_call()), format!("{change:+.2}%")]);
                }
                None => row.extend(["-".to_string(), "new".to_string()]),
            }
        }
        t.push(row);
    }
    t.render(markdown)
}

/// `cargo xtask bench instructions`.
pub(super) fn instructions(args: &[&str]) -> Result<()> {
    let o = Options::parse(args)?;
    let baseline = match &o.baseline {
        Some(path) => Some(from_tsv(
            &fs::read_to_string(path).with_context(|| format!("reading the baseline {}", path.display()))?,
        )?),
        None => None,
    };
    ensure_valgrind()?;
    let wanted = |name: &str| o.filter.as_ref().is_none_or(|f| name.contains(f.as_str()));
    let exe = bench_executable("instructions")?;
    let workloads: Vec<(String, u64)> = list(&exe)?.into_iter().filter(|(name, _)| wanted(name)).collect();
    let servers: Vec<&server::ServerWorkload> = server::WORKLOADS.iter().filter(|w| wanted(w.name)).collect();
    let soapwire = match servers.is_empty() {
        true => None,
        false => Some(super::build_release(&["soapwire-cli"])?.join("soapwire")),
    };
    if workloads.is_empty() && servers.is_empty() {
        bail!("no workload matches --filter {:?}", o.filter.as_deref().unwrap_or(""));
    }
    let machine = machine();
    println!(
        "==> {machine}; valgrind --tool=callgrind --collect-atstart=no --toggle-collect={TOGGLE}, {} at once",
        o.jobs
    );
    let tmp = TempDir::new()?;
    let dir = match &o.keep {
        Some(keep) => {
            fs::create_dir_all(keep).with_context(|| format!("creating {}", keep.display()))?;
            keep.clone()
        }
        None => tmp.0.clone(),
    };
    let mut counts = measure_all(&exe, &workloads, o.jobs, &dir)?;
    let mut order = workloads;
    if let Some(soapwire) = &soapwire {
        for w in servers {
            let ir = server::measure(soapwire, w, &dir)?;
            println!("    {}: {} Ir", w.name, thousands(ir as f64));
            counts.insert(w.name.to_string(), Count { calls: w.requests, ir });
            order.push((w.name.to_string(), w.requests));
        }
    }
    let tsv = to_tsv(&counts);
    let raw = write_bench_file("instructions", &tsv)?;
    if let Some(path) = &o.save {
        fs::write(path, &tsv).with_context(|| format!("writing {}", path.display()))?;
    }
    println!();
    let heading = if o.markdown { "" } else { "# " };
    println!("{heading}instructions executed (callgrind Ir) in the measured calls; {machine}");
    print!("{}", report(&order, &counts, baseline.as_ref(), o.markdown));
    println!("counts: {}", raw.display());
    if let Some(path) = &o.save {
        println!("saved: {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_tsv_and_report() {
        assert_eq!(callgrind_total("events: Ir\nfn=x\n1 5\nsummary: 1234\ntotals: 1234\n"), Some(1234));
        assert_eq!(callgrind_total("summary: 77\n"), Some(77));
        assert_eq!(callgrind_total("events: Ir\n"), None);
        let counts = BTreeMap::from([("a/b".to_string(), Count { calls: 10, ir: 1000 })]);
        assert_eq!(from_tsv(&to_tsv(&counts)).expect("parses"), counts);
        let base = BTreeMap::from([("a/b".to_string(), Count { calls: 5, ir: 400 })]);
        let order = [("a/b".to_string(), 10), ("c/d".to_string(), 1)];
        let text = report(&order, &counts, Some(&base), false);
        assert!(text.contains("+25.00%") && text.contains("baseline Ir/call"), "{text}");
        assert!(Options::parse(&["--jobs", "0"]).is_err());
    }
}
