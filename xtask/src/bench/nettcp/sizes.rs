//! How many bytes one `echo` exchange puts on the wire per binding and encoding, measured
//! through a recording loopback proxy, with the binary sizes also computed in-process from
//! the text envelope ([`encode_document`], [`SessionEncoder`]) as a cross-check.
//!
//! For each TCP target, a real soapwire client (the same [`RequestChannel`] /
//! [`SessionChannel`] calls the benchmark makes) talks to the real server through a proxy on
//! a free loopback port that logs every chunk it forwards, with its direction. Request and
//! reply alternate, so for HTTP each run of client-to-server chunks is one request (headers
//! and body) and each run of server-to-client chunks one reply; for the session bindings the
//! two byte streams are cut into [MC-NMF] records with [`RecordDecoder`], which gives the
//! preamble, each sized envelope (record header + encoded message) and the End records.
//! `net.unix` carries the same bytes as net.tcp with the same encoding, apart from its Via
//! and `To` addresses, so it is not measured separately.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use bytes::BytesMut;
use soapwire::session::SessionChannel;
use soapwire::soapwire_proto::framing::binary::{SessionEncoder, encode_document};
use soapwire::soapwire_proto::framing::nmf::{NmfQuotas, Record, RecordDecoder};
use soapwire::{ChannelProperties, RequestChannel};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::client::contains;
use super::{ECHO_ACTION, ECHO_BODY, ECHO_TEXT, Target};

/// Calls per measured exchange: the first shows the session dictionary being filled, the
/// last the steady state.
const CALLS: usize = 3;
/// The largest `max_session_dictionary_size` (the default of both ends).
const SESSION_DICTIONARY: usize = 2048;

/// Which way a chunk went through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    /// Client to server.
    Out,
    /// Server to client.
    In,
}

/// The chunks the proxy forwarded, in order, with their direction.
type Log = Arc<Mutex<Vec<(Dir, Vec<u8>)>>>;

/// One message on the wire: all its bytes, and those of the SOAP envelope inside (the HTTP
/// body; the sized envelope's payload).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Sized {
    pub(super) wire: usize,
    pub(super) envelope: usize,
}

/// What one target put on the wire for [`CALLS`] calls.
#[derive(Clone, Debug)]
pub(super) struct WireSizes {
    pub(super) target: Target,
    /// Session set-up: the initiator's preamble and the responder's answer (0 for HTTP).
    pub(super) setup_out: usize,
    pub(super) setup_in: usize,
    pub(super) requests: Vec<Sized>,
    pub(super) replies: Vec<Sized>,
    /// The text envelopes, requests then replies (text encoding only), for the in-process
    /// computations.
    texts: [Vec<Vec<u8>>; 2],
}

/// Measures every TCP target of `targets` whose server address is known (`url_of`).
pub(super) fn measure(targets: &[Target], url_of: &dyn Fn(Target) -> Option<String>) -> Result<Vec<WireSizes>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut out = Vec::new();
    for &target in targets {
        if target == Target::UnixBinarySession {
            continue;
        }
        let Some(url) = url_of(target) else { continue };
        let sizes = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(30), capture(target, &url)).await })
            .map_err(|_| anyhow::anyhow!("measuring the message sizes of {} took over 30 s", target.label()))?
            .with_context(|| format!("measuring the message sizes of {}", target.label()))?;
        out.push(sizes);
    }
    Ok(out)
}

