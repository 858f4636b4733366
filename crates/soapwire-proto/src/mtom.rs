//! The MTOM layer (`WS_ENCODING_XML_MTOM_UTF8` and its UTF-16 variants) between the MIME
//! parts of [`crate::mime`] and the SOAP envelope of [`crate::soap`].
//!
//! This module owns what an MTOM message means beyond its MIME framing:
//!
//! * the HTTP `Content-Type` of an MTOM message ([`content_type_for`], [`start_info`]) and
//!   what a received one says ([`MtomContentType::parse`]: envelope version, action, the
//!   multipart parameters);
//! * `xop:Include` references: writing one ([`write_include`]), turning an `href` into the
//!   Content-ID it names and back ([`content_id_from_href`], [`cid_href`], RFC 2392
//!   percent-encoding), and listing the references of a received body
//!   ([`include_references`]) so the runtime can resolve them lazily, refuse a reference
//!   to a missing part and a part that nothing references;
//! * the root part's character encoding: UTF-8 as sent, UTF-16 (LE/BE, with or without a
//!   byte-order mark, as the `charset` of the root part says) transcoded to UTF-8 before
//!   the XML reader sees it ([`root_to_utf8`]), and UTF-8 to UTF-16 for sending
//!   ([`utf8_to_utf16`]).
//!
//! Where the action goes. SOAP 1.1 carries it in `SOAPAction` as always. For SOAP 1.2 the
//! XOP and MTOM specifications put it in the root part's `type` parameter, which
//! `start-info` repeats (`start-info="application/soap+xml; action=\"...\""`), as WCF does;
//! soapwire also adds an `action` parameter to the multipart type, which some stacks read.
//! On receive the action is taken from the multipart `action` parameter, else from
//! `start-info`; the root part's own headers are not needed.
//!
//! ```
//! use soapwire_proto::mtom::{self, MtomContentType};
//! use soapwire_proto::soap::EnvelopeVersion;
//!
//! let start_info = mtom::start_info(EnvelopeVersion::Soap12, Some("urn:echo"));
//! let ct = mtom::content_type_for("soapwire_6c2f1a9e-0b7d-4a55-8f1e-2d3c4b5a6978", "root@soapwire", &start_info, Some("urn:echo"));
//! let parsed = MtomContentType::parse(&ct, None)?;
//! assert_eq!(parsed.version, EnvelopeVersion::Soap12);
//! assert_eq!(parsed.action.as_deref(), Some("urn:echo"));
//! assert_eq!(mtom::content_id_from_href(&mtom::cid_href("a b@x"))?, "a b@x");
//! # Ok::<(), soapwire_proto::Error>(())
//! ```

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::mime::{MediaType, MultipartType, SOAP11_START_INFO, SOAP12_START_INFO, XOP_MEDIA_TYPE};
use crate::soap::{Body, EnvelopeVersion};
use crate::xml::{ReaderQuotas, XmlEvent, XmlWriter};

/// The XOP namespace of `xop:Include`.
pub const XOP_INCLUDE_NAMESPACE: &str = "http://www.w3.org/2004/08/xop/include";

/// The `xmime` namespace (`xmime:contentType` on optimized elements).
pub const XMIME_NAMESPACE: &str = "http://www.w3.org/2005/05/xmlmime";

/// The most `xop:Include` references one received body may hold. A body with more is
/// `WS_E_QUOTA_EXCEEDED`: each reference costs a lookup entry, and no real message needs
/// more parts than the MIME layer's default part quota.
pub const MAX_INCLUDE_REFERENCES: usize = 1000;

/// The `start-info` (and root part `type`) for an envelope of `version`, with the SOAP 1.2
/// action as a parameter.
pub fn start_info(version: EnvelopeVersion, action: Option<&str>) -> String {
    match (version, action) {
        (EnvelopeVersion::Soap11, _) => SOAP11_START_INFO.to_owned(),
        (EnvelopeVersion::Soap12, None) => SOAP12_START_INFO.to_owned(),
        (EnvelopeVersion::Soap12, Some(a)) => format!("{SOAP12_START_INFO}; action={}", quote(a)),
    }
}

