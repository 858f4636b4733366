//! `cargo xtask soak`: load and soak of the release `soapwire serve echo` (issue 7, item 4).
//!
//! Three kinds of process run on loopback, each a child of this one:
//!
//! | process | what | started as |
//! | --- | --- | --- |
//! | server | `soapwire serve echo` with an HTTP, a net.tcp and a `soap.udp` listener | `prlimit --nofile=N:N -- soapwire serve echo ...` |
//! | device | a DPWS [`DeviceHost`](soapwire::dpws::DeviceHost) answering directed discovery on 127.0.0.1 ([`device`](mod@device)), mixed phase only | `xtask soak-device` |
//! | client | the load of one phase ([`client`](mod@client)) | `prlimit --nofile=N:N -- xtask soak-client --phase P ...` |
//!
//! The phases are **hold** (connections opened, held, sampled, closed) and **mixed** (a
//! timed workload of every kind of operation with RSS over time). Each phase gets a fresh
//! server: holding 10,000 connections grows the server's heap by over 100 MiB, and the
//! allocator keeps those pages after the connections close, so a mixed phase run on the same
//! process would start on a large free heap that could absorb a leak for a long time before
//! RSS showed it.
//!
//! Every connection costs descriptors on each side: one per HTTP connection, one per net.tcp
//! session ([`SESSION_FDS`]; it was two until the session halves shared one socket). Server and client run under util-linux's `prlimit`, which sets
//! both `RLIMIT_NOFILE` limits and then executes the command (the pid stays the server's, so
//! `/proc/PID` is the server). Raising a *hard* limit needs `CAP_SYS_RESOURCE`, which root in
//! a container may lack (the build machine's containers do, with a hard limit of 20,000);
//! then both run with the hard limit, and when that is too low to hold both bindings at
//! once, each binding is held in a phase of its own (`hold-http`, `hold-nettcp`), capped to
//! what fits; the output says so.
//!
//! The server gets `--max-connections` above the connection count (the default, 4096 per
//! listener, would refuse the rest), and an hour of `--receive-timeout` and
//! `--header-read-timeout`, so that neither the held sessions (waiting for their next
//! message) nor the idle keep-alive connections are cut while they are held.
//!
//! Each client prints a line every interval with the server's RSS and descriptor count read
//! from `/proc`, and exits non-zero on any error, on a descriptor leak, on a stall, or on
//! server RSS growth over 10% after warm-up; see [`client`](mod@client) for what each phase
//! does and checks. The series go to `$CARGO_TARGET_DIR/soak/soak-<unix seconds>-<phase>.tsv`,
//! the server logs beside them. The command fails when any phase failed.

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};

use crate::{cargo, describe, repo_root, run};

mod client;
mod device;
mod series;

pub(crate) use client::client;
pub(crate) use device::device;

pub(crate) const USAGE: &str = "\
usage: cargo xtask soak [options]

Builds soapwire-cli and xtask in release, then runs each phase against a fresh
`soapwire serve echo` on 127.0.0.1 (HTTP, net.tcp and soap.udp listeners) started under
`prlimit --nofile`, the load coming from a client process (also under prlimit):

  hold   opens N keep-alive HTTP connections (a RequestChannel each, one echo call each) and
         N net.tcp sessions (a SessionChannel each, one call each), holds them, calls again
         on one connection in N/100 of each, reports open time, server RSS and descriptors,
         closes them all and checks the server's descriptors return to where they were.
         When RLIMIT_NOFILE cannot be raised (no CAP_SYS_RESOURCE) above 2N + 1024, each
         binding gets a hold phase of its own, capped to what the limit allows
  mixed  for the given minutes: echo calls over HTTP and net.tcp (16 workers each), HTTP and
         net.tcp connection churn (open, call, close), MTOM upload/download/echoData of
         1-8 MiB over HTTP, directed WS-Discovery Probe + Resolve + WS-Transfer Get against a
         DPWS device on 127.0.0.1, and SOAP-over-UDP echo; a line every interval with req/s
         per kind, errors, server RSS and descriptors

