//! .NET Binary XML with the static dictionary ([MC-NBFX], [MC-NBFS]): `decode_document` and
//! `decode_fragment` over arbitrary bytes with tight quotas (depth 8, 8 attributes, 8
//! namespaces, 64-byte names, 512-byte text, 16 KiB in and out).
//!
//! Input: the binary records.
//!
//! Checks:
//! - The output stays within `max_total_bytes`, and is well-formed: our reader reads a decoded
//!   fragment as a fragment and a decoded document as a document, the latter even with the
//!   same quotas (what the decoder accepts, `Envelope::parse` with those quotas does not refuse).
//! - A document is a fragment: when `decode_document` succeeds, `decode_fragment` gives the
//!   same bytes.
//! - Round trip: a decoded document is accepted by `encode_document`, and its encoding decodes
//!   (with the same quotas) to the same infoset; encoding that decoding again gives the same
//!   binary (so comments and text survive too; only whitespace outside the root may go).
#![no_main]

#[path = "common/infoset.rs"]
mod infoset;

use libfuzzer_sys::fuzz_target;
use soapwire_proto::framing::binary::{decode_document, decode_fragment, encode_document};
use soapwire_proto::xml::ReaderQuotas;

const QUOTAS: ReaderQuotas = ReaderQuotas {
    max_depth: 8,
    max_attributes: 8,
    max_namespaces: 8,
    max_name_bytes: 64,
    max_text_bytes: 512,
    max_total_bytes: 16 * 1024,
};

fuzz_target!(|data: &[u8]| {
    let fragment = decode_fragment(data, &QUOTAS);
    if let Ok(text) = &fragment {
        assert!(text.len() <= QUOTAS.max_total_bytes, "fragment output of {} bytes", text.len());
        if let Err(e) = infoset::infoset(text, true) {
            panic!("decode_fragment wrote XML our reader refuses ({e}): {}", String::from_utf8_lossy(text));
        }
    }
    let Ok(text) = decode_document(data, &QUOTAS) else { return };
    assert!(text.len() <= QUOTAS.max_total_bytes, "document output of {} bytes", text.len());
    match &fragment {
        Ok(f) => assert_eq!(f, &text, "decode_fragment and decode_document disagree"),
        Err(e) => panic!("decode_document succeeded, decode_fragment failed: {e}"),
    }
    let nodes = infoset::infoset(&text, false).unwrap_or_else(|e| {
        panic!("decode_document wrote XML our reader refuses ({e}): {}", String::from_utf8_lossy(&text))
    });
    if let Err(e) = infoset::read_all(&text, &QUOTAS) {
        panic!(
            "decode_document wrote XML our reader refuses with the same quotas ({e}): {}",
            String::from_utf8_lossy(&text)
        );
    }

    let mut binary = Vec::new();
    if let Err(e) = encode_document(&text, &mut binary) {
        panic!("encode_document refuses decoded XML ({e}): {}", String::from_utf8_lossy(&text));
    }
    let again = decode_document(&binary, &QUOTAS).unwrap_or_else(|e| {
        panic!("the re-encoding of {} does not decode ({e}): {binary:02X?}", String::from_utf8_lossy(&text))
    });
    let again_nodes = infoset::infoset(&again, false).expect("the second decoding is well-formed");
    assert_eq!(nodes, again_nodes, "the round trip changed the infoset");

    // The text may differ only in whitespace outside the root element, which the encoder
    // drops (and the infoset does not show). Comments are compared here: re-encoding the
    // second decoding must give the same binary.
    let mut binary_again = Vec::new();
    encode_document(&again, &mut binary_again).expect("the second decoding encodes");
    assert_eq!(
        binary,
        binary_again,
        "encoding is not a fixed point: {} then {}",
        String::from_utf8_lossy(&text),
        String::from_utf8_lossy(&again)
    );
});
