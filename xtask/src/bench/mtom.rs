//! `cargo xtask bench mtom`: bulk MTOM transfers through soapwire against the ceiling of raw
//! loopback TCP, with gSOAP's MTOM `echoData` for context, all in one run with interleaved
//! repeats.
//!
//! Every transfer runs in a fresh child process, so each one's peak RSS (VmHWM) is its own:
//! the release build of this very program in its hidden `bench mtom-client` mode (see
//! [`client`](mod@client)) for raw TCP and the soapwire client, gSOAP's `echo_client` for
//! gSOAP. The servers (`soapwire serve echo` and gSOAP's `echo_server -m`) run for the whole
//! benchmark; their peak RSS is reset before each transfer (`/proc/PID/clear_refs`, `5`) and
//! read after it, so it too is per transfer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{
    Kind, OptionArgs, Server, TempDir, build_release, descendants, echo_envelope, free_port, machine, median, min_max,
    paired_ratio, start_servers, thousands, write_bench_file,
};
use crate::{describe, peers_prefix, repo_root};

mod client;
mod sink;

pub(crate) use client::upload_reply;

pub(super) use client::client;
pub(super) use sink::sink;

pub(super) const USAGE: &str = "\
usage: cargo xtask bench mtom [options]

Starts `soapwire serve echo` and gSOAP's `echo_server -m` on 127.0.0.1 and measures, with
repeats interleaved (order rotated per repeat), each transfer in its own client process:
  raw TCP           one loopback socket, 64 KiB writes of a prefilled buffer, 64 KiB reads discarded
  soapwire upload   MTOM `upload`, the attachment streamed from 64 KiB chunks made on the fly
  soapwire download MTOM `download`, the reply's attachment read chunk by chunk and checked
  soapwire echoData MTOM `echoData` round trip, data in memory (add_attachment_bytes)
  gSOAP echoData    gSOAP's echo_client -d N against gSOAP's echo_server -m
echoData uses min(SIZE, 256 MiB) (gSOAP's client and both servers hold it in memory) and is
timed by the wall clock of the client process (start-up and buffer fill included, both sides).
Prints MB/s (10^6 bytes/s; echoData counts request + reply), peak RSS of client and server,
and the ratios upload/raw TCP, download/raw TCP and soapwire/gSOAP echoData. Fails only when an
answer is wrong, never because of speed.

options:
  --size BYTES       bytes per transfer (default 1 GiB; suffixes K, M, G = KiB, MiB, GiB)
  --sizes A,B,...    several sizes in one run (peak RSS compared across them)
  --repeats N        interleaved repeats (default 3)
  --smoke            8 MiB, 1 repeat: checks every server answers correctly (CI)
  --bin PATH         use this soapwire binary instead of building soapwire-cli in release
  --client-runtime R how the client processes run tokio: multi (default; one worker per CPU,
                     the transfer spawned as a task), current (single thread), main
                     (multi-thread, the transfer in block_on on the main thread, as
                     #[tokio::main] runs the code of main)
  --markdown         print the result tables as Markdown";

/// The largest echoData payload: gSOAP's client and both servers hold it in memory, and
/// `soapwire serve echo`'s default `--max-echo-bytes` is this.
const ECHO_MAX: u64 = 256 << 20;
/// How often a client's VmHWM is sampled while it runs (gSOAP's client cannot report its own).
const POLL: Duration = Duration::from_millis(5);

/// One kind of transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Transfer {
    Tcp,
    Upload,
    /// `upload` to the receive-only server of [`sink`] (no SHA-256).
    UploadSink,
    Download,
    EchoData,
    GsoapEchoData,
}

impl Transfer {
    const ALL: [Transfer; 6] = [
        Transfer::Tcp,
        Transfer::Upload,
        Transfer::UploadSink,
        Transfer::Download,
        Transfer::EchoData,
        Transfer::GsoapEchoData,
    ];

    /// The name on the `mtom-client` command line and in the raw results.
    fn name(self) -> &'static str {
        match self {
            Transfer::Tcp => "tcp",
            Transfer::Upload => "upload",
            Transfer::UploadSink => "upload-sink",
            Transfer::Download => "download",
            Transfer::EchoData => "echodata",
            Transfer::GsoapEchoData => "gsoap-echodata",
        }
    }

    fn from_name(name: &str) -> Result<Transfer> {
        Transfer::ALL.into_iter().find(|t| t.name() == name).with_context(|| format!("unknown transfer {name:?}"))
    }

    /// The name in the tables.
    fn label(self) -> &'static str {
        match self {
            Transfer::Tcp => "raw TCP (loopback)",
            Transfer::Upload => "soapwire upload",
            Transfer::UploadSink => "soapwire upload, receive only",
            Transfer::Download => "soapwire download",
            Transfer::EchoData => "soapwire echoData",
            Transfer::GsoapEchoData => "gSOAP echoData",
        }
    }

    fn is_echo(self) -> bool {
        matches!(self, Transfer::EchoData | Transfer::GsoapEchoData)
    }

    /// Bytes of data this transfer moves one way for a run of `size`.
    fn data_bytes(self, size: u64) -> u64 {
        if self.is_echo() { size.min(ECHO_MAX) } else { size }
    }
}