Fails on any error, a stall (a kind without progress for 30 s), a descriptor leak after the
hold phase, or server RSS growing more than 10% after warm-up (the first fifth of the run,
at most 2 minutes; judged only when the load ran 2 minutes after warm-up).
Everything runs on loopback; nothing is multicast.

options:
  --connections N   connections of each kind in the hold phase (default 10000)
  --hold SECS       how long they are held before the sample calls (default 60)
  --minutes M       length of the mixed phase (default 10; fractions allowed, e.g. 0.5)
  --interval SECS   seconds between report lines (default 10)
  --nofile N        RLIMIT_NOFILE (soft and hard) of server and client (default 200000;
                    the current hard limit when it cannot be raised)
  --smoke           200 connections of each kind, 2 s hold, 5 s mixed, a line every second
  --bin PATH        use this soapwire binary instead of building soapwire-cli in release";

/// Descriptors beyond the held connections that server and client may need.
const FD_MARGIN: u64 = 1024;

/// Options of `soak`.
#[derive(Clone, Debug, PartialEq)]
struct Options {
    connections: usize,
    hold_secs: f64,
    mixed_secs: f64,
    interval_secs: f64,
    nofile: u64,
    smoke: bool,
    bin: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[&str]) -> Result<Options> {
        let mut o = Options {
            connections: 10_000,
            hold_secs: 60.0,
            mixed_secs: 600.0,
            interval_secs: 10.0,
            nofile: 200_000,
            smoke: false,
            bin: None,
        };
        let (mut connections, mut hold, mut minutes, mut interval) = (None, None, None, None);
        let mut it = args.iter();
        while let Some(&arg) = it.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v)),
                _ => (arg, None),
            };
            let mut value = || inline.or_else(|| it.next().copied()).with_context(|| format!("{name} needs a value"));
            match name {
                "--connections" => connections = Some(value()?.parse::<usize>().context("--connections: a number")?),
                "--hold" => hold = Some(value()?.parse::<f64>().context("--hold: seconds")?),
                "--minutes" => minutes = Some(value()?.parse::<f64>().context("--minutes: a number of minutes")?),
                "--interval" => interval = Some(value()?.parse::<f64>().context("--interval: seconds")?),
                "--nofile" => o.nofile = value()?.parse().context("--nofile: a number")?,
                "--bin" => o.bin = Some(PathBuf::from(value()?)),
                "--smoke" => o.smoke = true,
                _ => bail!("unknown option {arg:?}\n\n{USAGE}"),
            }
        }
        if o.smoke {
            (o.connections, o.hold_secs, o.mixed_secs, o.interval_secs) = (200, 2.0, 5.0, 1.0);
        }
        o.connections = connections.unwrap_or(o.connections);
        o.hold_secs = hold.unwrap_or(o.hold_secs);
        o.mixed_secs = minutes.map_or(o.mixed_secs, |m| m * 60.0);
        o.interval_secs = interval.unwrap_or(o.interval_secs);
        ensure!(o.connections > 0, "--connections must be at least 1");
        ensure!(o.hold_secs >= 0.0 && o.mixed_secs > 0.0, "--hold must not be negative and --minutes must be positive");
        ensure!(o.interval_secs >= 0.5, "--interval must be at least 0.5 s");
        ensure!(o.nofile >= 1024, "--nofile must be at least 1024");
        Ok(o)
    }

    /// Descriptors server and client each need to hold `connections` HTTP connections and as
    /// many net.tcp sessions at once (`both`), or the larger of the two alone.
    fn descriptors_needed(&self, both: bool) -> u64 {
        let n = self.connections as u64;
        if both { n * (HTTP_FDS + SESSION_FDS) + FD_MARGIN } else { n * HTTP_FDS.max(SESSION_FDS) + FD_MARGIN }
    }
}

/// Descriptors one HTTP connection holds on each side.
const HTTP_FDS: u64 = 1;
/// Descriptors one net.tcp session holds on each side: its socket (the halves and the reset
/// handle of `soapwire::session` share it; `session/stream.rs`).
const SESSION_FDS: u64 = 1;

/// One hold run, on a fresh server: this many HTTP connections and net.tcp sessions, held at
/// once.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HoldPlan {
    label: &'static str,
    http: usize,
    nettcp: usize,
}