/// The HTTP `Content-Type` of an MTOM message: the multipart type of a
/// [`MultipartWriter`](crate::mime::MultipartWriter) made with the same boundary, root
/// Content-ID and `start_info`, plus the SOAP 1.2 `action` parameter when there is one.
pub fn content_type_for(boundary: &str, root_content_id: &str, start_info: &str, action: Option<&str>) -> String {
    let mut s = format!(
        "multipart/related; type=\"{XOP_MEDIA_TYPE}\"; boundary={}; start=\"<{root_content_id}>\"; start-info={}",
        quote(boundary),
        quote(start_info)
    );
    if start_info.starts_with(SOAP12_START_INFO) {
        if let Some(a) = action {
            s.push_str("; action=");
            s.push_str(&quote(a));
        }
    }
    s
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// What the `Content-Type` of a received MTOM message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtomContentType {
    /// The multipart parameters (boundary, start, start-info).
    pub multipart: MultipartType,
    /// The envelope version, from `start-info` (`application/soap+xml` is SOAP 1.2,
    /// `text/xml` SOAP 1.1).
    pub version: EnvelopeVersion,
    /// The action: `SOAPAction` for SOAP 1.1; the multipart `action` parameter, else the
    /// `action` of `start-info`, for SOAP 1.2. An empty action is `None`.
    pub action: Option<String>,
}

impl MtomContentType {
    /// True if `content_type` is `multipart/related` (whatever its parameters), so the
    /// caller should parse it with [`MtomContentType::parse`] rather than as a plain SOAP
    /// media type.
    pub fn is_multipart(content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("multipart/related")
    }

    /// Parses the HTTP `Content-Type` (and `SOAPAction`) of an MTOM message. It must be
    /// `multipart/related; type="application/xop+xml"` with a boundary and a `start-info`
    /// naming a SOAP media type; anything else is `InvalidFormat`.
    pub fn parse(content_type: &str, soap_action: Option<&str>) -> Result<MtomContentType> {
        let multipart = MultipartType::parse(content_type)?;
        if !multipart.is_xop() {
            return Err(Error::invalid_format(format!(
                "a multipart/related SOAP message must have type=\"{XOP_MEDIA_TYPE}\" (MTOM), got type={:?}",
                multipart.root_type.as_deref().unwrap_or("(none)")
            )));
        }
        // start-info is mandatory in XOP; a few stacks leave it out, and then the envelope
        // version is learnt from the envelope itself (SOAP 1.2 assumed for the action rules).
        let info = match &multipart.start_info {
            Some(s) => Some(MediaType::parse(s)?),
            None => None,
        };
        let version = match &info {
            Some(m) if m.has_essence(SOAP12_START_INFO) => EnvelopeVersion::Soap12,
            Some(m) if m.has_essence(SOAP11_START_INFO) => EnvelopeVersion::Soap11,
            Some(m) => {
                return Err(Error::invalid_format(format!(
                    "start-info {}/{} is not a SOAP envelope media type",
                    m.type_(),
                    m.subtype()
                )));
            }
            None if soap_action.is_some() => EnvelopeVersion::Soap11,
            None => EnvelopeVersion::Soap12,
        };
        let action = match version {
            EnvelopeVersion::Soap11 => soap_action.map(|a| a.trim().trim_matches('"').to_owned()),
            EnvelopeVersion::Soap12 => multipart
                .media_type
                .param("action")
                .or_else(|| info.as_ref().and_then(|m| m.param("action")))
                .map(str::to_owned),
        };
        Ok(MtomContentType { multipart, version, action: action.filter(|a| !a.is_empty()) })
    }
}

