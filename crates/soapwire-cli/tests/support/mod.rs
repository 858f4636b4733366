//! Harness for the interop tests: start real third-party peers and the `soapwire` binary on
//! 127.0.0.1, run clients with a timeout, and check replies. Standard library only.
//!
//! - Every child process lives in a [`Proc`], which kills and reaps it on drop (also when a test
//!   panics). Every wait has a deadline ([`TIMEOUT`]), so a hang fails the test.
//! - Servers listen on ports picked by binding 127.0.0.1:0; `soapwire serve` binds :0 itself and
//!   prints the real address, which we parse.
//! - Every child gets the proxy variables removed and `NO_PROXY` set to loopback, so that zeep
//!   (requests) and node-soap (axios) never route a 127.0.0.1 request through a proxy.
//! - The peers live in `$PEERS_PREFIX` (default `/opt/soap-peers`), installed by
//!   `interop/peers/install_all.sh`. A missing peer skips the test with a note, or fails it when
//!   `SOAPWIRE_REQUIRE_PEERS` is set (CI sets it through `cargo xtask test`).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Deadline for any single wait: a client run, a server start-up.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

/// soapAction of `echo` in `interop/peers/common/echo.wsdl`.
pub(crate) const ACTION_ECHO: &str = "http://example.org/echo/echo";
/// soapAction of `echoData`.
pub(crate) const ACTION_ECHO_DATA: &str = "http://example.org/echo/echoData";
/// Target namespace of the echo contract.
pub(crate) const ECHO_NS: &str = "http://example.org/echo";

/// The text every echo test sends: it needs escaping in XML (`<`, `&`, `>`, quotes). ASCII on
/// purpose: the gSOAP peer is built without `SOAP_C_UTFSTRING`, so it treats `char*` as
/// Latin-1 and mangles anything above U+00FF (a zeep or node-soap call to it with `€ 日本`
/// comes back as `¬ å,`). Non-ASCII text is tested with zeep and node-soap only
/// ([`MESSAGE_NON_ASCII`]).
pub(crate) const MESSAGE: &str = "soapwire interop: <a & b> \"quoted\" 'single'";

/// Non-ASCII text (2-, 3- and 4-byte UTF-8) for the peers that are UTF-8 clean (zeep,
/// node-soap; checked against each other).
pub(crate) const MESSAGE_NON_ASCII: &str = "grüße € 日本 🦀 <&>";

/// Size of the echoData payload (64 KiB).
pub(crate) const DATA_LEN: usize = 64 * 1024;

/// One mebibyte, for the MTOM payload sizes.
pub(crate) const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Where things are

/// The repository root.
pub(crate) fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    root.canonicalize().unwrap_or(root)
}

/// `interop/peers/` in the repository (the peer scripts and the shared WSDL).
pub(crate) fn peers_dir() -> PathBuf {
    repo_root().join("interop").join("peers")
}

/// Where the peers are installed: `$PEERS_PREFIX`, default `/opt/soap-peers`.
pub(crate) fn peers_prefix() -> PathBuf {
    std::env::var_os("PEERS_PREFIX")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/opt/soap-peers"), PathBuf::from)
}

fn soapwire_exe() -> &'static str {
    env!("CARGO_BIN_EXE_soapwire")
}

// ---------------------------------------------------------------------------------------------
// Peers present?

/// A third-party peer the tests drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    /// gSOAP 2.8 echo_server / echo_client (C), built by `interop/peers/gsoap/install.sh`.
    Gsoap,
    /// zeep 4.3 (Python) in `$PEERS_PREFIX/venv`.
    Zeep,
    /// node-soap 1.13 (npm `soap`) in `$PEERS_PREFIX/node`.
    NodeSoap,
    /// pynettcp 0.1 (Python net.tcp client, byte-exact with WCF) in `$PEERS_PREFIX/venv`.
    #[allow(dead_code)] // used by tests/nettcp.rs, not by every test binary
    PyNetTcp,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Gsoap => "gSOAP",
            Peer::Zeep => "zeep",
            Peer::NodeSoap => "node-soap",
            Peer::PyNetTcp => "pynettcp",
        }
    }

    /// What is missing for this peer, if anything.
    fn missing(self) -> Vec<String> {
        let prefix = peers_prefix();
        let mut need: Vec<(String, bool)> = Vec::new();
        let mut file = |p: PathBuf| {
            let ok = p.is_file();
            need.push((p.display().to_string(), ok));
        };
        match self {
            Peer::Gsoap => {
                file(prefix.join("gsoap/echo_server"));
                file(prefix.join("gsoap/echo_client"));
            }
            Peer::Zeep => {
                file(prefix.join("venv/bin/python"));
                file(peers_dir().join("python-zeep-spyne/zeep_echo_client.py"));
                let lib = prefix.join("venv/lib");
                let ok = std::fs::read_dir(&lib)
                    .is_ok_and(|dirs| dirs.flatten().any(|d| d.path().join("site-packages/zeep").is_dir()));
                need.push((format!("zeep in {}", lib.display()), ok));
            }
            Peer::NodeSoap => {
                file(prefix.join("node/node_modules/soap/package.json"));
                file(peers_dir().join("node-soap/echo_server.js"));
                file(peers_dir().join("node-soap/client.sh"));
                need.push(("`node` on PATH".to_string(), find_on_path("node").is_some()));
            }
            Peer::PyNetTcp => {
                file(prefix.join("venv/bin/python"));
                file(peers_dir().join("nettcp/pynettcp_echo_client.py"));
                file(peers_dir().join("nettcp/pynettcp_echo_server.py"));
                file(peers_dir().join("nettcp/pynettcp_codegen_client.py"));
                let lib = prefix.join("venv/lib");
                let ok = std::fs::read_dir(&lib)
                    .is_ok_and(|dirs| dirs.flatten().any(|d| d.path().join("site-packages/pynettcp").is_dir()));
                need.push((format!("pynettcp in {}", lib.display()), ok));
            }
        }
        need.into_iter().filter(|(_, ok)| !ok).map(|(what, _)| what).collect()
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file())
}

