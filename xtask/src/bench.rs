//! `cargo xtask bench echo`: soapwire against gSOAP, node-soap and nginx (fixed body), all on
//! loopback, driven by the same wrk script and envelope, in one invocation.
//!
//! Every server is a child process held by a [`Server`] guard whose `Drop` stops it (SIGTERM
//! to the process and its descendants, SIGKILL after a grace period), so an error, a panic or
//! a normal exit never leaves a server behind. A Ctrl-C in the terminal reaches the servers
//! directly: they stay in our process group.
//!
//! `cargo xtask bench mtom` (bulk MTOM transfers against raw loopback TCP and gSOAP) lives in
//! [`mtom`], `bench nettcp` (request/reply on the session bindings against HTTP) in
//! [`nettcp`], `bench xml` (envelope parse/write against quick-xml) in [`xml`] and `bench
//! instructions` (callgrind counts of the hot paths) in [`instructions`]; they share these
//! helpers.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::{cargo, describe, is_root, peers_dir, peers_prefix, repo_root, run};

mod instructions;
pub(crate) mod mtom;
mod nettcp;
mod xml;

pub(crate) const USAGE: &str = "\
usage: cargo xtask bench echo [options]

Starts `soapwire serve echo`, the gSOAP echo server, the node-soap echo server and nginx (fixed
body) on 127.0.0.1, drives each with wrk + interop/peers/common/soap_post.lua and echo11.xml at
each connection count, repeats interleaved (server order rotated per repeat), and prints median
req/s and p50/p99 latency per server plus the ratios soapwire/gSOAP and soapwire/nginx.
Exits non-zero when any server answered incorrectly (non-200, wrong body, socket errors),
never because of speed.

options:
  --duration SECS        length of each wrk run (default 5)
  --repeats N            interleaved repeats (default 3)
  --connections LIST     connection counts, comma-separated (default 1,4,32)
  --threads N            wrk threads (default 1; capped at the connection count)
  --warmup SECS          unmeasured wrk run per server before the first repeat (default 1; 0 = none)
  --servers LIST         subset and order of soapwire,gsoap,node-soap,nginx (default all)
  --bin PATH             use this soapwire binary instead of building soapwire-cli in release
  --compare LABEL=SPEC   also measure another soapwire as server LABEL (repeatable; for
                         before/after figures from one run). SPEC is `PATH [ARGS...]` (another
                         binary) or `ARGS...` starting with `-` (the built binary with extra
                         arguments to `serve echo`, e.g. 'st=--worker-threads 1')
  --markdown             print the result tables as Markdown";

/// A walk over `--name value`, `--name=value` and `--flag` arguments, shared by the
/// benchmarks' option parsers.
struct OptionArgs<'a> {
    it: std::slice::Iter<'a, &'a str>,
}

impl<'a> OptionArgs<'a> {
    fn new(args: &'a [&'a str]) -> OptionArgs<'a> {
        OptionArgs { it: args.iter() }
    }

    /// The next argument as `(argument, name, value after '=')`. Options listed in `unsplit`
    /// keep any `=` in their value (`--compare a=b` is never `--compare` = `a=b` split).
    fn next_option(&mut self, unsplit: &[&str]) -> Option<(&'a str, &'a str, Option<&'a str>)> {
        let arg = *self.it.next()?;
        Some(match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") && !unsplit.contains(&n) => (arg, n, Some(v)),
            _ => (arg, arg, None),
        })
    }

    /// The value of option `name`: the inline one, else the next argument.
    fn value(&mut self, name: &str, inline: Option<&'a str>) -> Result<&'a str> {
        match inline {
            Some(v) => Ok(v),
            None => self.it.next().copied().with_context(|| format!("{name} needs a value")),
        }
    }
}

/// Options of `bench echo`.
struct Options {
    duration: u64,
    repeats: usize,
    connections: Vec<usize>,
    threads: usize,
    warmup: u64,
    servers: Vec<String>,
    bin: Option<PathBuf>,
    compare: Vec<(String, Option<PathBuf>, Vec<String>)>,
    markdown: bool,
}

