//! Faults (issue 7): the peer killed in the middle of a streamed MTOM attachment, in each
//! direction, and a server out of file descriptors. Real processes on 127.0.0.1: nothing
//! may hang past its timeout, the survivor reports a documented error or keeps serving, and
//! the server's open descriptors return to their count before (`/proc/PID/fd`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NS: &str = "http://example.org/echo";

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `soapwire serve echo` on a free port, optionally under `prlimit --nofile=N`; returns the
/// process and its URL.
fn serve(nofile: Option<u32>) -> (Proc, String) {
    let exe = env!("CARGO_BIN_EXE_soapwire");
    let mut cmd = match nofile {
        Some(n) => {
            let mut c = Command::new("prlimit");
            c.arg(format!("--nofile={n}:{n}")).arg("--").arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args(["serve", "echo", "--listen", "http://127.0.0.1:0/echo", "--receive-timeout", "2"]);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn soapwire serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).to_owned();
    (Proc(child), url)
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// CPU time (user + system, in clock ticks) of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

/// The server's descriptors once the connections of earlier requests are gone: the lowest
/// count seen over half a second.
fn settled_fds(pid: u32) -> usize {
    let mut low = fds(pid);
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(50));
        low = low.min(fds(pid));
    }
    low
}

fn assert_fds_back_to(pid: u32, baseline: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while fds(pid) > baseline {
        assert!(Instant::now() < deadline, "{what}: {} descriptors open, {baseline} before", fds(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn echo_works(url: &str) {
    let addr = url.trim_start_matches("http://").split('/').next().unwrap();
    let body = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><e:echo xmlns:e="{NS}"><e:message>alive</e:message></e:echo></s:Body></s:Envelope>"#
    );
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /echo HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\nSOAPAction: \"{NS}/echo\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200") && out.contains("alive"), "{out}");
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("soapwire-faults-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn call(url: &str, action: &str, body: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_soapwire"))
        .args(["call", url, "--action", &format!("{NS}/{action}"), "--timeout", "5", "--body"])
        .arg(body)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn soapwire call")
}

/// A download of 4 GiB into `dir` and an upload of a 4 GiB sparse file: both take far longer
/// than the tests wait, so the transfer is always in flight when a process is killed.
fn transfers(scratch: &Scratch) -> [(&'static str, PathBuf, Vec<String>); 2] {
    let download = scratch.0.join("download.xml");
    std::fs::write(&download, format!(r#"<e:download xmlns:e="{NS}"><e:length>4294967296</e:length></e:download>"#))
        .unwrap();
    let upload = scratch.0.join("upload.xml");
    std::fs::write(
        &upload,
        format!(
            r#"<e:upload xmlns:e="{NS}"><e:data><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:data"/></e:data></e:upload>"#
        ),
    )
    .unwrap();
    let big = scratch.0.join("big.bin");
    std::fs::File::create(&big).unwrap().set_len(4 << 30).unwrap();
    let saved = scratch.0.join("saved");
    std::fs::create_dir_all(&saved).unwrap();
    [
        ("download", download, vec!["--save-attachments".into(), saved.display().to_string()]),
        ("upload", upload, vec!["--attach".into(), format!("data={}", big.display())]),
    ]
}

#[test]
fn killing_the_client_mid_attachment_leaves_the_server_serving_with_nothing_leaked() {
    let (server, url) = serve(None);
    let pid = server.0.id();
    echo_works(&url);
    let baseline = settled_fds(pid);
    let scratch = Scratch::new("kill-client");
    for (action, body, extra) in transfers(&scratch) {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let mut client = call(&url, action, &body, &extra);
        std::thread::sleep(Duration::from_millis(700));
        assert!(client.try_wait().unwrap().is_none(), "{action}: the transfer ended too early");
        assert!(fds(pid) > baseline, "{action}: the server holds the connection");
        client.kill().unwrap();
        client.wait().unwrap();
        assert_fds_back_to(pid, baseline, action);
        echo_works(&url);
    }
}

#[test]
fn killing_the_server_mid_attachment_fails_the_client_promptly_with_an_hresult() {
    let scratch = Scratch::new("kill-server");
    for (action, body, extra) in transfers(&scratch) {
        let (mut server, url) = serve(None);
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let mut client = call(&url, action, &body, &extra);
        std::thread::sleep(Duration::from_millis(700));
        assert!(client.try_wait().unwrap().is_none(), "{action}: the transfer ended too early");
        server.0.kill().unwrap();
        let killed = Instant::now();
        let status = loop {
            if let Some(status) = client.try_wait().unwrap() {
                break status;
            }
            assert!(killed.elapsed() < Duration::from_secs(10), "{action}: the client hangs after the server died");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        client.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert_eq!(status.code(), Some(2), "{action}: {stderr}");
        assert!(stderr.contains("HRESULT: 0x803D"), "{action}: a WS_E_* code: {stderr}");
    }
}

#[test]
fn a_server_out_of_file_descriptors_backs_off_and_recovers() {
    // 48 descriptors: a few for the runtime, the rest for connections.
    let (server, url) = serve(Some(48));
    let pid = server.0.id();
    echo_works(&url);
    let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let held: Vec<TcpStream> = (0..100).filter_map(|_| TcpStream::connect(&addr).ok()).collect();
    assert!(held.len() >= 50, "the kernel's backlog takes the connections: {}", held.len());
    std::thread::sleep(Duration::from_millis(300));
    // Out of descriptors, accept fails with EMFILE: the listener must back off, not spin.
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_ticks(pid) - before;
    assert!(spent < 50, "the server burned {spent} ticks in a second while out of descriptors");
    assert!(server_alive(pid), "the server survived");
    drop(held);
    // Once the connections go, it serves again (the idle ones are dropped at the header-read
    // timeout at the latest; the closed ones at once).
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let ok = std::panic::catch_unwind(|| echo_works(&url)).is_ok();
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "the server never recovered");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn server_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z")
}
