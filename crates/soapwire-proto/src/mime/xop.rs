//! The XOP package rules (W3C XOP 1.0 §4, MTOM §3.2, DPWS R0038) checked part by part.

use std::collections::HashSet;

use super::content_type::MediaType;
use super::parser::PartHeaders;
use super::{MultipartType, XOP_MEDIA_TYPE};
use crate::error::{Error, ErrorKind, Result};

/// What a part is in an XOP package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartRole {
    /// The first part: the XOP infoset (the SOAP envelope).
    Root,
    /// Any later part: binary data an `xop:Include` may refer to by Content-ID.
    Attachment,
}

/// Checks the parts of an MTOM message as their headers arrive (feed it every
/// [`MultipartEvent::PartStart`](super::MultipartEvent::PartStart)):
///
/// * the message's `type` parameter is `application/xop+xml`;
/// * the **first** part is the root: `Content-Type: application/xop+xml`, and when `start`
///   is given its Content-ID equals it. WSDAPI rejects a message whose first part is not
///   the SOAP envelope (DPWS R0038), and so does this check, with
///   [`InvalidFormat`](crate::ErrorKind::InvalidFormat);
/// * every attachment part has a Content-ID, and no Content-ID occurs twice
///   (`InvalidFormat`);
/// * the transfer encoding is `binary`, `8bit` or `7bit` (or absent, meaning `7bit`);
///   `base64`, `quoted-printable` or anything else is
///   [`NotSupported`](crate::ErrorKind::NotSupported): soapwire does not decode transfer
///   encodings (WSDAPI always sends `binary`).
///
/// Whether every `xop:Include` refers to an existing part, and whether every part is
/// referred to, is decided by the MTOM layer once it reads the envelope.
///
/// Memory: the set of Content-IDs seen, bounded by the parser's `max_parts` and
/// `max_header_bytes`.
#[derive(Clone, Debug)]
pub struct XopPackageCheck {
    start: Option<String>,
    parts: u64,
    ids: HashSet<String>,
    root_type: Option<String>,
}

impl XopPackageCheck {
    /// A check for a message with content type `content_type`. Fails with `InvalidFormat`
    /// unless its `type` parameter is `application/xop+xml`.
    pub fn new(content_type: &MultipartType) -> Result<XopPackageCheck> {
        if !content_type.is_xop() {
            return Err(Error::invalid_format(format!(
                "an MTOM message must be multipart/related with type=\"{XOP_MEDIA_TYPE}\", got type={:?}",
                content_type.root_type.as_deref().unwrap_or("(none)")
            )));
        }
        Ok(XopPackageCheck { start: content_type.start.clone(), parts: 0, ids: HashSet::new(), root_type: None })
    }

    /// Checks the next part's headers and says whether it is the root or an attachment.
    pub fn check_part(&mut self, headers: &PartHeaders) -> Result<PartRole> {
        let first = self.parts == 0;
        self.parts += 1;
        check_transfer_encoding(headers)?;
        let role = if first {
            self.check_root(headers)?;
            PartRole::Root
        } else {
            if headers.content_id().is_none() {
                return Err(Error::invalid_format(format!("MIME part {} has no Content-ID", self.parts)));
            }
            PartRole::Attachment
        };
        if let Some(id) = headers.content_id() {
            if !self.ids.insert(id.to_owned()) {
                return Err(Error::invalid_format(format!("Content-ID '{id}' occurs in more than one MIME part")));
            }
        }
        Ok(role)
    }

    /// Call after the parser's [`End`](super::MultipartEvent::End): fails with
    /// `InvalidFormat` if the message had no part at all.
    pub fn finish(&self) -> Result<()> {
        if self.parts == 0 {
            return Err(Error::invalid_format("the MTOM message has no root part"));
        }
        Ok(())
    }

    /// The `type` parameter of the root part's content type (the envelope's media type,
    /// `application/soap+xml` or `text/xml`), once the root has been checked.
    pub fn root_envelope_type(&self) -> Option<&str> {
        self.root_type.as_deref()
    }

    /// True if `content_id` (without angle brackets) names a part seen so far.
    pub fn has_part(&self, content_id: &str) -> bool {
        self.ids.contains(content_id)
    }

    fn check_root(&mut self, headers: &PartHeaders) -> Result<()> {
        const NOT_FIRST: &str = "the SOAP envelope must be the first MIME part";
        if let Some(start) = &self.start {
            if headers.content_id() != Some(start.as_str()) {
                return Err(Error::invalid_format(format!(
                    "{NOT_FIRST}: the first part's Content-ID is {:?}, the start parameter names '{start}'",
                    headers.content_id().unwrap_or("(none)")
                )));
            }
        }
        let media_type = match headers.content_type() {
            Some(ct) => MediaType::parse(ct).map_err(|e| e.context(NOT_FIRST))?,
            None => return Err(Error::invalid_format(format!("{NOT_FIRST}: the first part has no Content-Type"))),
        };
        if !media_type.has_essence(XOP_MEDIA_TYPE) {
            return Err(Error::invalid_format(format!(
                "{NOT_FIRST}: the first part is {}/{}, not {XOP_MEDIA_TYPE}",
                media_type.type_(),
                media_type.subtype()
            )));
        }
        self.root_type = media_type.param("type").map(str::to_owned);
        Ok(())
    }
}

fn check_transfer_encoding(headers: &PartHeaders) -> Result<()> {
    match headers.content_transfer_encoding() {
        None => Ok(()),
        Some(cte) if ["binary", "8bit", "7bit"].iter().any(|ok| cte.eq_ignore_ascii_case(ok)) => Ok(()),
        Some(cte) => Err(Error::new(
            ErrorKind::NotSupported,
            format!("Content-Transfer-Encoding '{cte}' is not supported in MTOM (use binary)"),
        )),
    }
}
