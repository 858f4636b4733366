//! .NET Binary XML with the in-band session dictionary ([MC-NBFSE]): a sequence of messages on
//! one direction of a session, with a small `max_session_dictionary_size`.
//!
//! Input: byte 0 = `k`, byte 1 = the session dictionary quota (0 to 255 bytes). The low 3 bits
//! of `k` are the number of cut points, each a little-endian u16 that follows (taken modulo the
//! body length); they cut the rest, the body, into messages. Bit 3 of `k` picks the mode:
//!
//! - 0, binary: each message is a payload (`StringTable` + NBFX document) for one
//!   `SessionDecoder`, with tight quotas (depth 8, 8 attributes, 8 namespaces, 64-byte names,
//!   512-byte text, 16 KiB). The dictionary never exceeds the quota and never shrinks, and
//!   every string costs at least a byte. Whatever decodes must be read by our reader with the
//!   same quotas, and goes through a second encoder/decoder pair (the round trip below).
//! - 1, text: each message is text XML for one `SessionEncoder`.
//!
//! Round trip: text XML our encoder accepts, encoded message after message with one
//! `SessionEncoder`, must decode with one fresh `SessionDecoder` (same quota) to the same
//! infoset; both ends must count the same dictionary strings and bytes, within the quota. A
//! refused message must leave the output and the encoder's dictionary as they were.
#![no_main]

#[path = "common/infoset.rs"]
mod infoset;

use libfuzzer_sys::fuzz_target;
use soapwire_proto::framing::binary::{SessionDecoder, SessionEncoder};
use soapwire_proto::xml::ReaderQuotas;

const QUOTAS: ReaderQuotas = ReaderQuotas {
    max_depth: 8,
    max_attributes: 8,
    max_namespaces: 8,
    max_name_bytes: 64,
    max_text_bytes: 512,
    max_total_bytes: 16 * 1024,
};

/// One direction of a session used to check the text → binary → text round trip.
struct RoundTrip {
    tx: SessionEncoder,
    rx: SessionDecoder,
    max: usize,
}

impl RoundTrip {
    fn new(max: usize) -> Self {
        RoundTrip { tx: SessionEncoder::new(max), rx: SessionDecoder::new(max), max }
    }

    /// Sends `xml`; returns whether the encoder accepted it. `must_accept`: it came from our
    /// decoder, so the encoder has to take it.
    fn send(&mut self, xml: &[u8], must_accept: bool) -> bool {
        let before = (self.tx.dictionary_len(), self.tx.dictionary_bytes());
        let mut out = vec![0xEE];
        if let Err(e) = self.tx.encode_envelope(xml, &mut out) {
            assert!(!must_accept, "the encoder refuses decoded XML ({e}): {}", String::from_utf8_lossy(xml));
            assert_eq!(out, [0xEE], "a refused message changed the output");
            assert_eq!(
                (self.tx.dictionary_len(), self.tx.dictionary_bytes()),
                before,
                "a refused message changed the dictionary"
            );
            return false;
        }
        assert_eq!(out.first(), Some(&0xEE), "the encoder overwrote the output");
        assert!(self.tx.dictionary_bytes() <= self.max, "the encoder's dictionary is over its quota");
        assert!(self.tx.dictionary_len() >= before.0 && self.tx.dictionary_bytes() >= before.1);
        let text = self.rx.decode_envelope(&out[1..], &infoset::GENEROUS).unwrap_or_else(|e| {
            panic!("our own message does not decode ({e}): {} as {:02X?}", String::from_utf8_lossy(xml), &out[1..])
        });
        assert_eq!(
            (self.rx.dictionary_len(), self.rx.dictionary_bytes()),
            (self.tx.dictionary_len(), self.tx.dictionary_bytes()),
            "the two ends disagree on the session dictionary"
        );
        let expected = infoset::infoset(xml, false).unwrap_or_else(|e| {
            panic!("the encoder accepted XML our reader refuses ({e}): {}", String::from_utf8_lossy(xml))
        });
        let got = infoset::infoset(&text, false).unwrap_or_else(|e| {
            panic!("the session decoder wrote XML our reader refuses ({e}): {}", String::from_utf8_lossy(&text))
        });
        assert_eq!(
            got,
            expected,
            "the round trip changed the infoset: {} became {}",
            String::from_utf8_lossy(xml),
            String::from_utf8_lossy(&text)
        );
        true
    }
}

fn binary(messages: &[&[u8]], max: usize) {
    let mut rx = SessionDecoder::new(max);
    let mut round_trip = RoundTrip::new(max);
    for payload in messages {
        let (len, bytes) = (rx.dictionary_len(), rx.dictionary_bytes());
        let result = rx.decode_envelope(payload, &QUOTAS);
        assert!(rx.dictionary_bytes() <= max, "{} bytes of session strings, quota {max}", rx.dictionary_bytes());
        assert!(rx.dictionary_len() >= len && rx.dictionary_bytes() >= bytes, "the session dictionary shrank");
        assert!(
            rx.dictionary_len() - len <= rx.dictionary_bytes() - bytes,
            "session strings that cost nothing against the quota"
        );
        let Ok(text) = result else { continue };
        assert!(text.len() <= QUOTAS.max_total_bytes);
        if let Err(e) = infoset::read_all(&text, &QUOTAS) {
            panic!(
                "the session decoder wrote XML our reader refuses with the same quotas ({e}): {}",
                String::from_utf8_lossy(&text)
            );
        }
        round_trip.send(&text, true);
    }
}

fn text(messages: &[&[u8]], max: usize) {
    let mut round_trip = RoundTrip::new(max);
    for xml in messages {
        round_trip.send(xml, false);
    }
}

fuzz_target!(|data: &[u8]| {
    let [k, max, rest @ ..] = data else { return };
    let n = usize::from(k & 7);
    if rest.len() < 2 * n {
        return;
    }
    let (cut_bytes, body) = rest.split_at(2 * n);
    let mut cuts: Vec<usize> =
        cut_bytes.chunks_exact(2).map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut messages = Vec::with_capacity(n + 1);
    let mut at = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        messages.push(&body[at..cut]);
        at = cut;
    }
    if k & 0x08 == 0 { binary(&messages, usize::from(*max)) } else { text(&messages, usize::from(*max)) }
});
