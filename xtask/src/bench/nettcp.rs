//! `cargo xtask bench nettcp`: request/reply round trips and messages per second on the
//! session bindings (net.tcp with each encoding, `net.unix`) against the HTTP binding, all
//! measured in one run with interleaved repeats.
//!
//! Three release `soapwire serve echo` processes serve the targets, one per session encoding
//! (a session listener serves only its own encoding, as WCF's):
//!
//! | server | `--encoding` | `--listen` |
//! | --- | --- | --- |
//! | 1 | `binary-session` | `http://127.0.0.1:0/echo`, `net.tcp://127.0.0.1:0/echo`, `net.unix:///tmp/soapwire-bench-<pid>.sock` |
//! | 2 | `binary` | `net.tcp://127.0.0.1:0/echo` |
//! | 3 | `text` | `net.tcp://127.0.0.1:0/echo` |
//!
//! Each prints one `listening on URL` line per `--listen`, in order, which is how the ports
//! are learnt. Every run of a target at a connection count is a fresh client process: the
//! release build of this program in its hidden `bench nettcp-client` mode (see
//! [`client`](mod@client)), on a single-threaded tokio runtime by default. It opens the
//! connections, warms up, makes back-to-back `echo` calls (SOAP 1.2, WS-Addressing 1.0, the
//! same small body everywhere, because the binary encodings require SOAP 1.2) for the
//! measured seconds and prints its rate, latency percentiles and the CPU time per call of
//! itself and of the server. Before the runs, the bytes each binding puts on the wire per
//! message are measured through a recording proxy ([`sizes`]), and the client's
//! `--transcode` mode times `Envelope::parse` and the binary transcoders in-process on the
//! captured text envelopes. A third-party reference, pynettcp (a Python net.tcp client), is timed on one
//! connection when the interop peers are installed; it is labelled as such, since a Python
//! client says nothing about soapwire's speed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use soapwire::MessageEncoding;

use super::{OptionArgs, Server, TempDir, build_release, machine, median, min_max, paired_ratio, thousands};
use crate::{describe, peers_dir, peers_prefix, repo_root};

mod client;
mod sizes;

pub(super) use client::client;

pub(super) const USAGE: &str = "\
usage: cargo xtask bench nettcp [options]

Starts three `soapwire serve echo` processes on loopback (--encoding binary-session with
HTTP, net.tcp and net.unix endpoints; binary and text with a net.tcp endpoint each) and
measures, with repeats interleaved (target order rotated per repeat), request/reply round
trips on each target at each connection count, each run in its own client process (a
RequestChannel per connection for HTTP, one SessionChannel session per connection for the
session bindings, back-to-back `echo` calls with the same small SOAP 1.2 envelope):
  http                      HTTP/1.1 keep-alive, text
  net.tcp binary-session    net.tcp, .NET binary XML with the session dictionary
  net.tcp binary            net.tcp, .NET binary XML
  net.tcp text              net.tcp, UTF-8 text
  net.unix binary-session   the net.tcp framing on a Unix socket
Prints median req/s, p50 and p99 latency, CPU time per call (client + server, from /proc)
and the ratios to HTTP at the same connection count, plus the bytes per message on the wire
(measured through a recording proxy), the in-process cost of the binary transcoders, and,
when the interop peers are installed, pynettcp's per-call time on one connection (a Python
client: context, not a speed comparison). Fails only when a target answers incorrectly.

options:
  --seconds SECS         measured seconds per run (default 5)
  --warmup SECS          unmeasured calls per run, after connecting (default 0.5)
  --repeats N            interleaved repeats (default 3)
  --connections LIST     connection counts, comma-separated (default 1,4,32)
  --targets LIST         subset and order of http,net.tcp-binary-session,net.tcp-binary,
                         net.tcp-text,net.unix-binary-session (default all)
  --client-runtime R     current (default; one thread, as wrk -t1) or multi (one worker per CPU)
  --server-args ARGS     extra arguments for every `soapwire serve echo` (e.g. '--worker-threads 1')
  --python-calls N       calls of the pynettcp reference (default 2000; 0 = skip)
  --smoke                1 connection, 0.3 s, no warm-up, 1 repeat, no pynettcp: checks every
                         target answers correctly (CI); never checks speed
  --bin PATH             use this soapwire binary instead of building soapwire-cli in release
  --markdown             print the result tables as Markdown";

/// The echo service's `echo` action.
const ECHO_ACTION: &str = "http://example.org/echo/echo";
/// The text every reply must echo.
const ECHO_TEXT: &str = "hello, world";
/// The body of every request (the content of `soap:Body`).
const ECHO_BODY: &str = r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hello, world</e:message></e:echo>"#;

