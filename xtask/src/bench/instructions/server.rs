//! The `http_server/*` workloads of `cargo xtask bench instructions`: the instructions the
//! real `soapwire serve echo` process executes per HTTP request, everything included (hyper,
//! tokio, the channel, the XML work, malloc; not the kernel), counted by callgrind.
//!
//! The release binary runs under `valgrind --tool=callgrind` with its default runtime.
//! Clients in this process (one thread and one keep-alive connection each) send the bytes
//! wrk sends in `bench echo` (echo11.xml, `SOAPAction`) and check every reply (200, the
//! echoed text). After a warm-up on every connection, `callgrind_control --zero` clears the
//! counters; the measured requests run; `callgrind_control --dump` writes exactly their
//! instructions. Start-up, the warm-up and the shutdown are not counted.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Barrier;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::super::{Server, echo_envelope, free_port};
use crate::describe;

/// One server workload: requests spread evenly over keep-alive connections.
pub(super) struct ServerWorkload {
    pub(super) name: &'static str,
    pub(super) connections: usize,
    pub(super) requests: u64,
}

/// The server workloads, by name.
pub(super) const WORKLOADS: [ServerWorkload; 2] = [
    ServerWorkload { name: "http_server/echo11-c1", connections: 1, requests: 2000 },
    ServerWorkload { name: "http_server/echo11-c32", connections: 32, requests: 3200 },
];

/// Unmeasured requests per connection before the counters are zeroed (allocator and
/// buffers warm, every connection accepted).
const WARMUP_PER_CONNECTION: u64 = 20;

/// One request exactly as `soap_post.lua` formats it for SOAP 1.1.
fn request_bytes(port: u16, envelope: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\
         Content-Type: text/xml; charset=utf-8\r\nSOAPAction: \"http://example.org/echo/echo\"\r\n\r\n",
        envelope.len()
    )
    .into_bytes();
    r.extend_from_slice(envelope);
    r
}

/// A keep-alive client connection reading `Content-Length` replies with httparse.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(port: u16) -> Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port)).context("connecting to the server")?;
        stream.set_nodelay(true)?;
        // Generous: the server runs under valgrind, about 50x slower than native.
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Client { stream, buf: Vec::with_capacity(4096) })
    }

    /// Sends `request` and reads its reply; Ok if it is 200 and echoes `hello, world`.
    fn round_trip(&mut self, request: &[u8]) -> Result<()> {
        self.stream.write_all(request).context("sending a request")?;
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response.parse(&self.buf).context("parsing a reply head")? {
                let length = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse::<usize>().ok())
                    .context("a reply without Content-Length")?;
                if self.buf.len() >= head + length {
                    if response.code != Some(200) {
                        bail!("status {:?}", response.code);
                    }
                    let body = &self.buf[head..head + length];
                    if !body.windows(12).any(|w| w == b"hello, world") {
                        bail!("the reply does not echo 'hello, world'");
                    }
                    self.buf.drain(..head + length);
                    return Ok(());
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).context("reading a reply")?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn callgrind_control(flag: &str, pid: u32) -> Result<()> {
    let mut cmd = Command::new("callgrind_control");
    cmd.args([flag, &pid.to_string()]);
    let shown = describe(&cmd);
    let out = cmd.output().with_context(|| format!("running `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Runs `workload` against `soapwire` (the release binary) under callgrind; returns the
/// instructions of its measured requests.
pub(super) fn measure(soapwire: &Path, workload: &ServerWorkload, dir: &Path) -> Result<u64> {
    let envelope = echo_envelope()?;
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}/echo");
    let out_file = dir.join(format!("{}.callgrind", workload.name.replace(['/', ' '], "_")));
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(soapwire)
        .args(["serve", "echo", "--listen", &url]);
    let label = workload.name.replace('/', "_");
    let mut server = Server::spawn(&label, cmd, url, dir)?;
    server.wait_ready(&envelope)?;
    let pid = server.child.id();
    let request = request_bytes(port, &envelope);
    let per_connection = workload.requests / workload.connections as u64;
    // Two rendezvous with the client threads: after the warm-up (then the counters are
    // zeroed) and after the measured requests (then they are dumped).
    let warmed = Barrier::new(workload.connections + 1);
    let zeroed = Barrier::new(workload.connections + 1);
    let done = Barrier::new(workload.connections + 1);
    let outcome = std::thread::scope(|s| {
        let threads: Vec<_> = (0..workload.connections)
            .map(|_| {
                let (warmed, zeroed, done, request) = (&warmed, &zeroed, &done, &request);
                s.spawn(move || {
                    let mut client = Client::connect(port).and_then(|mut client| {
                        (0..WARMUP_PER_CONNECTION).try_for_each(|_| client.round_trip(request))?;
                        Ok(client)
                    });
                    // A client that failed still takes part in every rendezvous, so the
                    // others are not left waiting.
                    warmed.wait();
                    zeroed.wait();
                    let measured = match &mut client {
                        Ok(client) => (0..per_connection).try_for_each(|_| client.round_trip(request)),
                        Err(_) => Ok(()),
                    };
                    done.wait();
                    client.and(measured)
                })
            })
            .collect();
        warmed.wait();
        let zero = callgrind_control("--zero", pid);
        zeroed.wait();
        done.wait();
        let dump = callgrind_control("--dump", pid);
        let mut results = vec![zero, dump];
        results.extend(
            threads.into_iter().map(|t| t.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a client thread panicked")))),
        );
        results.into_iter().collect::<Result<Vec<()>>>()
    });
    outcome?;
    server.still_running()?;
    drop(server);
    let dump = dir.join(format!("{}.1", out_file.display()));
    let text = std::fs::read_to_string(&dump).with_context(|| format!("reading {}", dump.display()))?;
    match super::callgrind_total(&text) {
        Some(0) | None => bail!("callgrind's dump {} has no instruction total", dump.display()),
        Some(ir) => Ok(ir),
    }
}
