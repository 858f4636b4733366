#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Bounded memory for streamed MTOM attachments: 512 MiB up and 512 MiB down through the
//! real `soapwire serve echo` binary must leave both processes' peak RSS (`VmHWM`) under a
//! fixed bound far below the data size. This test is alone in its binary so that the
//! client's peak is its own. The 1 GiB / 4 GiB figures are in BENCHMARKS.md
//! (`cargo xtask bench mtom`).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use soapwire::{ChannelProperties, Message, OutboundAttachment, RequestChannel, XmlWriter};

/// Bytes moved each way.
const SIZE: u64 = 512 * 1024 * 1024;
/// The peak RSS either process may reach, whatever SIZE is (a debug build's runtime, buffers
/// and allocator slack; about 8 MiB was measured).
const RSS_BOUND_KIB: u64 = 48 * 1024;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn vm_hwm_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_gigabyte_each_way_stays_within_a_fixed_rss_bound() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_soapwire"))
        .args(["serve", "echo", "--listen", "http://127.0.0.1:0/echo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").expect("the server's address").to_owned();
    let pid = server.0.id().to_string();

    let mut properties = ChannelProperties::default();
    properties.set_all_timeouts(Some(Duration::from_secs(120)));
    let channel = RequestChannel::new(properties.clone());
    channel.open(&url).await.unwrap();

    // Upload: written through an OutboundAttachment in 256 KiB writes.
    let attachment = OutboundAttachment::new("application/octet-stream");
    let mut body = XmlWriter::new();
    body.start_element(Some("e"), "upload");
    body.namespace_decl(Some("e"), "http://example.org/echo");
    body.start_element(Some("e"), "data");
    attachment.write_include(&mut body);
    body.end_element();
    body.end_element();
    let mut request = Message::new(properties.envelope_version, properties.addressing_version);
    request.initialize_request("http://example.org/echo/upload", body.into_bytes()).unwrap();
    request.add_attachment(&attachment);
    let writer = attachment.clone();
    let write = tokio::spawn(async move {
        let chunk = vec![0x5Au8; 256 * 1024];
        for _ in 0..SIZE / chunk.len() as u64 {
            writer.write_all(&chunk).await.unwrap();
        }
        writer.close().await.unwrap();
    });
    channel.send_message(&mut request).await.unwrap();
    write.await.unwrap();
    let mut reply = Message::new(properties.envelope_version, properties.addressing_version);
    channel.receive_message(&mut reply).await.unwrap();
    let text = String::from_utf8_lossy(reply.body_xml()).into_owned();
    assert!(text.contains(&format!(">{SIZE}<")), "{text}");

    // Download: read chunk by chunk.
    let reply = channel
        .call(
            "http://example.org/echo/download",
            format!(r#"<e:download xmlns:e="http://example.org/echo"><e:length>{SIZE}</e:length></e:download>"#),
        )
        .await
        .unwrap();
    assert_eq!(reply.attachment_references().len(), 1);
    let mut a = reply.attachment(&reply.attachment_references()[0]).await.unwrap();
    let mut n = 0u64;
    while let Some(c) = a.next_chunk().await.unwrap() {
        n += c.len() as u64;
    }
    assert_eq!(n, SIZE);
    channel.close().await.unwrap();

    let server_peak = vm_hwm_kib(&pid);
    let client_peak = vm_hwm_kib("self");
    eprintln!("peak RSS after {} MiB each way: server {server_peak} KiB, client {client_peak} KiB", SIZE >> 20);
    assert!(server_peak < RSS_BOUND_KIB, "server peak RSS {server_peak} KiB");
    assert!(client_peak < RSS_BOUND_KIB, "client peak RSS {client_peak} KiB");
}
