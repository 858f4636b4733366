#![allow(clippy::unwrap_used, clippy::expect_used)]
//! MTOM on the HTTP binding, both directions, on loopback: attachments from memory, from a
//! stream and written through [`OutboundAttachment`]; lazy reading by Content-ID and in
//! wire order; and the documented behaviours of `IWSDOutboundAttachment` /
//! `IWSDInboundAttachment` on a real connection (one named test each). Wire-level interop
//! with gSOAP, zeep and node-soap is in `soapwire-cli/tests/interop.rs`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use soapwire::attachment::new_content_id;
use soapwire::soapwire_proto::attachment::{CloseOutcome, OutboundConfig, ReadOutcome, WriteOutcome};
use soapwire::soapwire_proto::mtom;
use soapwire::{
    AddressingVersion, ChannelProperties, EnvelopeVersion, ErrorKind, Hresult, Listener, ListenerProperties, Message,
    MessageEncoding, OutboundAttachment, ReplyChannel, RequestChannel, Timeout, XmlWriter,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NS: &str = "http://example.org/echo";
const ECHO_DATA: &str = "http://example.org/echo/echoData";
const BOUND: Duration = Duration::from_secs(20);

macro_rules! bounded {
    ($fut:expr) => {
        tokio::time::timeout(BOUND, $fut).await.expect(concat!("did not complete in time: ", stringify!($fut)))
    };
}

fn props() -> ChannelProperties {
    let mut p = ChannelProperties::default();
    p.set_all_timeouts(Some(Duration::from_secs(10)));
    p
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + 7) as u8).collect()
}

/// `<e:echoData><e:data><xop:Include href="cid:ID"/></e:data>...</e:echoData>` for each id.
fn body_with_includes(op: &str, ids: &[&str]) -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.start_element(Some("e"), op);
    w.namespace_decl(Some("e"), NS);
    for id in ids {
        w.start_element(Some("e"), "data");
        mtom::write_include(&mut w, id);
        w.end_element();
    }
    w.end_element();
    w.into_bytes()
}

/// A listener whose every exchange is handled by `serve`.
async fn server<F, Fut>(properties: ListenerProperties, serve: F) -> (Arc<Listener>, String)
where
    F: Fn(ReplyChannel) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    common::serve_each(properties, "/mtom", serve).await
}

/// Echoes every attachment of the request back, in wire order, read fully first (a
/// blocking client writes its whole request before it reads).
async fn echo_attachments(channel: ReplyChannel) {
    let mut request = channel.new_message();
    if let Err(e) = channel.receive_message(&mut request).await {
        eprintln!("echo_attachments: receive failed: {e}");
        channel.abort();
        return;
    }
    let mut reply = channel.new_message();
    let mut ids = Vec::new();
    let mut datas = Vec::new();
    loop {
        match request.next_attachment().await {
            Ok(Some(a)) => {
                ids.push(a.content_id().to_owned());
                datas.push(a.to_bytes(1 << 30).await.unwrap());
            }
            Ok(None) => break,
            Err(e) => {
                let _ = channel.send_fault_for_error(Some(&request), &e).await;
                let _ = channel.close().await;
                return;
            }
        }
    }
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    reply.initialize_reply(&request, "urn:reply", body_with_includes("echoDataResponse", &id_refs)).unwrap();
    for (id, data) in ids.iter().zip(datas) {
        reply.add_attachment_bytes(id, "application/octet-stream", data);
    }
    let _ = channel.send_reply(&mut reply).await;
    let _ = channel.close().await;
}

/// An echoData request (SOAP 1.2) whose data is `attachment`.
fn echo_data_request(attachment: &OutboundAttachment) -> Message {
    let mut request = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    request.initialize_request(ECHO_DATA, body_with_includes("echoData", &[attachment.content_id()])).unwrap();
    request.add_attachment(attachment);
    request
}

async fn collect(reply: &Message) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(mut a) = reply.next_attachment().await.unwrap() {
        let mut data = Vec::new();
        while let Some(c) = a.next_chunk().await.unwrap() {
            data.extend_from_slice(&c);
        }
        out.push((a.content_id().to_owned(), data));
    }
    out
}

