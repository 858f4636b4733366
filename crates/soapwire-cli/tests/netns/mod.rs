//! Two network namespaces joined by one veth pair, made and torn down by a test, and the
//! processes run inside them (`soapwire host`, wsdd, any command, each with a deadline).
//! Standard library only; needs root and `ip` (iproute2).
//!
//! Every pair has names of its own (`swd<pid><tag>a` / `swd<pid><tag>b`, at most 15
//! characters, so they serve as interface names too) and the subnet `198.18.<n>.0/24` (never
//! `198.18.0.0/24`, which `interop/peers/wsdd/netns_up.sh` uses). The namespaces have no
//! default route and nothing attached to a real interface: multicast and unicast stay on the
//! veth pair. [`NetnsPair`]'s `Drop` stops the processes left in its namespaces and deletes
//! them, also when the test panics. Multicast is only ever sent inside these namespaces.

use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Deadline for any wait: an address to settle, a process to print a line or to exit.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

/// One side of the pair.
#[derive(Clone, Debug)]
pub(crate) struct Side {
    /// The namespace name, also the name of its veth end.
    pub(crate) name: String,
    /// Its IPv4 address.
    pub(crate) ipv4: Ipv4Addr,
    /// Its IPv6 link-local address.
    pub(crate) link_local: Ipv6Addr,
}

impl Side {
    /// `ip netns exec <ns> program args…`.
    pub(crate) fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]).args(args);
        cmd
    }
}

/// The pair: "device" side `a` and "client" side `b`.
#[derive(Debug)]
pub(crate) struct NetnsPair {
    pub(crate) a: Side,
    pub(crate) b: Side,
}

fn ip(args: &[&str]) -> Output {
    Command::new("ip").args(args).output().unwrap_or_else(|e| panic!("cannot run `ip {}`: {e}", args.join(" ")))
}

/// Runs `ip args…` and panics when it fails.
pub(crate) fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(out.status.success(), "`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

impl NetnsPair {
    /// Makes the pair `tag` (0–9, one per test) and waits until both link-local addresses are
    /// usable.
    pub(crate) fn create(tag: u32) -> NetnsPair {
        assert!(tag < 10);
        let pid = std::process::id();
        let base = format!("swd{pid}{tag}");
        let subnet = 1 + (pid * 10 + tag) % 254;
        let (a, b) = (format!("{base}a"), format!("{base}b"));
        // A namespace left by a killed run of a process with the same pid: ours by name.
        for n in [&a, &b] {
            let _ = ip(&["netns", "del", n]);
        }
        let mut pair = NetnsPair {
            a: Side {
                name: a.clone(),
                ipv4: Ipv4Addr::new(198, 18, subnet as u8, 1),
                link_local: Ipv6Addr::UNSPECIFIED,
            },
            b: Side {
                name: b.clone(),
                ipv4: Ipv4Addr::new(198, 18, subnet as u8, 2),
                link_local: Ipv6Addr::UNSPECIFIED,
            },
        };
        for side in [&pair.a, &pair.b] {
            ip_ok(&["netns", "add", &side.name]);
            let sysctl = ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"];
            let out = side.command("sysctl", &["-qw", sysctl[0], sysctl[1]]).output();
            assert!(out.is_ok_and(|o| o.status.success()), "sysctl in {} failed", side.name);
            ip_ok(&["-n", &side.name, "link", "set", "lo", "up"]);
        }
        // Made directly inside the namespaces: the pair never exists in the root namespace.
        ip_ok(&["link", "add", &a, "netns", &a, "type", "veth", "peer", "name", &b, "netns", &b]);
        for side in [&pair.a, &pair.b] {
            ip_ok(&["-n", &side.name, "addr", "add", &format!("{}/24", side.ipv4), "dev", &side.name]);
            ip_ok(&["-n", &side.name, "link", "set", &side.name, "up"]);
            ip_ok(&["-n", &side.name, "route", "add", "224.0.0.0/4", "dev", &side.name]);
            let routes = ip(&["-n", &side.name, "route", "show", "default"]);
            assert!(routes.stdout.is_empty(), "{} has a default route: refusing", side.name);
        }
        pair.a.link_local = wait_link_local(&pair.a.name);
        pair.b.link_local = wait_link_local(&pair.b.name);
        pair
    }
}

/// The link-local address of the veth end in `ns`, once it is no longer tentative.
fn wait_link_local(ns: &str) -> Ipv6Addr {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let out = ip(&["-n", ns, "-6", "-o", "addr", "show", "dev", ns, "scope", "link"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let ready = text.lines().filter(|l| !l.contains("tentative")).find_map(|l| {
            let rest = l.split_once("inet6 ")?.1;
            rest.split('/').next()?.parse::<Ipv6Addr>().ok()
        });
        if let Some(address) = ready {
            return address;
        }
        assert!(Instant::now() < deadline, "no usable link-local address on {ns}: {text}");
        thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for side in [&self.a, &self.b] {
            // Only processes inside our own namespace: the ones this test started.
            let pids = ip(&["netns", "pids", &side.name]);
            for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
            let _ = ip(&["netns", "del", &side.name]);
        }
    }
}

/// What is missing to run the namespace tests: root, `ip`, `sysctl`, and the given programs.
pub(crate) fn missing(programs: &[&str]) -> Vec<String> {
    let mut missing = Vec::new();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|u| u.split_whitespace().nth(1));
    if euid != Some("0") {
        missing.push("root (network namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN)".to_owned());
    }
    let mut all = vec!["ip", "sysctl"];
    all.extend_from_slice(programs);
    missing.extend(missing_programs(&all));
    missing
}

/// The programs of `programs` that are not on `PATH`.
pub(crate) fn missing_programs(programs: &[&str]) -> Vec<String> {
    programs.iter().filter(|p| find_on_path(p).is_none()).map(|p| format!("`{p}` on PATH")).collect()
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// True when the namespace test can run ([`missing`] is empty); otherwise as [`report`].
pub(crate) fn available(programs: &[&str]) -> bool {
    report(missing(programs))
}

/// True when nothing is `missing`. Otherwise panics when `SOAPWIRE_REQUIRE_PEERS` is set (CI),
/// or prints a note and returns false (the test is skipped), like the other interop tests.
pub(crate) fn report(missing: Vec<String>) -> bool {
    if missing.is_empty() {
        return true;
    }
    let what = format!("missing: {}", missing.join(", "));
    let required = std::env::var_os("SOAPWIRE_REQUIRE_PEERS").is_some_and(|v| !v.is_empty() && v != "0");
    if required {
        panic!("{what}.\nSOAPWIRE_REQUIRE_PEERS is set, so this is a failure (wsdd: `cargo xtask peers install`).");
    }
    eprintln!("note: skipping this test: {what}. Set SOAPWIRE_REQUIRE_PEERS=1 to turn this into a failure.");
    false
}

type Log = Arc<Mutex<String>>;

fn drain(mut r: impl Read + Send + 'static, log: Log) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            if let Ok(mut l) = log.lock() {
                l.push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        }
    })
}