/// One binding and encoding under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Http,
    TcpBinarySession,
    TcpBinary,
    TcpText,
    UnixBinarySession,
}

impl Target {
    const ALL: [Target; 5] =
        [Target::Http, Target::TcpBinarySession, Target::TcpBinary, Target::TcpText, Target::UnixBinarySession];

    /// The name on the command line and in the raw results.
    fn name(self) -> &'static str {
        match self {
            Target::Http => "http",
            Target::TcpBinarySession => "net.tcp-binary-session",
            Target::TcpBinary => "net.tcp-binary",
            Target::TcpText => "net.tcp-text",
            Target::UnixBinarySession => "net.unix-binary-session",
        }
    }

    fn from_name(name: &str) -> Result<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name).with_context(|| {
            let all: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
            format!("unknown target {name:?} ({})", all.join(", "))
        })
    }

    /// The name in the tables.
    fn label(self) -> &'static str {
        match self {
            Target::Http => "http (text)",
            Target::TcpBinarySession => "net.tcp binary-session",
            Target::TcpBinary => "net.tcp binary",
            Target::TcpText => "net.tcp text",
            Target::UnixBinarySession => "net.unix binary-session",
        }
    }

    /// The session encoding (`None`: HTTP).
    fn encoding(self) -> Option<MessageEncoding> {
        match self {
            Target::Http => None,
            Target::TcpBinarySession | Target::UnixBinarySession => Some(MessageEncoding::BinarySession),
            Target::TcpBinary => Some(MessageEncoding::Binary),
            Target::TcpText => Some(MessageEncoding::TextUtf8),
        }
    }

    /// Which server serves it (index into the servers) and which of its `--listen` URLs.
    fn endpoint(self) -> (usize, usize) {
        match self {
            Target::Http => (0, 0),
            Target::TcpBinarySession => (0, 1),
            Target::UnixBinarySession => (0, 2),
            Target::TcpBinary => (1, 0),
            Target::TcpText => (2, 0),
        }
    }
}

/// `binary-session`, `binary`, `text` (as `soapwire serve echo --encoding`).
fn encoding_name(encoding: MessageEncoding) -> &'static str {
    match encoding {
        MessageEncoding::BinarySession => "binary-session",
        MessageEncoding::Binary => "binary",
        _ => "text",
    }
}

fn encoding_from_name(name: &str) -> Result<MessageEncoding> {
    [MessageEncoding::BinarySession, MessageEncoding::Binary, MessageEncoding::TextUtf8]
        .into_iter()
        .find(|e| encoding_name(*e) == name)
        .with_context(|| format!("unknown encoding {name:?} (binary-session, binary, text)"))
}

/// How a client process runs tokio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientRuntime {
    /// A current-thread runtime: one thread drives every connection (as `wrk -t1`).
    Current,
    /// A multi-threaded runtime, one worker per CPU.
    Multi,
}

impl ClientRuntime {
    fn name(self) -> &'static str {
        match self {
            ClientRuntime::Current => "current",
            ClientRuntime::Multi => "multi",
        }
    }

    fn from_name(name: &str) -> Result<ClientRuntime> {
        [ClientRuntime::Current, ClientRuntime::Multi]
            .into_iter()
            .find(|r| r.name() == name)
            .with_context(|| format!("unknown client runtime {name:?} (current, multi)"))
    }

    fn description(self) -> &'static str {
        match self {
            ClientRuntime::Current => "current-thread tokio (one thread)",
            ClientRuntime::Multi => "multi-thread tokio (one worker per CPU)",
        }
    }
}

/// Options of `bench nettcp`.
struct Options {
    seconds: f64,
    warmup: f64,
    repeats: usize,
    connections: Vec<usize>,
    targets: Vec<Target>,
    runtime: ClientRuntime,
    server_args: Vec<String>,
    python_calls: usize,
    smoke: bool,
    bin: Option<PathBuf>,
    markdown: bool,
}