/// How a soapwire client process (and the raw TCP one) runs its transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientRuntime {
    /// A multi-threaded runtime (one worker per CPU), the transfer spawned as a task.
    Multi,
    /// A single-threaded runtime.
    Current,
    /// A multi-threaded runtime, the transfer run by `block_on` on the main thread (what
    /// `#[tokio::main]` does with the code in `main`).
    Main,
}

impl ClientRuntime {
    fn name(self) -> &'static str {
        match self {
            ClientRuntime::Multi => "multi",
            ClientRuntime::Current => "current",
            ClientRuntime::Main => "main",
        }
    }

    fn from_name(name: &str) -> Result<ClientRuntime> {
        [ClientRuntime::Multi, ClientRuntime::Current, ClientRuntime::Main]
            .into_iter()
            .find(|r| r.name() == name)
            .with_context(|| format!("unknown client runtime {name:?} (multi, current, main)"))
    }

    /// How the tables describe it.
    fn description(self) -> &'static str {
        match self {
            ClientRuntime::Multi => "multi-thread tokio, transfer spawned on a worker",
            ClientRuntime::Current => "current-thread tokio",
            ClientRuntime::Main => "multi-thread tokio, transfer in block_on on the main thread",
        }
    }
}

/// Options of `bench mtom`.
struct Options {
    sizes: Vec<u64>,
    repeats: usize,
    smoke: bool,
    bin: Option<PathBuf>,
    markdown: bool,
    runtime: ClientRuntime,
}

impl Options {
    fn parse(args: &[&str]) -> Result<Options> {
        let mut o = Options {
            sizes: vec![1 << 30],
            repeats: 3,
            smoke: false,
            bin: None,
            markdown: false,
            runtime: ClientRuntime::Multi,
        };
        let mut args = OptionArgs::new(args);
        while let Some((arg, name, inline)) = args.next_option(&[]) {
            match name {
                "--size" => o.sizes = vec![parse_size(args.value(name, inline)?)?],
                "--sizes" => o.sizes = args.value(name, inline)?.split(',').map(parse_size).collect::<Result<_>>()?,
                "--repeats" => o.repeats = args.value(name, inline)?.parse().context("--repeats: a number")?,
                "--smoke" => o.smoke = true,
                "--bin" => o.bin = Some(PathBuf::from(args.value(name, inline)?)),
                "--markdown" => o.markdown = true,
                "--client-runtime" => o.runtime = ClientRuntime::from_name(args.value(name, inline)?)?,
                _ => bail!("unknown option {arg:?}\n\n{USAGE}"),
            }
        }
        if o.smoke {
            o.sizes = vec![8 << 20];
            o.repeats = 1;
        }
        if o.repeats == 0 || o.sizes.is_empty() || o.sizes.contains(&0) {
            bail!("--repeats and every size must be at least 1");
        }
        Ok(o)
    }
}

/// `1073741824`, `1G`, `1GiB`, `512M`, `64K` -> bytes.
fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let (digits, shift) = [("GiB", 30), ("G", 30), ("MiB", 20), ("M", 20), ("KiB", 10), ("K", 10)]
        .into_iter()
        .find_map(|(suffix, shift)| t.strip_suffix(suffix).map(|d| (d, shift)))
        .unwrap_or((t, 0));
    let n: u64 = digits.trim().parse().with_context(|| format!("bad size {text:?}"))?;
    n.checked_mul(1 << shift).with_context(|| format!("size {text:?} is too large"))
}

/// 1073741824 -> "1 GiB", 8388608 -> "8 MiB", else bytes.
fn size_label(n: u64) -> String {
    match n {
        _ if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        _ if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        _ => format!("{n} B"),
    }
}

