//! DPWS metadata: `dpws::parse_get_response` with the default quotas (MAX_ENVELOPE_SIZE,
//! MAX_URI_SIZE, field and list limits) on any bytes. When it succeeds, the metadata it
//! returns is validated and written back in both DPWS versions, and the written body must
//! parse again (the writer never produces what the reader refuses).
//!
//! Input: the bytes of a GetResponse envelope.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soapwire_proto::dpws::{DpwsVersion, MetadataQuotas, parse_get_response, parse_metadata_body};

fuzz_target!(|data: &[u8]| {
    let quotas = MetadataQuotas::default();
    let Ok(got) = parse_get_response(data, &quotas) else { return };
    if got.metadata.validate().is_err() {
        return;
    }
    for version in [DpwsVersion::V2006_02, DpwsVersion::V1_1] {
        let body = got.metadata.to_body_xml(version);
        let body = soapwire_proto::soap::Body { xml: body.into(), namespaces: Vec::new() };
        assert!(parse_metadata_body(&body, version, &quotas).is_ok(), "the writer produced metadata the reader refuses");
    }
});
