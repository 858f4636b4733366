//! `Content-Type` values (RFC 2045 §5.1) and the `multipart/related` parameters of RFC 2046
//! and RFC 2387.

use super::{MAX_BOUNDARY_LEN, XOP_MEDIA_TYPE};
use crate::error::{Error, Result};

/// A parsed media type: `type/subtype` and its parameters.
///
/// Type, subtype and parameter names are ASCII-lowercased (they are case-insensitive);
/// parameter values are kept as sent, with quoted strings unquoted and unescaped. The
/// parser is lenient where real peers are sloppy: an unquoted value may contain `/`, `=`
/// and other `tspecials` (`type=application/xop+xml`), and a trailing `;` is ignored. It is
/// strict where ambiguity would be dangerous: a parameter given twice is
/// [`InvalidFormat`](crate::ErrorKind::InvalidFormat). RFC 822 comments and RFC 2231
/// continuations are not supported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaType {
    type_: String,
    subtype: String,
    params: Vec<(String, String)>,
}

impl MediaType {
    /// Parses a `Content-Type` value. Fails with `InvalidFormat` when it is not
    /// `token "/" token *(";" name "=" value)`.
    pub fn parse(value: &str) -> Result<MediaType> {
        let mut c = Cursor { s: value.as_bytes(), pos: 0, whole: value };
        c.skip_ws();
        let type_ = c.token()?.to_ascii_lowercase();
        if !c.eat(b'/') {
            return Err(c.error("expected '/' after the media type"));
        }
        let subtype = c.token()?.to_ascii_lowercase();
        let mut params: Vec<(String, String)> = Vec::new();
        loop {
            c.skip_ws();
            if c.at_end() {
                break;
            }
            if !c.eat(b';') {
                return Err(c.error("expected ';' between parameters"));
            }
            c.skip_ws();
            if c.at_end() {
                break;
            }
            let name = c.token()?.to_ascii_lowercase();
            c.skip_ws();
            if !c.eat(b'=') {
                return Err(c.error("expected '=' after a parameter name"));
            }
            c.skip_ws();
            let v = c.value()?;
            if params.iter().any(|(n, _)| *n == name) {
                return Err(c.error(&format!("parameter '{name}' given twice")));
            }
            params.push((name, v));
        }
        Ok(MediaType { type_, subtype, params })
    }

    /// The top-level type, lowercased (`"multipart"`).
    pub fn type_(&self) -> &str {
        &self.type_
    }

    /// The subtype, lowercased (`"related"`).
    pub fn subtype(&self) -> &str {
        &self.subtype
    }

    /// True if this is `type_/subtype` (compared case-insensitively).
    pub fn is(&self, type_: &str, subtype: &str) -> bool {
        self.type_.eq_ignore_ascii_case(type_) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// True if `type/subtype` equals `essence` (e.g. `"application/xop+xml"`),
    /// case-insensitively.
    pub fn has_essence(&self, essence: &str) -> bool {
        essence.split_once('/').is_some_and(|(t, s)| self.is(t, s))
    }

    /// The value of parameter `name` (case-insensitive), unquoted.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// All parameters in order, names lowercased.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// The `Content-Type` of a `multipart/related` message (RFC 2387) as MTOM uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartType {
    /// The boundary, validated by [`validate_boundary`].
    pub boundary: String,
    /// The `type` parameter: the media type of the root part (`application/xop+xml` for
    /// MTOM), if given.
    pub root_type: Option<String>,
    /// The `start` parameter: the Content-ID of the root part, angle brackets removed, if
    /// given. Without it the first part is the root.
    pub start: Option<String>,
    /// The `start-info` parameter: for XOP, the media type of the envelope inside the root
    /// part (`application/soap+xml` or `text/xml`, possibly with an `action`), if given.
    pub start_info: Option<String>,
    /// The whole parsed media type, for any other parameter.
    pub media_type: MediaType,
}

impl MultipartType {
    /// Parses an HTTP `Content-Type` value. It must be `multipart/related` with a valid
    /// `boundary`; anything else is [`InvalidFormat`](crate::ErrorKind::InvalidFormat).
    pub fn parse(value: &str) -> Result<MultipartType> {
        let media_type = MediaType::parse(value)?;
        if !media_type.is("multipart", "related") {
            return Err(Error::invalid_format(format!(
                "expected a multipart/related content type, got {}/{}",
                media_type.type_, media_type.subtype
            )));
        }
        let boundary = media_type
            .param("boundary")
            .ok_or_else(|| Error::invalid_format("multipart/related content type without a boundary parameter"))?;
        validate_boundary(boundary)?;
        let start = match media_type.param("start") {
            Some(s) => Some(strip_angle_brackets(s)?.to_owned()),
            None => None,
        };
        Ok(MultipartType {
            boundary: boundary.to_owned(),
            root_type: media_type.param("type").map(str::to_owned),
            start,
            start_info: media_type.param("start-info").map(str::to_owned),
            media_type,
        })
    }