fn peers_required() -> bool {
    std::env::var_os("SOAPWIRE_REQUIRE_PEERS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// True when `peer` is installed. When it is not: panics if `SOAPWIRE_REQUIRE_PEERS` is set,
/// otherwise prints a note and returns false (the caller returns early: the test is skipped).
pub(crate) fn peer_available(peer: Peer) -> bool {
    let missing = peer.missing();
    if missing.is_empty() {
        return true;
    }
    let what = format!("the {} peer is not installed (missing: {})", peer.name(), missing.join(", "));
    if peers_required() {
        panic!(
            "{what}.\nSOAPWIRE_REQUIRE_PEERS is set, so this is a failure. Install the peers with \
             `cargo xtask peers install` (runs interop/peers/install_all.sh; apt needs root)."
        );
    }
    eprintln!(
        "note: skipping this test: {what}. Run `cargo xtask peers install`; set \
         SOAPWIRE_REQUIRE_PEERS=1 to turn a missing peer into a failure."
    );
    false
}

// ---------------------------------------------------------------------------------------------
// Processes

/// The environment every child gets: no proxies, loopback excluded from proxying anyway.
fn loopback_env(cmd: &mut Command) {
    for var in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        cmd.env_remove(var);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUTF8", "1")
        .env("PYTHONIOENCODING", "utf-8");
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| {
            let a = a.to_string_lossy();
            if a.len() > 200 {
                format!("{}...({} bytes)", clip(&a, 200), a.len())
            } else if a.contains(' ') || a.is_empty() {
                format!("'{a}'")
            } else {
                a.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How much of a client's stdout/stderr goes into a failure report (a 64 KiB echoData reply
/// would otherwise bury the message).
const REPORT_LIMIT: usize = 4000;

/// `s` cut to at most `max` bytes on a char boundary, with a note when cut.
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}[... {} more bytes]", &s[..end], s.len() - end)
}

type Buffer = Arc<Mutex<Vec<u8>>>;

fn snapshot(buf: &Buffer) -> String {
    let bytes = buf.lock().map(|b| b.clone()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Copies everything from `r` into a shared buffer on a thread.
fn drain<R: Read + Send + 'static>(mut r: R) -> (Buffer, JoinHandle<()>) {
    let buf: Buffer = Arc::default();
    let out = Arc::clone(&buf);
    let handle = thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut b) = out.lock() {
                        b.extend_from_slice(&chunk[..n]);
                    }
                }
            }
        }
    });
    (buf, handle)
}

/// Copies stdout into a shared buffer line by line and also sends each line on a channel (so a
/// server's "listening on" line can be awaited with a deadline). The channel closes at EOF.
fn drain_lines(stdout: ChildStdout) -> (Buffer, Receiver<String>) {
    let buf: Buffer = Arc::default();
    let out = Arc::clone(&buf);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if let Ok(mut b) = out.lock() {
                        b.extend_from_slice(line.as_bytes());
                    }
                    let _ = tx.send(line.trim_end_matches(['\r', '\n']).to_string());
                }
            }
        }
    });
    (buf, rx)
}

/// A long-running child (a server). Killed and reaped on drop.
pub(crate) struct Proc {
    name: String,
    command: String,
    child: Child,
    stdout: Buffer,
    stderr: Buffer,
    lines: Receiver<String>,
}