/// VmHWM (peak resident set) of `/proc/<pid>` (`self` for this process), in KiB.
fn vm_hwm_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// Resets the peak RSS of `pid` to its current RSS (`5` to `/proc/PID/clear_refs`, Linux 4.0+,
/// allowed for the process's owner). False if the kernel refused.
fn reset_hwm(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The process that serves for `server`: the one we spawned, or, if that is a wrapper (a
/// script given as `--bin`), its most recently listed descendant.
fn serving_pid(server: &Server) -> u32 {
    let pid = server.child.id();
    descendants(pid).last().copied().unwrap_or(pid)
}

/// One measured transfer.
#[derive(Clone, Copy, Debug)]
struct Sample {
    /// Data bytes each way.
    bytes: u64,
    /// The MB/s of the tables: the client's own transfer time for raw TCP, upload and
    /// download; the client process's wall clock, request + reply, for echoData.
    mbps: f64,
    /// Seconds the client measured itself (soapwire and raw TCP; the transfer alone).
    inner_secs: Option<f64>,
    /// Wall clock of the client process.
    wall_secs: f64,
    client_hwm_kib: Option<u64>,
    server_hwm_kib: Option<u64>,
}

/// What the run needs: the client programs and the two servers.
struct Bench {
    client: PathBuf,
    gsoap_client: PathBuf,
    soapwire: Server,
    /// The receive-only server ([`sink`]).
    sink: Server,
    gsoap: Server,
    /// False once the kernel refused to reset a server's peak RSS (it is then cumulative).
    hwm_reset_ok: bool,
    runtime: ClientRuntime,
}

/// The outcome of one client process.
struct ChildRun {
    wall_secs: f64,
    stdout: String,
    polled_hwm_kib: Option<u64>,
}

/// Runs `cmd` to completion with its output captured, timing it and sampling its VmHWM
/// every [`POLL`] from another thread; fails unless it exits 0.
fn run_child(mut cmd: Command) -> Result<ChildRun> {
    cmd.current_dir(repo_root()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let shown = describe(&cmd);
    let started = Instant::now();
    let child = cmd.spawn().with_context(|| format!("starting `{shown}`"))?;
    let pid = child.id().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = None;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(vm_hwm_kib(&pid));
                sleep(POLL);
            }
            peak
        })
    };
    let out = child.wait_with_output().with_context(|| format!("waiting for `{shown}`"));
    let wall_secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let polled_hwm_kib = poller.join().ok().flatten();
    let out = out?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("`{shown}` failed ({}):\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(ChildRun { wall_secs, stdout, polled_hwm_kib })
}

/// `(secs, hwm_kib)` of the client's `RESULT bytes=N secs=S hwm_kib=K` line, checking N.
fn parse_result(stdout: &str, bytes: u64) -> Result<(f64, u64)> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .with_context(|| format!("no RESULT line in the client's output:\n{stdout}"))?;
    let fields: BTreeMap<&str, &str> = line.split_whitespace().filter_map(|kv| kv.split_once('=')).collect();
    let field = |k: &str| fields.get(k).copied().with_context(|| format!("RESULT has no {k}: {line}"));
    if field("bytes")?.parse::<u64>().ok() != Some(bytes) {
        bail!("the client moved a different size than asked ({bytes}): {line}");
    }
    let secs: f64 = field("secs")?.parse().with_context(|| format!("RESULT secs: {line}"))?;
    let hwm: u64 = field("hwm_kib")?.parse().with_context(|| format!("RESULT hwm_kib: {line}"))?;
    if secs <= 0.0 {
        bail!("RESULT secs must be positive: {line}");
    }
    Ok((secs, hwm))
}