/// The hold runs that fit in `nofile` descriptors per process, and what had to give.
fn hold_plan(o: &Options, nofile: u64) -> (Vec<HoldPlan>, Vec<String>) {
    let n = o.connections;
    if nofile >= o.descriptors_needed(true) {
        return (vec![HoldPlan { label: "hold", http: n, nettcp: n }], Vec::new());
    }
    let room = nofile.saturating_sub(FD_MARGIN);
    let http = n.min((room / HTTP_FDS) as usize);
    let nettcp = n.min((room / SESSION_FDS) as usize);
    let mut notes = vec![format!(
        "RLIMIT_NOFILE {nofile} is below the {} descriptors {n} HTTP connections and {n} net.tcp sessions need at once \
         ({HTTP_FDS} per HTTP connection, {SESSION_FDS} per session, on each side): each binding is held on a fresh \
         server of its own",
        o.descriptors_needed(true)
    )];
    if http < n {
        notes.push(format!("HTTP connections held capped at {http} (RLIMIT_NOFILE {nofile})"));
    }
    if nettcp < n {
        notes.push(format!(
            "net.tcp sessions held capped at {nettcp}, not {n}: each session holds {SESSION_FDS} descriptor(s) on each \
             side, and RLIMIT_NOFILE is {nofile}"
        ));
    }
    let plans =
        vec![HoldPlan { label: "hold-http", http, nettcp: 0 }, HoldPlan { label: "hold-nettcp", http: 0, nettcp }];
    (plans.into_iter().filter(|p| p.http + p.nettcp > 0).collect(), notes)
}

/// What one phase's client reported.
struct PhaseOutcome {
    label: &'static str,
    passed: bool,
    /// The client's machine-readable lines (`HOLD`, `MIXED`, `RSS`) and its verdict.
    lines: Vec<String>,
    /// Server log lines besides `listening on`.
    server_warnings: usize,
    series: PathBuf,
    server_log: PathBuf,
}

/// What every phase needs.
struct Run {
    bin: PathBuf,
    xtask: PathBuf,
    nofile: u64,
    dir: PathBuf,
    stamp: u64,
}

/// `cargo xtask soak ...`
pub(crate) fn soak(args: &[&str]) -> Result<()> {
    if matches!(args, ["help" | "-h" | "--help"]) {
        println!("{USAGE}");
        return Ok(());
    }
    let o = Options::parse(args)?;
    let started = Instant::now();
    let nofile = plan_nofile(&o)?;
    let (holds, notes) = hold_plan(&o, nofile);
    let release = build_release(if o.bin.is_some() { &["xtask"] } else { &["soapwire-cli", "xtask"] })?;
    let bin = o.bin.clone().unwrap_or_else(|| release.join("soapwire"));
    let xtask = release.join("xtask");
    for p in [&bin, &xtask] {
        ensure!(p.is_file(), "{} not found", p.display());
    }
    let dir = target_dir().join("soak");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let run = Run { bin, xtask, nofile, dir, stamp };

    println!("==> {}; load average {}", machine(), loadavg());
    println!(
        "==> soak: hold {} ({} s each), then {} s mixed; RLIMIT_NOFILE {nofile} for server and client; a fresh server per phase",
        holds.iter().map(|h| format!("{} HTTP + {} net.tcp", h.http, h.nettcp)).collect::<Vec<_>>().join(", then "),
        o.hold_secs,
        o.mixed_secs
    );
    for n in &notes {
        println!("==> note: {n}");
    }
    let mut outcomes = Vec::new();
    for h in &holds {
        let mut args = vec![
            "--http-connections".to_string(),
            h.http.to_string(),
            "--nettcp-connections".into(),
            h.nettcp.to_string(),
        ];
        args.extend(["--hold".into(), o.hold_secs.to_string()]);
        outcomes.push(run.phase(&o, h.label, h.http.max(h.nettcp), args, false)?);
    }
    let args = vec!["--seconds".to_string(), o.mixed_secs.to_string()];
    outcomes.push(run.phase(&o, "mixed", 0, args, true)?);

    println!("\n==> soak summary ({}; load average at the end {})", machine(), loadavg());
    for n in &notes {
        println!("note: {n}");
    }
    for out in &outcomes {
        println!(
            "{}: {}{}",
            out.label,
            if out.passed { "passed" } else { "FAILED" },
            if out.server_warnings > 0 {
                format!(" ({} server log lines, see {})", out.server_warnings, out.server_log.display())
            } else {
                String::new()
            }
        );
        for l in &out.lines {
            println!("  {l}");
        }
        println!("  series: {}", out.series.display());
    }
    println!("total time {:.0} s", started.elapsed().as_secs_f64());
    let failed: Vec<&str> = outcomes.iter().filter(|p| !p.passed).map(|p| p.label).collect();
    if !failed.is_empty() {
        bail!("the soak failed in: {}", failed.join(", "));
    }
    let judged = outcomes.iter().flat_map(|p| &p.lines).any(|l| l.starts_with("RSS ") && l.contains("judged=true"));
    println!(
        "soak passed: no error, no leak, no stall, {}",
        if judged { "server RSS flat" } else { "server RSS not judged (the mixed phase was too short)" }
    );
    Ok(())
}