/// The `href` of an `xop:Include` naming the part with `content_id` (without angle
/// brackets): `cid:` and the Content-ID with every character that may not appear in a URL
/// percent-encoded (RFC 2392).
pub fn cid_href(content_id: &str) -> String {
    let mut s = String::with_capacity(content_id.len() + 4);
    s.push_str("cid:");
    for b in content_id.bytes() {
        let plain = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
        if plain {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The Content-ID an `xop:Include` `href` names: the `cid:` scheme (case-insensitive)
/// removed and percent-escapes decoded. Anything but a `cid:` URL, an invalid escape or an
/// empty Content-ID is `InvalidFormat`.
pub fn content_id_from_href(href: &str) -> Result<String> {
    let href = href.trim();
    let rest = match href.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("cid:") => &href[4..],
        _ => return Err(Error::invalid_format(format!("xop:Include href {href:?} is not a cid: URL"))),
    };
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = rest.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return Err(Error::invalid_format(format!("xop:Include href {href:?} has an invalid %-escape")));
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let id = String::from_utf8(out)
        .map_err(|_| Error::invalid_format(format!("xop:Include href {href:?} does not decode to UTF-8")))?;
    if id.is_empty() {
        return Err(Error::invalid_format("xop:Include href names an empty Content-ID"));
    }
    Ok(id)
}

/// Writes `<xop:Include xmlns:xop="..." href="cid:..."/>` for the part `content_id`: the
/// whole content of an optimized element.
pub fn write_include(w: &mut XmlWriter, content_id: &str) {
    w.start_element(Some("xop"), "Include");
    w.namespace_decl(Some("xop"), XOP_INCLUDE_NAMESPACE);
    w.attribute(None, "href", &cid_href(content_id));
    w.end_element();
}

/// The Content-IDs referenced by `xop:Include` elements in `body`, in document order (a
/// Content-ID referenced twice is listed twice). An `xop:Include` without `href`, with an
/// `href` that is not a `cid:` URL, or with children is `InvalidFormat`; more than
/// [`MAX_INCLUDE_REFERENCES`] is `QuotaExceeded`.
pub fn include_references(body: &Body, quotas: &ReaderQuotas) -> Result<Vec<String>> {
    // A body without the XOP namespace cannot hold an include: skip the parse.
    if memchr::memmem::find(&body.xml, XOP_INCLUDE_NAMESPACE.as_bytes()).is_none()
        && !body.namespaces.iter().any(|(_, ns)| ns == XOP_INCLUDE_NAMESPACE)
    {
        return Ok(Vec::new());
    }
    let mut reader = body.reader(quotas)?;
    let mut refs = Vec::new();
    loop {
        match reader.next()? {
            XmlEvent::Start(e) if e.name.is(XOP_INCLUDE_NAMESPACE, "Include") => {
                let href = e
                    .attribute("", "href")
                    .ok_or_else(|| Error::invalid_format("xop:Include without an href attribute"))?;
                if refs.len() >= MAX_INCLUDE_REFERENCES {
                    return Err(Error::quota_exceeded(format!(
                        "the body holds more than {MAX_INCLUDE_REFERENCES} xop:Include references"
                    )));
                }
                refs.push(content_id_from_href(href)?);
                loop {
                    match reader.next()? {
                        XmlEvent::End => break,
                        XmlEvent::Text(t) if t.trim().is_empty() => {}
                        _ => return Err(Error::invalid_format("xop:Include must be empty")),
                    }
                }
            }
            XmlEvent::Eof => return Ok(refs),
            _ => {}
        }
    }
}

/// The root part's bytes as UTF-8, given the root part's `Content-Type` (`application/xop+xml;
/// charset=...`). UTF-8 (or no charset) is returned as is; `utf-16`, `utf-16le` and
/// `utf-16be` are transcoded (a byte-order mark decides for plain `utf-16`, big-endian
/// without one). Any other charset is `InvalidFormat`, as is a root part whose media type is
/// not `application/xop+xml`, and UTF-16 that does not decode.
pub fn root_to_utf8(part_content_type: Option<&str>, bytes: Bytes) -> Result<Bytes> {
    let Some(ct) = part_content_type else {
        return Ok(bytes);
    };
    let media = MediaType::parse(ct)?;
    if !media.has_essence(XOP_MEDIA_TYPE) {
        return Err(Error::invalid_format(format!(
            "the root part of an MTOM message must be {XOP_MEDIA_TYPE}, not {}/{}",
            media.type_(),
            media.subtype()
        )));
    }
    let charset = media.param("charset").unwrap_or("utf-8").to_ascii_lowercase();
    let big_endian = match charset.as_str() {
        "utf-8" | "utf8" => return Ok(bytes),
        "utf-16le" => false,
        "utf-16be" => true,
        "utf-16" => !bytes.starts_with(&[0xFF, 0xFE]),
        other => return Err(Error::invalid_format(format!("unsupported MTOM root part charset '{other}'"))),
    };
    let body = if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) { &bytes[2..] } else { &bytes };
    if body.len() % 2 != 0 {
        return Err(Error::invalid_format("UTF-16 root part with an odd number of bytes"));
    }
    let units = body
        .chunks_exact(2)
        .map(|c| if big_endian { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) });
    let mut out = String::with_capacity(body.len() / 2);
    for c in char::decode_utf16(units) {
        out.push(c.map_err(|_| Error::invalid_format("the UTF-16 root part does not decode"))?);
    }
    Ok(Bytes::from(out.into_bytes()))
}