impl Options {
    fn parse(args: &[&str]) -> Result<Options> {
        let mut o = Options {
            duration: 5,
            repeats: 3,
            connections: vec![1, 4, 32],
            threads: 1,
            warmup: 1,
            servers: ["soapwire", "gsoap", "node-soap", "nginx"].map(String::from).to_vec(),
            bin: None,
            compare: Vec::new(),
            markdown: false,
        };
        let mut args = OptionArgs::new(args);
        while let Some((arg, name, inline)) = args.next_option(&["--compare"]) {
            let mut value = || args.value(name, inline);
            match name {
                "--duration" => o.duration = value()?.parse().context("--duration: whole seconds")?,
                "--repeats" => o.repeats = value()?.parse().context("--repeats: a number")?,
                "--threads" => o.threads = value()?.parse().context("--threads: a number")?,
                "--warmup" => o.warmup = value()?.parse().context("--warmup: whole seconds")?,
                "--connections" => {
                    o.connections = value()?
                        .split(',')
                        .map(|c| c.trim().parse::<usize>().with_context(|| format!("--connections: bad count {c:?}")))
                        .collect::<Result<_>>()?;
                }
                "--servers" => o.servers = value()?.split(',').map(|s| s.trim().to_string()).collect(),
                "--bin" => o.bin = Some(PathBuf::from(value()?)),
                "--compare" => {
                    let v = value()?;
                    let (label, spec) = v.split_once('=').context("--compare takes LABEL=SPEC")?;
                    let mut words = spec.split_whitespace().map(String::from).peekable();
                    let path = match words.peek() {
                        Some(w) if !w.starts_with('-') => words.next().map(PathBuf::from),
                        _ => None,
                    };
                    o.compare.push((label.to_string(), path, words.collect()));
                }
                "--markdown" => o.markdown = true,
                _ => bail!("unknown option {arg:?}\n\n{USAGE}"),
            }
        }
        if o.duration == 0 || o.repeats == 0 || o.threads == 0 {
            bail!("--duration, --repeats and --threads must be at least 1");
        }
        if o.connections.is_empty() || o.connections.contains(&0) {
            bail!("--connections needs counts of at least 1");
        }
        for s in &o.servers {
            if !["soapwire", "gsoap", "node-soap", "nginx"].contains(&s.as_str()) {
                bail!("unknown server {s:?} (soapwire, gsoap, node-soap, nginx)");
            }
        }
        for (label, _, _) in &o.compare {
            if o.servers.contains(label) || label.is_empty() {
                bail!("--compare label {label:?} is empty or clashes with a server name");
            }
        }
        Ok(o)
    }
}

/// `cargo xtask bench ...`
pub(crate) fn bench(args: &[&str]) -> Result<()> {
    match args {
        ["echo", rest @ ..] => echo(&Options::parse(rest)?),
        ["mtom", rest @ ..] => mtom::mtom(rest),
        ["mtom-client", rest @ ..] => mtom::client(rest),
        ["mtom-sink", rest @ ..] => mtom::sink(rest),
        ["nettcp", rest @ ..] => nettcp::nettcp(rest),
        ["nettcp-client", rest @ ..] => nettcp::client(rest),
        ["xml", rest @ ..] => xml::xml(rest),
        ["instructions", rest @ ..] => instructions::instructions(rest),
        [] | ["help" | "-h" | "--help"] => {
            println!("{USAGE}\n\n{}\n\n{}\n\n{}\n\n{}", mtom::USAGE, nettcp::USAGE, xml::USAGE, instructions::USAGE);
            Ok(())
        }
        _ => bail!(
            "unknown benchmark {:?}\n\n{USAGE}\n\n{}\n\n{}\n\n{}\n\n{}",
            args.join(" "),
            mtom::USAGE,
            nettcp::USAGE,
            xml::USAGE,
            instructions::USAGE
        ),
    }
}

/// `cargo build --release -p P...` for `packages`; returns the release directory.
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

