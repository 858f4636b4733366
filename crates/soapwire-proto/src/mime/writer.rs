//! The MTOM `multipart/related` writer: delimiters and part headers as small [`Bytes`],
//! part data passed through untouched.

use std::collections::HashSet;

use bytes::Bytes;

use super::content_type::{MediaType, is_bchar, push_quoted};
use super::{MAX_BOUNDARY_LEN, XOP_MEDIA_TYPE};
use crate::error::{Error, ErrorKind, Result};

/// What every boundary the writer makes starts with.
const BOUNDARY_PREFIX: &str = "soapwire_";

/// The shortest seed accepted (a v4 UUID in text form has 36 characters).
const MIN_SEED_LEN: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriterState {
    /// Nothing written yet; the root part must come first.
    Start,
    /// Inside a part's body (root or attachment).
    InPart,
    /// The closing delimiter was written.
    Finished,
}

/// Writes an MTOM message as `multipart/related` pieces, envelope first.
///
/// Call [`content_type`](Self::content_type) for the HTTP header, then
/// [`start_root`](Self::start_root), the envelope bytes through [`data`](Self::data), each
/// attachment with [`start_part`](Self::start_part) and `data`, and finally
/// [`finish`](Self::finish). Each call returns the bytes to send next, in order; part data
/// comes back as the same [`Bytes`] (no copy). Calls out of order are
/// [`InvalidOperation`](crate::ErrorKind::InvalidOperation).
///
/// **Boundary.** soapwire-proto has no random number generator, so the boundary is
/// `soapwire_` followed by a caller-supplied seed, which must be unpredictable (the runtime
/// passes a fresh v4 UUID: 122 random bits). The writer streams data without looking at it,
/// so it cannot escape a boundary that occurs in the data; instead it relies on that being
/// astronomically unlikely for a random boundary (RFC 2046 §5.1.1 suggests exactly this),
/// and on peers not being able to predict the boundary of a message they influence.
#[derive(Clone, Debug)]
pub struct MultipartWriter {
    boundary: String,
    root_id: String,
    start_info: String,
    state: WriterState,
    parts: u64,
    /// Content-IDs of the parts written so far (the root included).
    ids: HashSet<String>,
}