/// A process started by a test, its stdout and stderr collected together. Killed on drop.
pub(crate) struct Background {
    name: String,
    child: Child,
    log: Log,
}

impl Background {
    /// Starts `cmd` with its output collected.
    pub(crate) fn spawn(name: &str, mut cmd: Command) -> Background {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{name}: cannot start {cmd:?}: {e}"));
        let log = Log::default();
        if let Some(out) = child.stdout.take() {
            drain(out, Arc::clone(&log));
        }
        if let Some(err) = child.stderr.take() {
            drain(err, Arc::clone(&log));
        }
        Background { name: name.to_owned(), child, log }
    }

    /// Everything it printed so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until its output contains every one of `needles`; panics at `within` or when it
    /// exits first.
    pub(crate) fn wait_for(&mut self, needles: &[&str], within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log();
            if needles.iter().all(|n| log.contains(n)) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                thread::sleep(Duration::from_millis(100));
                panic!("{} exited ({status}) before printing {needles:?}:\n{}", self.name, self.log());
            }
            assert!(Instant::now() < deadline, "{}: no {needles:?} within {within:?}:\n{log}", self.name);
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits (at most [`TIMEOUT`]) for the exit.
    pub(crate) fn terminate(&mut self) -> ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.wait(TIMEOUT)
    }

    /// Waits for the exit; kills it and panics after `within`.
    pub(crate) fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the output threads catch the last lines.
                thread::sleep(Duration::from_millis(50));
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{}: no exit within {within:?}:\n{}", self.name, self.log());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `soapwire args…` inside `side`'s namespace.
pub(crate) fn soapwire(side: &Side, args: &[&str]) -> Command {
    side.command(env!("CARGO_BIN_EXE_soapwire"), args)
}

/// Runs `cmd` to its end (at most [`TIMEOUT`]); its exit status and its output (stdout and
/// stderr together).
pub(crate) fn run(name: &str, cmd: Command) -> (ExitStatus, String) {
    let mut process = Background::spawn(name, cmd);
    let status = process.wait(TIMEOUT);
    (status, process.log())
}

/// `soapwire host --interface <side> args…` in `side`, once it printed `ready` (it has sent
/// Hello and answers Probe, Resolve and Get).
pub(crate) fn start_soapwire_host(side: &Side, args: &[&str]) -> Background {
    let mut all = vec!["host", "--interface", &side.name];
    all.extend_from_slice(args);
    let mut host = Background::spawn("soapwire host", soapwire(side, &all));
    host.wait_for(&["ready"], TIMEOUT);
    host
}

/// Stops a `soapwire host` with SIGTERM, checks that it said Bye and exited cleanly, and returns
/// its output (which ends with `bye: answered N probes and M resolves …`).
pub(crate) fn stop_soapwire_host(mut host: Background) -> String {
    let status = host.terminate();
    let log = host.log();
    assert!(status.success() && log.contains("bye: answered "), "soapwire host ({status}):\n{log}");
    log
}

/// wsdd as a host named `name` with `uuid` in `side`, on its veth end only, once both
/// multicast handlers are up (both joins are logged).
pub(crate) fn start_wsdd_host(side: &Side, name: &str, uuid: &str) -> Background {
    let mut wsdd = Background::spawn("wsdd", side.command("wsdd", &["-i", &side.name, "-n", name, "-U", uuid, "-v"]));
    wsdd.wait_for(&["joined multicast group ('239.255.255.250'", "joined multicast group ('ff02::c'"], TIMEOUT);
    wsdd
}

/// The DPWS XAddr of `uuid` on `side`, per family: `("IPv4", http://198.18.n.1:5357/<uuid>)`
/// and `("IPv6", http://[fe80::…]:5357/<uuid>)`, as wsdd and `soapwire host` announce them.
pub(crate) fn xaddrs_by_family(side: &Side, uuid: &str) -> [(&'static str, String); 2] {
    [
        ("IPv4", format!("http://{}:5357/{uuid}", side.ipv4)),
        ("IPv6", format!("http://[{}]:5357/{uuid}", side.link_local)),
    ]
}