/// The target directory cargo uses: `CARGO_TARGET_DIR` when set (relative to the repository
/// root), else `<repo>/target`.
fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(d) => repo_root().join(d),
        None => repo_root().join("target"),
    }
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH").is_some_and(|paths| env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// wrk and nginx come from apt (interop/peers/baseline/install.sh, root needed).
fn ensure_tools() -> Result<()> {
    let missing: Vec<&str> =
        ["wrk", "nginx"].into_iter().filter(|p| !on_path(p) && !Path::new("/usr/sbin").join(p).is_file()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("==> {} missing: running interop/peers/baseline/install.sh", missing.join(", "));
    if !is_root() {
        bail!(
            "{} missing and installing needs root (run interop/peers/baseline/install.sh as root)",
            missing.join(", ")
        );
    }
    run(Command::new(peers_dir().join("baseline").join("install.sh")))
}

fn nginx_program() -> PathBuf {
    if on_path("nginx") { PathBuf::from("nginx") } else { PathBuf::from("/usr/sbin/nginx") }
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let dir = env::temp_dir().join(format!("soapwire-bench-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A free port on 127.0.0.1 (bound, read, released; the server binds it right after).
fn free_port() -> Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free loopback port")?;
    Ok(l.local_addr()?.port())
}

/// The pids of `pid`'s descendants, from /proc (children before grandchildren).
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let Ok(stat) = fs::read_to_string(e.path().join("stat")) else { continue };
            // pid (comm) state ppid ...; comm may contain spaces and parentheses.
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if let Some(pp) = ppid {
                parent_of.push((p, pp));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &parent_of {
            if pp == parent && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}

/// `/proc/PID/stat` counts CPU time in clock ticks of `USER_HZ`, 100 on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU time of `pid` (`self` for this process) in clock ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ... utime stime: fields 14 and 15, the 12th and 13th after ')'.
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = rest.next()?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU ticks of `pid` and its live descendants (nginx's workers).
fn tree_cpu_ticks(pid: u32) -> u64 {
    std::iter::once(pid).chain(descendants(pid)).filter_map(|p| cpu_ticks(&p.to_string())).sum()
}

fn signal(sig: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .args(pids.iter().map(u32::to_string))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// One server under test. Dropping it stops the process and everything it started.
struct Server {
    name: String,
    url: String,
    log: PathBuf,
    child: Child,
}

impl Server {
    fn spawn(name: &str, mut cmd: Command, url: String, dir: &Path) -> Result<Server> {
        let log = dir.join(format!("{name}.log"));
        let out = fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let shown = describe(&cmd);
        let child = cmd.spawn().with_context(|| format!("starting {name}: `{shown}`"))?;
        println!("    {name}: pid {} `{shown}` -> {url}", child.id());
        Ok(Server { name: name.to_string(), url, log, child })
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Waits until the server answers one echo request correctly.
    fn wait_ready(&mut self, envelope: &[u8]) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited during start-up ({status}); its log:\n{}", self.name, self.log_tail());
            }
            match echo_once(&self.url, envelope) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    bail!(
                        "{} did not answer an echo request correctly within 30 s: {e:#}\n{}",
                        self.name,
                        self.log_tail()
                    )
                }
                Err(_) => sleep(Duration::from_millis(100)),
            }
        }
    }

    fn still_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited during the benchmark ({status}); its log:\n{}", self.name, self.log_tail());
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.child.id();
        let mut all = vec![pid];
        all.extend(descendants(pid));
        signal("TERM", &all);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            sleep(Duration::from_millis(20));
        }
        // Whatever is left (a stuck server, or nginx workers whose master was killed).
        let left: Vec<u32> =
            all.iter().copied().filter(|p| *p != pid && Path::new(&format!("/proc/{p}")).exists()).collect();
        signal("KILL", &left);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs the envelope once with `Connection: close`; Ok when the reply is 200 and echoes.
fn echo_once(url: &str, envelope: &[u8]) -> Result<()> {
    let rest = url.strip_prefix("http://").context("http URL")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let addr: SocketAddr = authority.parse().with_context(|| format!("bad address {authority}"))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: text/xml; charset=utf-8\r\n\
         SOAPAction: \"http://example.org/echo/echo\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        envelope.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(envelope)?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply)?;
    let reply = String::from_utf8_lossy(&reply);
    let status = reply.lines().next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 200") && !status.starts_with("HTTP/1.0 200") {
        bail!("status line {status:?}");
    }
    if !reply.contains("hello, world") {
        bail!("the reply does not echo 'hello, world'");
    }
    Ok(())
}

/// What one server needs to start.
enum Kind {
    Soapwire(PathBuf, Vec<String>),
    /// gSOAP's `echo_server` with extra arguments (`-m`: always answer MTOM).
    Gsoap(Vec<String>),
    NodeSoap,
    Nginx,
}

fn start(name: &str, kind: &Kind, dir: &Path) -> Result<Server> {
    let port = free_port()?;
    match kind {
        Kind::Soapwire(bin, extra) => {
            let url = format!("http://127.0.0.1:{port}/echo");
            let mut cmd = Command::new(bin);
            cmd.args(["serve", "echo", "--listen", &url]).args(extra);
            Server::spawn(name, cmd, url, dir)
        }
        Kind::Gsoap(extra) => {
            let bin = peers_prefix().join("gsoap").join("echo_server");
            if !bin.is_file() {
                bail!("{} is missing; install the peers first (`cargo xtask peers install`)", bin.display());
            }
            let mut cmd = Command::new(bin);
            cmd.args(["-a", "127.0.0.1", "-p", &port.to_string()]).args(extra);
            Server::spawn(name, cmd, format!("http://127.0.0.1:{port}/"), dir)
        }
        Kind::NodeSoap => {
            let modules = peers_prefix().join("node").join("node_modules");
            if !modules.join("soap").join("package.json").is_file() || !on_path("node") {
                bail!("node-soap is not installed under {}; `cargo xtask peers install`", modules.display());
            }
            let mut cmd = Command::new("node");
            cmd.env("NODE_PATH", &modules)
                .arg(peers_dir().join("node-soap").join("echo_server.js"))
                .args(["--port", &port.to_string()]);
            Server::spawn(name, cmd, format!("http://127.0.0.1:{port}/echo"), dir)
        }
        Kind::Nginx => {
            let template_path = peers_dir().join("baseline").join("nginx.conf.in");
            let template =
                fs::read_to_string(&template_path).with_context(|| format!("reading {}", template_path.display()))?;
            let run_dir = dir.join("nginx");
            fs::create_dir_all(&run_dir)?;
            let mut conf = template.replace("@RUN@", &run_dir.display().to_string());
            for (from, to) in
                [("listen 127.0.0.1:18080", format!("listen 127.0.0.1:{port}")), ("daemon on;", "daemon off;".into())]
            {
                if !conf.contains(from) {
                    bail!("{} no longer contains {from:?}; update xtask/src/bench.rs", template_path.display());
                }
                conf = conf.replace(from, &to);
            }
            let conf_path = run_dir.join("nginx.conf");
            fs::write(&conf_path, conf)?;
            let mut cmd = Command::new(nginx_program());
            cmd.arg("-p").arg(&run_dir).arg("-e").arg(run_dir.join("error.log")).arg("-c").arg(&conf_path);
            Server::spawn(name, cmd, format!("http://127.0.0.1:{port}/"), dir)
        }
    }
}

/// Starts every server of `plan` (logs in `dir`), then waits until each answers `envelope`.
fn start_servers(plan: &[(String, Kind)], dir: &Path, envelope: &[u8]) -> Result<Vec<Server>> {
    println!("==> starting {} servers on 127.0.0.1", plan.len());
    let mut servers: Vec<Server> = Vec::new();
    for (name, kind) in plan {
        servers.push(start(name, kind, dir)?);
    }
    for s in &mut servers {
        s.wait_ready(envelope)?;
    }
    Ok(servers)
}

/// The SOAP 1.1 `echo("hello, world")` envelope every server must answer (echo11.xml).
fn echo_envelope() -> Result<Vec<u8>> {
    let path = peers_dir().join("common").join("echo11.xml");
    fs::read(&path).with_context(|| format!("reading {}", path.display()))
}

/// One wrk run's SUMMARY line.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    rps: f64,
    requests: u64,
    /// The server's CPU time (user + system, its descendants included) per request, in µs.
    server_cpu_us: f64,
    p50_us: f64,
    p99_us: f64,
    non200: u64,
    badbody: u64,
    sockerr: u64,
}