impl Proc {
    /// Spawns `cmd` with piped stdout/stderr (both drained continuously).
    fn spawn(name: &str, mut cmd: Command) -> Proc {
        loopback_env(&mut cmd);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let command = describe(&cmd);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{name}: could not start `{command}`: {e}"));
        let (stdout, lines) = match child.stdout.take() {
            Some(s) => drain_lines(s),
            None => (Arc::default(), mpsc::channel().1),
        };
        let stderr = match child.stderr.take() {
            Some(s) => drain(s).0,
            None => Arc::default(),
        };
        Proc { name: name.to_string(), command, child, stdout, stderr, lines }
    }

    /// Everything the process printed so far, for failure messages.
    pub(crate) fn logs(&self) -> String {
        format!(
            "--- {} (`{}`) stdout ---\n{}\n--- {} stderr ---\n{}",
            self.name,
            self.command,
            clip(&snapshot(&self.stdout), REPORT_LIMIT),
            self.name,
            clip(&snapshot(&self.stderr), REPORT_LIMIT)
        )
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the first stdout line, with a deadline.
    fn first_line(&mut self) -> String {
        match self.lines.recv_timeout(TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("{}: printed nothing on stdout within {:?}\n{}", self.name, TIMEOUT, self.logs())
            }
            Err(RecvTimeoutError::Disconnected) => {
                // Stdout closed: the process is gone (or closed it). Give stderr a moment.
                let deadline = Instant::now() + Duration::from_secs(2);
                let mut status = None;
                while status.is_none() && Instant::now() < deadline {
                    status = self.exited();
                    thread::sleep(Duration::from_millis(20));
                }
                panic!(
                    "{}: closed stdout without printing a line (exit: {})\n{}",
                    self.name,
                    status.map_or("still running".to_string(), |s| s.to_string()),
                    self.logs()
                )
            }
        }
    }

    /// Waits until 127.0.0.1:`port` accepts connections. Returns false if the process exited
    /// first (e.g. the port was taken in the meantime); panics at the deadline.
    fn wait_port(&mut self, port: u16) -> bool {
        let deadline = Instant::now() + TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            if self.exited().is_some() {
                return false;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: 127.0.0.1:{port} not accepting connections after {:?}\n{}",
                    self.name,
                    TIMEOUT,
                    self.logs()
                );
            }
            thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (bind :0, read the port, release it).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0: {e}"))
}

/// The result of a finished client run.
pub(crate) struct Run {
    pub(crate) name: String,
    pub(crate) command: String,
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// Wall-clock time from spawn to exit.
    pub(crate) elapsed: Duration,
}

impl Run {
    /// A report of this run plus the logs of `servers`, for panic messages.
    pub(crate) fn report(&self, servers: &[&EchoServer]) -> String {
        let mut s = format!(
            "{} (`{}`): {} after {:.2?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.name,
            self.command,
            self.status,
            self.elapsed,
            clip(&self.stdout, REPORT_LIMIT),
            clip(&self.stderr, REPORT_LIMIT)
        );
        for server in servers {
            let _ = write!(s, "\n{}", server.proc.logs());
        }
        s
    }

    /// Panics unless the run exited 0.
    pub(crate) fn assert_success(&self, servers: &[&EchoServer]) -> &Self {
        assert!(self.status.success(), "client failed\n{}", self.report(servers));
        self
    }

    /// Panics unless the run exited 0 and its stdout, trimmed, equals `expected`.
    pub(crate) fn assert_stdout_is(&self, expected: &str, servers: &[&EchoServer]) {
        self.assert_success(servers);
        assert_eq!(
            self.stdout.trim_end_matches(['\r', '\n']),
            expected,
            "unexpected client output\n{}",
            self.report(servers)
        );
    }

    /// Panics unless the run exited 0 and stdout contains a line starting with `prefix`;
    /// returns that line.
    pub(crate) fn assert_line_starting(&self, prefix: &str, servers: &[&EchoServer]) -> &str {
        self.assert_success(servers);
        self.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no output line starts with {prefix:?}\n{}", self.report(servers)))
    }
}

/// Runs `cmd` to completion with [`TIMEOUT`], feeding `stdin` if given. Kills it at the deadline
/// and panics with what it printed.
pub(crate) fn run(name: &str, mut cmd: Command, stdin: Option<&[u8]>) -> Run {
    loopback_env(&mut cmd);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let command = describe(&cmd);
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{name}: could not start `{command}`: {e}"));
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            Some(thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let (stdout, out_thread) = match child.stdout.take() {
        Some(s) => drain(s),
        None => (Arc::default(), thread::spawn(|| ())),
    };
    let (stderr, err_thread) = match child.stderr.take() {
        Some(s) => drain(s),
        None => (Arc::default(), thread::spawn(|| ())),
    };
    let deadline = started + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{name}: no exit within {TIMEOUT:?}; killed\ncommand: {command}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    snapshot(&stdout),
                    snapshot(&stderr)
                );
            }
            Err(e) => panic!("{name}: wait failed: {e}"),
        }
    };
    let elapsed = started.elapsed();
    for t in [Some(out_thread), Some(err_thread), writer].into_iter().flatten() {
        let _ = t.join();
    }
    Run { name: name.to_string(), command, status, stdout: snapshot(&stdout), stderr: snapshot(&stderr), elapsed }
}