impl Bench {
    /// Runs one transfer of `size` (one way) in a fresh client process.
    fn measure(&mut self, transfer: Transfer, size: u64) -> Result<Sample> {
        let bytes = transfer.data_bytes(size);
        let server = match transfer {
            Transfer::Tcp => None,
            Transfer::GsoapEchoData => Some(&mut self.gsoap),
            Transfer::UploadSink => Some(&mut self.sink),
            _ => Some(&mut self.soapwire),
        };
        let server_pid = server.as_ref().map(|s| serving_pid(s));
        if let Some(pid) = server_pid {
            self.hwm_reset_ok &= reset_hwm(pid);
        }
        let cmd = match (transfer, &server) {
            (Transfer::GsoapEchoData, Some(s)) => {
                let mut cmd = Command::new(&self.gsoap_client);
                cmd.args(["-u", &s.url, "-d", &bytes.to_string()]);
                cmd
            }
            _ => {
                let mut cmd = Command::new(&self.client);
                cmd.args(["bench", "mtom-client", transfer.name(), "--size", &bytes.to_string()]);
                cmd.args(["--runtime", self.runtime.name()]);
                if let Some(s) = &server {
                    cmd.args(["--url", &s.url]);
                }
                cmd
            }
        };
        let run = run_child(cmd)?;
        let server_hwm_kib = match server {
            Some(s) => {
                s.still_running()?;
                server_pid.and_then(|pid| vm_hwm_kib(&pid.to_string()))
            }
            None => None,
        };
        let (inner_secs, client_hwm_kib) = if transfer == Transfer::GsoapEchoData {
            // gSOAP's client checks the echo itself (memcmp) and says so.
            let expected = format!("echoData ok: {bytes} bytes (reply MTOM");
            if !run.stdout.contains(&expected) {
                bail!("gSOAP's echo_client did not report {expected:?}:\n{}", run.stdout);
            }
            (None, run.polled_hwm_kib)
        } else {
            let (secs, hwm) = parse_result(&run.stdout, bytes)?;
            (Some(secs), Some(hwm))
        };
        let mbps = match (transfer.is_echo(), inner_secs) {
            (false, Some(secs)) => bytes as f64 / secs / 1e6,
            _ => 2.0 * bytes as f64 / run.wall_secs / 1e6,
        };
        Ok(Sample { bytes, mbps, inner_secs, wall_secs: run.wall_secs, client_hwm_kib, server_hwm_kib })
    }
}

/// Samples keyed by (size, transfer), one per repeat in repeat order.
type Results = BTreeMap<(u64, Transfer), Vec<Sample>>;

/// `cargo xtask bench mtom ...`
pub(super) fn mtom(args: &[&str]) -> Result<()> {
    let o = Options::parse(args)?;
    let started = Instant::now();
    let release = build_release(if o.bin.is_some() { &["xtask"] } else { &["soapwire-cli", "xtask"] })?;
    let bin = o.bin.clone().unwrap_or_else(|| release.join("soapwire"));
    let client = release.join("xtask");
    let gsoap_client = peers_prefix().join("gsoap").join("echo_client");
    for p in [&bin, &client, &gsoap_client] {
        if !p.is_file() {
            bail!("{} not found (the gSOAP peer: `cargo xtask peers install`)", p.display());
        }
    }
    // Declared first, dropped last: the servers (and their logs) go before the directory.
    let tmp = TempDir::new()?;
    let plan = [
        ("soapwire".to_string(), Kind::Soapwire(bin, ["--receive-timeout", "3600"].map(String::from).to_vec())),
        ("gsoap".to_string(), Kind::Gsoap(vec!["-m".to_string()])),
    ];
    let envelope = echo_envelope()?;
    let mut servers = start_servers(&plan, &tmp.0, &envelope)?.into_iter();
    let (Some(soapwire), Some(gsoap)) = (servers.next(), servers.next()) else {
        bail!("the servers did not start");
    };
    let sink_url = format!("http://127.0.0.1:{}/echo", free_port()?);
    let mut sink_cmd = Command::new(&client);
    sink_cmd.args(["bench", "mtom-sink", "--listen", &sink_url]);
    let mut sink = Server::spawn("sink", sink_cmd, sink_url, &tmp.0)?;
    sink.wait_ready(&envelope)?;
    let mut bench = Bench { client, gsoap_client, soapwire, sink, gsoap, hwm_reset_ok: true, runtime: o.runtime };

    let machine = machine();
    let sizes = o.sizes.iter().map(|s| size_label(*s)).collect::<Vec<_>>().join(", ");
    println!(
        "==> {machine}; sizes {sizes}; {} repeats interleaved (order rotated per repeat); client runtime: {}{}",
        o.repeats,
        o.runtime.description(),
        if o.smoke { "; smoke: correctness only" } else { "" }
    );
    let mut results: Results = BTreeMap::new();
    let n = Transfer::ALL.len();
    for &size in &o.sizes {
        for rep in 0..o.repeats {
            for k in 0..n {
                let transfer = Transfer::ALL[(k + rep) % n];
                let s = bench
                    .measure(transfer, size)
                    .with_context(|| format!("{} of {}", transfer.label(), size_label(transfer.data_bytes(size))))?;
                println!(
                    "    {:>7} rep {} {:<29} {:>8} {:>7} MB/s  ({:.2} s{})  peak RSS client {} server {}",
                    size_label(size),
                    rep + 1,
                    transfer.label(),
                    size_label(s.bytes),
                    thousands(s.mbps),
                    s.inner_secs.unwrap_or(s.wall_secs),
                    match (transfer, s.inner_secs) {
                        (Transfer::EchoData, Some(_)) => format!(", wall {:.2} s", s.wall_secs),
                        (Transfer::GsoapEchoData, _) => " wall".to_string(),
                        _ => String::new(),
                    },
                    mib(s.client_hwm_kib),
                    mib(s.server_hwm_kib)
                );
                results.entry((size, transfer)).or_default().push(s);
            }
        }
    }
    let hwm_reset_ok = bench.hwm_reset_ok;
    drop(bench);

    let raw = write_raw(&results)?;
    println!();
    print!("{}", report(&o, &results, &machine, hwm_reset_ok));
    println!("raw samples: {}", raw.display());
    println!("total time {:.0} s", started.elapsed().as_secs_f64());
    if o.smoke {
        println!("smoke: every transfer was answered correctly (speeds are not checked)");
    }
    drop(tmp);
    Ok(())
}

