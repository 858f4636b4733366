//! `Envelope::parse` with no expected version and with each of SOAP 1.1 and 1.2, then
//! everything a receiver does with a parsed envelope: the fault, the `mustUnderstand` check,
//! header text, the first body element and the WS-Addressing headers of every version.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use soapwire_proto::addressing::{AddressingHeaders, AddressingVersion};
use soapwire_proto::soap::{Envelope, EnvelopeVersion};
use soapwire_proto::xml::ReaderQuotas;

const QUOTAS: ReaderQuotas = ReaderQuotas {
    max_depth: 16,
    max_attributes: 16,
    max_namespaces: 16,
    max_name_bytes: 256,
    max_text_bytes: 4096,
    max_total_bytes: 64 * 1024,
};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    for expected in [None, Some(EnvelopeVersion::Soap11), Some(EnvelopeVersion::Soap12)] {
        let Ok(env) = Envelope::parse(bytes.clone(), expected, &QUOTAS, 16) else { continue };
        if let Some(v) = expected {
            assert_eq!(env.version, v);
        }
        let _ = env.fault(&QUOTAS);
        let _ = env.body.first_element(&QUOTAS);
        let _ = env.check_must_understand(|_| false);
        let _ = env.check_must_understand(|q| q.local.len() % 2 == 0);
        for h in &env.headers {
            let _ = h.text_content(&QUOTAS);
        }
        let _ = AddressingHeaders::detect_version(&env.headers);
        for v in [AddressingVersion::V0_9, AddressingVersion::V1_0, AddressingVersion::Transport] {
            if let Ok(a) = AddressingHeaders::from_headers(&env.headers, v, &QUOTAS) {
                let _ = a.reply_is_anonymous(v);
            }
        }
    }
});