/// `scheme://host:port/rest` -> (`host:port` as an address, `scheme://`, `/rest`).
fn split_url(url: &str) -> Result<(SocketAddr, &str, &str)> {
    let (scheme, rest) = url.split_once("://").with_context(|| format!("bad URL {url}"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = authority.parse().with_context(|| format!("bad address in {url}"))?;
    Ok((addr, &url[..scheme.len() + 3], path))
}

/// Runs [`CALLS`] echo calls and a graceful close through the recording proxy.
async fn capture(target: Target, url: &str) -> Result<WireSizes> {
    let (upstream, scheme, path) = split_url(url)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the proxy")?;
    let proxy_url = format!("{scheme}{}{path}", listener.local_addr()?);
    let log: Log = Arc::default();
    let proxy = {
        let log = log.clone();
        tokio::spawn(async move {
            let (down, _) = listener.accept().await.context("accepting the client")?;
            let up = TcpStream::connect(upstream).await.with_context(|| format!("connecting to {upstream}"))?;
            down.set_nodelay(true)?;
            up.set_nodelay(true)?;
            let (down_read, down_write) = down.into_split();
            let (up_read, up_write) = up.into_split();
            tokio::try_join!(
                pump(down_read, up_write, Dir::Out, log.clone()),
                pump(up_read, down_write, Dir::In, log)
            )?;
            Ok::<(), anyhow::Error>(())
        })
    };
    exchange(target, &proxy_url).await?;
    tokio::time::timeout(Duration::from_secs(10), proxy)
        .await
        .context("the proxy did not see both sides close")?
        .context("the proxy task failed")??;
    let log = std::mem::take(&mut *log.lock().unwrap_or_else(|p| p.into_inner()));
    if target == Target::Http { http_sizes(target, &log) } else { session_sizes(target, &log) }
}

/// Copies `from` to `to`, logging each chunk, until end of stream (then FIN to `to`).
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, dir: Dir, log: Log) -> Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            to.shutdown().await.ok();
            return Ok(());
        }
        log.lock().unwrap_or_else(|p| p.into_inner()).push((dir, buf[..n].to_vec()));
        to.write_all(&buf[..n]).await?;
    }
}

/// The benchmark's calls, through `url` (the proxy), each checked, then a graceful close.
async fn exchange(target: Target, url: &str) -> Result<()> {
    let check = |body: &[u8]| -> Result<()> {
        ensure!(contains(body, ECHO_TEXT.as_bytes()), "the reply does not echo {ECHO_TEXT:?}");
        Ok(())
    };
    match target.encoding() {
        None => {
            let channel = RequestChannel::new(ChannelProperties::default());
            channel.open(url).await?;
            for _ in 0..CALLS {
                check(channel.call(ECHO_ACTION, ECHO_BODY).await?.body_xml())?;
            }
            channel.close().await?;
        }
        Some(encoding) => {
            let mut properties = ChannelProperties::session();
            properties.encoding = encoding;
            let channel = SessionChannel::new(properties);
            channel.open(url).await?;
            for _ in 0..CALLS {
                check(channel.call(ECHO_ACTION, ECHO_BODY).await?.body_xml())?;
            }
            channel.close().await?;
        }
    }
    Ok(())
}

/// Consecutive chunks of the same direction joined: with request/reply, one message each.
fn messages(log: &[(Dir, Vec<u8>)]) -> Vec<(Dir, Vec<u8>)> {
    let mut out: Vec<(Dir, Vec<u8>)> = Vec::new();
    for (dir, chunk) in log {
        match out.last_mut() {
            Some((d, bytes)) if d == dir => bytes.extend_from_slice(chunk),
            _ => out.push((*dir, chunk.clone())),
        }
    }
    out
}

fn http_sizes(target: Target, log: &[(Dir, Vec<u8>)]) -> Result<WireSizes> {
    let (mut requests, mut replies) = (Vec::new(), Vec::new());
    for (dir, bytes) in messages(log) {
        let head = bytes.windows(4).position(|w| w == b"\r\n\r\n").context("an HTTP message without a header end")?;
        let sized = Sized { wire: bytes.len(), envelope: bytes.len() - head - 4 };
        if dir == Dir::Out { requests.push(sized) } else { replies.push(sized) }
    }
    ensure!(requests.len() == CALLS && replies.len() == CALLS, "expected {CALLS} requests and replies on the wire");
    Ok(WireSizes { target, setup_out: 0, setup_in: 0, requests, replies, texts: Default::default() })
}

/// The records of one direction of a session: (record, bytes it took on the wire).
fn records(bytes: &[u8]) -> Result<Vec<(Record, usize)>> {
    let mut decoder = RecordDecoder::new(NmfQuotas::default());
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while !buf.is_empty() {
        let before = buf.len();
        match decoder.decode(&mut buf) {
            Ok(Some(record)) => out.push((record, before - buf.len())),
            Ok(None) => bail!("a truncated record at the end of the stream"),
            Err(e) => bail!("not [MC-NMF]: {}", e.error()),
        }
    }
    Ok(out)
}