impl Sample {
    fn errors(&self) -> u64 {
        self.non200 + self.badbody + self.sockerr
    }
}

/// Parses `SUMMARY rps=.. requests=.. p50_us=.. p99_us=.. mean_us=.. non200=.. badbody=.. sockerr=..`.
fn parse_summary(output: &str) -> Result<Sample> {
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix("SUMMARY "))
        .with_context(|| format!("no SUMMARY line in wrk's output:\n{output}"))?;
    let fields: BTreeMap<&str, &str> = line.split_whitespace().filter_map(|kv| kv.split_once('=')).collect();
    let num = |k: &str| -> Result<f64> {
        fields
            .get(k)
            .with_context(|| format!("SUMMARY has no {k}: {line}"))?
            .parse::<f64>()
            .with_context(|| format!("SUMMARY {k}: {line}"))
    };
    let count = |k: &str| -> Result<u64> {
        fields
            .get(k)
            .with_context(|| format!("SUMMARY has no {k}: {line}"))?
            .parse::<u64>()
            .with_context(|| format!("SUMMARY {k}: {line}"))
    };
    Ok(Sample {
        rps: num("rps")?,
        requests: count("requests")?,
        server_cpu_us: f64::NAN,
        p50_us: num("p50_us")?,
        p99_us: num("p99_us")?,
        non200: count("non200")?,
        badbody: count("badbody")?,
        sockerr: count("sockerr")?,
    })
}