// ---------------------------------------------------------------------------------------------
// Servers

/// A running echo server (soapwire or a peer) with its SOAP 1.1 and 1.2 endpoint URLs.
pub(crate) struct EchoServer {
    /// Endpoint for SOAP 1.1.
    pub(crate) url11: String,
    /// Endpoint for SOAP 1.2 (the same as `url11` for soapwire and gSOAP).
    pub(crate) url12: String,
    proc: Proc,
}

impl EchoServer {
    /// What the server printed so far, for failure messages.
    pub(crate) fn logs(&self) -> String {
        self.proc.logs()
    }
}

/// `serve echo` flags for the 64 KiB echoData tests. 64 KiB of inline base64 is about 87 KiB on
/// the wire, more than WWSAPI's default `max_buffered_message_size` of 65536 bytes that
/// `serve echo` keeps by default, so those tests raise the quota to 1 MiB.
pub(crate) const LARGE_MESSAGES: &[&str] = &["--max-message-size", "1048576"];

/// Starts `soapwire serve echo --listen http://127.0.0.1:0/echo` and waits for its
/// `listening on http://127.0.0.1:PORT/echo` line.
pub(crate) fn start_soapwire_echo() -> EchoServer {
    start_soapwire_echo_with(&[])
}

/// [`start_soapwire_echo`] with extra `serve echo` flags.
pub(crate) fn start_soapwire_echo_with(extra: &[&str]) -> EchoServer {
    let mut cmd = Command::new(soapwire_exe());
    cmd.args(["serve", "echo", "--listen", "http://127.0.0.1:0/echo"]).args(extra);
    let mut proc = Proc::spawn("soapwire serve echo", cmd);
    let line = proc.first_line();
    let url = parse_listening_line(&line)
        .unwrap_or_else(|why| panic!("soapwire serve: bad first stdout line {line:?}: {why}\n{}", proc.logs()));
    EchoServer { url11: url.clone(), url12: url, proc }
}

/// Starts `soapwire serve echo` with `args` (its `--listen` flags among them) and waits for
/// one `listening on URL` line per `--listen`; returns the process and the URLs in order.
#[allow(dead_code)] // used by tests/nettcp.rs
pub(crate) fn start_soapwire_serve(args: &[&str]) -> (Proc, Vec<String>) {
    let mut cmd = Command::new(soapwire_exe());
    cmd.args(["serve", "echo"]).args(args);
    let mut proc = Proc::spawn("soapwire serve echo", cmd);
    let count = args.iter().filter(|a| **a == "--listen").count().max(1);
    let mut urls = Vec::new();
    for _ in 0..count {
        let line = proc.first_line();
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("soapwire serve: bad stdout line {line:?}\n{}", proc.logs()));
        urls.push(url.to_string());
    }
    (proc, urls)
}

/// A Python script of the peers' venv: `venv/bin/python interop/peers/SCRIPT ARGS...`.
#[allow(dead_code)] // used by tests/nettcp.rs
pub(crate) fn python_peer(name: &str, script: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(peers_prefix().join("venv/bin/python"));
    cmd.arg(peers_dir().join(script)).args(args);
    run(name, cmd, None)
}

