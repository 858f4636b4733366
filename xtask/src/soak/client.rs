//! The load of one phase of `cargo xtask soak`, run as a child process under a raised
//! descriptor limit (`prlimit --nofile=N:N -- xtask soak-client --phase P --http URL ...`),
//! on a multi-threaded tokio runtime (one worker per CPU).
//!
//! **Hold** (`--phase hold`, `hold-http` or `hold-nettcp`). Opens `--http-connections`
//! keep-alive HTTP connections (a [`RequestChannel`] each, with one `echo` call to prove it
//! is live) and `--nettcp-connections` net.tcp sessions (a [`SessionChannel`] each, binary XML
//! with the session dictionary, one call each), at most [`OPEN_CONCURRENCY`] at a time. It
//! holds them all for `--hold` seconds, printing the server's RSS and descriptors every
//! interval, then calls again on one connection in (count/100) of each binding, which must
//! still be served. It then closes them all gracefully (HTTP: FIN; sessions: End records
//! both ways, then FIN) and waits for the server's descriptor count to come back to within
//! [`FD_SLACK`] of what it was before the phase: more left open is a descriptor leak.
//!
//! **Mixed.** For `--seconds`, all at once:
//!
//! | kind | workers | each operation |
//! | --- | ---: | --- |
//! | `http` | [`ECHO_WORKERS`] | `echo` on a kept-alive [`RequestChannel`] |
//! | `net.tcp` | [`ECHO_WORKERS`] | `echo` on an open [`SessionChannel`] |
//! | `http-churn`, `tcp-churn` | 1 each | open a channel, one `echo`, close it; then [`CHURN_PAUSE`] |
//! | `upload`, `download`, `echodata` | [`MTOM_WORKERS`], in turn | MTOM over HTTP: `upload` of 1–8 MiB streamed (length and SHA-256 checked), `download` of 1–8 MiB read chunk by chunk (pattern checked), `echoData` of a quarter of that from memory (echo checked) |
//! | `probe`, `resolve`, `metadata` | [`DISCOVERY_WORKERS`], in turn | a directed Probe for `wsdp:Device` to the device on 127.0.0.1 (collects for [`PROBE_WINDOW`]; exactly the device must answer), a directed Resolve, a WS-Transfer Get of its metadata |
//! | `udp` | 1 | `echo` over SOAP-over-UDP ([`UdpChannel`]) |
//!
//! Every `echo` carries a text unique to the call, which the reply must carry back. A failed
//! operation is counted (and the first [`SHOWN_ERRORS`] printed), its channel dropped and a
//! new one opened. Every interval a line gives the elapsed time, operations per second per
//! kind, the error count, and the server's RSS and descriptors (`/proc/PID`).
//!
//! At the end: totals, the RSS series at each minute, and the verdict. The run fails on any
//! error, on a descriptor leak after the hold phase, on a kind that made no progress for
//! [`STALL_LIMIT`], on workers still running [`JOIN_LIMIT`] after the end (a hang), and on
//! server RSS whose least-squares line grows more than [`RSS_GROWTH_LIMIT_PCT`] over the
//! window after warm-up ([`WARMUP_FRACTION`] of the run, at most [`WARMUP_MAX`]; judged when
//! the load ran at least [`MIN_JUDGED_WINDOW`] after warm-up, with at least
//! [`MIN_JUDGED_SAMPLES`] samples: not in `--smoke`).

use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::bench::mtom::upload_reply;
use bytes::Bytes;
use sha2::Digest as _;
use soapwire::attachment::new_content_id;
use soapwire::discovery::{DPWS_2006_02_NAMESPACE, DiscoveryClient, DiscoveryConfig};
use soapwire::dpws::{GetMetadataOptions, LocalizedString, get_metadata};
use soapwire::session::SessionChannel;
use soapwire::soapwire_proto::mtom;
use soapwire::{ChannelProperties, Message, QName, RequestChannel, UdpChannel, XmlWriter};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::series::{ProcStat, mib, proc_stat, thousands, trend};

/// The echo service's namespace.
const NS: &str = "http://example.org/echo";
/// Connections opened at once per kind in the hold phase.
pub(super) const OPEN_CONCURRENCY: usize = 256;
/// How far above its count before the hold phase the server's descriptor count may stay once
/// every held connection is closed (listeners, runtime, the odd connection of the device).
pub(super) const FD_SLACK: u64 = 16;
/// Echo workers per binding in the mixed phase.
pub(super) const ECHO_WORKERS: usize = 16;
/// MTOM workers.
pub(super) const MTOM_WORKERS: usize = 2;
/// Discovery workers.
pub(super) const DISCOVERY_WORKERS: usize = 2;
/// The pause after each open/call/close cycle of a churn worker (keeps TIME_WAIT sockets
/// and ephemeral ports bounded).
pub(super) const CHURN_PAUSE: Duration = Duration::from_millis(20);
/// How long a directed Probe collects answers (the device answers at once on loopback).
pub(super) const PROBE_WINDOW: Duration = Duration::from_millis(200);
/// Errors printed as they happen; later ones are only counted.
pub(super) const SHOWN_ERRORS: u64 = 20;
/// A kind without progress for this long is a stall.
pub(super) const STALL_LIMIT: Duration = Duration::from_secs(30);
/// How long the workers may take to finish after the end of the mixed phase.
pub(super) const JOIN_LIMIT: Duration = Duration::from_secs(120);
/// Server RSS growth (fitted, over the window after warm-up) that fails the soak.
pub(super) const RSS_GROWTH_LIMIT_PCT: f64 = 10.0;
/// The part of the mixed phase left out of the RSS judgement, as a fraction of its length...
pub(super) const WARMUP_FRACTION: f64 = 0.2;
/// ... and at most this long. A fresh server's RSS climbs for a few minutes under the mixed
/// load: in the recorded 10-minute run its peak (VmHWM) stopped growing at 3 minutes, and
/// with a 1-minute warm-up the fitted growth was +7.6%, with 2 minutes +1.8%.
pub(super) const WARMUP_MAX: Duration = Duration::from_secs(120);
/// Samples after warm-up needed to judge RSS.
pub(super) const MIN_JUDGED_SAMPLES: usize = 5;
/// How long the load must run after warm-up for RSS to be judged: a fresh server's heap
/// still grows for tens of seconds (arenas, buffers of the largest transfers seen so far).
pub(super) const MIN_JUDGED_WINDOW: Duration = Duration::from_secs(120);
/// The MTOM sizes: 1 to 8 MiB.
const MIB: u64 = 1 << 20;
/// Bytes per generated upload chunk (a multiple of the pattern's period).
const CHUNK: usize = 64 * 1024;
/// The pattern's period: byte *i* is `(i * 31 + 7) & 255`, as `serve echo`'s `download`.
const PERIOD: usize = 256;

/// Which phase a client process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Hold,
    Mixed,
}