/// KiB -> "12.3 MiB" ("-" when unknown).
fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "-".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn write_raw(results: &Results) -> Result<PathBuf> {
    let mut text =
        String::from("size\ttransfer\trep\tbytes\tmbps\tinner_secs\twall_secs\tclient_hwm_kib\tserver_hwm_kib\n");
    let opt = |v: Option<u64>| v.map_or_else(String::new, |v| v.to_string());
    for ((size, transfer), samples) in results {
        for (i, s) in samples.iter().enumerate() {
            let _ = writeln!(
                text,
                "{size}\t{}\t{}\t{}\t{:.1}\t{}\t{:.6}\t{}\t{}",
                transfer.name(),
                i + 1,
                s.bytes,
                s.mbps,
                s.inner_secs.map_or_else(String::new, |v| format!("{v:.6}")),
                s.wall_secs,
                opt(s.client_hwm_kib),
                opt(s.server_hwm_kib)
            );
        }
    }
    write_bench_file("mtom", &text)
}

/// The largest peak RSS over the repeats.
fn peak(samples: &[Sample], pick: fn(&Sample) -> Option<u64>) -> Option<u64> {
    samples.iter().filter_map(pick).max()
}

/// Writes one table row, as Markdown or as text aligned to `widths` (the first cell left).
fn row(out: &mut String, md: bool, widths: &[usize], cells: &[String]) {
    if md {
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    } else {
        let mut line = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(12);
            let _ = if i == 0 { write!(line, " {c:<w$}") } else { write!(line, " {c:>w$}") };
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Column widths of the per-size table.
const WIDTHS: [usize; 6] = [30, 9, 9, 15, 17, 17];

fn report(o: &Options, results: &Results, machine: &str, hwm_reset_ok: bool) -> String {
    let md = o.markdown;
    let mut out = String::new();
    let heading = if md { "" } else { "# " };
    let _ = writeln!(
        out,
        "{heading}{machine}; median of {} interleaved repeats; MB/s = 10^6 bytes/s; peak RSS = VmHWM, max over repeats",
        o.repeats
    );
    let _ = writeln!(
        out,
        "{heading}clients (raw TCP and soapwire): {}; server: `soapwire serve echo` (default runtime)",
        o.runtime.description()
    );
    for &size in &o.sizes {
        let _ = writeln!(out);
        let echo = size_label(size.min(ECHO_MAX));
        let title = format!(
            "{} per transfer (echoData: {echo} each way, timed by the client process's wall clock, request + reply counted)",
            size_label(size)
        );
        if md {
            let _ = writeln!(out, "**{title}**\n");
        } else {
            let _ = writeln!(out, "{title}");
        }
        let head = ["transfer", "data", "MB/s", "min..max", "client peak RSS", "server peak RSS"];
        row(&mut out, md, &WIDTHS, &head.map(String::from));
        if md {
            let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
        }
        let mut mbps_of = BTreeMap::new();
        for t in Transfer::ALL {
            let Some(samples) = results.get(&(size, t)) else { continue };
            let mut v: Vec<f64> = samples.iter().map(|s| s.mbps).collect();
            mbps_of.insert(t, v.clone());
            let (lo, hi) = min_max(&v);
            let cells = [
                t.label().to_string(),
                size_label(t.data_bytes(size)),
                thousands(median(&mut v)),
                format!("{}..{}", thousands(lo), thousands(hi)),
                mib(peak(samples, |s| s.client_hwm_kib)),
                mib(peak(samples, |s| s.server_hwm_kib)),
            ];
            row(&mut out, md, &WIDTHS, &cells);
        }
        let _ = writeln!(out);
        for (a, b, what) in [
            (Transfer::Upload, Transfer::Tcp, "soapwire upload / raw TCP"),
            (Transfer::UploadSink, Transfer::Tcp, "soapwire upload, receive only / raw TCP"),
            (Transfer::Download, Transfer::Tcp, "soapwire download / raw TCP"),
            (Transfer::EchoData, Transfer::GsoapEchoData, "soapwire echoData / gSOAP echoData"),
        ] {
            if let (Some(x), Some(y)) = (mbps_of.get(&a), mbps_of.get(&b)) {
                let _ = writeln!(out, "{}{what}: {}", if md { "- " } else { "  " }, paired_ratio(x, y));
            }
        }
    }
    if o.sizes.len() > 1 {
        rss_across_sizes(&mut out, o, results);
    }
    let _ = writeln!(out);
    if !hwm_reset_ok {
        let _ = writeln!(
            out,
            "{heading}note: the kernel refused to reset the servers' peak RSS: server figures are cumulative"
        );
    }
    let _ = writeln!(out, "{heading}target: MTOM streaming (upload, download) >= 0.7x raw loopback TCP");
    out
}

/// Peak RSS of the streaming transfers at every size, side by side (constant memory shows
/// as equal columns).
fn rss_across_sizes(out: &mut String, o: &Options, results: &Results) {
    let md = o.markdown;
    let _ = writeln!(out);
    let title = "peak RSS by size (max over repeats)";
    if md {
        let _ = writeln!(out, "**{title}**\n");
    } else {
        let _ = writeln!(out, "{title}");
    }
    let mut head = vec!["process".to_string()];
    head.extend(o.sizes.iter().map(|s| size_label(*s)));
    let widths: Vec<usize> = std::iter::once(30).chain(o.sizes.iter().map(|_| 11)).collect();
    row(out, md, &widths, &head);
    if md {
        let _ = writeln!(out, "| --- |{}", " ---: |".repeat(o.sizes.len()));
    }
    for t in [Transfer::Tcp, Transfer::Upload, Transfer::Download] {
        for (side, pick) in
            [("client", (|s| s.client_hwm_kib) as fn(&Sample) -> Option<u64>), ("server", |s| s.server_hwm_kib)]
        {
            if t == Transfer::Tcp && side == "server" {
                continue;
            }
            let mut cells = vec![format!("{} {side}", t.label())];
            cells.extend(o.sizes.iter().map(|size| mib(results.get(&(*size, t)).and_then(|v| peak(v, pick)))));
            row(out, md, &widths, &cells);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_labels() {
        assert_eq!(parse_size("1073741824").ok(), Some(1 << 30));
        assert_eq!(parse_size("4G").ok(), Some(4 << 30));
        assert_eq!(parse_size("8MiB").ok(), Some(8 << 20));
        assert!(parse_size("lots").is_err());
        assert_eq!(size_label(4 << 30), "4 GiB");
        assert_eq!(size_label(256 << 20), "256 MiB");
        assert_eq!(size_label(1000), "1000 B");
        assert_eq!(Transfer::EchoData.data_bytes(1 << 30), ECHO_MAX);
        assert_eq!(Transfer::Upload.data_bytes(4 << 30), 4 << 30);
    }

    #[test]
    fn options_and_results() {
        let o = Options::parse(&["--sizes", "1G,4G", "--repeats=1"]).expect("parses");
        assert_eq!((o.sizes.clone(), o.repeats), (vec![1 << 30, 4 << 30], 1));
        let smoke = Options::parse(&["--smoke"]).expect("parses");
        assert_eq!((smoke.sizes, smoke.repeats), (vec![8 << 20], 1));
        assert!(Options::parse(&["--repeats", "0"]).is_err());
        assert_eq!(parse_result("x\nRESULT bytes=10 secs=0.5 hwm_kib=2048\n", 10).ok(), Some((0.5, 2048)));
        assert!(parse_result("RESULT bytes=9 secs=0.5 hwm_kib=2048", 10).is_err());
        assert!(vm_hwm_kib("self").is_some_and(|k| k > 0));
    }
}
