//! The XML reader over arbitrary bytes with small quotas: drain every event, and on start
//! tags exercise `read_text`, `skip_element`, `raw_content` and `read_qname`. Errors are fine;
//! panics, hangs and unbounded memory are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soapwire_proto::xml::{ReaderQuotas, XmlEvent, XmlReader};

const QUOTAS: ReaderQuotas = ReaderQuotas {
    max_depth: 8,
    max_attributes: 8,
    max_namespaces: 8,
    max_name_bytes: 64,
    max_text_bytes: 512,
    max_total_bytes: 16 * 1024,
};

fuzz_target!(|data: &[u8]| {
    // Which call follows a start tag rotates with the input length, so the fuzzer reaches
    // every combination without a control prefix that would spoil the XML seeds.
    let salt = data.len();
    for inherited in [false, true] {
        let reader = if inherited {
            let ns = [("p".to_string(), "urn:p".to_string())];
            XmlReader::with_namespaces(data, &ns, &QUOTAS)
        } else {
            XmlReader::new(data, &QUOTAS)
        };
        let Ok(mut r) = reader else { continue };
        let mut starts = 0usize;
        // Every event consumes input, so the loop is bounded by the input; the cap is a guard.
        for _ in 0..=data.len() + 2 {
            let before = r.position();
            match r.next() {
                Err(_) | Ok(XmlEvent::Eof) => break,
                Ok(XmlEvent::Text(_) | XmlEvent::End) => {}
                Ok(XmlEvent::Start(start)) => {
                    let _ = start.attribute("urn:p", "a");
                    starts += 1;
                    let step = match (starts + salt) % 6 {
                        1 => r.read_text().map(drop),
                        2 => r.skip_element(),
                        3 => r.raw_content().map(drop),
                        4 => r.read_qname().map(drop),
                        5 => {
                            let _ = r.namespaces_in_scope();
                            r.next_element().map(drop)
                        }
                        _ => Ok(()),
                    };
                    if step.is_err() {
                        break;
                    }
                }
            }
            assert!(r.position() >= before, "the reader went backwards");
            let _ = r.depth();
        }
    }
});