impl Run {
    /// Runs one phase: a fresh server (and, for the mixed phase, the device), then the client
    /// process with `args`; the client's output is passed through as it comes.
    fn phase(
        &self,
        o: &Options,
        label: &'static str,
        connections: usize,
        args: Vec<String>,
        with_device: bool,
    ) -> Result<PhaseOutcome> {
        println!("\n==> phase {label}");
        let series = self.dir.join(format!("soak-{}-{label}.tsv", self.stamp));
        let server_log = self.dir.join(format!("server-{}-{label}.log", self.stamp));
        let mut server = Server::start(&self.bin, connections, self.nofile, &server_log)?;
        let urls = server.wait_listening(3)?;
        let [http, nettcp, udp] = urls.as_slice() else { bail!("expected three listener URLs, got {urls:?}") };
        println!("    server pid {}: {http}  {nettcp}  {udp}", server.pid());
        let device = if with_device {
            let device = Device::start(&self.xtask)?;
            println!(
                "    device pid {}: directed discovery at {}, metadata at {}",
                device.pid(),
                device.discovery,
                device.xaddr
            );
            Some(device)
        } else {
            None
        };

        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile={0}:{0}", self.nofile)).arg("--").arg(&self.xtask).arg("soak-client");
        cmd.args(["--phase", label, "--server-pid", &server.pid().to_string()]);
        cmd.args(["--http", http, "--nettcp", nettcp, "--udp", udp]);
        if let Some(d) = &device {
            cmd.args(["--discovery", &d.discovery, "--endpoint", &d.endpoint, "--device-pid", &d.pid().to_string()]);
        }
        cmd.args(["--interval", &o.interval_secs.to_string()]).args(&args);
        cmd.arg("--series").arg(&series);
        cmd.current_dir(repo_root()).stdin(Stdio::null()).stdout(Stdio::piped());
        println!("==> {}", describe(&cmd));
        let mut child = cmd.spawn().context("starting the soak client")?;
        let mut lines = Vec::new();
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines() {
                let line = line.context("reading the client's output")?;
                println!("{line}");
                let kept = ["HOLD ", "MIXED ", "RSS ", "SOAK", "  - "];
                if kept.iter().any(|k| line.starts_with(k)) {
                    lines.push(line);
                }
            }
        }
        let status = child.wait().context("waiting for the soak client")?;
        let mut passed = status.success();
        if let Err(e) = server.still_running() {
            println!("{e:#}");
            lines.push(format!("the server died: {e:#}"));
            passed = false;
        }
        let warnings = server.log_lines_after_start();
        drop(device);
        drop(server);
        if !warnings.is_empty() {
            println!("server log ({} lines besides `listening on`; the first 10):", warnings.len());
            for l in warnings.iter().take(10) {
                println!("  {l}");
            }
        }
        Ok(PhaseOutcome { label, passed, lines, server_warnings: warnings.len(), series, server_log })
    }
}

