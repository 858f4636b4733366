//! The MTOM layer: `mtom::MtomContentType::parse`, `content_id_from_href` (and its round
//! trip through `cid_href`), `include_references` on any body that parses as an envelope,
//! and `root_to_utf8` with each charset.
//!
//! Input: a Content-Type value, a 0x00 byte, then bytes used as an href, an envelope and
//! a UTF-16 root part.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use soapwire_proto::mtom;
use soapwire_proto::soap::Envelope;
use soapwire_proto::xml::ReaderQuotas;

fuzz_target!(|data: &[u8]| {
    let (ct, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let ct = String::from_utf8_lossy(ct);
    let _ = mtom::MtomContentType::parse(&ct, None);
    let _ = mtom::MtomContentType::parse(&ct, Some("\"urn:a\""));
    let text = String::from_utf8_lossy(rest);
    if let Ok(id) = mtom::content_id_from_href(&text) {
        assert_eq!(mtom::content_id_from_href(&mtom::cid_href(&id)).ok().as_deref(), Some(id.as_str()));
    }
    let quotas = ReaderQuotas::default();
    if let Ok(envelope) = Envelope::parse(Bytes::copy_from_slice(rest), None, &quotas, 64) {
        let _ = mtom::include_references(&envelope.body, &quotas);
    }
    for charset in ["utf-8", "utf-16", "utf-16le", "utf-16be", "latin1"] {
        let ct = format!("application/xop+xml; charset={charset}; type=\"application/soap+xml\"");
        let _ = mtom::root_to_utf8(Some(&ct), Bytes::copy_from_slice(rest));
    }
});