impl Options {
    fn parse(args: &[&str]) -> Result<Options> {
        let mut o = Options {
            seconds: 5.0,
            warmup: 0.5,
            repeats: 3,
            connections: vec![1, 4, 32],
            targets: Target::ALL.to_vec(),
            runtime: ClientRuntime::Current,
            server_args: Vec::new(),
            python_calls: 2000,
            smoke: false,
            bin: None,
            markdown: false,
        };
        let mut explicit_connections = false;
        let mut args = OptionArgs::new(args);
        while let Some((arg, name, inline)) = args.next_option(&["--server-args"]) {
            let mut value = || args.value(name, inline);
            match name {
                "--seconds" => o.seconds = value()?.parse().context("--seconds: a number of seconds")?,
                "--warmup" => o.warmup = value()?.parse().context("--warmup: a number of seconds")?,
                "--repeats" => o.repeats = value()?.parse().context("--repeats: a number")?,
                "--connections" => {
                    explicit_connections = true;
                    o.connections = value()?
                        .split(',')
                        .map(|c| c.trim().parse::<usize>().with_context(|| format!("--connections: bad count {c:?}")))
                        .collect::<Result<_>>()?;
                }
                "--targets" => {
                    o.targets = value()?.split(',').map(|t| Target::from_name(t.trim())).collect::<Result<_>>()?;
                }
                "--client-runtime" => o.runtime = ClientRuntime::from_name(value()?)?,
                "--server-args" => o.server_args = value()?.split_whitespace().map(String::from).collect(),
                "--python-calls" => o.python_calls = value()?.parse().context("--python-calls: a number")?,
                "--smoke" => o.smoke = true,
                "--bin" => o.bin = Some(PathBuf::from(value()?)),
                "--markdown" => o.markdown = true,
                _ => bail!("unknown option {arg:?}\n\n{USAGE}"),
            }
        }
        if o.smoke {
            (o.seconds, o.warmup, o.repeats, o.python_calls) = (0.3, 0.0, 1, 0);
            if !explicit_connections {
                o.connections = vec![1];
            }
        }
        if !(o.seconds > 0.0 && o.warmup >= 0.0) || o.repeats == 0 {
            bail!("--seconds must be positive, --warmup not negative and --repeats at least 1");
        }
        if o.connections.is_empty() || o.connections.contains(&0) {
            bail!("--connections needs counts of at least 1");
        }
        if o.targets.is_empty() {
            bail!("--targets needs at least one target");
        }
        Ok(o)
    }
}

/// One client run's RESULT line.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    calls: u64,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
    /// CPU time per call (µs) of the client process and of the server, when measured.
    cpu_client_us: Option<f64>,
    cpu_server_us: Option<f64>,
}

/// Parses `RESULT calls=N secs=S rps=R p50_us=A p99_us=B mean_us=M max_us=X [cpu_client_us=C
/// cpu_server_us=D]`.
fn parse_result(stdout: &str) -> Result<Sample> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .with_context(|| format!("no RESULT line in the client's output:\n{stdout}"))?;
    let fields: BTreeMap<&str, &str> = line.split_whitespace().filter_map(|kv| kv.split_once('=')).collect();
    let num = |k: &str| -> Result<f64> {
        let v: f64 = fields
            .get(k)
            .with_context(|| format!("RESULT has no {k}: {line}"))?
            .parse()
            .with_context(|| format!("RESULT {k}: {line}"))?;
        if !v.is_finite() || v < 0.0 {
            bail!("RESULT {k} is not a finite non-negative number: {line}");
        }
        Ok(v)
    };
    let calls = fields
        .get("calls")
        .with_context(|| format!("RESULT has no calls: {line}"))?
        .parse::<u64>()
        .with_context(|| format!("RESULT calls: {line}"))?;
    let optional = |k: &str| if fields.contains_key(k) { num(k).map(Some) } else { Ok(None) };
    Ok(Sample {
        calls,
        rps: num("rps")?,
        p50_us: num("p50_us")?,
        p99_us: num("p99_us")?,
        mean_us: num("mean_us")?,
        cpu_client_us: optional("cpu_client_us")?,
        cpu_server_us: optional("cpu_server_us")?,
    })
}

/// Results keyed by (target, connections): one sample per repeat, in repeat order.
type Results = BTreeMap<(Target, usize), Vec<Sample>>;

/// Removes a file when dropped (the Unix socket a killed server leaves behind).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Waits until `server` printed `count` `listening on URL` lines; the URLs, in order.
fn listening_urls(server: &mut Server, count: usize) -> Result<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = fs::read_to_string(&server.log).unwrap_or_default();
        let urls: Vec<String> =
            text.lines().filter_map(|l| l.strip_prefix("listening on ")).map(|u| u.trim().to_string()).collect();
        if urls.len() >= count {
            return Ok(urls);
        }
        if let Some(status) = server.child.try_wait()? {
            bail!("{} exited during start-up ({status}); its log:\n{}", server.name, server.log_tail());
        }
        if Instant::now() >= deadline {
            bail!(
                "{} did not print {count} `listening on` lines within 30 s; its log:\n{}",
                server.name,
                server.log_tail()
            );
        }
        sleep(Duration::from_millis(50));
    }
}

