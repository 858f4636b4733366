//! The client side of `cargo xtask bench nettcp`, run as a child process
//! (`xtask bench nettcp-client --url URL --encoding E --connections C --seconds S ...`) so
//! that it has its own runtime and its own CPU accounting.
//!
//! It opens `C` connections to `URL` — a [`RequestChannel`] per connection for `http://`
//! (keep-alive), a [`SessionChannel`] per connection for `net.tcp://` and `net.unix://` (one
//! session, many calls) — and makes back-to-back `echo` calls with the same small body on
//! each: first for the warm-up, then for the measured seconds. Every reply must echo the
//! message. It then closes every channel gracefully and prints one line:
//!
//! ```text
//! RESULT calls=N secs=S rps=R p50_us=A p99_us=B mean_us=M max_us=X [cpu_client_us=C cpu_server_us=D]
//! ```
//!
//! The CPU fields are CPU time (user + system, from `/proc/PID/stat`) per measured call,
//! of this process and of the server (`--server-pid`), sampled at the start and the end of
//! the measured window by a timer task; `/proc` counts in clock ticks (10 ms), so over a
//! 5 s window they resolve to about 1 %.
//!
//! A call counts when it *started* inside the measured window (so the calls cut by the start
//! and by the end of the window balance out); its latency runs from the start of `call` to
//! the reply in hand, parsed. Any failed call or wrong answer is an error (exit status 1,
//! message on stderr).
//!
//! With `--transcode REQUEST.xml,REPLY.xml` it measures instead, in-process and in this
//! release build, what the binary encodings add per message: for each text envelope, the
//! time of `Envelope::parse` (what every binding pays), of binary XML encode and decode, and
//! of steady-state binary-session encode and decode (`framing::binary`), one line each:
//! `TRANSCODE kind=K bytes=N parse_ns=.. encode_binary_ns=.. decode_binary_ns=..
//! encode_session_ns=.. decode_session_ns=..` (medians of 5 samples of about 50 ms).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use soapwire::session::SessionChannel;
use soapwire::soapwire_proto::framing::binary::{SessionDecoder, SessionEncoder, decode_document, encode_document};
use soapwire::soapwire_proto::soap::Envelope;
use soapwire::{ChannelProperties, EnvelopeVersion, MessageEncoding, ReaderQuotas, RequestChannel};

use super::super::{TICKS_PER_SECOND, cpu_ticks};
use super::{ClientRuntime, ECHO_ACTION, ECHO_BODY, ECHO_TEXT};

/// The options of one client process.
struct Options {
    url: String,
    encoding: MessageEncoding,
    connections: usize,
    seconds: f64,
    warmup: f64,
    runtime: ClientRuntime,
    server_pid: Option<u32>,
}

/// `xtask bench nettcp-client --url URL [--encoding E] [--connections C] [--seconds S]
/// [--warmup S] [--runtime current|multi]`.
pub(in crate::bench) fn client(args: &[&str]) -> Result<()> {
    let mut o = Options {
        url: String::new(),
        encoding: MessageEncoding::BinarySession,
        connections: 1,
        seconds: 5.0,
        warmup: 0.5,
        runtime: ClientRuntime::Current,
        server_pid: None,
    };
    let mut args = crate::bench::OptionArgs::new(args);
    while let Some((arg, name, inline)) = args.next_option(&[]) {
        let mut value = || args.value(name, inline);
        match name {
            "--transcode" => return transcode(value()?),
            "--url" => o.url = value()?.to_string(),
            "--encoding" => o.encoding = super::encoding_from_name(value()?)?,
            "--connections" => o.connections = value()?.parse().context("--connections: a number")?,
            "--seconds" => o.seconds = value()?.parse().context("--seconds: a number of seconds")?,
            "--warmup" => o.warmup = value()?.parse().context("--warmup: a number of seconds")?,
            "--runtime" => o.runtime = ClientRuntime::from_name(value()?)?,
            "--server-pid" => o.server_pid = Some(value()?.parse().context("--server-pid: a process id")?),
            _ => bail!("nettcp-client: unknown option {arg:?}"),
        }
    }
    ensure!(!o.url.is_empty(), "nettcp-client needs --url");
    ensure!(o.connections > 0, "--connections must be at least 1");
    ensure!(o.seconds > 0.0 && o.warmup >= 0.0, "--seconds must be positive and --warmup not negative");
    let runtime = match o.runtime {
        ClientRuntime::Current => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        ClientRuntime::Multi => tokio::runtime::Builder::new_multi_thread().enable_all().build()?,
    };
    let seconds = o.seconds;
    let (mut latencies, cpu) =
        runtime.block_on(async move { tokio::spawn(run(o)).await }).context("the client failed")??;
    latencies.sort_unstable();
    let calls = latencies.len();
    ensure!(calls > 0, "no call completed inside the measured window");
    let mean = latencies.iter().map(|&n| n as f64).sum::<f64>() / calls as f64;
    let per_call = |ticks: u64| ticks as f64 * 1e6 / TICKS_PER_SECOND / calls as f64;
    let cpu = match cpu {
        Some((client, Some(server))) => {
            format!(" cpu_client_us={:.1} cpu_server_us={:.1}", per_call(client), per_call(server))
        }
        Some((client, None)) => format!(" cpu_client_us={:.1}", per_call(client)),
        None => String::new(),
    };
    println!(
        "RESULT calls={calls} secs={seconds} rps={:.1} p50_us={:.1} p99_us={:.1} mean_us={:.1} max_us={:.1}{cpu}",
        calls as f64 / seconds,
        percentile(&latencies, 0.50) / 1e3,
        percentile(&latencies, 0.99) / 1e3,
        mean / 1e3,
        latencies.last().copied().unwrap_or(0) as f64 / 1e3,
    );
    Ok(())
}