/// The `RLIMIT_NOFILE` server and client run with: `--nofile` when prlimit can set it (raising
/// a hard limit needs `CAP_SYS_RESOURCE`), otherwise the current hard limit, which any process
/// may raise its soft limit to. Fails when not even one binding's connections fit.
fn plan_nofile(o: &Options) -> Result<u64> {
    let nr_open: u64 = fs::read_to_string("/proc/sys/fs/nr_open").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    let wanted = if nr_open > 0 { o.nofile.min(nr_open) } else { o.nofile };
    let limit = match prlimit_works(wanted) {
        Ok(()) => wanted,
        Err(why) => {
            let hard = hard_nofile().context("reading the hard RLIMIT_NOFILE from /proc/self/limits")?;
            println!(
                "==> note: cannot raise RLIMIT_NOFILE to {wanted} ({why}); server and client run with the hard limit, {hard}"
            );
            prlimit_works(hard).map_err(|e| anyhow::anyhow!("`prlimit --nofile={hard}:{hard}` failed: {e}"))?;
            hard
        }
    };
    ensure!(
        limit >= FD_MARGIN + 100,
        "RLIMIT_NOFILE {limit} leaves no room for connections; raise the hard limit or use fewer --connections"
    );
    Ok(limit)
}

/// Runs `prlimit --nofile=N:N -- true`; the reason it failed.
fn prlimit_works(n: u64) -> std::result::Result<(), String> {
    let out = Command::new("prlimit")
        .arg(format!("--nofile={n}:{n}"))
        .args(["--", "true"])
        .output()
        .map_err(|e| format!("running prlimit (util-linux): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The hard "Max open files" of `/proc/self/limits`.
fn hard_nofile() -> Option<u64> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(4)?.parse().ok()
}

/// `cargo build --release -p P...`; the release directory.
fn build_release(packages: &[&str]) -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args(["build", "--release"]);
    for p in packages {
        cmd.args(["-p", p]);
    }
    println!("==> {}", describe(&cmd));
    run(cmd)?;
    Ok(target_dir().join("release"))
}

/// `CARGO_TARGET_DIR` (relative to the repository root) or `<repo>/target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(d) => repo_root().join(d),
        None => repo_root().join("target"),
    }
}

/// "2 CPUs (model), Linux 6.x, 24 GiB".
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").map(|k| k.trim().to_string()).unwrap_or_default();
    let mem_kib: u64 = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| l.strip_prefix("MemTotal:"))?.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .unwrap_or(0);
    format!("{cpus} CPUs ({model}), Linux {kernel}, {:.0} GiB RAM", mem_kib as f64 / (1 << 20) as f64)
}

/// The three load averages of `/proc/loadavg`.
fn loadavg() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Sends `sig` to `pid` with kill(1) (no libc in this crate).
fn signal(sig: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops `child`: SIGTERM, then SIGKILL after `grace`.
fn stop(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    signal("TERM", child.id());
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `soapwire serve echo` under prlimit; stopped on drop.
struct Server {
    child: Child,
    log: PathBuf,
    /// How many lines of the log are the `listening on` lines.
    start_lines: usize,
}

impl Server {
    fn start(bin: &Path, connections: usize, nofile: u64, log: &Path) -> Result<Server> {
        let out = fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile={nofile}:{nofile}")).arg("--").arg(bin).args(["serve", "echo"]);
        for l in ["http://127.0.0.1:0/echo", "net.tcp://127.0.0.1:0/echo", "soap.udp://127.0.0.1:0"] {
            cmd.args(["--listen", l]);
        }
        // Held sessions wait for their next message, idle keep-alive connections for their next
        // request header: an hour each, so that nothing held is cut.
        cmd.args(["--receive-timeout", "3600", "--header-read-timeout", "3600"]);
        cmd.args(["--max-connections", &(connections + 2048).to_string()]);
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let shown = describe(&cmd);
        println!("==> {shown}");
        let child = cmd.spawn().with_context(|| format!("starting `{shown}`"))?;
        Ok(Server { child, log: log.to_path_buf(), start_lines: 0 })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the server printed `count` `listening on URL` lines; the URLs in order.
    fn wait_listening(&mut self, count: usize) -> Result<Vec<String>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.log_text();
            let urls: Vec<String> =
                text.lines().filter_map(|l| l.strip_prefix("listening on ")).map(|u| u.trim().to_string()).collect();
            if urls.len() >= count {
                self.start_lines = count;
                return Ok(urls);
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited during start-up ({status}); its log:\n{text}");
            }
            if Instant::now() >= deadline {
                bail!("the server did not print {count} `listening on` lines within 30 s; its log:\n{text}");
            }
            sleep(Duration::from_millis(50));
        }
    }

    fn still_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let text = self.log_text();
            let lines: Vec<&str> = text.lines().collect();
            bail!(
                "the server exited during the soak ({status}); its log ends:\n{}",
                lines[lines.len().saturating_sub(20)..].join("\n")
            );
        }
        Ok(())
    }

    /// What the server logged besides its `listening on` lines (warnings: refused
    /// connections, accept failures, ...).
    fn log_lines_after_start(&self) -> Vec<String> {
        self.log_text().lines().filter(|l| !l.starts_with("listening on ")).map(str::to_string).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child, Duration::from_secs(5));
    }
}