/// The three servers and the URL of every target.
struct Servers {
    servers: Vec<Server>,
    urls: Vec<Vec<String>>,
}

impl Servers {
    fn start(bin: &Path, extra: &[String], socket: &Path, dir: &Path) -> Result<Servers> {
        let unix = format!("net.unix://{}", socket.display());
        let plan: [(&str, &str, Vec<&str>); 3] = [
            ("binary-session", "binary-session", vec!["http://127.0.0.1:0/echo", "net.tcp://127.0.0.1:0/echo", &unix]),
            ("binary", "binary", vec!["net.tcp://127.0.0.1:0/echo"]),
            ("text", "text", vec!["net.tcp://127.0.0.1:0/echo"]),
        ];
        println!("==> starting {} `soapwire serve echo` processes", plan.len());
        let mut servers = Vec::new();
        for (name, encoding, listens) in &plan {
            let mut cmd = Command::new(bin);
            cmd.args(["serve", "echo", "--encoding", encoding]);
            for l in listens {
                cmd.args(["--listen", l]);
            }
            cmd.args(extra);
            servers.push(Server::spawn(&format!("soapwire-{name}"), cmd, "(URLs from its output)".into(), dir)?);
        }
        let mut urls = Vec::new();
        for (server, (_, _, listens)) in servers.iter_mut().zip(&plan) {
            let found = listening_urls(server, listens.len())?;
            println!("    {}: {}", server.name, found.join(", "));
            server.url = found.first().cloned().unwrap_or_default();
            urls.push(found);
        }
        Ok(Servers { servers, urls })
    }

    fn url(&self, target: Target) -> Option<String> {
        let (server, index) = target.endpoint();
        self.urls.get(server)?.get(index).cloned()
    }

    fn server_of(&mut self, target: Target) -> Option<&mut Server> {
        self.servers.get_mut(target.endpoint().0)
    }
}