/// Starts `interop/peers/nettcp/pynettcp_echo_server.py` (a net.tcp responder on pynettcp's
/// codecs) and returns it with its `net.tcp://127.0.0.1:PORT/echo` URL.
#[allow(dead_code)] // used by tests/nettcp.rs
pub(crate) fn start_pynettcp_echo_server(scratch: &ScratchDir) -> (Proc, String) {
    let port_file = scratch.path().join("pynettcp.port");
    let mut cmd = Command::new(peers_prefix().join("venv/bin/python"));
    cmd.arg(peers_dir().join("nettcp/pynettcp_echo_server.py")).arg(&port_file);
    let mut proc = Proc::spawn("pynettcp echo server", cmd);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(port) = std::fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse::<u16>().ok()) {
            if proc.wait_port(port) {
                return (proc, format!("net.tcp://127.0.0.1:{port}/echo"));
            }
        }
        if std::time::Instant::now() > deadline {
            panic!("the pynettcp echo server did not start\n{}", proc.logs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Parses `listening on http://127.0.0.1:PORT/echo`; returns the URL.
pub(crate) fn parse_listening_line(line: &str) -> Result<String, String> {
    let url = line.strip_prefix("listening on ").ok_or("expected `listening on http://127.0.0.1:PORT/echo`")?;
    let rest = url.strip_prefix("http://127.0.0.1:").ok_or("the address is not http://127.0.0.1:PORT")?;
    let port = rest.strip_suffix("/echo").ok_or("the path is not /echo")?;
    match port.parse::<u16>() {
        Ok(0) => Err("port 0: not the bound port".to_string()),
        Ok(_) => Ok(url.to_string()),
        Err(e) => Err(format!("bad port {port:?}: {e}")),
    }
}

/// Starts a server on a fresh port (retrying with another port if it exits before it accepts
/// connections, e.g. because the port was taken in between).
fn start_on_free_port(name: &str, make: impl Fn(u16) -> Command) -> (Proc, u16) {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut proc = Proc::spawn(name, make(port));
        if proc.wait_port(port) {
            return (proc, port);
        }
        last = proc.logs();
    }
    panic!("{name}: exited before accepting connections (3 attempts)\n{last}");
}

/// Starts the gSOAP echo server: `echo_server -a 127.0.0.1 -p PORT` (SOAP 1.1 and 1.2 on `/`;
/// it mirrors the request's version; WS-Addressing via the wsaapi plugin). It answers
/// `echoData` with MTOM when the request was MTOM.
pub(crate) fn start_gsoap_echo() -> EchoServer {
    start_gsoap_echo_with(&[])
}

/// The gSOAP echo server with `-m`: it answers every `echoData` with MTOM, even an inline
/// base64 request (the `:18082` server of `interop/peers/gsoap/start.sh`).
pub(crate) fn start_gsoap_mtom_echo() -> EchoServer {
    start_gsoap_echo_with(&["-m"])
}

fn start_gsoap_echo_with(extra: &[&str]) -> EchoServer {
    let exe = peers_prefix().join("gsoap/echo_server");
    let (proc, port) = start_on_free_port("gSOAP echo_server", |port| {
        let mut cmd = Command::new(&exe);
        cmd.args(["-a", "127.0.0.1", "-p", &port.to_string()]).args(extra);
        cmd
    });
    let url = format!("http://127.0.0.1:{port}/");
    EchoServer { url11: url.clone(), url12: url, proc }
}

/// Starts the node-soap echo server (the command of `interop/peers/node-soap/start.sh`):
/// `/echo` is SOAP 1.1, `/echo12` SOAP 1.2.
pub(crate) fn start_node_soap_echo() -> EchoServer {
    let script = peers_dir().join("node-soap/echo_server.js");
    let node_path = peers_prefix().join("node/node_modules");
    let (proc, port) = start_on_free_port("node-soap echo_server.js", |port| {
        let mut cmd = Command::new("node");
        cmd.arg(&script).args(["--host", "127.0.0.1", "--port", &port.to_string()]).env("NODE_PATH", &node_path);
        cmd
    });
    EchoServer {
        url11: format!("http://127.0.0.1:{port}/echo"),
        url12: format!("http://127.0.0.1:{port}/echo12"),
        proc,
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

fn assert_loopback(url: &str) {
    assert!(url.starts_with("http://127.0.0.1:"), "refusing a non-loopback URL in a test: {url}");
}

/// gSOAP `echo_client -u URL ARGS...` (`-m MSG`, `-2`, `-d N [-I]`, `-A`).
pub(crate) fn gsoap_client(url: &str, args: &[&str]) -> Run {
    assert_loopback(url);
    let mut cmd = Command::new(peers_prefix().join("gsoap/echo_client"));
    cmd.args(["-u", url]).args(args);
    run("gSOAP echo_client", cmd, None)
}

/// zeep: `venv/bin/python zeep_echo_client.py --url URL ARGS...` (`--message M`, `--soap12`,
/// `--data N`).
pub(crate) fn zeep_client(url: &str, args: &[&str]) -> Run {
    assert_loopback(url);
    let mut cmd = Command::new(peers_prefix().join("venv/bin/python"));
    cmd.arg(peers_dir().join("python-zeep-spyne/zeep_echo_client.py")).args(["--url", url]).args(args);
    run("zeep client", cmd, None)
}

/// node-soap: `interop/peers/node-soap/client.sh --url URL ARGS...` (`--message M`, `--soap12`,
/// `--data N`).
pub(crate) fn node_soap_client(url: &str, args: &[&str]) -> Run {
    assert_loopback(url);
    let mut cmd = Command::new(peers_dir().join("node-soap/client.sh"));
    cmd.args(["--url", url]).args(args).env("PEERS_PREFIX", peers_prefix());
    run("node-soap client", cmd, None)
}

/// SOAP version flag of `soapwire call`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Soap {
    /// `--soap11`
    V11,
    /// `--soap12`
    V12,
}

/// How `soapwire call` gets the body.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BodyVia {
    /// `--body -` (piped on stdin)
    Stdin,
    /// `--body FILE` (a file under the cargo target's tmp dir)
    File,
}

static BODY_FILES: AtomicUsize = AtomicUsize::new(0);

/// `soapwire call URL --action ACTION --soap11|--soap12 --body FILE|-`.
pub(crate) fn soapwire_call(url: &str, action: &str, soap: Soap, body: &str, via: BodyVia) -> Run {
    soapwire_call_with(url, action, soap, body, via, &[])
}

/// [`soapwire_call`] with extra `call` flags (`--attach NAME=FILE`, `--save-attachments DIR`).
pub(crate) fn soapwire_call_with(
    url: &str,
    action: &str,
    soap: Soap,
    body: &str,
    via: BodyVia,
    extra: &[OsString],
) -> Run {
    assert_loopback(url);
    let mut cmd = Command::new(soapwire_exe());
    cmd.args(["call", url, "--action", action]);
    cmd.arg(match soap {
        Soap::V11 => "--soap11",
        Soap::V12 => "--soap12",
    });
    cmd.args(extra);
    match via {
        BodyVia::Stdin => {
            cmd.args(["--body", "-"]);
            run("soapwire call", cmd, Some(body.as_bytes()))
        }
        BodyVia::File => {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop");
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
            let n = BODY_FILES.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("body-{}-{n}.xml", std::process::id()));
            std::fs::write(&path, body).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            cmd.arg("--body").arg(&path);
            let result = run("soapwire call", cmd, None);
            let _ = std::fs::remove_file(&path);
            result
        }
    }
}