/// Options of one client process.
#[derive(Clone, Debug)]
struct Options {
    phase: Phase,
    /// The name of the phase in the output and the series (`hold`, `hold-http`, ...).
    label: &'static str,
    http: String,
    nettcp: String,
    udp: String,
    discovery: Option<SocketAddr>,
    endpoint: String,
    server_pid: u32,
    device_pid: Option<u32>,
    /// HTTP connections held (hold phase; 0: none).
    http_connections: usize,
    /// net.tcp sessions held (hold phase; 0: none).
    nettcp_connections: usize,
    hold_secs: f64,
    seconds: f64,
    interval_secs: f64,
    series: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[&str]) -> Result<Options> {
        let mut o = Options {
            phase: Phase::Mixed,
            label: "mixed",
            http: String::new(),
            nettcp: String::new(),
            udp: String::new(),
            discovery: None,
            endpoint: String::new(),
            server_pid: 0,
            device_pid: None,
            http_connections: 0,
            nettcp_connections: 0,
            hold_secs: 60.0,
            seconds: 600.0,
            interval_secs: 10.0,
            series: None,
        };
        let mut it = args.iter();
        while let Some(&arg) = it.next() {
            let value = it.next().copied().with_context(|| format!("{arg} needs a value"))?;
            match arg {
                "--phase" => {
                    (o.phase, o.label) = match value {
                        "mixed" => (Phase::Mixed, "mixed"),
                        "hold" => (Phase::Hold, "hold"),
                        "hold-http" => (Phase::Hold, "hold-http"),
                        "hold-nettcp" => (Phase::Hold, "hold-nettcp"),
                        _ => bail!("--phase: mixed, hold, hold-http or hold-nettcp"),
                    }
                }
                "--http" => o.http = value.to_string(),
                "--nettcp" => o.nettcp = value.to_string(),
                "--udp" => o.udp = value.to_string(),
                "--discovery" => o.discovery = Some(value.parse().context("--discovery: ADDR:PORT")?),
                "--endpoint" => o.endpoint = value.to_string(),
                "--server-pid" => o.server_pid = value.parse().context("--server-pid")?,
                "--device-pid" => o.device_pid = Some(value.parse().context("--device-pid")?),
                "--http-connections" => o.http_connections = value.parse().context("--http-connections")?,
                "--nettcp-connections" => o.nettcp_connections = value.parse().context("--nettcp-connections")?,
                "--hold" => o.hold_secs = value.parse().context("--hold")?,
                "--seconds" => o.seconds = value.parse().context("--seconds")?,
                "--interval" => o.interval_secs = value.parse().context("--interval")?,
                "--series" => o.series = Some(PathBuf::from(value)),
                _ => bail!("soak-client: unknown option {arg:?}"),
            }
        }
        ensure!(o.server_pid > 0, "--server-pid is required");
        ensure!(o.seconds > 0.0 && o.interval_secs > 0.0 && o.hold_secs >= 0.0, "bad times");
        let missing = |what: &str, v: &str| if v.is_empty() { Err(anyhow!("{what} is required")) } else { Ok(()) };
        match o.phase {
            Phase::Hold => {
                ensure!(o.http_connections + o.nettcp_connections > 0, "nothing to hold");
                if o.http_connections > 0 {
                    missing("--http URL", &o.http)?;
                }
                if o.nettcp_connections > 0 {
                    missing("--nettcp URL", &o.nettcp)?;
                }
            }
            Phase::Mixed => {
                for (what, v) in [("--http URL", &o.http), ("--nettcp URL", &o.nettcp), ("--udp URL", &o.udp)] {
                    missing(what, v)?;
                }
                missing("--endpoint URN", &o.endpoint)?;
                ensure!(o.discovery.is_some(), "--discovery ADDR is required");
            }
        }
        Ok(o)
    }
}