/// Nanoseconds per call of `f`: the median of 5 samples of about 50 ms each.
fn time_per_call<T>(mut f: impl FnMut() -> Result<T>) -> Result<f64> {
    let mut per_call = Vec::new();
    let mut batch = 1u64;
    // Calibrate a batch to about 5 ms.
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            std::hint::black_box(f()?);
        }
        if t.elapsed() >= Duration::from_millis(5) || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    for _ in 0..5 {
        let (t, mut calls) = (Instant::now(), 0u64);
        while t.elapsed() < Duration::from_millis(50) {
            for _ in 0..batch {
                std::hint::black_box(f()?);
            }
            calls += batch;
        }
        per_call.push(t.elapsed().as_nanos() as f64 / calls as f64);
    }
    Ok(crate::bench::median(&mut per_call))
}

/// `--transcode REQUEST.xml,REPLY.xml`: see the module docs.
fn transcode(files: &str) -> Result<()> {
    let quotas = ReaderQuotas::default();
    for (kind, path) in ["request", "reply"].into_iter().zip(files.split(',')) {
        let text = std::fs::read(path).with_context(|| format!("reading {path}"))?;
        let bytes = Bytes::from(text.clone());
        let parse = time_per_call(|| Ok(Envelope::parse(bytes.clone(), Some(EnvelopeVersion::Soap12), &quotas, 64)?))?;
        let mut out = Vec::with_capacity(2 * text.len());
        let encode_binary = time_per_call(|| {
            out.clear();
            Ok(encode_document(&text, &mut out)?)
        })?;
        let mut binary = Vec::new();
        encode_document(&text, &mut binary)?;
        let decode_binary = time_per_call(|| Ok(decode_document(&binary, &quotas)?))?;
        // Session: the first message fills both dictionaries; then the steady state.
        let (mut encoder, mut decoder) = (SessionEncoder::new(2048), SessionDecoder::new(2048));
        let mut first = Vec::new();
        encoder.encode_envelope(&text, &mut first)?;
        decoder.decode_envelope(&first, &quotas)?;
        let mut steady = Vec::new();
        encoder.encode_envelope(&text, &mut steady)?;
        let back = decoder.decode_envelope(&steady, &quotas)?;
        ensure!(contains(&back, ECHO_TEXT.as_bytes()), "the session round trip lost the {kind}'s text");
        let encode_session = time_per_call(|| {
            out.clear();
            Ok(encoder.encode_envelope(&text, &mut out)?)
        })?;
        let decode_session = time_per_call(|| Ok(decoder.decode_envelope(&steady, &quotas)?))?;
        println!(
            "TRANSCODE kind={kind} bytes={} parse_ns={parse:.0} encode_binary_ns={encode_binary:.0} \
             decode_binary_ns={decode_binary:.0} encode_session_ns={encode_session:.0} decode_session_ns={decode_session:.0}",
            text.len()
        );
    }
    Ok(())
}

/// The nearest-rank percentile `q` (0..=1) of sorted nanoseconds.
pub(super) fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// One connection under test (boxed: both channels are large, and they live on the heap
/// either way).
enum Conn {
    Http(Box<RequestChannel>),
    Session(Box<SessionChannel>),
}

