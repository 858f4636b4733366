//! The client side of `cargo xtask bench mtom`, run as a child process
//! (`xtask bench mtom-client KIND --size N [--url URL]`) so that its peak RSS is its own.
//!
//! It performs one transfer, checks the answer, and prints one line:
//! `RESULT bytes=N secs=S hwm_kib=K` (S: the transfer alone, without process start-up or
//! buffer filling; K: this process's VmHWM at the end). Any wrong answer is an error (exit
//! status 1, message on stderr).

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use sha2::Digest as _;
use soapwire::attachment::new_content_id;
use soapwire::soapwire_proto::mtom;
use soapwire::{
    AddressingVersion, ChannelProperties, EnvelopeVersion, Message, ReaderQuotas, RequestChannel, XmlEvent, XmlWriter,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{ClientRuntime, Transfer, vm_hwm_kib};

/// The echo service's namespace.
const NS: &str = "http://example.org/echo";
/// Bytes per generated upload chunk and per raw TCP write (a multiple of the pattern's period).
const CHUNK: usize = 64 * 1024;
/// Bytes per raw TCP read. 64 KiB: on the 2-vCPU VM of BENCHMARKS.md, 256 KiB reads made
/// the same transfer about half as fast (1.5 against 3.2 GB/s, 8 interleaved runs each).
const TCP_READ: usize = 64 * 1024;
/// The pattern's period: byte *i* is `(i * 31 + 7) & 255`.
const PERIOD: usize = 256;
/// SOAP 1.1 without WS-Addressing headers, as gSOAP's echo_client sends.
const ENVELOPE: EnvelopeVersion = EnvelopeVersion::Soap11;
/// See [`ENVELOPE`].
const ADDRESSING: AddressingVersion = AddressingVersion::Transport;

/// `xtask bench mtom-client KIND --size N [--url URL] [--runtime multi|current|main]`.
pub(in crate::bench) fn client(args: &[&str]) -> Result<()> {
    let (kind, rest) = match args {
        [kind, rest @ ..] => (Transfer::from_name(kind)?, rest),
        [] => bail!(
            "usage: xtask bench mtom-client tcp|upload|upload-sink|download|echodata --size N [--url URL] [--runtime R]"
        ),
    };
    let (mut size, mut url, mut runtime) = (None, None, ClientRuntime::Multi);
    let mut args = crate::bench::OptionArgs::new(rest);
    while let Some((arg, name, inline)) = args.next_option(&[]) {
        match name {
            "--size" => size = Some(args.value(name, inline)?.parse::<u64>().context("--size: a byte count")?),
            "--url" => url = Some(args.value(name, inline)?.to_string()),
            "--runtime" => runtime = ClientRuntime::from_name(args.value(name, inline)?)?,
            _ => bail!("mtom-client: unknown option {arg:?}"),
        }
    }
    let size = size.context("mtom-client needs --size")?;
    let work = transfer(kind, size, url);
    let secs = match runtime {
        ClientRuntime::Current => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(work)?,
        ClientRuntime::Main => tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(work)?,
        ClientRuntime::Multi => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(async { tokio::spawn(work).await })
            .context("the transfer task failed")??,
    };
    println!("RESULT bytes={size} secs={secs:.6} hwm_kib={}", vm_hwm_kib("self").unwrap_or(0));
    Ok(())
}

/// Runs one transfer; its time in seconds.
async fn transfer(kind: Transfer, size: u64, url: Option<String>) -> Result<f64> {
    let url = || url.as_deref().context("mtom-client needs --url for this transfer");
    match kind {
        Transfer::Tcp => raw_tcp(size).await,
        Transfer::Upload => upload(url()?, size, true).await,
        Transfer::UploadSink => upload(url()?, size, false).await,
        Transfer::Download => download(url()?, size).await,
        Transfer::EchoData => echo_data(url()?, size).await,
        Transfer::GsoapEchoData => bail!("gSOAP's echoData is driven by gSOAP's own client"),
    }
}

/// The first `n` bytes of the pattern.
pub(super) fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(31).wrapping_add(7) & 0xff) as u8).collect()
}