/// `xtask soak-client ...`: see the module docs. Exits non-zero when the soak failed.
pub(crate) fn client(args: &[&str]) -> Result<()> {
    let o = Options::parse(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let failures =
        runtime.block_on(async move { tokio::spawn(run(o)).await }).context("the soak client panicked")??;
    runtime.shutdown_timeout(Duration::from_secs(5));
    if failures.is_empty() {
        println!("SOAK ok");
        Ok(())
    } else {
        println!("SOAK FAILED:");
        for f in &failures {
            println!("  - {f}");
        }
        bail!("{} check(s) failed", failures.len())
    }
}

/// Counts errors and prints the first [`SHOWN_ERRORS`].
struct Errors {
    count: AtomicU64,
    started: Instant,
}

impl Errors {
    fn record(&self, what: &str, e: &anyhow::Error) {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= SHOWN_ERRORS {
            eprintln!("    error #{n} at {:.1} s: {what}: {e:#}", self.started.elapsed().as_secs_f64());
        } else if n == SHOWN_ERRORS + 1 {
            eprintln!("    (more errors: counted, not shown)");
        }
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// The channel behind one connection (boxed: both are large, and live on the heap anyway).
enum Conn {
    Http(Box<RequestChannel>),
    Session(Box<SessionChannel>),
}

impl Conn {
    /// An HTTP channel; it connects on its first call.
    async fn http(url: &str) -> Result<Conn> {
        let channel = RequestChannel::new(ChannelProperties::default());
        channel.open(url).await.with_context(|| format!("opening {url}"))?;
        Ok(Conn::Http(Box::new(channel)))
    }

    /// A net.tcp session (preamble done).
    async fn session(url: &str) -> Result<Conn> {
        let channel = SessionChannel::new(ChannelProperties::session());
        channel.open(url).await.with_context(|| format!("opening a session to {url}"))?;
        Ok(Conn::Session(Box::new(channel)))
    }

    /// One `echo` of `text`; the reply must carry it back.
    async fn echo(&self, text: &str) -> Result<()> {
        let body = format!(r#"<e:echo xmlns:e="{NS}"><e:message>{text}</e:message></e:echo>"#);
        let action = "http://example.org/echo/echo";
        let reply = match self {
            Conn::Http(c) => c.call(action, body).await,
            Conn::Session(c) => c.call(action, body).await,
        }
        .context("echo")?;
        check_echo(reply.body_xml(), text)
    }

    async fn close(&self) -> Result<()> {
        match self {
            Conn::Http(c) => c.close().await,
            Conn::Session(c) => c.close().await,
        }
        .context("close")
    }
}

/// Fails unless `body` carries `text`.
fn check_echo(body: &[u8], text: &str) -> Result<()> {
    let needle = text.as_bytes();
    if body.windows(needle.len()).any(|w| w == needle) {
        Ok(())
    } else {
        bail!("the reply does not echo {text:?}: {}", String::from_utf8_lossy(body))
    }
}

/// One sample of the run.
#[derive(Clone, Debug)]
struct Sample {
    phase: &'static str,
    /// Seconds since the start of the phase.
    t: f64,
    ops: [u64; KINDS],
    bytes: [u64; KINDS],
    errors: u64,
    server: ProcStat,
    device: ProcStat,
    client: ProcStat,
}

/// Reads the three processes.
fn stats(o: &Options) -> (ProcStat, ProcStat, ProcStat) {
    let server = proc_stat(&o.server_pid.to_string()).unwrap_or_default();
    let device = o.device_pid.and_then(|p| proc_stat(&p.to_string())).unwrap_or_default();
    let client = proc_stat("self").unwrap_or_default();
    (server, device, client)
}

async fn run(o: Options) -> Result<Vec<String>> {
    let errors = Arc::new(Errors { count: AtomicU64::new(0), started: Instant::now() });
    let mut failures = Vec::new();
    let mut series = Vec::new();
    ensure!(proc_stat(&o.server_pid.to_string()).is_some(), "no server process {}", o.server_pid);
    match o.phase {
        Phase::Hold => hold(&o, &errors, &mut series, &mut failures).await?,
        Phase::Mixed => mixed(&o, &errors, &mut series, &mut failures).await?,
    }
    if let Some(path) = &o.series {
        std::fs::write(path, series_tsv(&series)).with_context(|| format!("writing {}", path.display()))?;
    }
    let total = errors.count();
    if total > 0 {
        failures.insert(0, format!("{total} errors in the {} phase", o.label));
    }
    Ok(failures)
}

// ---------------------------------------------------------------------------------------
// Hold
// ---------------------------------------------------------------------------------------

/// Opens `n` connections with `open`, at most `concurrency` at a time; failures are recorded
/// and leave `None` at their index.
async fn open_all<F, Fut>(n: usize, concurrency: usize, errors: &Errors, what: &str, open: F) -> Vec<Option<Arc<Conn>>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Conn>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut set = JoinSet::new();
    let mut out: Vec<Option<Arc<Conn>>> = (0..n).map(|_| None).collect();
    let mut take = |done: std::result::Result<(usize, Result<Conn>), tokio::task::JoinError>| match done {
        Ok((i, Ok(conn))) => out[i] = Some(Arc::new(conn)),
        Ok((i, Err(e))) => errors.record(&format!("{what} #{i}"), &e),
        Err(e) => errors.record(what, &anyhow!("task failed: {e}")),
    };
    for i in 0..n {
        let Ok(permit) = permits.clone().acquire_owned().await else { break };
        let work = open(i);
        set.spawn(async move {
            let r = work.await;
            drop(permit);
            (i, r)
        });
        while let Some(done) = set.try_join_next() {
            take(done);
        }
    }
    while let Some(done) = set.join_next().await {
        take(done);
    }
    out
}

/// Runs `f` on every held connection, at most `concurrency` at a time; the failures are
/// recorded; returns how many succeeded.
async fn for_each<F, Fut>(conns: &[Arc<Conn>], concurrency: usize, errors: &Errors, what: &str, f: F) -> usize
where
    F: Fn(usize, Arc<Conn>) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut set = JoinSet::new();
    for (i, conn) in conns.iter().enumerate() {
        let Ok(permit) = permits.clone().acquire_owned().await else { break };
        let work = f(i, conn.clone());
        set.spawn(async move {
            let r = work.await;
            drop(permit);
            (i, r)
        });
    }
    let mut ok = 0;
    while let Some(done) = set.join_next().await {
        match done {
            Ok((_, Ok(()))) => ok += 1,
            Ok((i, Err(e))) => errors.record(&format!("{what} #{i}"), &e),
            Err(e) => errors.record(what, &anyhow!("task failed: {e}")),
        }
    }
    ok
}

/// One line about the server (and the client, which holds as many connections).
fn status_line(o: &Options) -> String {
    let (server, _, client) = stats(o);
    format!(
        "server RSS {} (peak {}) fds {} threads {}; client RSS {} fds {}",
        mib(server.rss_kib),
        mib(server.hwm_kib),
        thousands(server.fds as f64),
        server.threads,
        mib(client.rss_kib),
        thousands(client.fds as f64)
    )
}

fn push_sample(
    o: &Options,
    series: &mut Vec<Sample>,
    phase: &'static str,
    t: f64,
    counters: Option<&Counters>,
    errors: u64,
) {
    let (server, device, client) = stats(o);
    let (ops, bytes) = counters.map_or(([0; KINDS], [0; KINDS]), Counters::snapshot);
    series.push(Sample { phase, t, ops, bytes, errors, server, device, client });
}

/// The bindings held in the hold phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binding {
    Http,
    NetTcp,
}

impl Binding {
    fn name(self) -> &'static str {
        match self {
            Binding::Http => "HTTP",
            Binding::NetTcp => "net.tcp",
        }
    }

    async fn open(self, o: &Options) -> Result<Conn> {
        match self {
            Binding::Http => Conn::http(&o.http).await,
            Binding::NetTcp => Conn::session(&o.nettcp).await,
        }
    }
}