/// UTF-8 text as UTF-16 (little-endian with a byte-order mark when `little_endian`,
/// big-endian without one otherwise), for sending an MTOM root part with
/// `charset=utf-16`. Invalid UTF-8 is `InvalidArgument`.
pub fn utf8_to_utf16(utf8: &[u8], little_endian: bool) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(utf8).map_err(|_| Error::new(ErrorKind::InvalidArgument, "not UTF-8"))?;
    let mut out = Vec::with_capacity(utf8.len() * 2 + 2);
    if little_endian {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for u in text.encode_utf16() {
        out.extend_from_slice(&if little_endian { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::Envelope;

    #[test]
    fn soap12_content_type_round_trips_version_and_action() {
        let info = start_info(EnvelopeVersion::Soap12, Some("http://example.org/echo/echoData"));
        let ct = content_type_for(
            "soapwire_0123456789abcdef",
            "root@soapwire",
            &info,
            Some("http://example.org/echo/echoData"),
        );
        let p = MtomContentType::parse(&ct, None).unwrap();
        assert_eq!(p.version, EnvelopeVersion::Soap12);
        assert_eq!(p.action.as_deref(), Some("http://example.org/echo/echoData"));
        assert_eq!(p.multipart.start.as_deref(), Some("root@soapwire"));
    }

    #[test]
    fn soap12_action_is_found_in_start_info_alone() {
        // WCF's form: no action parameter on the multipart type.
        let ct = r#"multipart/related; type="application/xop+xml";start="<http://tempuri.org/0>";boundary="uuid:1+id=1";start-info="application/soap+xml; action=\"urn:a\"""#;
        let p = MtomContentType::parse(ct, None).unwrap();
        assert_eq!(p.action.as_deref(), Some("urn:a"));
    }

    #[test]
    fn soap11_takes_the_action_from_soapaction() {
        let info = start_info(EnvelopeVersion::Soap11, Some("urn:ignored"));
        assert_eq!(info, "text/xml");
        let ct = content_type_for("soapwire_0123456789abcdef", "r@x", &info, Some("urn:ignored"));
        assert!(!ct.contains("action"), "{ct}");
        let p = MtomContentType::parse(&ct, Some("\"urn:a\"")).unwrap();
        assert_eq!((p.version, p.action.as_deref()), (EnvelopeVersion::Soap11, Some("urn:a")));
    }

    #[test]
    fn gsoap_content_type_parses() {
        let ct = r#"multipart/related; charset=utf-8; boundary="==bIyTmxsuHgbJYOkYGtqCzMRqobNfoV5GfjfCb72zTKlukC6ao+AbnyTM5Eoj=="; type="application/xop+xml"; start="<SOAP-ENV:Envelope>"; start-info="text/xml""#;
        let p = MtomContentType::parse(ct, Some("\"\"")).unwrap();
        assert_eq!((p.version, p.action), (EnvelopeVersion::Soap11, None));
    }

    #[test]
    fn non_xop_or_non_soap_multipart_is_invalid_format() {
        let ct = r#"multipart/related; type="text/xml"; boundary="b""#;
        assert_eq!(MtomContentType::parse(ct, None).unwrap_err().kind(), ErrorKind::InvalidFormat);
        let ct = r#"multipart/related; type="application/xop+xml"; boundary="b"; start-info="image/png""#;
        assert_eq!(MtomContentType::parse(ct, None).unwrap_err().kind(), ErrorKind::InvalidFormat);
        assert!(MtomContentType::is_multipart("Multipart/Related ; boundary=x"));
        assert!(!MtomContentType::is_multipart("text/xml"));
    }

    #[test]
    fn hrefs_percent_encode_and_decode() {
        assert_eq!(cid_href("id1@soapwire"), "cid:id1@soapwire");
        assert_eq!(cid_href("a b%<>"), "cid:a%20b%25%3C%3E");
        assert_eq!(content_id_from_href("CID:a%20b%25%3C%3E").unwrap(), "a b%<>");
        for bad in ["http://x/", "cid:", "cid:%zz", "cid:%4", "x"] {
            assert_eq!(content_id_from_href(bad).unwrap_err().kind(), ErrorKind::InvalidFormat, "{bad}");
        }
    }

    fn body_of(xml: &str) -> Body {
        let env = format!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>{xml}</s:Body></s:Envelope>"#
        );
        Envelope::parse(Bytes::from(env), None, &ReaderQuotas::default(), 64).unwrap().body
    }

    #[test]
    fn include_references_are_listed_in_document_order() {
        let mut w = XmlWriter::new();
        w.start_element(Some("e"), "echoData");
        w.namespace_decl(Some("e"), "urn:e");
        w.start_element(Some("e"), "a");
        write_include(&mut w, "one@x");
        w.end_element();
        w.start_element(Some("e"), "b");
        write_include(&mut w, "two words");
        w.end_element();
        w.end_element();
        let body = body_of(std::str::from_utf8(w.as_bytes()).unwrap());
        assert_eq!(include_references(&body, &ReaderQuotas::default()).unwrap(), ["one@x", "two words"]);
        assert!(include_references(&body_of("<a xmlns='urn:a'>x</a>"), &ReaderQuotas::default()).unwrap().is_empty());
    }

    #[test]
    fn malformed_includes_are_invalid_format() {
        let q = ReaderQuotas::default();
        for xml in [
            r#"<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include"/>"#,
            r#"<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="http://evil/"/>"#,
            r#"<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:a">x</xop:Include>"#,
        ] {
            assert_eq!(include_references(&body_of(xml), &q).unwrap_err().kind(), ErrorKind::InvalidFormat, "{xml}");
        }
    }

    #[test]
    fn utf16_root_parts_are_transcoded() {
        let text = "<s:Envelope>é€𝄞</s:Envelope>";
        for (le, charset) in [(true, "utf-16"), (false, "utf-16"), (false, "utf-16be")] {
            let encoded = utf8_to_utf16(text.as_bytes(), le).unwrap();
            let ct = format!("application/xop+xml; charset={charset}; type=\"application/soap+xml\"");
            assert_eq!(root_to_utf8(Some(&ct), Bytes::from(encoded)).unwrap(), text.as_bytes(), "{charset} le={le}");
        }
        let mut le_no_bom = utf8_to_utf16(text.as_bytes(), true).unwrap();
        le_no_bom.drain(..2);
        let ct = "application/xop+xml; charset=UTF-16LE";
        assert_eq!(root_to_utf8(Some(ct), Bytes::from(le_no_bom)).unwrap(), text.as_bytes());
        assert_eq!(
            root_to_utf8(Some("application/xop+xml; charset=utf-16"), Bytes::from_static(b"abc")).unwrap_err().kind(),
            ErrorKind::InvalidFormat
        );
        assert_eq!(
            root_to_utf8(Some("application/xop+xml; charset=latin1"), Bytes::new()).unwrap_err().kind(),
            ErrorKind::InvalidFormat
        );
        assert_eq!(root_to_utf8(Some("text/xml"), Bytes::new()).unwrap_err().kind(), ErrorKind::InvalidFormat);
    }
}
