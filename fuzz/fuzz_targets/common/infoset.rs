//! The infoset of text XML as our reader reports it, for the round-trip targets (`nbfx`,
//! `nbfse`). A copy of the helper of `soapwire-proto`'s binary XML unit tests: element names
//! (namespace, local, prefix), attributes in order, the namespaces in scope (sorted) and text
//! (adjacent text events merged).

use soapwire_proto::xml::{QName, ReaderQuotas, XmlEvent, XmlReader};

/// Quotas large enough that no input of the fuzzer's size can exceed them.
pub const GENEROUS: ReaderQuotas = ReaderQuotas {
    max_depth: 100_000,
    max_attributes: 100_000,
    max_namespaces: 100_000,
    max_name_bytes: 1 << 24,
    max_text_bytes: 1 << 24,
    max_total_bytes: 1 << 24,
};

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Start { name: QName, prefix: Option<String>, attributes: Vec<(QName, String)>, namespaces: Vec<(String, String)> },
    Text(String),
    End,
}

/// Reads all of document `xml` with `quotas`; the first error, if any.
pub fn read_all(xml: &[u8], quotas: &ReaderQuotas) -> soapwire_proto::Result<()> {
    let mut r = XmlReader::new(xml, quotas)?;
    while r.next()? != XmlEvent::Eof {}
    Ok(())
}

/// The nodes of `xml`, a document (or, with `fragment`, any sequence of content).
pub fn infoset(xml: &[u8], fragment: bool) -> soapwire_proto::Result<Vec<Node>> {
    let mut r =
        if fragment { XmlReader::with_namespaces(xml, &[], &GENEROUS)? } else { XmlReader::new(xml, &GENEROUS)? };
    let mut nodes = Vec::new();
    loop {
        match r.next()? {
            XmlEvent::Start(s) => {
                let mut namespaces = r.namespaces_in_scope();
                namespaces.sort();
                let attributes = s.attributes.into_iter().map(|a| (a.name, a.value)).collect();
                nodes.push(Node::Start { name: s.name, prefix: s.prefix, attributes, namespaces });
            }
            XmlEvent::Text(t) => match nodes.last_mut() {
                Some(Node::Text(prev)) => prev.push_str(&t),
                _ => nodes.push(Node::Text(t.into_owned())),
            },
            XmlEvent::End => nodes.push(Node::End),
            XmlEvent::Eof => return Ok(nodes),
        }
    }
}