/// The hold phase: opens, holds, samples and closes `--http-connections` HTTP connections
/// and `--nettcp-connections` net.tcp sessions, all held at once.
async fn hold(o: &Options, errors: &Arc<Errors>, series: &mut Vec<Sample>, failures: &mut Vec<String>) -> Result<()> {
    let label = o.label;
    let phase_start = Instant::now();
    let bindings: Vec<(Binding, usize)> =
        [(Binding::Http, o.http_connections), (Binding::NetTcp, o.nettcp_connections)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect();
    let (before, _, _) = stats(o);
    let names: Vec<&str> = bindings.iter().map(|(b, _)| b.name()).collect();
    let what: Vec<String> = bindings.iter().map(|(b, n)| format!("{n} {}", b.name())).collect();
    println!("==> {label}: {} connections, {OPEN_CONCURRENCY} opening at a time, one echo each", what.join(" and "));
    println!("    before: {}", status_line(o));
    push_sample(o, series, label, phase_start.elapsed().as_secs_f64(), None, errors.count());

    let mut held: Vec<(Binding, Vec<Arc<Conn>>, f64)> = Vec::new();
    for &(binding, n) in &bindings {
        let t = Instant::now();
        let what = format!("{label}: {} open + echo", binding.name());
        let opened = open_all(n, OPEN_CONCURRENCY, errors, &what, |i| {
            let o = o.clone();
            async move {
                let conn = binding.open(&o).await?;
                conn.echo(&format!("[hold {} {i}]", binding.name())).await?;
                Ok(conn)
            }
        })
        .await;
        let secs = t.elapsed().as_secs_f64();
        let opened: Vec<Arc<Conn>> = opened.into_iter().flatten().collect();
        println!(
            "    {} {} connections open and answered in {secs:.1} s; {}",
            thousands(opened.len() as f64),
            binding.name(),
            status_line(o)
        );
        held.push((binding, opened, secs));
    }
    push_sample(o, series, label, phase_start.elapsed().as_secs_f64(), None, errors.count());

    let hold_start = Instant::now();
    let hold_end = hold_start + Duration::from_secs_f64(o.hold_secs);
    let interval = Duration::from_secs_f64(o.interval_secs);
    while Instant::now() < hold_end {
        tokio::time::sleep(interval.min(hold_end.saturating_duration_since(Instant::now()))).await;
        println!("    [{label} {:>5.0} s] {}", hold_start.elapsed().as_secs_f64(), status_line(o));
        push_sample(o, series, label, phase_start.elapsed().as_secs_f64(), None, errors.count());
    }
    let (at_hold, _, client_at_hold) = stats(o);

    // One connection in (n/100) of each binding must still be served.
    let stride = (bindings.iter().map(|(_, n)| *n).max().unwrap_or(1) / 100).max(1);
    let (mut sample_ok, mut sampled) = (0, 0);
    let t = Instant::now();
    for (binding, conns, _) in &held {
        let sample: Vec<Arc<Conn>> = conns.iter().step_by(stride).cloned().collect();
        let name = binding.name();
        let what = format!("{label}: sample call on a held {name} connection");
        let call =
            move |i: usize, conn: Arc<Conn>| async move { conn.echo(&format!("[held {name} {}]", i * stride)).await };
        sample_ok += for_each(&sample, OPEN_CONCURRENCY, errors, &what, call).await;
        sampled += sample.len();
    }
    println!(
        "    after {:.0} s held: {sample_ok}/{sampled} sample calls answered (one connection in {stride}) in {:.2} s",
        o.hold_secs,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut closed = 0;
    for (binding, conns, _) in &held {
        let what = format!("{label}: closing a {} channel", binding.name());
        closed +=
            for_each(conns, OPEN_CONCURRENCY, errors, &what, |_, conn: Arc<Conn>| async move { conn.close().await })
                .await;
    }
    let close_secs = t.elapsed().as_secs_f64();
    let counts: Vec<String> = held.iter().map(|(_, c, _)| c.len().to_string()).collect();
    let open_secs: Vec<String> = held.iter().map(|(_, _, s)| format!("{s:.1}")).collect();
    drop(held);
    // The server notices the closes asynchronously: give it a moment.
    let settle = Instant::now();
    let limit = before.fds + FD_SLACK;
    let mut after = stats(o).0;
    while after.fds > limit && settle.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = stats(o).0;
    }
    println!(
        "    closed {closed} gracefully in {close_secs:.1} s; server fds {} after {:.1} s more (before: {}), RSS {}",
        after.fds,
        settle.elapsed().as_secs_f64(),
        before.fds,
        mib(after.rss_kib)
    );
    push_sample(o, series, label, phase_start.elapsed().as_secs_f64(), None, errors.count());
    if after.fds > limit {
        failures.push(format!(
            "descriptor leak ({label}): the server still has {} descriptors 20 s after every held connection closed (before: {})",
            after.fds, before.fds
        ));
    }
    let held_total = bindings.iter().map(|(_, n)| *n).sum::<usize>().max(1) as f64;
    let per_conn_kib = at_hold.rss_kib.saturating_sub(before.rss_kib) as f64 / held_total;
    println!(
        "HOLD phase={label} bindings={} held={} open_secs={} sample_ok={sample_ok}/{sampled} errors={} \
         server_rss_kib={} server_hwm_kib={} server_fds={} server_threads={} before_rss_kib={} before_fds={} \
         per_conn_kib={per_conn_kib:.1} client_rss_kib={} client_fds={} close_secs={close_secs:.1} \
         fds_after_close={} rss_after_close_kib={}",
        names.join(","),
        counts.join(","),
        open_secs.join(","),
        errors.count(),
        at_hold.rss_kib,
        at_hold.hwm_kib,
        at_hold.fds,
        at_hold.threads,
        before.rss_kib,
        before.fds,
        client_at_hold.rss_kib,
        client_at_hold.fds,
        after.fds,
        after.rss_kib
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Mixed
// ---------------------------------------------------------------------------------------

/// The operations of the mixed phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    HttpEcho,
    TcpEcho,
    HttpChurn,
    TcpChurn,
    Upload,
    Download,
    EchoData,
    Probe,
    Resolve,
    Metadata,
    Udp,
}

const KINDS: usize = 11;
const ALL: [Kind; KINDS] = [
    Kind::HttpEcho,
    Kind::TcpEcho,
    Kind::HttpChurn,
    Kind::TcpChurn,
    Kind::Upload,
    Kind::Download,
    Kind::EchoData,
    Kind::Probe,
    Kind::Resolve,
    Kind::Metadata,
    Kind::Udp,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::HttpEcho => "http",
            Kind::TcpEcho => "net.tcp",
            Kind::HttpChurn => "http-churn",
            Kind::TcpChurn => "tcp-churn",
            Kind::Upload => "upload",
            Kind::Download => "download",
            Kind::EchoData => "echodata",
            Kind::Probe => "probe",
            Kind::Resolve => "resolve",
            Kind::Metadata => "metadata",
            Kind::Udp => "udp",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The groups of the per-interval line.
const GROUPS: [(&str, &[Kind]); 6] = [
    ("http", &[Kind::HttpEcho]),
    ("net.tcp", &[Kind::TcpEcho]),
    ("churn", &[Kind::HttpChurn, Kind::TcpChurn]),
    ("mtom", &[Kind::Upload, Kind::Download, Kind::EchoData]),
    ("disc", &[Kind::Probe, Kind::Resolve, Kind::Metadata]),
    ("udp", &[Kind::Udp]),
];

/// Operations, data bytes and errors per kind.
#[derive(Default)]
struct Counters {
    ops: [AtomicU64; KINDS],
    bytes: [AtomicU64; KINDS],
    errors: [AtomicU64; KINDS],
}

impl Counters {
    fn snapshot(&self) -> ([u64; KINDS], [u64; KINDS]) {
        (
            self.ops.each_ref().map(|a| a.load(Ordering::Relaxed)),
            self.bytes.each_ref().map(|a| a.load(Ordering::Relaxed)),
        )
    }
}

/// What every worker shares.
struct Mixed {
    o: Options,
    counters: Counters,
    errors: Arc<Errors>,
    end: Instant,
    /// The SHA-256 (hex) of the first k MiB of the pattern, k = 1..=8, at index k - 1.
    digests: Vec<String>,
    /// 2 MiB of the pattern, sliced for echoData.
    echo_data: Bytes,
}

impl Mixed {
    fn running(&self) -> bool {
        Instant::now() < self.end
    }

    fn done(&self, kind: Kind, bytes: u64) {
        self.counters.ops[kind.index()].fetch_add(1, Ordering::Relaxed);
        self.counters.bytes[kind.index()].fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts a failure of `kind`, prints it if among the first, and pauses a moment so that
    /// a broken endpoint does not turn into a busy loop.
    async fn fail(&self, kind: Kind, what: &str, e: anyhow::Error) {
        self.counters.errors[kind.index()].fetch_add(1, Ordering::Relaxed);
        self.errors.record(&format!("mixed: {} {what}", kind.name()), &e);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    async fn open(&self, kind: Kind) -> Result<Conn> {
        match kind {
            Kind::TcpEcho | Kind::TcpChurn => Conn::session(&self.o.nettcp).await,
            _ => Conn::http(&self.o.http).await,
        }
    }
}

async fn mixed(o: &Options, errors: &Arc<Errors>, series: &mut Vec<Sample>, failures: &mut Vec<String>) -> Result<()> {
    let digests: Vec<String> = (1..=8).map(|k| pattern_sha256(k * MIB)).collect();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(o.seconds);
    let ctx = Arc::new(Mixed {
        o: o.clone(),
        counters: Counters::default(),
        errors: errors.clone(),
        end,
        digests,
        echo_data: Bytes::from(pattern(2 * MIB as usize)),
    });
    println!(
        "==> mixed: {:.0} s; workers: {ECHO_WORKERS} HTTP echo, {ECHO_WORKERS} net.tcp echo, 1 HTTP churn, 1 net.tcp churn, \
         {MTOM_WORKERS} MTOM (upload/download 1-8 MiB, echoData 256 KiB-2 MiB), {DISCOVERY_WORKERS} discovery \
         (directed Probe + Resolve + Get), 1 UDP echo",
        o.seconds
    );
    let errors_before = errors.count();
    let mut workers: JoinSet<()> = JoinSet::new();
    for w in 0..ECHO_WORKERS {
        workers.spawn(echo_worker(ctx.clone(), Kind::HttpEcho, w));
        workers.spawn(echo_worker(ctx.clone(), Kind::TcpEcho, w));
    }
    workers.spawn(churn_worker(ctx.clone(), Kind::HttpChurn));
    workers.spawn(churn_worker(ctx.clone(), Kind::TcpChurn));
    for w in 0..MTOM_WORKERS {
        workers.spawn(mtom_worker(ctx.clone(), w));
    }
    for w in 0..DISCOVERY_WORKERS {
        workers.spawn(discovery_worker(ctx.clone(), w));
    }
    workers.spawn(udp_worker(ctx.clone()));

    let first = series.len();
    push_sample(o, series, "mixed", 0.0, Some(&ctx.counters), errors.count());
    let interval = Duration::from_secs_f64(o.interval_secs);
    let mut k = 1u32;
    loop {
        let next = (start + interval * k).min(end);
        tokio::time::sleep_until(next.into()).await;
        push_sample(o, series, "mixed", start.elapsed().as_secs_f64(), Some(&ctx.counters), errors.count());
        let (prev, cur) = (&series[series.len() - 2], &series[series.len() - 1]);
        println!("{}", interval_line(prev, cur));
        if next >= end {
            break;
        }
        k += 1;
    }

    // The workers finish the operation in hand, close their channels and stop.
    let joined = tokio::time::timeout(JOIN_LIMIT, async {
        while let Some(done) = workers.join_next().await {
            if let Err(e) = done {
                errors.record("mixed: worker", &anyhow!("task failed: {e}"));
            }
        }
    })
    .await;
    if joined.is_err() {
        failures.push(format!(
            "hang: {} workers were still running {} s after the end of the mixed phase",
            workers.len(),
            JOIN_LIMIT.as_secs()
        ));
        workers.abort_all();
    }
    // After the workers stopped: the totals, and what the server keeps once idle (not judged).
    let elapsed = start.elapsed().as_secs_f64();
    push_sample(o, series, "stopped", elapsed, Some(&ctx.counters), errors.count());
    summary(o, &ctx, &series[first..], errors.count() - errors_before, failures);
    Ok(())
}

/// The per-interval line: rates per group between `prev` and `cur`.
fn interval_line(prev: &Sample, cur: &Sample) -> String {
    let dt = (cur.t - prev.t).max(1e-9);
    let mut line = format!("  [{:>5.0} s]", cur.t);
    for (name, kinds) in GROUPS {
        let ops: u64 = kinds.iter().map(|k| cur.ops[k.index()] - prev.ops[k.index()]).sum();
        let _ = write!(line, " {name} {}/s", rate(ops as f64 / dt));
        if name == "mtom" {
            let bytes: u64 = kinds.iter().map(|k| cur.bytes[k.index()] - prev.bytes[k.index()]).sum();
            let _ = write!(line, " {:.0} MB/s", bytes as f64 / dt / 1e6);
        }
        line.push(' ');
    }
    let _ = write!(
        line,
        " errors {}  server RSS {} fds {}",
        cur.errors,
        mib(cur.server.rss_kib),
        thousands(cur.server.fds as f64)
    );
    line
}

/// A rate with one decimal below 10.
fn rate(v: f64) -> String {
    if v < 10.0 { format!("{v:.1}") } else { thousands(v) }
}

/// Totals, the RSS series, and the verdict of the mixed phase.
fn summary(o: &Options, ctx: &Mixed, all: &[Sample], mixed_errors: u64, failures: &mut Vec<String>) {
    let (Some(first), Some(last)) = (all.first(), all.last()) else { return };
    // The series judged: the samples taken while the load ran.
    let samples: Vec<Sample> = all.iter().filter(|s| s.phase == "mixed").cloned().collect();
    let secs = last.t.max(1e-9);
    println!("\n==> mixed phase: {secs:.0} s");
    println!("  {:<10} {:>12} {:>10} {:>10} {:>7}", "kind", "operations", "per s", "MB", "errors");
    let mut total_ops = 0;
    for k in ALL {
        let (ops, bytes) = (last.ops[k.index()], last.bytes[k.index()]);
        total_ops += ops;
        let errors = ctx.counters.errors[k.index()].load(Ordering::Relaxed);
        let mb = if bytes > 0 { format!("{:.0}", bytes as f64 / 1e6) } else { "-".into() };
        println!(
            "  {:<10} {:>12} {:>10} {:>10} {:>7}",
            k.name(),
            thousands(ops as f64),
            rate(ops as f64 / secs),
            mb,
            errors
        );
    }
    println!(
        "  {:<10} {:>12} {:>10} {:>10} {:>7}",
        "all",
        thousands(total_ops as f64),
        rate(total_ops as f64 / secs),
        "",
        mixed_errors
    );

    // Stalls: the longest stretch between samples without progress, per kind.
    for k in ALL {
        let mut since = first.t;
        let mut worst = 0.0f64;
        for pair in samples.windows(2) {
            if pair[1].ops[k.index()] > pair[0].ops[k.index()] {
                since = pair[1].t;
            }
            worst = worst.max(pair[1].t - since);
        }
        if worst > STALL_LIMIT.as_secs_f64() {
            failures.push(format!("stall: no {} operation completed for {worst:.0} s", k.name()));
        }
        if last.ops[k.index()] == 0 {
            failures.push(format!("no {} operation completed at all", k.name()));
        }
    }

    // RSS and descriptors over time.
    let warmup = (o.seconds * WARMUP_FRACTION).min(WARMUP_MAX.as_secs_f64());
    println!("\n  server over time (every minute, the end of the load, and * once the workers stopped):");
    println!(
        "  {:>8} {:>11} {:>11} {:>7} {:>8} {:>11} {:>11}",
        "t", "RSS", "peak RSS", "fds", "threads", "device RSS", "client RSS"
    );
    let mut next_minute = 0.0;
    for (i, s) in all.iter().enumerate() {
        if s.t + 0.5 >= next_minute || i + 2 >= all.len() {
            println!(
                "  {:>5.0} s{} {:>11} {:>11} {:>7} {:>8} {:>11} {:>11}",
                s.t,
                if s.phase == "stopped" { "*" } else { " " },
                mib(s.server.rss_kib),
                mib(s.server.hwm_kib),
                s.server.fds,
                s.server.threads,
                mib(s.device.rss_kib),
                mib(s.client.rss_kib)
            );
            while next_minute <= s.t + 0.5 {
                next_minute += 60.0;
            }
        }
    }
    let mib_points = |pick: fn(&Sample) -> u64| -> Vec<(f64, f64)> {
        samples.iter().map(|s| (s.t, pick(s) as f64 / 1024.0)).collect()
    };
    let rss = trend(&mib_points(|s| s.server.rss_kib), warmup);
    let fds = trend(&samples.iter().map(|s| (s.t, s.server.fds as f64)).collect::<Vec<_>>(), warmup);
    let device = trend(&mib_points(|s| s.device.rss_kib), warmup);
    match rss {
        Some(t) => {
            let window = samples.last().map_or(0.0, |s| s.t) - warmup;
            let judged = t.samples >= MIN_JUDGED_SAMPLES && window >= MIN_JUDGED_WINDOW.as_secs_f64();
            let verdict = match (judged, t.fitted_growth_pct > RSS_GROWTH_LIMIT_PCT) {
                (false, _) => format!(
                    "not judged: {window:.0} s and {} samples after warm-up, {} s and {MIN_JUDGED_SAMPLES} needed",
                    t.samples,
                    MIN_JUDGED_WINDOW.as_secs()
                ),
                (true, false) => format!("flat (limit +{RSS_GROWTH_LIMIT_PCT}%)"),
                (true, true) => format!("GROWING (limit +{RSS_GROWTH_LIMIT_PCT}%)"),
            };
            println!(
                "\n  server RSS after warm-up ({warmup:.0} s, {} samples): first {:.1} MiB, last {:.1} MiB, max {:.1} MiB, \
                 slope {:+.3} MiB/min, fitted growth {:+.1}% -> {verdict}",
                t.samples, t.first, t.last, t.max, t.slope_per_min, t.fitted_growth_pct
            );
            if judged && t.fitted_growth_pct > RSS_GROWTH_LIMIT_PCT {
                failures.push(format!(
                    "server RSS grew {:+.1}% after warm-up ({:.1} -> {:.1} MiB, {:+.3} MiB/min)",
                    t.fitted_growth_pct, t.first, t.last, t.slope_per_min
                ));
            }
            println!(
                "RSS first_mib={:.1} last_mib={:.1} max_mib={:.1} slope_mib_per_min={:.4} fitted_growth_pct={:.2} samples={} judged={judged}",
                t.first, t.last, t.max, t.slope_per_min, t.fitted_growth_pct, t.samples
            );
        }
        None => println!("\n  server RSS: too few samples after warm-up ({warmup:.0} s) to judge"),
    }
    if let Some(t) = fds {
        println!(
            "  server fds after warm-up: first {:.0}, last {:.0}, max {:.0}, slope {:+.2}/min",
            t.first, t.last, t.max, t.slope_per_min
        );
        if t.samples >= MIN_JUDGED_SAMPLES && t.last > t.first + (t.first / 10.0).max(FD_SLACK as f64) {
            failures
                .push(format!("server descriptors grew from {:.0} to {:.0} during the mixed phase", t.first, t.last));
        }
    }
    if let Some(t) = device {
        println!(
            "  device RSS after warm-up: first {:.1} MiB, last {:.1} MiB, max {:.1} MiB, slope {:+.3} MiB/min (reported, not judged)",
            t.first, t.last, t.max, t.slope_per_min
        );
    }
    let rates: Vec<String> =
        ALL.iter().map(|k| format!("{}={:.1}", k.name(), last.ops[k.index()] as f64 / secs)).collect();
    println!("MIXED secs={secs:.0} ops={total_ops} errors={mixed_errors} {}", rates.join(" "));
}

/// The series as TSV, one row per sample of either phase.
fn series_tsv(series: &[Sample]) -> String {
    let mut out = String::from("phase\tt_secs");
    for k in ALL {
        let _ = write!(out, "\t{}_ops", k.name());
    }
    out.push_str("\tmtom_bytes\terrors\tserver_rss_kib\tserver_hwm_kib\tserver_fds\tserver_threads\tdevice_rss_kib\tclient_rss_kib\tclient_fds\n");
    for s in series {
        let _ = write!(out, "{}\t{:.1}", s.phase, s.t);
        for k in ALL {
            let _ = write!(out, "\t{}", s.ops[k.index()]);
        }
        let mtom: u64 = [Kind::Upload, Kind::Download, Kind::EchoData].iter().map(|k| s.bytes[k.index()]).sum();
        let _ = writeln!(
            out,
            "\t{mtom}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            s.errors,
            s.server.rss_kib,
            s.server.hwm_kib,
            s.server.fds,
            s.server.threads,
            s.device.rss_kib,
            s.client.rss_kib,
            s.client.fds
        );
    }
    out
}

// ---------------------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------------------

/// Back-to-back `echo` calls on one kept connection, reopened after a failure.
async fn echo_worker(ctx: Arc<Mixed>, kind: Kind, w: usize) {
    let mut conn: Option<Conn> = None;
    let mut n = 0u64;
    while ctx.running() {
        let c = match conn.take() {
            Some(c) => c,
            None => match ctx.open(kind).await {
                Ok(c) => c,
                Err(e) => {
                    ctx.fail(kind, "open", e).await;
                    continue;
                }
            },
        };
        n += 1;
        match c.echo(&format!("[{} w{w} n{n}]", kind.name())).await {
            Ok(()) => {
                ctx.done(kind, 0);
                conn = Some(c);
            }
            Err(e) => ctx.fail(kind, "call", e).await,
        }
    }
    if let Some(c) = conn {
        if let Err(e) = c.close().await {
            ctx.fail(kind, "close", e).await;
        }
    }
}

/// Open, one `echo`, close, pause: a new connection every cycle.
async fn churn_worker(ctx: Arc<Mixed>, kind: Kind) {
    let mut n = 0u64;
    while ctx.running() {
        n += 1;
        let cycle = async {
            let c = ctx.open(kind).await?;
            c.echo(&format!("[{} n{n}]", kind.name())).await?;
            c.close().await
        };
        match cycle.await {
            Ok(()) => ctx.done(kind, 0),
            Err(e) => ctx.fail(kind, "open/call/close", e).await,
        }
        tokio::time::sleep(CHURN_PAUSE).await;
    }
}

/// `upload`, `download` and `echoData` in turn on one kept HTTP channel.
async fn mtom_worker(ctx: Arc<Mixed>, w: usize) {
    let mut channel: Option<RequestChannel> = None;
    let mut i = 0u64;
    while ctx.running() {
        let c = match channel.take() {
            Some(c) => c,
            None => match mtom_channel(&ctx.o.http).await {
                Ok(c) => c,
                Err(e) => {
                    ctx.fail(Kind::Upload, "open", e).await;
                    continue;
                }
            },
        };
        let mebi = 1 + (i / 3 + w as u64 * 3) % 8;
        let (kind, outcome) = match i % 3 {
            0 => (Kind::Upload, upload(&c, mebi, &ctx.digests).await),
            1 => (Kind::Download, download(&c, mebi * MIB).await),
            _ => (Kind::EchoData, echo_data(&c, ctx.echo_data.slice(..(mebi * MIB / 4) as usize)).await),
        };
        i += 1;
        match outcome {
            Ok(bytes) => {
                ctx.done(kind, bytes);
                channel = Some(c);
            }
            Err(e) => ctx.fail(kind, "transfer", e).await,
        }
    }
    if let Some(c) = channel {
        if let Err(e) = c.close().await {
            ctx.fail(Kind::Upload, "close", anyhow!(e)).await;
        }
    }
}

async fn mtom_channel(url: &str) -> Result<RequestChannel> {
    let mut props = ChannelProperties::default();
    props.set_all_timeouts(Some(Duration::from_secs(120)));
    let channel = RequestChannel::new(props);
    channel.open(url).await.with_context(|| format!("opening {url}"))?;
    Ok(channel)
}

/// `<e:OP xmlns:e=NS><e:data><xop:Include href="cid:ID"/></e:data></e:OP>`.
fn body_with_include(op: &str, content_id: &str) -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.start_element(Some("e"), op);
    w.namespace_decl(Some("e"), NS);
    w.start_element(Some("e"), "data");
    mtom::write_include(&mut w, content_id);
    w.end_element();
    w.end_element();
    w.into_bytes()
}

fn request(channel: &RequestChannel, op: &str, body: impl Into<Bytes>) -> Result<Message> {
    let p = channel.properties();
    let mut request = Message::new(p.envelope_version, p.addressing_version);
    request.initialize_request(&format!("{NS}/{op}"), body)?;
    Ok(request)
}

/// `upload` of `mebi` MiB of the pattern, streamed; the reply's length and SHA-256 must match.
async fn upload(channel: &RequestChannel, mebi: u64, digests: &[String]) -> Result<u64> {
    let size = mebi * MIB;
    let id = new_content_id();
    let mut request = request(channel, "upload", body_with_include("upload", &id))?;
    request.add_attachment_stream(&id, "application/octet-stream", PatternChunks::new(size));
    let p = channel.properties();
    let mut reply = Message::new(p.envelope_version, p.addressing_version);
    channel.request_reply(&mut request, &mut reply).await.context("upload")?;
    let (length, sha256) = upload_reply(&reply)?;
    ensure!(length == size, "uploadResponse says {length} bytes, {size} were sent");
    let expected = digests.get(mebi as usize - 1).context("no digest for this size")?;
    ensure!(sha256.eq_ignore_ascii_case(expected), "uploadResponse sha256 {sha256}, expected {expected}");
    Ok(size)
}

/// `download(size)`: the reply's one attachment, read chunk by chunk, must be the pattern.
async fn download(channel: &RequestChannel, size: u64) -> Result<u64> {
    let body = format!(r#"<e:download xmlns:e="{NS}"><e:length>{size}</e:length></e:download>"#);
    let reply = channel.call(&format!("{NS}/download"), body).await.context("download")?;
    read_pattern_reply(&reply, size).await?;
    Ok(size)
}

/// `echoData` of `data` (held in memory, `add_attachment_bytes`); the MTOM reply's
/// attachment must be the same bytes. Counts both ways.
async fn echo_data(channel: &RequestChannel, data: Bytes) -> Result<u64> {
    let size = data.len() as u64;
    let id = new_content_id();
    let mut request = request(channel, "echoData", body_with_include("echoData", &id))?;
    request.add_attachment_bytes(&id, "application/octet-stream", data);
    let p = channel.properties();
    let mut reply = Message::new(p.envelope_version, p.addressing_version);
    channel.request_reply(&mut request, &mut reply).await.context("echoData")?;
    read_pattern_reply(&reply, size).await?;
    Ok(2 * size)
}

/// Reads the reply's only attachment, checking it against the pattern; it must be `size`
/// bytes.
async fn read_pattern_reply(reply: &Message, size: u64) -> Result<()> {
    let mut attachment = reply.next_attachment().await?.context("the reply has no attachment")?;
    let mut check = PatternCheck::new();
    while let Some(chunk) = attachment.next_chunk().await? {
        check.feed(&chunk)?;
    }
    ensure!(check.seen == size, "the reply's attachment has {} bytes, expected {size}", check.seen);
    ensure!(reply.next_attachment().await?.is_none(), "the reply has more than one attachment");
    Ok(())
}

/// The first `n` bytes of the pattern.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(31).wrapping_add(7) & 0xff) as u8).collect()
}

/// The SHA-256 of the first `size` bytes of the pattern, lower-case hex.
fn pattern_sha256(size: u64) -> String {
    let chunk = pattern(CHUNK);
    let mut hasher = sha2::Sha256::new();
    let mut left = size;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        hasher.update(&chunk[..n]);
        left -= n as u64;
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `size` bytes of the pattern as [`CHUNK`]-byte slices of one buffer.
struct PatternChunks {
    chunk: Bytes,
    remaining: u64,
}

impl PatternChunks {
    fn new(size: u64) -> PatternChunks {
        PatternChunks { chunk: Bytes::from(pattern(CHUNK)), remaining: size }
    }
}

impl futures_core::Stream for PatternChunks {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(CHUNK as u64) as usize;
        self.remaining -= n as u64;
        Poll::Ready(Some(Ok(self.chunk.slice(..n))))
    }
}

/// Checks received bytes against the pattern as they arrive.
struct PatternCheck {
    reference: Vec<u8>,
    seen: u64,
}

impl PatternCheck {
    fn new() -> PatternCheck {
        PatternCheck { reference: pattern(CHUNK + PERIOD), seen: 0 }
    }

    fn feed(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let offset = (self.seen % PERIOD as u64) as usize;
            let n = data.len().min(CHUNK);
            if data[..n] != self.reference[offset..offset + n] {
                bail!("the data differs from the pattern within bytes {}..{}", self.seen, self.seen + n as u64);
            }
            self.seen += n as u64;
            data = &data[n..];
        }
        Ok(())
    }
}

/// Directed Probe, Resolve and metadata Get against the device, in turn.
async fn discovery_worker(ctx: Arc<Mixed>, w: usize) {
    let device = QName::new(DPWS_2006_02_NAMESPACE, "Device");
    let endpoint = ctx.o.endpoint.clone();
    let Some(target) = ctx.o.discovery else { return };
    let mut client: Option<DiscoveryClient> = None;
    let mut i = 0u64;
    while ctx.running() {
        let c = match client.take() {
            Some(c) => c,
            None => match DiscoveryClient::open(DiscoveryConfig::directed_only()).await {
                Ok(c) => c,
                Err(e) => {
                    ctx.fail(Kind::Probe, "opening a discovery client", anyhow!(e)).await;
                    continue;
                }
            },
        };
        let kind = [Kind::Probe, Kind::Resolve, Kind::Metadata][((i + w as u64) % 3) as usize];
        i += 1;
        let outcome = match kind {
            Kind::Probe => probe(&c, target, &device, &endpoint).await,
            Kind::Resolve => resolve(&c, target, &endpoint).await.map(drop),
            _ => match resolve(&c, target, &endpoint).await {
                Ok(xaddr) => metadata(&xaddr).await,
                Err(e) => Err(e),
            },
        };
        match outcome {
            Ok(()) => {
                ctx.done(kind, 0);
                client = Some(c);
            }
            Err(e) => ctx.fail(kind, "exchange", e).await,
        }
    }
}

/// A directed Probe for `wsdp:Device`: exactly the device must answer.
async fn probe(c: &DiscoveryClient, target: SocketAddr, device: &QName, endpoint: &str) -> Result<()> {
    let found = c.probe_directed(target, std::slice::from_ref(device), &[], PROBE_WINDOW).await.context("Probe")?;
    match found.as_slice() {
        [one] if one.address() == endpoint => Ok(()),
        _ => bail!("the directed Probe found {} endpoints, expected only {endpoint}: {found:?}", found.len()),
    }
}

/// A directed Resolve of the device; its XAddr.
async fn resolve(c: &DiscoveryClient, target: SocketAddr, endpoint: &str) -> Result<String> {
    let resolved = c
        .resolve_directed(target, endpoint, Duration::from_secs(5))
        .await
        .context("Resolve")?
        .with_context(|| format!("no ResolveMatch from {target} within 5 s"))?;
    resolved.info.xaddrs.first().cloned().context("the ResolveMatch has no XAddr")
}

/// A WS-Transfer Get of the device's metadata; it must name the device `SOAK`.
async fn metadata(xaddr: &str) -> Result<()> {
    let options = GetMetadataOptions { timeout: Duration::from_secs(10), ..GetMetadataOptions::default() };
    let got = get_metadata(xaddr, &options).await.with_context(|| format!("Get {xaddr}"))?;
    let name = got.metadata.this_device.as_ref().and_then(|d| LocalizedString::pick(&d.friendly_name, None));
    ensure!(name == Some("SOAK"), "the metadata names the device {name:?}, expected \"SOAK\"");
    Ok(())
}

/// Back-to-back `echo` over SOAP-over-UDP on one channel, reopened after a failure.
async fn udp_worker(ctx: Arc<Mixed>) {
    let mut channel: Option<UdpChannel> = None;
    let mut n = 0u64;
    while ctx.running() {
        let c = match channel.take() {
            Some(c) => c,
            None => {
                let c = UdpChannel::new(ChannelProperties::default());
                match c.open(&ctx.o.udp).await {
                    Ok(()) => c,
                    Err(e) => {
                        ctx.fail(Kind::Udp, "open", anyhow!(e)).await;
                        continue;
                    }
                }
            }
        };
        n += 1;
        let text = format!("[udp n{n}]");
        let body = format!(r#"<e:echo xmlns:e="{NS}"><e:message>{text}</e:message></e:echo>"#);
        let outcome = match c.call("http://example.org/echo/echo", body).await {
            Ok(reply) => check_echo(reply.body_xml(), &text),
            Err(e) => Err(anyhow!(e)),
        };
        match outcome {
            Ok(()) => {
                ctx.done(Kind::Udp, 0);
                channel = Some(c);
            }
            Err(e) => ctx.fail(Kind::Udp, "call", e).await,
        }
    }
    if let Some(c) = channel {
        if let Err(e) = c.close().await {
            ctx.fail(Kind::Udp, "close", anyhow!(e)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_helpers() {
        let o = Options::parse(&[
            "--http",
            "http://127.0.0.1:1/echo",
            "--nettcp",
            "net.tcp://127.0.0.1:2/echo",
            "--udp",
            "soap.udp://127.0.0.1:3",
            "--discovery",
            "127.0.0.1:4",
            "--endpoint",
            "urn:uuid:x",
            "--server-pid",
            "1",
            "--seconds",
            "5",
        ])
        .expect("parses");
        assert_eq!((o.phase, o.seconds, o.device_pid), (Phase::Mixed, 5.0, None));
        assert!(Options::parse(&["--http", "x", "--server-pid", "1"]).is_err(), "mixed needs every endpoint");
        let hold =
            ["--phase", "hold-nettcp", "--nettcp", "net.tcp://h/e", "--nettcp-connections", "9", "--server-pid", "1"];
        let o = Options::parse(&hold).expect("parses");
        assert_eq!((o.phase, o.label, o.http_connections, o.nettcp_connections), (Phase::Hold, "hold-nettcp", 0, 9));
        assert!(Options::parse(&hold[..4]).is_err(), "nothing to hold");
        assert!(check_echo(b"<e:message>[http w1 n12]</e:message>", "[http w1 n12]").is_ok());
        assert!(check_echo(b"<e:message>[http w1 n12]</e:message>", "[http w1 n1]").is_err());
        assert_eq!(ALL.iter().enumerate().filter(|(i, k)| k.index() != *i).count(), 0);
        assert_eq!(GROUPS.iter().map(|(_, k)| k.len()).sum::<usize>(), KINDS);
    }

    #[test]
    fn pattern_check_and_digest() {
        let data = pattern(3 * CHUNK + 1000);
        let mut check = PatternCheck::new();
        for piece in data.chunks(CHUNK * 2 + 17) {
            check.feed(piece).expect("the pattern passes");
        }
        assert_eq!(check.seen, data.len() as u64);
        let mut bad = data.clone();
        bad[CHUNK + 5] ^= 1;
        assert!(PatternCheck::new().feed(&bad).is_err());
        let whole: String = sha2::Sha256::digest(pattern(CHUNK + 300)).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(pattern_sha256((CHUNK + 300) as u64), whole);
    }

    #[test]
    fn interval_lines() {
        let mut a = Sample {
            phase: "mixed",
            t: 0.0,
            ops: [0; KINDS],
            bytes: [0; KINDS],
            errors: 0,
            server: ProcStat { rss_kib: 20480, hwm_kib: 20480, fds: 40, threads: 3 },
            device: ProcStat::default(),
            client: ProcStat::default(),
        };
        let mut b = a.clone();
        b.t = 10.0;
        b.ops[Kind::HttpEcho.index()] = 12_340;
        b.ops[Kind::Upload.index()] = 5;
        b.bytes[Kind::Upload.index()] = 50_000_000;
        let line = interval_line(&a, &b);
        assert!(line.contains("http 1,234/s"), "{line}");
        assert!(line.contains("mtom 0.5/s 5 MB/s"), "{line}");
        assert!(line.contains("server RSS 20.0 MiB fds 40"), "{line}");
        a.phase = "hold";
        let tsv = series_tsv(&[a, b]);
        assert_eq!(tsv.lines().count(), 3);
        assert!(tsv.lines().all(|l| l.split('\t').count() == 2 + KINDS + 9), "{tsv}");
    }
}