impl Conn {
    /// Opens a channel to `url` (HTTP opens without I/O; the first call connects).
    async fn open(url: &str, encoding: MessageEncoding) -> Result<Conn> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("http://") {
            let channel = RequestChannel::new(ChannelProperties::default());
            channel.open(url).await.with_context(|| format!("opening {url}"))?;
            Ok(Conn::Http(Box::new(channel)))
        } else {
            let mut properties = ChannelProperties::session();
            properties.encoding = encoding;
            let channel = SessionChannel::new(properties);
            channel.open(url).await.with_context(|| format!("opening a session to {url}"))?;
            Ok(Conn::Session(Box::new(channel)))
        }
    }

    /// One `echo` call; fails unless the reply echoes [`ECHO_TEXT`].
    async fn call(&self) -> Result<()> {
        let reply = match self {
            Conn::Http(c) => c.call(ECHO_ACTION, ECHO_BODY).await,
            Conn::Session(c) => c.call(ECHO_ACTION, ECHO_BODY).await,
        }
        .context("the echo call failed")?;
        if !contains(reply.body_xml(), ECHO_TEXT.as_bytes()) {
            bail!("the reply does not echo {ECHO_TEXT:?}: {}", String::from_utf8_lossy(reply.body_xml()));
        }
        Ok(())
    }

    /// A graceful close (a session: End both ways, then FIN).
    async fn close(&self) -> Result<()> {
        match self {
            Conn::Http(c) => c.close().await,
            Conn::Session(c) => c.close().await,
        }
        .context("closing the channel")
    }
}

/// True if `needle` occurs in `haystack`.
pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// CPU ticks over the measured window: this process's, and the server's when known.
type WindowCpu = Option<(u64, Option<u64>)>;

/// Opens every connection, runs the warm-up and the measured window on all of them at once,
/// closes them; the latencies (nanoseconds) of the measured calls and the CPU time spent in
/// the window.
async fn run(o: Options) -> Result<(Vec<u64>, WindowCpu)> {
    let mut conns = Vec::with_capacity(o.connections);
    for i in 0..o.connections {
        conns.push(Conn::open(&o.url, o.encoding).await.with_context(|| format!("connection {}", i + 1))?);
    }
    let start = Instant::now() + Duration::from_secs_f64(o.warmup);
    let end = start + Duration::from_secs_f64(o.seconds);
    let server = o.server_pid.map(|p| p.to_string());
    let sampler = tokio::spawn(async move {
        let sample = || (cpu_ticks("self"), server.as_deref().and_then(cpu_ticks));
        tokio::time::sleep_until(start.into()).await;
        let before = sample();
        tokio::time::sleep_until(end.into()).await;
        let after = sample();
        let client = after.0?.checked_sub(before.0?)?;
        Some((client, after.1.zip(before.1).and_then(|(a, b)| a.checked_sub(b))))
    });
    let expected = (o.seconds * 50_000.0 / o.connections as f64) as usize;
    let tasks: Vec<_> = conns.into_iter().map(|conn| tokio::spawn(drive(conn, start, end, expected))).collect();
    let mut all = Vec::new();
    let mut opened = Vec::new();
    let mut first_error = None;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.context("a connection task panicked")? {
            (conn, Ok(latencies)) => {
                all.extend(latencies);
                opened.push(conn);
            }
            (conn, Err(e)) => {
                opened.push(conn);
                first_error.get_or_insert(e.context(format!("connection {}", i + 1)));
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let cpu = sampler.await.context("the CPU sampler panicked")?;
    for (i, conn) in opened.iter().enumerate() {
        conn.close().await.with_context(|| format!("connection {}", i + 1))?;
    }
    Ok((all, cpu))
}

/// Back-to-back calls on one connection until `end`; the latencies of those that started at
/// or after `start`.
async fn drive(conn: Conn, start: Instant, end: Instant, expected: usize) -> (Conn, Result<Vec<u64>>) {
    let mut latencies = Vec::with_capacity(expected.min(1 << 20));
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        if let Err(e) = conn.call().await {
            return (conn, Err(e));
        }
        if t0 >= start {
            latencies.push(u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX));
        }
    }
    (conn, Ok(latencies))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_search() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[7], 0.99), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
        assert!(contains(b"<m>hello, world</m>", b"hello, world"));
        assert!(!contains(b"<m>hello</m>", b"hello, world"));
        assert!(cpu_ticks("self").is_some());
        assert!(cpu_ticks("no-such-process").is_none());
    }
}