fn session_sizes(target: Target, log: &[(Dir, Vec<u8>)]) -> Result<WireSizes> {
    let stream = |want: Dir| -> Vec<u8> {
        log.iter().filter(|(d, _)| *d == want).flat_map(|(_, chunk)| chunk.iter().copied()).collect()
    };
    let (mut sizes, mut texts) = (WireSizes::empty(target), [Vec::new(), Vec::new()]);
    for dir in [Dir::Out, Dir::In] {
        let (mut setup, mut envelopes) = (0, Vec::new());
        for (record, len) in records(&stream(dir))? {
            match record {
                Record::SizedEnvelope(payload) => {
                    envelopes.push(Sized { wire: len, envelope: payload.len() });
                    if target.encoding() == Some(soapwire::MessageEncoding::TextUtf8) {
                        texts[usize::from(dir == Dir::In)].push(payload.to_vec());
                    }
                }
                Record::End => {}
                Record::Fault(f) => bail!("the server sent the framing fault {f}"),
                _ if envelopes.is_empty() => setup += len,
                other => bail!("unexpected {} record during the session", other.name()),
            }
        }
        ensure!(envelopes.len() == CALLS, "expected {CALLS} sized envelopes each way, saw {}", envelopes.len());
        match dir {
            Dir::Out => (sizes.setup_out, sizes.requests) = (setup, envelopes),
            Dir::In => (sizes.setup_in, sizes.replies) = (setup, envelopes),
        }
    }
    sizes.texts = texts;
    Ok(sizes)
}

impl WireSizes {
    fn empty(target: Target) -> WireSizes {
        WireSizes {
            target,
            setup_out: 0,
            setup_in: 0,
            requests: Vec::new(),
            replies: Vec::new(),
            texts: Default::default(),
        }
    }
}

/// The last request and reply text envelopes the text session carried, if it was measured.
pub(super) fn text_envelopes(sizes: &[WireSizes]) -> Option<(&[u8], &[u8])> {
    let s = sizes.iter().find(|s| !s.texts[0].is_empty())?;
    Some((s.texts[0].last()?, s.texts[1].last()?))
}

/// The request sizes computed in-process from the text envelopes the text session carried:
/// `(text, binary, binary-session per message)`.
pub(super) fn computed(sizes: &[WireSizes]) -> Result<Option<(usize, usize, Vec<usize>)>> {
    let Some(texts) = sizes.iter().find(|s| !s.texts[0].is_empty()).map(|s| &s.texts[0]) else { return Ok(None) };
    let mut binary = Vec::new();
    encode_document(&texts[0], &mut binary).context("encoding the text envelope as binary XML")?;
    let mut session = SessionEncoder::new(SESSION_DICTIONARY);
    let mut per_message = Vec::new();
    for text in texts {
        let mut out = Vec::new();
        session.encode_envelope(text, &mut out).context("encoding the text envelope with a session dictionary")?;
        per_message.push(out.len());
    }
    Ok(Some((texts[0].len(), binary.len(), per_message)))
}