/// One socket writing `size` bytes in [`CHUNK`] writes of a prefilled buffer to a reader task
/// that discards them ([`TCP_READ`] reads); seconds from connect to the reader's end of stream.
async fn raw_tcp(size: u64) -> Result<f64> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding a loopback port")?;
    let addr = listener.local_addr()?;
    let reader = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await?;
        let mut buf = vec![0u8; TCP_READ];
        let mut total = 0u64;
        loop {
            match socket.read(&mut buf).await? {
                0 => return Ok::<u64, std::io::Error>(total),
                n => total += n as u64,
            }
        }
    });
    let chunk = pattern(CHUNK);
    let started = Instant::now();
    let mut socket = tokio::net::TcpStream::connect(addr).await.context("connecting")?;
    let mut left = size;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        socket.write_all(&chunk[..n]).await.context("writing")?;
        left -= n as u64;
    }
    socket.shutdown().await.context("shutting down the write side")?;
    let total = reader.await.context("the reader task failed")?.context("reading")?;
    let secs = started.elapsed().as_secs_f64();
    ensure!(total == size, "the reader got {total} bytes, {size} were sent");
    Ok(secs)
}

/// A request channel with generous timeouts; attachments are streamed, so the buffered
/// message size (the envelope part) stays at its default.
async fn channel(url: &str) -> Result<RequestChannel> {
    let mut props = ChannelProperties::default();
    props.set_all_timeouts(Some(Duration::from_secs(600)));
    props.envelope_version = ENVELOPE;
    props.addressing_version = ADDRESSING;
    props.mime_quotas.max_part_size = u64::MAX;
    props.mime_quotas.max_message_size = u64::MAX;
    let channel = RequestChannel::new(props);
    channel.open(url).await.with_context(|| format!("opening a channel to {url}"))?;
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

/// `size` bytes of the pattern as a stream of [`CHUNK`]-byte `Bytes`, all slices of one
/// prefilled buffer (the pattern repeats every 256 bytes), generated as the connection takes them.
struct PatternChunks {
    chunk: Bytes,
    remaining: u64,
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

/// A request for operation `op` of the echo service (action `NS/op`) with `body`.
fn request(op: &str, body: impl Into<Bytes>) -> Result<Message> {
    let mut request = Message::new(ENVELOPE, ADDRESSING);
    request.initialize_request(&format!("{NS}/{op}"), body)?;
    Ok(request)
}

/// Sends `request` over a new channel to `url` and reads the reply; with `pattern_reply` =
/// `Some(n)` also the reply's attachment, which must be `n` bytes of the pattern. Returns the
/// seconds from sending to the end of the reply (the channel is opened before the clock
/// starts) and the reply.
async fn timed_call(url: &str, mut request: Message, pattern_reply: Option<u64>) -> Result<(f64, Message)> {
    let channel = channel(url).await?;
    let mut reply = Message::new(ENVELOPE, ADDRESSING);
    let started = Instant::now();
    channel.request_reply(&mut request, &mut reply).await.context("the call failed")?;
    if let Some(size) = pattern_reply {
        read_pattern_reply(&reply, size).await?;
    }
    let secs = started.elapsed().as_secs_f64();
    channel.close().await?;
    Ok((secs, reply))
}

/// `upload` with a streamed attachment of `size` bytes; checks the reply's length and, with
/// `check_hash`, its SHA-256 (the expected digest is computed after the clock stops; the
/// receive-only server of `sink` sends none).
async fn upload(url: &str, size: u64, check_hash: bool) -> Result<f64> {
    let id = new_content_id();
    let mut request = request("upload", body_with_include("upload", &id))?;
    let chunks = PatternChunks { chunk: Bytes::from(pattern(CHUNK)), remaining: size };
    request.add_attachment_stream(&id, "application/octet-stream", chunks);
    let (secs, reply) = timed_call(url, request, None).await?;
    let (length, sha256) = upload_reply(&reply)?;
    ensure!(length == size, "uploadResponse says {length} bytes, {size} were sent");
    if !check_hash {
        return Ok(secs);
    }
    let expected = pattern_sha256(size);
    ensure!(sha256.eq_ignore_ascii_case(&expected), "uploadResponse sha256 {sha256}, expected {expected}");
    Ok(secs)
}

/// `(length, sha256)` of `<e:uploadResponse><e:length>N</e:length><e:sha256>HEX</e:sha256>`
/// (also used by `soak`).
pub(crate) fn upload_reply(reply: &Message) -> Result<(u64, String)> {
    let mut reader = reply.body_reader(&ReaderQuotas::default())?;
    let (mut current, mut length, mut sha256) = (String::new(), None, None);
    loop {
        match reader.next()? {
            XmlEvent::Start(e) => current = e.name.local,
            XmlEvent::Text(t) if current == "length" => {
                length = Some(t.trim().parse::<u64>().with_context(|| format!("uploadResponse length {t:?}"))?);
            }
            XmlEvent::Text(t) if current == "sha256" => sha256 = Some(t.trim().to_string()),
            XmlEvent::Text(_) => {}
            XmlEvent::End => current.clear(),
            XmlEvent::Eof => break,
        }
    }
    let body = || String::from_utf8_lossy(reply.body_xml()).into_owned();
    Ok((
        length.with_context(|| format!("no length in the reply: {}", body()))?,
        sha256.with_context(|| format!("no sha256 in the reply: {}", body()))?,
    ))
}

/// The SHA-256 of the first `size` bytes of the pattern, in lower-case hex.
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

/// Checks received bytes against the pattern as they arrive (a `memcmp` per piece).
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

/// Reads the reply's one attachment chunk by chunk (never whole), checking it against the
/// pattern; fails unless it is exactly `size` bytes and the only attachment.
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

/// `download(size)`: the reply's attachment is read as a stream and checked.
async fn download(url: &str, size: u64) -> Result<f64> {
    let body = format!(r#"<e:download xmlns:e="{NS}"><e:length>{size}</e:length></e:download>"#);
    Ok(timed_call(url, request("download", body)?, Some(size)).await?.0)
}

/// `echoData` with `size` bytes in memory (`add_attachment_bytes`, as gSOAP's client holds
/// its data), the echoed attachment read as a stream and checked.
async fn echo_data(url: &str, size: u64) -> Result<f64> {
    let data = Bytes::from(pattern(usize::try_from(size).context("--size too large for memory")?));
    let id = new_content_id();
    let mut request = request("echoData", body_with_include("echoData", &id))?;
    request.add_attachment_bytes(&id, "application/octet-stream", data);
    Ok(timed_call(url, request, Some(size)).await?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_check_accepts_the_pattern_in_any_pieces_and_rejects_a_flipped_byte() {
        let data = pattern(3 * CHUNK + 1000);
        let mut check = PatternCheck::new();
        for piece in data.chunks(CHUNK * 2 + 17) {
            check.feed(piece).expect("the pattern passes");
        }
        assert_eq!(check.seen, data.len() as u64);
        let mut bad = data.clone();
        bad[CHUNK + 5] ^= 1;
        assert!(PatternCheck::new().feed(&bad).is_err());
    }

    #[test]
    fn pattern_sha256_matches_hashing_the_whole_buffer() {
        let n = 2 * CHUNK + 300;
        let whole: String = sha2::Sha256::digest(pattern(n)).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(pattern_sha256(n as u64), whole);
        assert_eq!(pattern(3), [7, 38, 69]);
    }
}