/// A fresh directory under the cargo target's tmp dir, removed (with its contents) on drop.
pub(crate) struct ScratchDir {
    path: PathBuf,
}

static SCRATCH_DIRS: AtomicUsize = AtomicUsize::new(0);

impl ScratchDir {
    /// Creates `$CARGO_TARGET_TMPDIR/interop/TAG-PID-N`.
    pub(crate) fn new(tag: &str) -> ScratchDir {
        let n = SCRATCH_DIRS.fetch_add(1, Ordering::Relaxed);
        let path =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop").join(format!("{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        ScratchDir { path }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------------------------
// Payloads and reply checks

/// The echoData payload the peer clients use too: byte i is `(i * 31 + 7) & 255`. The pattern
/// repeats every 256 bytes, so it is built by copying blocks (64 MiB in a debug build).
pub(crate) fn payload(len: usize) -> Vec<u8> {
    let block: Vec<u8> = (0..256usize).map(|i| (i.wrapping_mul(31).wrapping_add(7) & 255) as u8).collect();
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let take = block.len().min(len - out.len());
        out.extend_from_slice(&block[..take]);
    }
    out
}

/// `<e:echo><e:message>…</e:message></e:echo>` with the text escaped.
pub(crate) fn echo_body(message: &str) -> String {
    format!("<e:echo xmlns:e=\"{ECHO_NS}\"><e:message>{}</e:message></e:echo>", xml_escape(message))
}

/// `<e:echoData><e:data>BASE64</e:data></e:echoData>`.
pub(crate) fn echo_data_body(data: &[u8]) -> String {
    format!("<e:echoData xmlns:e=\"{ECHO_NS}\"><e:data>{}</e:data></e:echoData>", base64_encode(data))
}

/// Where `got` first differs from `expected` (length or a byte), for failure messages.
pub(crate) fn compare_bytes(got: &[u8], expected: &[u8]) -> Result<(), String> {
    if got == expected {
        return Ok(());
    }
    if got.len() != expected.len() {
        return Err(format!("{} bytes, expected {}", got.len(), expected.len()));
    }
    match got.iter().zip(expected).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(i) => Err(format!("byte {i} differs: {:#04x}, expected {:#04x}", got[i], expected[i])),
    }
}

/// `<e:echoData><e:data><xop:Include href="cid:CONTENT_ID"/></e:data></e:echoData>`: the body
/// of an MTOM echoData request whose data is the attachment `CONTENT_ID`.
pub(crate) fn echo_data_include_body(content_id: &str) -> String {
    format!(
        "<e:echoData xmlns:e=\"{ECHO_NS}\"><e:data><xop:Include xmlns:xop=\"{XOP_NS}\" href=\"cid:{}\"/></e:data></e:echoData>",
        xml_escape(content_id)
    )
}

/// Namespace of `xop:Include`.
pub(crate) const XOP_NS: &str = "http://www.w3.org/2004/08/xop/include";

/// Panics unless `xml` (a reply body) holds an `echoResponse` whose `message` is exactly `expected`.
pub(crate) fn assert_echo_reply(run: &Run, expected: &str, servers: &[&EchoServer]) {
    run.assert_success(servers);
    let check = || -> Result<(), String> {
        expect_root(&run.stdout, "echoResponse")?;
        let got = element_text(&run.stdout, "message")?;
        if got == expected { Ok(()) } else { Err(format!("message is {got:?}, expected {expected:?}")) }
    };
    if let Err(why) = check() {
        panic!("bad echo reply: {why}\n{}", run.report(servers));
    }
}

/// Panics unless `xml` holds an `echoDataResponse` whose base64 `data` decodes to `expected`.
pub(crate) fn assert_echo_data_reply(run: &Run, expected: &[u8], servers: &[&EchoServer]) {
    run.assert_success(servers);
    let check = || -> Result<(), String> {
        expect_root(&run.stdout, "echoDataResponse")?;
        let text = element_text(&run.stdout, "data")?;
        compare_bytes(&base64_decode(&text)?, expected)
    };
    if let Err(why) = check() {
        panic!("bad echoData reply: {why}\n{}", run.report(servers));
    }
}

/// Panics unless the run exited 0 and `xml` holds an `echoDataResponse` whose `data` is an
/// `xop:Include`; returns the Content-ID it refers to (`href="cid:…"`, percent-decoded).
pub(crate) fn assert_echo_data_include_reply(run: &Run, servers: &[&EchoServer]) -> String {
    run.assert_success(servers);
    let check = || -> Result<String, String> {
        expect_root(&run.stdout, "echoDataResponse")?;
        let data = element_start(&run.stdout, "data")?;
        let include = element_start(&run.stdout[data..], "Include")
            .map_err(|_| "the reply's data is not an xop:Include (inline base64?)".to_string())?;
        let tag = &run.stdout[data + include..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        if !tag.contains(XOP_NS) && !run.stdout.contains(&format!("\"{XOP_NS}\"")) {
            return Err(format!("the Include element is not in the XOP namespace {XOP_NS}"));
        }
        let href = attribute(tag, "href").ok_or("xop:Include has no href")?;
        let cid = href.strip_prefix("cid:").ok_or_else(|| format!("href {href:?} is not a cid: URL"))?;
        percent_decode(cid)
    };
    check().unwrap_or_else(|why| panic!("bad MTOM echoData reply: {why}\n{}", run.report(servers)))
}

/// Byte offset of the first start tag with local name `local` (any prefix) in `xml`.
fn element_start(xml: &str, local: &str) -> Result<usize, String> {
    let mut pos = 0;
    while let Some(off) = xml[pos..].find('<') {
        let start = pos + off;
        let tag = &xml[start + 1..];
        pos = start + 1;
        if tag.starts_with(['/', '?', '!']) {
            continue;
        }
        let qname = tag.split(|c: char| c.is_whitespace() || c == '/' || c == '>').next().unwrap_or_default();
        if qname.rsplit(':').next() == Some(local) {
            return Ok(start);
        }
    }
    Err(format!("no element with local name {local:?}"))
}

/// The unescaped value of attribute `name` (no prefix) in a start tag `<x … name="v" …`.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + name.len()..].trim_start();
        rest = &rest[i + name.len()..];
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some(value) = after.strip_prefix('=') else { continue };
        let value = value.trim_start();
        let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        let end = value[1..].find(quote)?;
        return xml_unescape(&value[1..=end]).ok();
    }
    None
}