/// Runs one client process against `target` with `conns` connections.
fn run_client(
    client: &Path,
    url: &str,
    target: Target,
    conns: usize,
    server_pid: Option<u32>,
    o: &Options,
) -> Result<Sample> {
    let mut cmd = Command::new(client);
    cmd.args(["bench", "nettcp-client", "--url", url])
        .args(["--encoding", encoding_name(target.encoding().unwrap_or(MessageEncoding::TextUtf8))])
        .args(["--connections", &conns.to_string()])
        .args(["--seconds", &o.seconds.to_string()])
        .args(["--warmup", &o.warmup.to_string()])
        .args(["--runtime", o.runtime.name()]);
    if let Some(pid) = server_pid {
        cmd.args(["--server-pid", &pid.to_string()]);
    }
    cmd.current_dir(repo_root()).stdin(Stdio::null());
    let shown = describe(&cmd);
    let out = cmd.output().with_context(|| format!("starting `{shown}`"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("`{shown}` failed ({}):\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    parse_result(&stdout).with_context(|| format!("`{shown}`"))
}

/// One `TRANSCODE` line of the client: nanoseconds per message of each step.
#[derive(Clone, Debug, Default, PartialEq)]
struct Transcode {
    kind: String,
    bytes: usize,
    parse: f64,
    encode_binary: f64,
    decode_binary: f64,
    encode_session: f64,
    decode_session: f64,
}

/// Parses the client's `TRANSCODE kind=K bytes=N parse_ns=.. ...` lines.
fn parse_transcode(stdout: &str) -> Result<Vec<Transcode>> {
    let mut out = Vec::new();
    for line in stdout.lines().filter_map(|l| l.strip_prefix("TRANSCODE ")) {
        let fields: BTreeMap<&str, &str> = line.split_whitespace().filter_map(|kv| kv.split_once('=')).collect();
        let field = |k: &str| fields.get(k).copied().with_context(|| format!("TRANSCODE has no {k}: {line}"));
        let ns = |k: &str| -> Result<f64> {
            let v: f64 = field(k)?.parse().with_context(|| format!("TRANSCODE {k}: {line}"))?;
            if !v.is_finite() || v < 0.0 {
                bail!("TRANSCODE {k} is not a finite non-negative number: {line}");
            }
            Ok(v)
        };
        out.push(Transcode {
            kind: field("kind")?.to_string(),
            bytes: field("bytes")?.parse().with_context(|| format!("TRANSCODE bytes: {line}"))?,
            parse: ns("parse_ns")?,
            encode_binary: ns("encode_binary_ns")?,
            decode_binary: ns("decode_binary_ns")?,
            encode_session: ns("encode_session_ns")?,
            decode_session: ns("decode_session_ns")?,
        });
    }
    if out.len() != 2 {
        bail!("expected a TRANSCODE line for the request and one for the reply:\n{stdout}");
    }
    Ok(out)
}

/// Runs the client's `--transcode` mode on the text envelopes the text session carried.
fn run_transcode(client: &Path, request: &[u8], reply: &[u8], dir: &Path) -> Result<Vec<Transcode>> {
    let (request_path, reply_path) = (dir.join("request.xml"), dir.join("reply.xml"));
    fs::write(&request_path, request)?;
    fs::write(&reply_path, reply)?;
    let mut cmd = Command::new(client);
    cmd.args(["bench", "nettcp-client", "--transcode"])
        .arg(format!("{},{}", request_path.display(), reply_path.display()))
        .stdin(Stdio::null());
    let shown = describe(&cmd);
    let out = cmd.output().with_context(|| format!("starting `{shown}`"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("`{shown}` failed ({}):\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    parse_transcode(&stdout).with_context(|| format!("`{shown}`"))
}

/// The transcoding table and what a round trip adds on a binary encoding.
fn transcode_report(t: &[Transcode], md: bool) -> String {
    let mut out = String::new();
    let title = "CPU per message in-process (release build, one thread, median of 5 samples; µs): what every \
                 binding pays to parse the text envelope, and what the binary encodings add on top (soapwire \
                 keeps text inside and transcodes at the wire)";
    let head = [
        "message",
        "text bytes",
        "Envelope::parse",
        "binary encode",
        "binary decode",
        "session encode",
        "session decode",
    ];
    let widths = [8, 10, 15, 13, 13, 14, 14];
    let _ = writeln!(out);
    if md {
        let _ = writeln!(out, "**{title}**\n");
    } else {
        let _ = writeln!(out, "{title}");
    }
    row(&mut out, md, &widths, &head.map(String::from));
    if md {
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    }
    let us = |ns: f64| format!("{:.2}", ns / 1e3);
    for m in t {
        let cells = [
            m.kind.clone(),
            m.bytes.to_string(),
            us(m.parse),
            us(m.encode_binary),
            us(m.decode_binary),
            us(m.encode_session),
            us(m.decode_session),
        ];
        row(&mut out, md, &widths, &cells);
    }
    let binary: f64 = t.iter().map(|m| m.encode_binary + m.decode_binary).sum();
    let session: f64 = t.iter().map(|m| m.encode_session + m.decode_session).sum();
    let _ = writeln!(
        out,
        "\n{}a round trip on a binary encoding adds four transcodes (the client encodes the request, the server \
         decodes it, the server encodes the reply, the client decodes it): {} µs of CPU with binary, {} µs with \
         binary-session (steady state)",
        if md { "" } else { "  " },
        us(binary),
        us(session)
    );
    out
}

/// pynettcp's time per call on one session: the script prints a line after each checked
/// call, so the time from the first line to the last over `calls - 1` leaves interpreter
/// start-up and the connection out (stdout unbuffered, each line stamped as it arrives).
fn pynettcp_per_call(url: &str, calls: usize) -> Result<f64> {
    let python = peers_prefix().join("venv").join("bin").join("python");
    let script = peers_dir().join("nettcp").join("pynettcp_echo_client.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg(url)
        .args(["--calls", &calls.max(2).to_string()])
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = describe(&cmd);
    let mut child = cmd.spawn().with_context(|| format!("starting `{shown}`"))?;
    let (mut stamps, mut ok, mut text) = (Vec::new(), 0usize, String::new());
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.with_context(|| format!("reading the output of `{shown}`"))?;
            if line.starts_with("echo ") {
                stamps.push(Instant::now());
                ok += usize::from(line.contains(": ok "));
            }
            text.push_str(&line);
            text.push('\n');
        }
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().with_context(|| format!("waiting for `{shown}`"))?;
    let n = calls.max(2);
    if !status.success() || ok != n {
        bail!("`{shown}` failed ({status}; {ok} of {n} calls ok):\n{text}{stderr}");
    }
    match (stamps.first(), stamps.last()) {
        (Some(first), Some(last)) => Ok(last.duration_since(*first).as_secs_f64() / (n - 1) as f64),
        _ => bail!("`{shown}` printed no call lines"),
    }
}

/// Whether the pynettcp peer is installed.
fn pynettcp_available() -> bool {
    peers_prefix().join("venv").join("bin").join("python").is_file()
        && peers_dir().join("nettcp").join("pynettcp_echo_client.py").is_file()
        && peers_prefix()
            .join("venv")
            .join("lib")
            .read_dir()
            .is_ok_and(|dirs| dirs.flatten().any(|d| d.path().join("site-packages").join("pynettcp").is_dir()))
}

/// `/proc/loadavg`'s three load averages.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// `cargo xtask bench nettcp ...`
pub(super) fn nettcp(args: &[&str]) -> Result<()> {
    let o = Options::parse(args)?;
    let started = Instant::now();
    let release = build_release(if o.bin.is_some() { &["xtask"] } else { &["soapwire-cli", "xtask"] })?;
    let bin = o.bin.clone().unwrap_or_else(|| release.join("soapwire"));
    let client = release.join("xtask");
    for p in [&bin, &client] {
        if !p.is_file() {
            bail!("{} not found", p.display());
        }
    }
    let load_start = load_average();
    // Declared first, dropped last: the servers (and their logs) go before the directory
    // and the socket file.
    let tmp = TempDir::new()?;
    let socket = RemoveOnDrop(std::env::temp_dir().join(format!("soapwire-bench-{}.sock", std::process::id())));
    let _ = fs::remove_file(&socket.0);
    let mut servers = Servers::start(&bin, &o.server_args, &socket.0, &tmp.0)?;

    println!("==> bytes on the wire per message (recording proxy; also checks every TCP target answers)");
    let wire = sizes::measure(&o.targets, &|t| servers.url(t))?;
    let transcode = match sizes::text_envelopes(&wire) {
        Some((request, reply)) => {
            println!("==> transcoding cost per message, in-process (release client)");
            Some(run_transcode(&client, request, reply, &tmp.0)?)
        }
        None => None,
    };

    let machine = machine();
    let conns_list = o.connections.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    println!(
        "==> {machine}; load average {load_start}; {} s per run after {} s of warm-up, connections {conns_list}, \
         {} repeats interleaved (target order rotated per repeat); client: {}{}",
        o.seconds,
        o.warmup,
        o.repeats,
        o.runtime.description(),
        if o.smoke { "; smoke: correctness only" } else { "" }
    );
    let mut results: Results = BTreeMap::new();
    let n = o.targets.len();
    for rep in 0..o.repeats {
        for k in 0..n {
            let target = o.targets[(k + rep) % n];
            let url = servers.url(target).with_context(|| format!("no URL for {}", target.label()))?;
            for &c in &o.connections {
                let server_pid = servers.server_of(target).map(|s| s.child.id());
                let s = run_client(&client, &url, target, c, server_pid, &o)
                    .with_context(|| format!("{} with {c} connection(s)", target.label()))?;
                if let Some(server) = servers.server_of(target) {
                    server.still_running()?;
                }
                let cpu = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"));
                println!(
                    "    rep {} {:<24} c={c:<3} {:>9} req/s  p50 {:>7.1} us  p99 {:>8.1} us  mean {:>7.1} us  \
                     CPU/call client {} us server {} us  ({} calls)",
                    rep + 1,
                    target.label(),
                    thousands(s.rps),
                    s.p50_us,
                    s.p99_us,
                    s.mean_us,
                    cpu(s.cpu_client_us),
                    cpu(s.cpu_server_us),
                    s.calls
                );
                results.entry((target, c)).or_default().push(s);
            }
        }
    }

    let mut python = None;
    if o.python_calls > 0 {
        match (servers.url(Target::TcpBinarySession), pynettcp_available()) {
            (Some(url), true) => {
                println!("==> pynettcp reference: {} calls on one session, {} times", o.python_calls, o.repeats);
                let mut per_call = Vec::new();
                for _ in 0..o.repeats {
                    per_call.push(pynettcp_per_call(&url, o.python_calls)?);
                }
                python = Some(per_call);
            }
            (None, _) => println!("==> pynettcp reference skipped: net.tcp binary-session is not among the targets"),
            (_, false) => println!("==> pynettcp reference skipped: the pynettcp peer is not installed"),
        }
    }
    let load_end = load_average();
    drop(servers);

    let raw = write_raw(&results)?;
    println!();
    print!("{}", report(&o, &results, &wire, python.as_deref(), &machine, (&load_start, &load_end)));
    if let Some(t) = &transcode {
        print!("{}", transcode_report(t, o.markdown));
    }
    println!("raw samples: {}", raw.display());
    println!("total time {:.0} s", started.elapsed().as_secs_f64());
    if o.smoke {
        println!("smoke: every target answered every call correctly (speeds are not checked)");
    }
    drop(socket);
    drop(tmp);
    Ok(())
}

fn write_raw(results: &Results) -> Result<PathBuf> {
    let mut text =
        String::from("target\tconns\trep\tcalls\trps\tp50_us\tp99_us\tmean_us\tcpu_client_us\tcpu_server_us\n");
    let opt = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.1}"));
    for ((target, c), samples) in results {
        for (i, s) in samples.iter().enumerate() {
            let _ = writeln!(
                text,
                "{}\t{c}\t{}\t{}\t{:.1}\t{:.1}\t{:.1}\t{:.1}\t{}\t{}",
                target.name(),
                i + 1,
                s.calls,
                s.rps,
                s.p50_us,
                s.p99_us,
                s.mean_us,
                opt(s.cpu_client_us),
                opt(s.cpu_server_us)
            );
        }
    }
    super::write_bench_file("nettcp", &text)
}

/// Writes one table row, as Markdown or as text aligned to `widths` (the first two cells left).
fn row(out: &mut String, md: bool, widths: &[usize], cells: &[String]) {
    if md {
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    } else {
        let mut line = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(12);
            let _ = if i < 2 { write!(line, " {c:<w$}") } else { write!(line, " {c:>w$}") };
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Column widths of the results table.
const WIDTHS: [usize; 9] = [4, 24, 9, 17, 8, 8, 16, 30, 30];

/// 81.23 -> "81" (µs above 100 as whole numbers; below with one decimal).
fn micros(v: f64) -> String {
    if v >= 100.0 { thousands(v) } else { format!("{v:.1}") }
}

fn report(
    o: &Options,
    results: &Results,
    wire: &[sizes::WireSizes],
    python: Option<&[f64]>,
    machine: &str,
    load: (&str, &str),
) -> String {
    let md = o.markdown;
    let mut out = String::new();
    let heading = if md { "" } else { "# " };
    let _ = writeln!(
        out,
        "{heading}{machine}; load average {} at the start, {} at the end; {} s per run after {} s of warm-up, \
         median of {} interleaved repeats",
        load.0, load.1, o.seconds, o.warmup, o.repeats
    );
    let _ = writeln!(
        out,
        "{heading}client: the release xtask, {}; servers: `soapwire serve echo`{}; SOAP 1.2 + WS-Addressing 1.0 \
         `echo(\"{ECHO_TEXT}\")` on every target; CPU µs/call c+s: CPU time (user + system) per call of the client \
         process + the server process over the measured window",
        o.runtime.description(),
        if o.server_args.is_empty() {
            " (default runtime)".to_string()
        } else {
            format!(" {}", o.server_args.join(" "))
        }
    );
    let _ = writeln!(out);
    let head =
        ["c", "target", "req/s", "min..max", "p50 µs", "p99 µs", "CPU µs/call c+s", "req/s vs HTTP", "p50 vs HTTP"];
    row(&mut out, md, &WIDTHS, &head.map(String::from));
    if md {
        let _ = writeln!(out, "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    }
    for &c in &o.connections {
        let http = results.get(&(Target::Http, c));
        for &target in &o.targets {
            let Some(samples) = results.get(&(target, c)) else { continue };
            let mut rps: Vec<f64> = samples.iter().map(|s| s.rps).collect();
            let (lo, hi) = min_max(&rps);
            let p50: Vec<f64> = samples.iter().map(|s| s.p50_us).collect();
            let mut p99: Vec<f64> = samples.iter().map(|s| s.p99_us).collect();
            let (vs_rps, vs_p50) = match http {
                Some(h) if target != Target::Http => {
                    let h_rps: Vec<f64> = h.iter().map(|s| s.rps).collect();
                    let h_p50: Vec<f64> = h.iter().map(|s| s.p50_us).collect();
                    (paired_ratio(&rps, &h_rps), paired_ratio(&p50, &h_p50))
                }
                _ => ("-".to_string(), "-".to_string()),
            };
            let cpu = |pick: fn(&Sample) -> Option<f64>| -> Option<f64> {
                let mut v: Vec<f64> = samples.iter().filter_map(pick).collect();
                (!v.is_empty()).then(|| median(&mut v))
            };
            let cpu = match (cpu(|s| s.cpu_client_us), cpu(|s| s.cpu_server_us)) {
                (Some(client), Some(server)) => format!("{client:.0}+{server:.0}"),
                (Some(client), None) => format!("{client:.0}+?"),
                _ => "-".to_string(),
            };
            let cells = [
                c.to_string(),
                target.label().to_string(),
                thousands(median(&mut rps)),
                format!("{}..{}", thousands(lo), thousands(hi)),
                micros(median(&mut p50.clone())),
                micros(median(&mut p99)),
                cpu,
                vs_rps,
                vs_p50,
            ];
            row(&mut out, md, &WIDTHS, &cells);
        }
    }
    let _ = writeln!(out);
    if !wire.is_empty() {
        out.push_str(&sizes::report(wire, md));
        let _ = writeln!(out);
    }
    if let Some(per_call) = python {
        let mut us: Vec<f64> = per_call.iter().map(|s| s * 1e6).collect();
        let (lo, hi) = min_max(&us);
        let m = median(&mut us);
        let ours = results.get(&(Target::TcpBinarySession, 1)).map(|v| {
            let mut mean: Vec<f64> = v.iter().map(|s| s.mean_us).collect();
            median(&mut mean)
        });
        let _ = writeln!(
            out,
            "{heading}third-party reference (a Python client, not a fair speed comparison): pynettcp, one session to the \
             net.tcp binary-session server, {} calls: {} µs per call ({}..{}), {} calls/s{}",
            o.python_calls,
            micros(m),
            micros(lo),
            micros(hi),
            thousands(1e6 / m),
            ours.map(|u| format!("; soapwire's client on the same target at c=1: mean {} µs per call", micros(u)))
                .unwrap_or_default()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_names() {
        let o = Options::parse(&[
            "--seconds",
            "2.5",
            "--repeats=1",
            "--connections",
            "1,32",
            "--targets",
            "http,net.tcp-text",
        ])
        .expect("parses");
        assert_eq!((o.seconds, o.repeats, o.connections.clone()), (2.5, 1, vec![1, 32]));
        assert_eq!(o.targets, vec![Target::Http, Target::TcpText]);
        let smoke = Options::parse(&["--smoke"]).expect("parses");
        assert_eq!((smoke.seconds, smoke.repeats, smoke.connections, smoke.python_calls), (0.3, 1, vec![1], 0));
        let s = Options::parse(&["--server-args", "--worker-threads 1"]).expect("parses");
        assert_eq!(s.server_args, vec!["--worker-threads", "1"]);
        assert!(Options::parse(&["--targets", "net.pipe"]).is_err());
        assert!(Options::parse(&["--seconds", "0"]).is_err());
        for t in Target::ALL {
            assert_eq!(Target::from_name(t.name()).ok(), Some(t));
        }
        for e in ["binary-session", "binary", "text"] {
            assert_eq!(encoding_from_name(e).map(encoding_name).ok(), Some(e));
        }
    }

    #[test]
    fn result_lines() {
        let s =
            parse_result("x\nRESULT calls=500 secs=5 rps=100.0 p50_us=80.5 p99_us=200.0 mean_us=90.1 max_us=900.0\n")
                .expect("parses");
        assert_eq!((s.calls, s.rps, s.p50_us, s.p99_us), (500, 100.0, 80.5, 200.0));
        assert_eq!((s.cpu_client_us, s.cpu_server_us), (None, None));
        let s = parse_result("RESULT calls=5 rps=1 p50_us=1 p99_us=1 mean_us=1 cpu_client_us=40.5 cpu_server_us=35")
            .expect("parses");
        assert_eq!((s.cpu_client_us, s.cpu_server_us), (Some(40.5), Some(35.0)));
        assert!(parse_result("no result").is_err());
        assert!(parse_result("RESULT calls=1 rps=NaN p50_us=1 p99_us=1 mean_us=1").is_err());
        assert_eq!(micros(81.23), "81.2");
        assert_eq!(micros(1234.4), "1,234");
        let t = parse_transcode(
            "TRANSCODE kind=request bytes=584 parse_ns=3000 encode_binary_ns=5000 decode_binary_ns=4000 \
             encode_session_ns=5100 decode_session_ns=4100\nTRANSCODE kind=reply bytes=510 parse_ns=1 \
             encode_binary_ns=2 decode_binary_ns=3 encode_session_ns=4 decode_session_ns=5\n",
        )
        .expect("parses");
        assert_eq!((t[0].kind.as_str(), t[0].bytes, t[0].encode_binary), ("request", 584, 5000.0));
        assert!(transcode_report(&t, false).contains("9.01 µs of CPU with binary"));
        assert!(parse_transcode("TRANSCODE kind=request bytes=1").is_err());
    }
}