/// The discovery device (`xtask soak-device`); it stops when its stdin closes, or is killed
/// on drop.
struct Device {
    child: Child,
    stdin: Option<ChildStdin>,
    discovery: String,
    endpoint: String,
    xaddr: String,
}

impl Device {
    fn start(xtask: &Path) -> Result<Device> {
        let mut cmd = Command::new(xtask);
        cmd.arg("soak-device").current_dir(repo_root()).stdin(Stdio::piped()).stdout(Stdio::piped());
        let shown = describe(&cmd);
        let mut child = cmd.spawn().with_context(|| format!("starting `{shown}`"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("the device's stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut device =
            Device { child, stdin, discovery: String::new(), endpoint: String::new(), xaddr: String::new() };
        let line = rx.recv_timeout(Duration::from_secs(30)).context("the device did not start within 30 s")?;
        let fields = device::parse_ready(&line).with_context(|| format!("`{shown}` printed {line:?}"))?;
        (device.discovery, device.endpoint, device.xaddr) = fields;
        Ok(device)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // Closing stdin asks it to stop (a graceful DeviceHost::stop); then it gets 5 s.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            sleep(Duration::from_millis(20));
        }
        stop(&mut self.child, Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let o = Options::parse(&[]).expect("defaults parse");
        assert_eq!((o.connections, o.hold_secs, o.mixed_secs, o.interval_secs), (10_000, 60.0, 600.0, 10.0));
        let o = Options::parse(&["--minutes", "0.5", "--connections=300"]).expect("parses");
        assert_eq!((o.connections, o.mixed_secs), (300, 30.0));
        let smoke = Options::parse(&["--smoke"]).expect("parses");
        assert_eq!((smoke.connections, smoke.hold_secs, smoke.mixed_secs, smoke.interval_secs), (200, 2.0, 5.0, 1.0));
        let smoke = Options::parse(&["--smoke", "--connections", "50"]).expect("parses");
        assert_eq!(smoke.connections, 50);
        assert!(Options::parse(&["--minutes", "0"]).is_err());
        assert!(Options::parse(&["--connections"]).is_err());
        assert!(Options::parse(&["--what"]).is_err());
        let o = Options::parse(&[]).expect("parses");
        assert_eq!((o.descriptors_needed(true), o.descriptors_needed(false)), (21_024, 11_024));
        let (plans, notes) = hold_plan(&o, 200_000);
        assert_eq!((plans, notes.len()), (vec![HoldPlan { label: "hold", http: 10_000, nettcp: 10_000 }], 0));
        let (plans, notes) = hold_plan(&o, 20_000);
        let expected = vec![
            HoldPlan { label: "hold-http", http: 10_000, nettcp: 0 },
            HoldPlan { label: "hold-nettcp", http: 0, nettcp: 10_000 },
        ];
        assert_eq!((plans, notes.len()), (expected, 1));
        let (plans, notes) = hold_plan(&o, 10_000);
        let expected = vec![
            HoldPlan { label: "hold-http", http: 8_976, nettcp: 0 },
            HoldPlan { label: "hold-nettcp", http: 0, nettcp: 8_976 },
        ];
        assert_eq!((plans, notes.len()), (expected, 3));
    }
}