impl MultipartWriter {
    /// A writer whose boundary is derived from `seed` (16 to 61 characters from RFC 2046's
    /// `bchars` without space, e.g. a UUID), whose root part has Content-ID
    /// `root_content_id` (without angle brackets), and whose envelope has media type
    /// `start_info` ([`SOAP12_START_INFO`](super::SOAP12_START_INFO) or
    /// [`SOAP11_START_INFO`](super::SOAP11_START_INFO), possibly with parameters such as
    /// `action`). Invalid arguments are `InvalidArgument`.
    pub fn new(seed: &str, root_content_id: &str, start_info: &str) -> Result<MultipartWriter> {
        let max_seed = MAX_BOUNDARY_LEN - BOUNDARY_PREFIX.len();
        if seed.len() < MIN_SEED_LEN || seed.len() > max_seed || !seed.bytes().all(|b| b != b' ' && is_bchar(b)) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("a MIME boundary seed must have {MIN_SEED_LEN} to {max_seed} letters, digits or '()+_,-./:=?"),
            ));
        }
        check_content_id(root_content_id)?;
        check_media_type(start_info, "start-info")?;
        Ok(MultipartWriter {
            boundary: format!("{BOUNDARY_PREFIX}{seed}"),
            root_id: root_content_id.to_owned(),
            start_info: start_info.to_owned(),
            state: WriterState::Start,
            parts: 0,
            ids: HashSet::from([root_content_id.to_owned()]),
        })
    }

    /// The boundary (without the leading `--`).
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The value of the message's HTTP `Content-Type` header:
    /// `multipart/related; type="application/xop+xml"; boundary="..."; start="<root>";
    /// start-info="..."`.
    pub fn content_type(&self) -> String {
        let mut s = String::with_capacity(128 + self.boundary.len() + self.root_id.len() + self.start_info.len());
        s.push_str("multipart/related; type=\"");
        s.push_str(XOP_MEDIA_TYPE);
        s.push_str("\"; boundary=");
        push_quoted(&mut s, &self.boundary);
        s.push_str("; start=\"<");
        s.push_str(&self.root_id);
        s.push_str(">\"; start-info=");
        push_quoted(&mut s, &self.start_info);
        s
    }

    /// The first delimiter and the root part's headers (`application/xop+xml`, binary,
    /// the root Content-ID). The envelope follows through [`data`](Self::data).
    pub fn start_root(&mut self) -> Result<Bytes> {
        self.start_root_with_charset("UTF-8")
    }

    /// [`start_root`](Self::start_root) for an envelope in another character encoding
    /// (`UTF-16LE`, `UTF-16BE`, `UTF-16`): the root part's `charset` parameter.
    pub fn start_root_with_charset(&mut self, charset: &str) -> Result<Bytes> {
        if self.state != WriterState::Start {
            return Err(Error::invalid_operation("the root part must be written first, and only once"));
        }
        check_media_type(&format!("text/plain; charset={charset}"), "charset")?;
        let mut content_type = String::from(XOP_MEDIA_TYPE);
        content_type.push_str("; charset=");
        content_type.push_str(charset);
        content_type.push_str("; type=");
        push_quoted(&mut content_type, &self.start_info);
        let out = self.part_header("--", &content_type, &self.root_id.clone());
        self.state = WriterState::InPart;
        self.parts = 1;
        Ok(out)
    }

    /// Ends the current part and starts an attachment part with Content-ID `content_id`
    /// (without angle brackets; it must differ from every earlier part's) and media type
    /// `content_type` (e.g. `application/octet-stream`), sent `binary`.
    pub fn start_part(&mut self, content_id: &str, content_type: &str) -> Result<Bytes> {
        if self.state != WriterState::InPart {
            return Err(Error::invalid_operation("an attachment part must follow the root part, before finish"));
        }
        check_content_id(content_id)?;
        check_media_type(content_type, "Content-Type")?;
        if !self.ids.insert(content_id.to_owned()) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("Content-ID '{content_id}' is already used by an earlier part"),
            ));
        }
        self.parts += 1;
        Ok(self.part_header("\r\n--", content_type, content_id))
    }

    /// The next bytes of the current part's body, returned as they are (no copy) for the
    /// caller to send.
    pub fn data(&mut self, chunk: Bytes) -> Result<Bytes> {
        if self.state != WriterState::InPart {
            return Err(Error::invalid_operation("MIME part data written outside a part"));
        }
        Ok(chunk)
    }

    /// Ends the last part and writes the closing delimiter.
    pub fn finish(&mut self) -> Result<Bytes> {
        if self.state != WriterState::InPart {
            return Err(Error::invalid_operation("finish needs a started root part and may be called once"));
        }
        self.state = WriterState::Finished;
        let mut out = Vec::with_capacity(self.boundary.len() + 8);
        out.extend_from_slice(b"\r\n--");
        out.extend_from_slice(self.boundary.as_bytes());
        out.extend_from_slice(b"--\r\n");
        Ok(Bytes::from(out))
    }

    /// Number of parts started so far (the root included).
    pub fn parts(&self) -> u64 {
        self.parts
    }

    fn part_header(&self, lead: &str, content_type: &str, content_id: &str) -> Bytes {
        let mut s = String::with_capacity(128 + self.boundary.len() + content_type.len() + content_id.len());
        s.push_str(lead);
        s.push_str(&self.boundary);
        s.push_str("\r\nContent-Type: ");
        s.push_str(content_type);
        s.push_str("\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <");
        s.push_str(content_id);
        s.push_str(">\r\n\r\n");
        Bytes::from(s)
    }
}

/// A Content-ID we write: visible ASCII without angle brackets (an RFC 2392 `cid:` URL
/// percent-encodes it; that is the MTOM layer's business).
fn check_content_id(id: &str) -> Result<()> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>') {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid Content-ID '{id}': use visible ASCII characters other than '<' and '>'"),
        ));
    }
    Ok(())
}

/// A media type we write into a header: it must parse and contain no line breaks.
fn check_media_type(value: &str, what: &str) -> Result<()> {
    if value.bytes().any(|b| b.is_ascii_control()) || MediaType::parse(value).is_err() {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("invalid {what} media type '{value}'")));
    }
    Ok(())
}
