//! The HTTP media-type decoders: `soap::parse_content_type` with and without a
//! `SOAPAction`, `mime::MediaType::parse`, `mime::MultipartType::parse` and the XOP package
//! rules built from a parsed multipart type.
//!
//! Input: the Content-Type value, optionally followed by a 0x00 byte and the SOAPAction.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soapwire_proto::mime::{MediaType, MultipartType, XopPackageCheck};
use soapwire_proto::soap::parse_content_type;

fuzz_target!(|data: &[u8]| {
    let (ct, action) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let ct = String::from_utf8_lossy(ct);
    let action = action.map(String::from_utf8_lossy);
    let _ = parse_content_type(&ct, action.as_deref());
    let _ = parse_content_type(&ct, None);
    if let Ok(m) = MediaType::parse(&ct) {
        let _ = (m.type_(), m.subtype(), m.param("charset"), m.params().count());
    }
    if let Ok(m) = MultipartType::parse(&ct) {
        let _ = m.is_xop();
        if let Ok(check) = XopPackageCheck::new(&m) {
            let _ = check.finish();
            let _ = check.root_envelope_type();
        }
    }
});
