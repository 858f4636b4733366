//! The MIME multipart/related push parser with a fixed boundary (that of the gSOAP MTOM
//! fixture), fed in chunks split where the input says, polled dry after every push, then
//! finished; every part header block goes through `XopPackageCheck`.
//!
//! Input: byte 0 = `k`; the low 3 bits are the number of split points, each a little-endian
//! u16 that follows (taken modulo the body length); the rest is the body. The same body is
//! also parsed in one push: when both runs succeed they must agree on every part.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soapwire_proto::Result;
use soapwire_proto::mime::{MimeQuotas, MultipartEvent, MultipartParser, MultipartType, PartHeaders, XopPackageCheck};

const CONTENT_TYPE: &str = "multipart/related; charset=utf-8; \
    boundary=\"==nGpzR/KspN6ry7jG8CU4bonN2aujzfJamyN3xYjaldFXYpeUryNGb0UROC0B==\"; \
    type=\"application/xop+xml\"; start=\"<SOAP-ENV:Envelope>\"; start-info=\"text/xml\"";

const QUOTAS: MimeQuotas = MimeQuotas {
    max_part_size: 64 * 1024,
    max_message_size: 256 * 1024,
    max_parts: 16,
    max_header_bytes: 1024,
    max_headers: 16,
    max_preamble_bytes: 4096,
};

type Parts = Vec<(PartHeaders, Vec<u8>)>;

fn drain(parser: &mut MultipartParser, xop: &mut XopPackageCheck, parts: &mut Parts, ended: &mut bool) -> Result<()> {
    while let Some(event) = parser.poll_event() {
        match event? {
            MultipartEvent::PartStart { headers } => {
                assert!(!*ended, "a part started after End");
                xop.check_part(&headers)?;
                parts.push((headers, Vec::new()));
            }
            MultipartEvent::PartData(data) => {
                assert!(!*ended, "part data after End");
                parts.last_mut().expect("PartData before any PartStart").1.extend_from_slice(&data);
            }
            MultipartEvent::PartEnd => assert!(!parts.is_empty(), "PartEnd before any PartStart"),
            MultipartEvent::End => {
                assert!(!*ended, "End twice");
                *ended = true;
            }
        }
        assert!(parser.buffered_bytes() <= 256 * 1024 + 4096, "the parser buffers without bound");
    }
    Ok(())
}

/// Parses `body` cut at `cuts`, each piece given with `push` or, with `segments`, as a
/// `Bytes` with `push_bytes` (zero-copy input).
fn run(mt: &MultipartType, body: &[u8], cuts: &[usize], segments: bool) -> Result<Parts> {
    let mut parser = MultipartParser::new(&mt.boundary, QUOTAS)?;
    let mut xop = XopPackageCheck::new(mt)?;
    let mut parts = Vec::new();
    let mut ended = false;
    let mut at = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        if segments {
            parser.push_bytes(bytes::Bytes::copy_from_slice(&body[at..cut]))?;
        } else {
            parser.push(&body[at..cut])?;
        }
        drain(&mut parser, &mut xop, &mut parts, &mut ended)?;
        at = cut;
    }
    parser.finish()?;
    assert!(ended == parser.is_complete());
    xop.finish()?;
    for (headers, _) in &parts {
        let _ = (headers.content_id(), headers.content_type(), headers.content_transfer_encoding(), headers.len());
    }
    Ok(parts)
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else { return };
    let n = usize::from(k & 7);
    if rest.len() < 2 * n {
        return;
    }
    let (cut_bytes, body) = rest.split_at(2 * n);
    let mut cuts: Vec<usize> =
        cut_bytes.chunks_exact(2).map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mt = MultipartType::parse(CONTENT_TYPE).expect("the fixed content type parses");
    let chunked = run(&mt, body, &cuts, k & 8 != 0);
    let whole = run(&mt, body, &[], false);
    if let (Ok(a), Ok(b)) = (&chunked, &whole) {
        assert_eq!(a, b, "chunking changed the parts");
    }
});