/// The message-size table (Markdown or text) and the cross-check line.
pub(super) fn report(sizes: &[WireSizes], md: bool) -> String {
    let mut out = String::new();
    let title = format!(
        "bytes per message on the wire, measured through a recording proxy ({CALLS} calls per session; \
         in parentheses the SOAP envelope alone: the HTTP body, the sized envelope's payload)"
    );
    let head = ["target", "set-up out/in", "request 1st", "request later", "reply 1st", "reply later"];
    if md {
        let _ = writeln!(out, "**{title}**\n");
        let _ = writeln!(out, "| {} |", head.join(" | "));
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
    } else {
        let _ = writeln!(out, "{title}");
        let _ = writeln!(
            out,
            "  {:<24} {:>13} {:>13} {:>13} {:>13} {:>13}",
            head[0], head[1], head[2], head[3], head[4], head[5]
        );
    }
    let cell = |s: Option<&Sized>| s.map_or_else(|| "-".to_string(), |s| format!("{} ({})", s.wire, s.envelope));
    for s in sizes {
        let setup =
            if s.target == Target::Http { "TCP only".to_string() } else { format!("{}/{}", s.setup_out, s.setup_in) };
        let cells = [
            s.target.label().to_string(),
            setup,
            cell(s.requests.first()),
            cell(s.requests.last()),
            cell(s.replies.first()),
            cell(s.replies.last()),
        ];
        if md {
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        } else {
            let _ = writeln!(
                out,
                "  {:<24} {:>13} {:>13} {:>13} {:>13} {:>13}",
                cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
            );
        }
    }
    let lead = if md { "" } else { "  " };
    match computed(sizes) {
        Ok(Some((text, binary, session))) => {
            let wire = |t: Target| -> Vec<usize> {
                sizes
                    .iter()
                    .find(|s| s.target == t)
                    .map(|s| s.requests.iter().map(|r| r.envelope).collect())
                    .unwrap_or_default()
            };
            let (wire_binary, wire_session) = (wire(Target::TcpBinary), wire(Target::TcpBinarySession));
            let list = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
            let mut differs = Vec::new();
            if !wire_binary.is_empty() && wire_binary.first() != Some(&binary) {
                differs.push(format!("binary {}", list(&wire_binary)));
            }
            if !wire_session.is_empty() && wire_session != session {
                differs.push(format!("binary-session {}", list(&wire_session)));
            }
            let verdict = match (differs.is_empty(), wire_binary.is_empty() && wire_session.is_empty()) {
                (_, true) => "no binary target measured on the wire".to_string(),
                (true, false) => "the same as on the wire".to_string(),
                (false, false) => format!("on the wire: {}", differs.join("; ")),
            };
            let _ = writeln!(
                out,
                "\n{lead}request envelope computed in-process from the {text}-byte text envelope \
                 (framing::binary): binary {binary}, binary-session {} per message ({verdict})",
                list(&session),
            );
        }
        Ok(None) => {}
        Err(e) => {
            let _ = writeln!(out, "\n{lead}computing the binary sizes in-process failed: {e:#}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_join_into_messages_and_urls_split() {
        let log = vec![(Dir::Out, b"ab".to_vec()), (Dir::Out, b"c".to_vec()), (Dir::In, b"d".to_vec())];
        assert_eq!(messages(&log), vec![(Dir::Out, b"abc".to_vec()), (Dir::In, b"d".to_vec())]);
        let (addr, scheme, path) = split_url("net.tcp://127.0.0.1:808/echo").expect("splits");
        assert_eq!((addr.port(), scheme, path), (808, "net.tcp://", "/echo"));
        assert!(split_url("net.unix:///tmp/x.sock").is_err());
    }

    #[test]
    fn session_records_are_cut_with_their_wire_length() {
        use soapwire::soapwire_proto::framing::nmf::{KnownEncoding, Mode, encode, initiator_preamble};
        let mut out = Vec::new();
        initiator_preamble("net.tcp://h/echo", Mode::Duplex, KnownEncoding::Soap12Utf8, &mut out);
        let preamble = out.len();
        for _ in 0..CALLS {
            encode(&Record::SizedEnvelope(bytes::Bytes::from_static(b"<e/>")), &mut out);
        }
        encode(&Record::End, &mut out);
        let mut back = Vec::new();
        encode(&Record::PreambleAck, &mut back);
        for _ in 0..CALLS {
            encode(&Record::SizedEnvelope(bytes::Bytes::from_static(b"<r/>")), &mut back);
        }
        encode(&Record::End, &mut back);
        let log = vec![(Dir::Out, out), (Dir::In, back)];
        let s = session_sizes(Target::TcpText, &log).expect("decodes");
        assert_eq!((s.setup_out, s.setup_in), (preamble, 1));
        assert_eq!(s.requests[0], Sized { wire: 6, envelope: 4 });
        assert_eq!((s.texts[0].len(), s.texts[1].len()), (CALLS, CALLS));
        assert_eq!(text_envelopes(std::slice::from_ref(&s)), Some((&b"<e/>"[..], &b"<r/>"[..])));
    }
}