/// Decodes `%XX` escapes (a `cid:` URL is percent-encoded, RFC 2392).
fn percent_decode(s: &str) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: Vec<u8> = bytes.by_ref().take(2).collect();
            let v = std::str::from_utf8(&hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .filter(|_| hex.len() == 2)
                .ok_or_else(|| format!("bad percent escape in {s:?}"))?;
            out.push(v);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|e| format!("{s:?} is not UTF-8 once decoded: {e}"))
}

/// The file name `soapwire call --save-attachments` gives the part `content_id`: every
/// character outside `[A-Za-z0-9._@-]` becomes `_`.
pub(crate) fn saved_attachment_name(content_id: &str) -> String {
    content_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-') { c } else { '_' })
        .collect()
}

/// The value of header `name` (case-insensitive) in a response head.
pub(crate) fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Checks that the first element in `xml` (after any XML declaration, comments and
/// whitespace) has the local name `local`.
fn expect_root(xml: &str, local: &str) -> Result<(), String> {
    let mut rest = xml.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            let end = after.find("?>").ok_or("unterminated <?...?>")?;
            rest = after[end + 2..].trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or("unterminated comment")?;
            rest = after[end + 3..].trim_start();
        } else {
            break;
        }
    }
    let tag =
        rest.strip_prefix('<').ok_or_else(|| format!("the reply does not start with an element (expected {local})"))?;
    let qname = tag.split(|c: char| c.is_whitespace() || c == '/' || c == '>').next().unwrap_or_default();
    if qname.rsplit(':').next() == Some(local) {
        Ok(())
    } else {
        Err(format!("the reply's first element is <{qname}>, expected {local}"))
    }
}