#[tokio::test]
async fn attachments_from_memory_round_trip_both_directions() {
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    for version in [EnvelopeVersion::Soap11, EnvelopeVersion::Soap12] {
        let mut p = props();
        p.envelope_version = version;
        let channel = RequestChannel::new(p.clone());
        channel.open(&url).await.unwrap();
        for size in [0usize, 1, 1000, 300_000] {
            let (a, b) = (new_content_id(), new_content_id());
            let mut request = Message::new(version, AddressingVersion::V1_0);
            request.initialize_request(ECHO_DATA, body_with_includes("echoData", &[&a, &b])).unwrap();
            request.add_attachment_bytes(&a, "application/octet-stream", pattern(size));
            request.add_attachment_bytes(&b, "image/png", pattern(size / 2 + 3));
            let mut reply = Message::new(version, AddressingVersion::V1_0);
            bounded!(channel.request_reply(&mut request, &mut reply)).unwrap();
            assert!(reply.is_mtom());
            assert_eq!(reply.attachment_references(), [a.clone(), b.clone()]);
            let got = bounded!(collect(&reply));
            assert_eq!(got, vec![(a, pattern(size)), (b, pattern(size / 2 + 3))], "{version:?} {size}");
        }
        channel.close().await.unwrap();
    }
}

#[tokio::test]
async fn attachments_are_resolved_by_content_id_in_any_order() {
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    let ids: Vec<String> = (0..3).map(|_| new_content_id()).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut request = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    request.initialize_request(ECHO_DATA, body_with_includes("echoData", &refs)).unwrap();
    for (i, id) in ids.iter().enumerate() {
        request.add_attachment_bytes(id, "application/octet-stream", pattern(1000 * (i + 1)));
    }
    let mut reply = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    bounded!(channel.request_reply(&mut request, &mut reply)).unwrap();
    // The last first: the two before it are buffered (small), then read from memory.
    let last = bounded!(reply.attachment(&ids[2])).unwrap().to_bytes(1 << 20).await.unwrap();
    assert_eq!(last, pattern(3000));
    let first = bounded!(reply.attachment(&ids[0])).unwrap().to_bytes(1 << 20).await.unwrap();
    assert_eq!(first, pattern(1000));
    let e = bounded!(reply.attachment(&ids[0])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidOperation, "{e}");
    let e = bounded!(reply.attachment("nobody@x")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidFormat, "{e}");
}

#[tokio::test]
async fn streamed_writer_attachment_of_8_mib_goes_through_in_small_buffers() {
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    let attachment = OutboundAttachment::new("application/octet-stream");
    let mut request = echo_data_request(&attachment);
    let data = pattern(8 << 20);
    let writer = attachment.clone();
    let to_write = data.clone();
    let write = tokio::spawn(async move {
        let mut w = writer.writer();
        w.write_all(&to_write).await.unwrap();
        w.shutdown().await.unwrap();
    });
    bounded!(channel.send_message(&mut request)).unwrap();
    bounded!(write).unwrap();
    let mut reply = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    assert!(bounded!(channel.receive_message(&mut reply)).unwrap());
    let a = bounded!(reply.next_attachment()).unwrap().unwrap();
    let mut read = a.into_async_read();
    let mut got = Vec::new();
    bounded!(read.read_to_end(&mut got)).unwrap();
    assert!(got == data, "8 MiB differ");
}

#[tokio::test]
async fn stream_source_is_sent_as_it_is_produced() {
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    let id = new_content_id();
    let mut request = Message::new(EnvelopeVersion::Soap11, AddressingVersion::Transport);
    request.initialize_request(ECHO_DATA, body_with_includes("echoData", &[&id])).unwrap();
    let chunks: Vec<std::io::Result<Bytes>> = (0..100).map(|i| Ok(Bytes::from(vec![i as u8; 10_000]))).collect();
    request.add_attachment_stream(&id, "application/octet-stream", tokio_stream_iter(chunks));
    let mut reply = Message::new(EnvelopeVersion::Soap11, AddressingVersion::Transport);
    let mut p = props();
    p.envelope_version = EnvelopeVersion::Soap11;
    let channel11 = RequestChannel::new(p);
    channel11.open(&url).await.unwrap();
    bounded!(channel11.request_reply(&mut request, &mut reply)).unwrap();
    let got = bounded!(collect(&reply));
    assert_eq!(got[0].1.len(), 1_000_000);
    assert!(got[0].1.chunks(10_000).enumerate().all(|(i, c)| c.iter().all(|&b| b == i as u8)));
}