fn wrk(url: &str, conns: usize, threads: usize, secs: u64) -> Result<Sample> {
    let common = peers_dir().join("common");
    let mut cmd = Command::new("wrk");
    cmd.current_dir(&common)
        .arg(format!("-t{}", threads.min(conns)))
        .arg(format!("-c{conns}"))
        .arg(format!("-d{secs}s"))
        .args(["--latency", "-s", "soap_post.lua", url, "--", "echo11.xml", "11", "http://example.org/echo/echo"])
        .arg("hello, world");
    let shown = describe(&cmd);
    let out = cmd.output().with_context(|| format!("running `{shown}`"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("`{shown}` failed ({}): {}{}", out.status, stdout, String::from_utf8_lossy(&out.stderr));
    }
    parse_summary(&stdout).with_context(|| format!("`{shown}`"))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// 12345.6 -> "12,346".
fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").map(|k| k.trim().to_string()).unwrap_or_default();
    format!("{cpus} CPUs ({model}), Linux {kernel}")
}

/// Results keyed by (server, conns): one sample per repeat, in repeat order.
type Results = BTreeMap<(String, usize), Vec<Sample>>;

fn echo(o: &Options) -> Result<()> {
    let started = Instant::now();
    ensure_tools()?;
    let bin = match &o.bin {
        Some(b) => b.clone(),
        None => build_release(&["soapwire-cli"])?.join("soapwire"),
    };
    for b in std::iter::once(&bin).chain(o.compare.iter().filter_map(|(_, p, _)| p.as_ref())) {
        if !b.is_file() {
            bail!("soapwire binary {} not found", b.display());
        }
    }
    let envelope = echo_envelope()?;

    // Declared first, dropped last: the servers (and their logs) go before the directory.
    let tmp = TempDir::new()?;
    let mut plan: Vec<(String, Kind)> = Vec::new();
    for s in &o.servers {
        let kind = match s.as_str() {
            "soapwire" => Kind::Soapwire(bin.clone(), Vec::new()),
            "gsoap" => Kind::Gsoap(Vec::new()),
            "node-soap" => Kind::NodeSoap,
            _ => Kind::Nginx,
        };
        plan.push((s.clone(), kind));
    }
    for (label, path, args) in &o.compare {
        plan.push((label.clone(), Kind::Soapwire(path.clone().unwrap_or_else(|| bin.clone()), args.clone())));
    }

    let mut servers = start_servers(&plan, &tmp.0, &envelope)?;

    let machine = machine();
    let conns_list = o.connections.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    println!(
        "==> {machine}; wrk -t{} -d{}s, connections {conns_list}, {} repeats interleaved (order rotated per repeat)",
        o.threads, o.duration, o.repeats
    );
    if o.warmup > 0 {
        for s in &mut servers {
            let c = o.connections.iter().copied().max().unwrap_or(1);
            let w = wrk(&s.url, c, o.threads, o.warmup)?;
            println!("    warm-up {:<10} c={c:<3} {:>9} req/s", s.name, thousands(w.rps));
        }
    }

    let mut results: Results = BTreeMap::new();
    let n = servers.len();
    for rep in 0..o.repeats {
        for k in 0..n {
            let s = &mut servers[(k + rep) % n];
            for &c in &o.connections {
                let ticks = tree_cpu_ticks(s.child.id());
                let mut sample = wrk(&s.url, c, o.threads, o.duration)?;
                let used = tree_cpu_ticks(s.child.id()).saturating_sub(ticks) as f64 / TICKS_PER_SECOND;
                sample.server_cpu_us = used * 1e6 / sample.requests.max(1) as f64;
                s.still_running()?;
                println!(
                    "    rep {} {:<10} c={c:<3} {:>9} req/s  p50 {:>6} us  p99 {:>7} us  server CPU {:>5.1} us/req  errors (non200/body/sock) {}/{}/{}",
                    rep + 1,
                    s.name,
                    thousands(sample.rps),
                    sample.p50_us,
                    sample.p99_us,
                    sample.server_cpu_us,
                    sample.non200,
                    sample.badbody,
                    sample.sockerr
                );
                results.entry((s.name.clone(), c)).or_default().push(sample);
            }
        }
    }
    let names: Vec<String> = servers.iter().map(|s| s.name.clone()).collect();
    drop(servers);

    let raw = write_raw(&results)?;
    println!();
    let report = report(o, &names, &results, &machine);
    print!("{report}");
    println!("raw samples: {}", raw.display());
    println!("total time {:.0} s", started.elapsed().as_secs_f64());

    let bad: Vec<String> = results
        .iter()
        .filter(|(_, v)| v.iter().any(|s| s.errors() > 0))
        .map(|((name, c), v)| {
            let (a, b, e) = v.iter().fold((0, 0, 0), |(a, b, e), s| (a + s.non200, b + s.badbody, e + s.sockerr));
            format!("{name} at c={c}: non200={a} badbody={b} sockerr={e}")
        })
        .collect();
    drop(tmp);
    if !bad.is_empty() {
        bail!("some servers answered incorrectly:\n  {}", bad.join("\n  "));
    }
    Ok(())
}

/// Writes `text` to `$CARGO_TARGET_DIR/bench/NAME-<unix seconds>.tsv` and returns the path.
fn write_bench_file(name: &str, text: &str) -> Result<PathBuf> {
    let dir = target_dir().join("bench");
    fs::create_dir_all(&dir)?;
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let path = dir.join(format!("{name}-{secs}.tsv"));
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn write_raw(results: &Results) -> Result<PathBuf> {
    let mut text = String::from("server\tconns\trep\trps\tp50_us\tp99_us\tserver_cpu_us\tnon200\tbadbody\tsockerr\n");
    for ((name, c), samples) in results {
        for (i, s) in samples.iter().enumerate() {
            let _ = writeln!(
                text,
                "{name}\t{c}\t{}\t{:.1}\t{}\t{}\t{:.2}\t{}\t{}\t{}",
                i + 1,
                s.rps,
                s.p50_us,
                s.p99_us,
                s.server_cpu_us,
                s.non200,
                s.badbody,
                s.sockerr
            );
        }
    }
    write_bench_file("echo", &text)
}

/// The samples of `name` at `c`, one per repeat.
fn rps_of<'a>(results: &'a Results, name: &str, c: usize) -> Option<&'a Vec<Sample>> {
    results.get(&(name.to_string(), c))
}