    /// True if the root part is declared as an XOP document (`type="application/xop+xml"`).
    pub fn is_xop(&self) -> bool {
        self.root_type.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case(XOP_MEDIA_TYPE))
    }
}

/// Checks a boundary against RFC 2046 §5.1.1: 1 to 70 characters from `bchars` (letters,
/// digits and `'()+_,-./:=? `), not ending in a space. Anything else is
/// [`InvalidFormat`](crate::ErrorKind::InvalidFormat).
pub fn validate_boundary(boundary: &str) -> Result<()> {
    let len = boundary.len();
    if len == 0 || len > MAX_BOUNDARY_LEN {
        return Err(Error::invalid_format(format!(
            "a MIME boundary must have 1 to {MAX_BOUNDARY_LEN} characters, this one has {len}"
        )));
    }
    if let Some(bad) = boundary.bytes().find(|b| !is_bchar(*b)) {
        return Err(Error::invalid_format(format!("invalid character 0x{bad:02X} in a MIME boundary")));
    }
    if boundary.ends_with(' ') {
        return Err(Error::invalid_format("a MIME boundary must not end with a space"));
    }
    Ok(())
}

/// RFC 2046 `bchars`.
pub(super) fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b)
}

/// RFC 2045 `token` characters: visible ASCII except `tspecials`.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// `<id>` → `id`; a value without brackets is taken as is (some peers omit them). Empty
/// ids and unbalanced brackets are `InvalidFormat`.
pub(super) fn strip_angle_brackets(value: &str) -> Result<&str> {
    let v = value.trim();
    let inner = match v.strip_prefix('<') {
        Some(rest) => rest
            .strip_suffix('>')
            .ok_or_else(|| Error::invalid_format(format!("unbalanced angle brackets in Content-ID '{v}'")))?,
        None => v,
    };
    if inner.is_empty() || inner.contains(['<', '>']) {
        return Err(Error::invalid_format(format!("invalid Content-ID '{v}'")));
    }
    Ok(inner)
}

/// Writes `value` as an RFC 2045 quoted string (backslash-escaping `"` and `\`).
pub(super) fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for ch in value.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
    whole: &'a str,
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    fn error(&self, what: &str) -> Error {
        Error::invalid_format(format!("invalid content type '{}': {what} at offset {}", self.whole, self.pos))
    }

    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        // Only ASCII bytes are accepted by every predicate used here, so the range is on
        // char boundaries; fall back to "" rather than panic if that ever changes.
        self.whole.get(start..self.pos).unwrap_or_default()
    }

    fn token(&mut self) -> Result<String> {
        let t = self.take_while(is_token_char).to_owned();
        if t.is_empty() { Err(self.error("expected a token")) } else { Ok(t) }
    }

    /// A quoted string, or (leniently) any run of visible ASCII other than `;` and `"`.
    fn value(&mut self) -> Result<String> {
        if self.eat(b'"') {
            let mut out = Vec::new();
            loop {
                match self.peek() {
                    None => return Err(self.error("unterminated quoted string")),
                    Some(b'"') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'\\') => {
                        self.pos += 1;
                        match self.peek() {
                            Some(b) => out.push(b),
                            None => return Err(self.error("unterminated quoted string")),
                        }
                        self.pos += 1;
                    }
                    Some(b) if b.is_ascii_control() && b != b'\t' => {
                        return Err(self.error("control character in a quoted string"));
                    }
                    Some(b) => {
                        out.push(b);
                        self.pos += 1;
                    }
                }
            }
            String::from_utf8(out).map_err(|_| self.error("quoted string is not UTF-8"))
        } else {
            let v = self.take_while(|b| b.is_ascii_graphic() && b != b';' && b != b'"').to_owned();
            if v.is_empty() { Err(self.error("expected a parameter value")) } else { Ok(v) }
        }
    }
}