/// A stream over a vector, without pulling in a stream utility crate.
fn tokio_stream_iter(items: Vec<std::io::Result<Bytes>>) -> impl futures_core::Stream<Item = std::io::Result<Bytes>> {
    struct Iter(std::vec::IntoIter<std::io::Result<Bytes>>);
    impl futures_core::Stream for Iter {
        type Item = std::io::Result<Bytes>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(items.into_iter())
}

#[tokio::test]
async fn mtom_encoding_sends_mtom_without_attachments_and_utf16_roots_decode() {
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    for encoding in [MessageEncoding::MtomUtf8, MessageEncoding::MtomUtf16Le, MessageEncoding::MtomUtf16Be] {
        let mut p = props();
        p.encoding = encoding;
        let channel = RequestChannel::new(p);
        channel.open(&url).await.unwrap();
        let mut request = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
        request.initialize_request(ECHO_DATA, body_with_includes("echoData", &[])).unwrap();
        let mut reply = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
        bounded!(channel.request_reply(&mut request, &mut reply)).unwrap();
        assert!(reply.is_mtom(), "{encoding:?}: an MTOM request gets an MTOM reply");
        assert!(reply.next_attachment().await.unwrap().is_none());
    }
}

// ---- IWSDOutboundAttachment on a real connection (seed 004, spec §2.1) ----

fn small_buffer() -> OutboundConfig {
    OutboundConfig { buffer_capacity: 4096, transmission_timeout: Duration::from_millis(800) }
}

#[tokio::test]
async fn outbound_close_before_write_is_invalid_operation_0x800710dd() {
    let a = OutboundAttachment::new("application/octet-stream");
    let e = a.try_close().unwrap_err();
    assert_eq!(e.hresult(), Hresult::HRESULT_INVALID_OPERATION_WIN32);
    assert_eq!(e.hresult().0 as u32, 0x800710DD);
    let e = bounded!(a.close()).unwrap_err();
    assert_eq!(e.hresult(), Hresult::HRESULT_INVALID_OPERATION_WIN32);
    assert_eq!(a.abort().unwrap_err().hresult(), Hresult::HRESULT_INVALID_OPERATION_WIN32);
}

#[tokio::test]
async fn outbound_first_write_starts_the_message_on_the_wire() {
    // A raw TCP peer records when the first byte of the request arrives.
    let raw = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/x", raw.local_addr().unwrap());
    let first_byte = tokio::spawn(async move {
        let (mut s, _) = raw.accept().await.unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        let at = std::time::Instant::now();
        let mut rest = vec![0u8; 65536];
        let n = s.read(&mut rest).await.unwrap();
        (at, [&b[..], &rest[..n]].concat())
    });
    let channel = Arc::new(RequestChannel::new(props()));
    channel.open(&url).await.unwrap();
    let attachment = OutboundAttachment::new("application/octet-stream");
    let mut request = echo_data_request(&attachment);
    let c = channel.clone();
    let send = tokio::spawn(async move { c.send_message(&mut request).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!send.is_finished(), "nothing is sent before the first write");
    let written_at = std::time::Instant::now();
    assert_eq!(attachment.write(b"first").unwrap(), WriteOutcome::Accepted(5));
    bounded!(send).unwrap().unwrap();
    let (at, head) = bounded!(first_byte).unwrap();
    assert!(at >= written_at, "the request started before the first write");
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("POST /x HTTP/1.1"), "{head}");
    assert!(head.contains("multipart/related"), "{head}");
}

#[tokio::test]
async fn outbound_write_reports_blocked_without_taking_data_then_accepts_after_drain() {
    // A peer that reads nothing until told to: the attachment buffer fills.
    let raw = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/x", raw.local_addr().unwrap());
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut s, _) = raw.accept().await.unwrap();
        let _ = go_rx.await;
        let mut sink = vec![0u8; 1 << 16];
        while s.read(&mut sink).await.map(|n| n > 0).unwrap_or(false) {}
    });
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    let attachment = OutboundAttachment::with_config("application/octet-stream", small_buffer());
    let mut request = echo_data_request(&attachment);
    assert_eq!(attachment.write(&[1u8; 100]).unwrap(), WriteOutcome::Accepted(100));
    bounded!(channel.send_message(&mut request)).unwrap();
    let block = [7u8; 4096];
    let mut blocked = false;
    let mut taken: u64 = 100;
    for _ in 0..100_000 {
        match attachment.write(&block).unwrap() {
            WriteOutcome::Accepted(n) => taken += n as u64,
            WriteOutcome::Blocked => {
                assert_eq!(WriteOutcome::Blocked.hresult(), Hresult::STG_S_BLOCK);
                blocked = true;
                break;
            }
        }
        tokio::task::yield_now().await;
    }
    assert!(blocked, "the buffer never filled ({taken} bytes taken)");
    // Blocked took nothing: the same bytes are offered again until accepted.
    let _ = go_tx.send(());
    let accepted = bounded!(async {
        loop {
            if let WriteOutcome::Accepted(n) = attachment.write(&block).unwrap() {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    assert!(accepted > 0);
}

#[tokio::test]
async fn outbound_close_waits_for_earlier_writes_then_times_out_with_ws_e_operation_timed_out() {
    // The peer never reads: close cannot drain and fails after the transmission timeout.
    let raw = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/x", raw.local_addr().unwrap());
    tokio::spawn(async move {
        let (s, _) = raw.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    });
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    let attachment = OutboundAttachment::with_config("application/octet-stream", small_buffer());
    let mut request = echo_data_request(&attachment);
    attachment.write(&[0u8; 16]).unwrap();
    bounded!(channel.send_message(&mut request)).unwrap();
    // Fill everything between us and the peer's socket, without waiting (WSDAPI's Write).
    let filler = [0u8; 4096];
    bounded!(async {
        loop {
            match attachment.write(&filler).unwrap() {
                WriteOutcome::Accepted(_) => tokio::time::sleep(Duration::from_millis(1)).await,
                WriteOutcome::Blocked => {
                    // Blocked may be momentary while the pump moves a chunk: make sure.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if attachment.write(&filler).unwrap() == WriteOutcome::Blocked {
                        return;
                    }
                }
            }
        }
    });
    // Close cannot drain: it reports STG_S_BLOCK, then fails once the transmission
    // timeout (800 ms here, 30 s by default) has passed.
    assert_eq!(attachment.try_close().unwrap(), CloseOutcome::Blocked);
    assert_eq!(CloseOutcome::Blocked.hresult(), Hresult::STG_S_BLOCK);
    let started = std::time::Instant::now();
    let e = bounded!(attachment.close()).unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::OperationTimedOut), "{e}");
    assert_eq!(e.hresult().0 as u32, 0x803D0006);
    assert!(started.elapsed() >= Duration::from_millis(500), "{:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn outbound_close_after_abort_is_refused_and_the_peer_sees_a_failed_message() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s2 = seen.clone();
    let (_l, url) = server(ListenerProperties::default(), move |channel: ReplyChannel| {
        let seen = s2.clone();
        async move {
            let mut request = channel.new_message();
            if channel.receive_message(&mut request).await.is_ok() {
                let r = match request.next_attachment().await {
                    Ok(Some(a)) => a.to_bytes(1 << 20).await.map(|b| b.len()),
                    Ok(None) => Ok(0),
                    Err(e) => Err(e),
                };
                *seen.lock().unwrap() = Some(r.map_err(|e| e.kind()));
            }
            channel.abort();
        }
    })
    .await;
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    let attachment = OutboundAttachment::new("application/octet-stream");
    let mut request = echo_data_request(&attachment);
    attachment.write(b"partial data").unwrap();
    bounded!(channel.send_message(&mut request)).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    attachment.abort().unwrap();
    let e = attachment.try_close().unwrap_err();
    assert_eq!(e.hresult(), Hresult::HRESULT_INVALID_OPERATION_WIN32);
    let deadline = std::time::Instant::now() + BOUND;
    loop {
        if let Some(r) = *seen.lock().unwrap() {
            assert!(r.is_err(), "the server read a complete attachment from an aborted message: {r:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the server never saw the end of the message");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- IWSDInboundAttachment ----

#[tokio::test]
async fn inbound_read_returns_s_false_with_the_final_bytes_and_close_is_optional_after_it() {
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    let id = new_content_id();
    let mut request = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    request.initialize_request(ECHO_DATA, body_with_includes("echoData", &[&id])).unwrap();
    request.add_attachment_bytes(&id, "application/octet-stream", pattern(10));
    let mut reply = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    bounded!(channel.request_reply(&mut request, &mut reply)).unwrap();
    let mut a = bounded!(reply.attachment(&id)).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(bounded!(a.read(&mut buf)).unwrap(), ReadOutcome::Data(4));
    assert_eq!(bounded!(a.read(&mut buf)).unwrap(), ReadOutcome::Data(4));
    let end = bounded!(a.read(&mut buf)).unwrap();
    assert_eq!(end, ReadOutcome::End(2));
    assert_eq!(end.hresult(), Some(Hresult::S_FALSE));
    assert_eq!(bounded!(a.read(&mut buf)).unwrap(), ReadOutcome::End(0));
    a.close().unwrap();
}

#[tokio::test]
async fn inbound_close_terminates_an_unfinished_transfer_and_read_after_close_is_refused() {
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    let (a_id, b_id) = (new_content_id(), new_content_id());
    let mut request = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    request.initialize_request(ECHO_DATA, body_with_includes("echoData", &[&a_id, &b_id])).unwrap();
    request.add_attachment_bytes(&a_id, "application/octet-stream", pattern(2 << 20));
    request.add_attachment_bytes(&b_id, "application/octet-stream", pattern(5));
    let mut reply = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    bounded!(channel.request_reply(&mut request, &mut reply)).unwrap();
    let mut a = bounded!(reply.attachment(&a_id)).unwrap();
    let mut buf = [0u8; 1000];
    assert_eq!(bounded!(a.read(&mut buf)).unwrap(), ReadOutcome::Data(1000));
    a.close().unwrap();
    let e = bounded!(a.read(&mut buf)).unwrap_err();
    assert_eq!(e.hresult(), Hresult::HRESULT_INVALID_OPERATION_WIN32);
    // The rest of the closed part is skipped on the wire, not buffered: the next part
    // is reachable with the default (64 KiB) spill quota.
    let b = bounded!(reply.attachment(&b_id)).unwrap().to_bytes(100).await.unwrap();
    assert_eq!(b, pattern(5));
}

#[tokio::test]
async fn server_reads_request_attachments_lazily_and_faults_a_reference_to_a_missing_part() {
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    let mut request = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    // The body refers to a part that is not in the message.
    request.initialize_request(ECHO_DATA, body_with_includes("echoData", &["missing@x"])).unwrap();
    request.set_mtom(true);
    let mut reply = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    let r = bounded!(channel.request_reply(&mut request, &mut reply));
    // The echo handler reads in wire order: no part at all, so it answers with none; a
    // handler asking by Content-ID gets InvalidFormat (see the test above).
    r.unwrap();
}

#[tokio::test]
async fn a_part_nothing_refers_to_is_invalid_format() {
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    let mut request = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    request.initialize_request(ECHO_DATA, body_with_includes("echoData", &[])).unwrap();
    request.add_attachment_bytes("stray@x", "application/octet-stream", pattern(10));
    let mut reply = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    let e = bounded!(channel.request_reply(&mut request, &mut reply)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::EndpointFaultReceived, "{e}");
    let fault = e.fault().expect("a fault");
    assert!(fault.reason.contains("not referenced"), "{}", fault.reason);
    let _ = Timeout::Send;
}

#[tokio::test]
async fn outbound_first_write_of_a_later_attachment_waits_until_earlier_ones_are_finished() {
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    let channel = Arc::new(RequestChannel::new(props()));
    channel.open(&url).await.unwrap();
    let first = OutboundAttachment::with_config("application/octet-stream", small_buffer());
    let second = OutboundAttachment::with_config("application/octet-stream", small_buffer());
    let mut request = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    let ids = [first.content_id(), second.content_id()];
    request.initialize_request(ECHO_DATA, body_with_includes("echoData", &ids)).unwrap();
    request.add_attachment(&first);
    request.add_attachment(&second);
    first.write(b"one").unwrap();
    bounded!(channel.send_message(&mut request)).unwrap();
    // The second attachment's buffer fills, then its writes block: the connection is busy
    // with the first one, which is not finished.
    let block = [2u8; 4096];
    assert_eq!(second.write(&block).unwrap(), WriteOutcome::Accepted(4096));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(second.write(&block).unwrap(), WriteOutcome::Blocked);
    // Finishing the first lets the second drain and accept again.
    bounded!(first.close()).unwrap();
    let accepted = bounded!(async {
        loop {
            if let WriteOutcome::Accepted(n) = second.write(&block).unwrap() {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    assert_eq!(accepted, 4096);
    bounded!(second.close()).unwrap();
    let mut reply = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    assert!(bounded!(channel.receive_message(&mut reply)).unwrap());
    let got = bounded!(collect(&reply));
    assert_eq!(got[0].1, b"one");
    assert_eq!(got[1].1, [block, block].concat());
}

#[tokio::test]
async fn outbound_write_and_close_report_the_connection_error_of_an_earlier_write() {
    // The peer reads the request head and a little more, then resets the connection.
    let raw = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/x", raw.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut s, _) = raw.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = s.read(&mut buf).await;
        let sock = socket2::SockRef::from(&s);
        let _ = sock.set_linger(Some(Duration::ZERO));
        drop(s);
    });
    let channel = RequestChannel::new(props());
    channel.open(&url).await.unwrap();
    let attachment = OutboundAttachment::with_config("application/octet-stream", small_buffer());
    let mut request = echo_data_request(&attachment);
    attachment.write(b"x").unwrap();
    bounded!(channel.send_message(&mut request)).unwrap();
    let data = vec![0u8; 1 << 20];
    let outcome = bounded!(async {
        for _ in 0..64 {
            attachment.write_all(&data).await?;
        }
        attachment.close().await
    });
    let e = outcome.expect_err("64 MiB went into a reset connection");
    assert_eq!(e.kind(), Some(ErrorKind::EndpointDisconnected), "{e}");
    // The error sticks: close reports it too.
    let e = attachment.try_close().unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::EndpointDisconnected), "{e}");
}

#[tokio::test]
async fn a_stream_source_that_stops_producing_fails_the_message_after_the_send_timeout() {
    struct Stalled;
    impl futures_core::Stream for Stalled {
        type Item = std::io::Result<Bytes>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Pending
        }
    }
    let (_l, url) = server(ListenerProperties::default(), echo_attachments).await;
    let mut p = props();
    p.set_timeout(Timeout::Send, Some(Duration::from_millis(300)));
    let channel = RequestChannel::new(p);
    channel.open(&url).await.unwrap();
    let id = new_content_id();
    let mut request = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    request.initialize_request(ECHO_DATA, body_with_includes("echoData", &[&id])).unwrap();
    request.add_attachment_stream(&id, "application/octet-stream", Stalled);
    let mut reply = Message::new(EnvelopeVersion::Soap12, AddressingVersion::V1_0);
    let started = std::time::Instant::now();
    let e = bounded!(channel.request_reply(&mut request, &mut reply)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(e.kind(), ErrorKind::OperationTimedOut, "{e}");
}