/// "1.23x (per repeat 1.10..1.40)" for soapwire's rate over `other`'s (paired by repeat).
fn ratio(results: &Results, ours: &str, other: &str, c: usize, latency: bool) -> Option<String> {
    let a = rps_of(results, ours, c)?;
    let b = rps_of(results, other, c)?;
    let pick = |s: &Sample| if latency { s.p50_us } else { s.rps };
    let av: Vec<f64> = a.iter().map(pick).collect();
    let bv: Vec<f64> = b.iter().map(pick).collect();
    Some(paired_ratio(&av, &bv))
}

/// "1.23x (per repeat 1.10..1.40)": the ratio of the medians of `a` and `b`, and the range of
/// the ratios paired by repeat (left out for a single repeat).
fn paired_ratio(a: &[f64], b: &[f64]) -> String {
    let paired: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    let r = median(&mut a.to_vec()) / median(&mut b.to_vec());
    if paired.len() > 1 {
        let (lo, hi) = min_max(&paired);
        format!("{r:.2}x (per repeat {lo:.2}..{hi:.2})")
    } else {
        format!("{r:.2}x")
    }
}

fn report(o: &Options, names: &[String], results: &Results, machine: &str) -> String {
    let md = o.markdown;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{machine}; wrk -t{} -d{}s, median of {} interleaved repeats",
        if md { "" } else { "# " },
        o.threads,
        o.duration,
        o.repeats
    );
    for &c in &o.connections {
        let _ = writeln!(out);
        if md {
            let _ = writeln!(out, "**c={c}**\n");
            let _ =
                writeln!(out, "| server | req/s (median) | min..max | p50 µs | p99 µs | server CPU µs/req | errors |");
            let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        } else {
            let _ = writeln!(out, "c={c}");
            let _ = writeln!(
                out,
                "  {:<12} {:>10} {:>22} {:>9} {:>9} {:>9} {:>7}",
                "server", "req/s", "min..max", "p50 us", "p99 us", "CPU us/r", "errors"
            );
        }
        for name in names {
            let Some(samples) = rps_of(results, name, c) else { continue };
            let mut rps: Vec<f64> = samples.iter().map(|s| s.rps).collect();
            let (lo, hi) = min_max(&rps);
            let mut p50: Vec<f64> = samples.iter().map(|s| s.p50_us).collect();
            let mut p99: Vec<f64> = samples.iter().map(|s| s.p99_us).collect();
            let errors: u64 = samples.iter().map(Sample::errors).sum();
            let range = format!("{}..{}", thousands(lo), thousands(hi));
            let mut cpu: Vec<f64> = samples.iter().map(|s| s.server_cpu_us).collect();
            let (m, m50, m99) = (thousands(median(&mut rps)), thousands(median(&mut p50)), thousands(median(&mut p99)));
            let mcpu = format!("{:.1}", median(&mut cpu));
            if md {
                let _ = writeln!(out, "| {name} | {m} | {range} | {m50} | {m99} | {mcpu} | {errors} |");
            } else {
                let _ = writeln!(out, "  {name:<12} {m:>10} {range:>22} {m50:>9} {m99:>9} {mcpu:>9} {errors:>7}");
            }
        }
        let mut lines = Vec::new();
        let ours: Vec<&String> =
            names.iter().filter(|n| !["gsoap", "node-soap", "nginx"].contains(&n.as_str())).collect();
        for our in ours {
            if let Some(r) = ratio(results, our, "gsoap", c, false) {
                lines.push(format!("{our}/gSOAP req/s {r}"));
            }
            if let Some(r) = ratio(results, our, "nginx", c, false) {
                lines.push(format!("{our}/nginx req/s {r}"));
            }
            if c == 1 {
                if let Some(r) = ratio(results, our, "gsoap", c, true) {
                    lines.push(format!("{our}/gSOAP p50 latency {r}"));
                }
            }
            if our != "soapwire" {
                if let Some(r) = ratio(results, our, "soapwire", c, false) {
                    lines.push(format!("{our}/soapwire req/s {r}"));
                }
            }
        }
        if !lines.is_empty() {
            let _ = writeln!(out);
            for l in lines {
                let _ = writeln!(out, "{}{l}", if md { "- " } else { "  " });
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{}targets (issue 4): soapwire/gSOAP >= 2.0x at c=32; soapwire/nginx >= 0.7x; p50 at c=1 <= gSOAP's (ratio <= 1.0x)",
        if md { "" } else { "# " }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_is_parsed() {
        let s = parse_summary(
            "Running 1s test\nSUMMARY rps=12345.6 requests=12345 p50_us=80 p99_us=250 mean_us=90.5 non200=0 badbody=1 sockerr=2\n",
        )
        .expect("parses");
        assert_eq!(s.rps, 12345.6);
        assert_eq!((s.p50_us, s.p99_us), (80.0, 250.0));
        assert_eq!((s.non200, s.badbody, s.sockerr), (0, 1, 2));
        assert!(parse_summary("no summary").is_err());
    }

    #[test]
    fn medians_and_numbers() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }

    #[test]
    fn options() {
        let o = Options::parse(&[
            "--duration",
            "1",
            "--repeats=1",
            "--connections",
            "1,32",
            "--compare",
            "old=/x",
            "--compare",
            "st=--worker-threads 1",
        ])
        .expect("parses");
        assert_eq!((o.duration, o.repeats, o.connections.clone()), (1, 1, vec![1, 32]));
        assert_eq!(o.compare[0], ("old".to_string(), Some(PathBuf::from("/x")), vec![]));
        assert_eq!(o.compare[1], ("st".to_string(), None, vec!["--worker-threads".to_string(), "1".to_string()]));
        assert!(Options::parse(&["--servers", "iis"]).is_err());
    }
}