/// Escapes text for XML content and attribute values.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn xml_unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').ok_or_else(|| format!("unterminated entity in {rest:?}"))?;
        let name = &rest[i + 1..i + end];
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32).ok_or_else(|| format!("unknown entity &{name};"))?
            }
        };
        out.push(c);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The text content of the first element with local name `local` in `xml` (any prefix).
/// Handles entities and CDATA; fails if the element has child elements.
pub(crate) fn element_text(xml: &str, local: &str) -> Result<String, String> {
    let mut pos = 0;
    while let Some(off) = xml[pos..].find('<') {
        let start = pos + off;
        let tag_end = xml[start..].find('>').map(|e| start + e).ok_or("unterminated tag")?;
        let tag = &xml[start + 1..tag_end];
        pos = tag_end + 1;
        if tag.starts_with(['/', '?', '!']) {
            continue;
        }
        let qname = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or_default();
        if qname.rsplit(':').next() != Some(local) {
            continue;
        }
        if tag.ends_with('/') {
            return Ok(String::new());
        }
        let close = format!("</{qname}");
        let mut text = String::new();
        let mut at = pos;
        loop {
            let rel = xml[at..].find('<').ok_or_else(|| format!("<{qname}> is not closed"))?;
            text.push_str(&xml_unescape(&xml[at..at + rel])?);
            at += rel;
            if let Some(after) = xml[at..].strip_prefix("<![CDATA[") {
                let end = after.find("]]>").ok_or("unterminated CDATA")?;
                text.push_str(&after[..end]);
                at += "<![CDATA[".len() + end + "]]>".len();
            } else if xml[at..].starts_with(&close) {
                return Ok(text);
            } else if xml[at..].starts_with("<!--") {
                let end = xml[at..].find("-->").ok_or("unterminated comment")?;
                at += end + 3;
            } else {
                return Err(format!("<{qname}> has child elements, expected text"));
            }
        }
    }
    Err(format!("no element with local name {local:?}"))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64, ignoring whitespace (line breaks are legal in xsd:base64Binary).
pub(crate) fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut padding = false;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            padding = true;
            continue;
        }
        if padding {
            return Err("base64: data after padding".into());
        }
        let v = B64.iter().position(|&x| x == c).ok_or_else(|| format!("base64: bad character {:?}", char::from(c)))?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client (loopback only), for the WSDL check and the harness self-checks

/// A parsed HTTP response.
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: String,
    pub(crate) body: String,
}

/// One request with `Connection: close`; the URL must be `http://127.0.0.1:PORT/...`.
pub(crate) fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, String> {
    assert_loopback(url);
    let rest = &url["http://127.0.0.1:".len()..];
    let (port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let port: u16 = port.parse().map_err(|e| format!("bad port in {url}: {e}"))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).and_then(|()| stream.write_all(body)).map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("receive: {e}"))?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no end of headers in the response")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(HttpResponse { status, headers: head, body: String::from_utf8_lossy(&body).into_owned() })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk header")?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|e| format!("chunk size {size_text:?}: {e}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// POSTs a whole SOAP envelope around `body` (SOAP 1.1 with SOAPAction, or SOAP 1.2 with the
/// action in the Content-Type) and returns the response.
pub(crate) fn soap_post(url: &str, soap: Soap, action: &str, body: &str) -> Result<HttpResponse, String> {
    let (env_ns, ct) = match soap {
        Soap::V11 => ("http://schemas.xmlsoap.org/soap/envelope/", "text/xml; charset=utf-8".to_string()),
        Soap::V12 => (
            "http://www.w3.org/2003/05/soap-envelope",
            format!("application/soap+xml; charset=utf-8; action=\"{action}\""),
        ),
    };
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{env_ns}\"><s:Body>{body}</s:Body></s:Envelope>"
    );
    let quoted = format!("\"{action}\"");
    let mut headers = vec![("Content-Type", ct.as_str())];
    if let Soap::V11 = soap {
        headers.push(("SOAPAction", quoted.as_str()));
    }
    http_request("POST", url, &headers, envelope.as_bytes())
}
