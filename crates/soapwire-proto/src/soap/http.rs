//! The SOAP-over-HTTP rules: the `Content-Type` (and SOAP 1.1 `SOAPAction`) a message is
//! sent with, and what a received `Content-Type` says about the envelope version and the
//! action.
//!
//! | version | Content-Type | action carried in |
//! | --- | --- | --- |
//! | SOAP 1.1 | `text/xml; charset=utf-8` | the `SOAPAction` header, quoted |
//! | SOAP 1.2 | `application/soap+xml; charset=utf-8` | the `action` parameter |

use std::borrow::Cow;

use super::EnvelopeVersion;
use crate::error::{Error, ErrorKind, Result};

/// The `Content-Type` of a SOAP 1.1 message.
pub const SOAP11_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// The `Content-Type` of a SOAP 1.2 message without an action.
pub const SOAP12_CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

/// The `Content-Type` to send a message of `version` with. For SOAP 1.2 the action goes
/// into an `action="..."` parameter; SOAP 1.1 carries it in `SOAPAction` instead (see
/// [`soap_action_header`]).
pub fn content_type(version: EnvelopeVersion, action: Option<&str>) -> String {
    match (version, action) {
        (EnvelopeVersion::Soap11, _) => SOAP11_CONTENT_TYPE.to_owned(),
        (EnvelopeVersion::Soap12, None) => SOAP12_CONTENT_TYPE.to_owned(),
        (EnvelopeVersion::Soap12, Some(action)) => {
            format!("{SOAP12_CONTENT_TYPE}; action={}", quoted_string(action))
        }
    }
}

/// The `SOAPAction` header value: SOAP 1.1 `"action"` (or `""` without one); SOAP 1.2 has
/// no such header (`None`).
pub fn soap_action_header(version: EnvelopeVersion, action: Option<&str>) -> Option<String> {
    match version {
        EnvelopeVersion::Soap11 => Some(quoted_string(action.unwrap_or_default())),
        EnvelopeVersion::Soap12 => None,
    }
}

/// What a received `Content-Type` (and `SOAPAction` header value) says: the envelope
/// version and the action, if any. `text/xml` is SOAP 1.1 (action from `SOAPAction`,
/// quotes stripped); `application/soap+xml` is SOAP 1.2 (action from the `action`
/// parameter). `multipart/related` (MTOM) is `NotSupported`; any other type, a malformed
/// header or a charset other than UTF-8 is `InvalidFormat`. An empty action is `None`.
pub fn parse_content_type(content_type: &str, soap_action: Option<&str>) -> Result<(EnvelopeVersion, Option<String>)> {
    let (media_type, parameters) = content_type.split_once(';').unwrap_or((content_type, ""));
    let media_type = media_type.trim();
    let parameters = parse_parameters(parameters)?;
    let version = if media_type.eq_ignore_ascii_case("text/xml") {
        EnvelopeVersion::Soap11
    } else if media_type.eq_ignore_ascii_case("application/soap+xml") {
        EnvelopeVersion::Soap12
    } else if media_type.eq_ignore_ascii_case("multipart/related") {
        return Err(Error::new(ErrorKind::NotSupported, "MTOM (multipart/related) messages are not supported"));
    } else {
        return Err(Error::invalid_format(format!("unsupported content type '{media_type}'")));
    };
    if let Some(charset) = parameter(&parameters, "charset") {
        if !charset.eq_ignore_ascii_case("utf-8") {
            return Err(Error::invalid_format(format!("unsupported charset '{charset}' (only utf-8)")));
        }
    }
    let action = match version {
        EnvelopeVersion::Soap11 => soap_action.map(unquote).map(Cow::into_owned),
        EnvelopeVersion::Soap12 => parameter(&parameters, "action").map(str::to_owned),
    };
    Ok((version, action.filter(|a| !a.is_empty())))
}

/// The value of parameter `name` (case-insensitive), if present.
fn parameter<'p>(parameters: &'p [(&str, Cow<'_, str>)], name: &str) -> Option<&'p str> {
    parameters.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
}

/// `; name=value; name="quoted \" value"` after the media type.
fn parse_parameters(mut rest: &str) -> Result<Vec<(&str, Cow<'_, str>)>> {
    let mut parameters = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return Ok(parameters);
        }
        let Some((name, after)) = rest.split_once('=') else {
            return Err(Error::invalid_format(format!("malformed content type parameter '{rest}'")));
        };
        let after = after.trim_start();
        let value = if after.starts_with('"') {
            let (value, after_quote) = quoted_value(after)?;
            rest = after_quote.trim_start();
            if !rest.is_empty() && !rest.starts_with(';') {
                return Err(Error::invalid_format("malformed content type: text after a quoted parameter"));
            }
            value
        } else {
            let (value, after_value) = after.split_once(';').unwrap_or((after, ""));
            rest = after_value;
            Cow::Borrowed(value.trim_end())
        };
        parameters.push((name.trim(), value));
    }
}

/// A quoted-string at the start of `s` (which starts with `"`): its unescaped value and
/// the rest after the closing quote.
fn quoted_value(s: &str) -> Result<(Cow<'_, str>, &str)> {
    let body = s.get(1..).unwrap_or_default();
    // The usual value has no escapes: borrow it up to the closing quote.
    if let Some(i) = memchr::memchr2(b'"', b'\\', body.as_bytes()) {
        if body.as_bytes().get(i) == Some(&b'"') {
            return Ok((Cow::Borrowed(body.get(..i).unwrap_or_default()), body.get(i + 1..).unwrap_or_default()));
        }
    }
    let mut value: Option<String> = None;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let rest = body.get(i + 1..).unwrap_or_default();
                let text = value.map_or_else(|| Cow::Borrowed(body.get(..i).unwrap_or_default()), Cow::Owned);
                return Ok((text, rest));
            }
            '\\' => {
                let owned = value.get_or_insert_with(|| body.get(..i).unwrap_or_default().to_owned());
                if let Some((_, escaped)) = chars.next() {
                    owned.push(escaped);
                }
            }
            c => {
                if let Some(owned) = value.as_mut() {
                    owned.push(c);
                }
            }
        }
    }
    Err(Error::invalid_format("malformed content type: unterminated quoted string"))
}

/// A `SOAPAction` value without its surrounding quotes (and whitespace).
fn unquote(value: &str) -> Cow<'_, str> {
    let value = value.trim();
    if value.starts_with('"') {
        if let Ok((inner, rest)) = quoted_value(value) {
            if rest.trim().is_empty() {
                return inner;
            }
        }
    }
    Cow::Borrowed(value)
}

/// `"value"` with `"` and `\` escaped; control characters (which cannot appear in an HTTP
/// header) are dropped.
fn quoted_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parsed(ct: &str, soap_action: Option<&str>) -> (EnvelopeVersion, Option<String>) {
        parse_content_type(ct, soap_action).unwrap()
    }

    fn kind(ct: &str) -> ErrorKind {
        parse_content_type(ct, None).unwrap_err().kind()
    }

    #[test]
    fn content_type_soap11_is_text_xml() {
        assert_eq!(content_type(EnvelopeVersion::Soap11, Some("urn:a")), "text/xml; charset=utf-8");
        assert_eq!(soap_action_header(EnvelopeVersion::Soap11, Some("urn:a")).as_deref(), Some("\"urn:a\""));
        assert_eq!(soap_action_header(EnvelopeVersion::Soap11, None).as_deref(), Some("\"\""));
    }

    #[test]
    fn content_type_soap12_carries_the_action_parameter() {
        assert_eq!(content_type(EnvelopeVersion::Soap12, None), "application/soap+xml; charset=utf-8");
        assert_eq!(
            content_type(EnvelopeVersion::Soap12, Some("urn:echo")),
            "application/soap+xml; charset=utf-8; action=\"urn:echo\""
        );
        assert_eq!(soap_action_header(EnvelopeVersion::Soap12, Some("urn:a")), None);
    }

    #[test]
    fn content_type_soap11_charset_utf8_parsed() {
        assert_eq!(
            parsed("text/xml; charset=utf-8", Some("\"urn:x\"")),
            (EnvelopeVersion::Soap11, Some("urn:x".to_owned()))
        );
        assert_eq!(parsed("text/xml; charset=utf-8", None), (EnvelopeVersion::Soap11, None));
        assert_eq!(parsed("text/xml; charset=utf-8", Some("\"\"")), (EnvelopeVersion::Soap11, None));
        assert_eq!(parsed("text/xml", Some(" urn:bare ")), (EnvelopeVersion::Soap11, Some("urn:bare".to_owned())));
    }

    #[test]
    fn content_type_soap12_action_parameter_parsed() {
        assert_eq!(
            parsed("application/soap+xml;charset=UTF-8;action=\"urn:x\"", Some("\"ignored\"")),
            (EnvelopeVersion::Soap12, Some("urn:x".to_owned()))
        );
        assert_eq!(
            parsed("application/soap+xml; action=urn:y; charset=\"utf-8\"", None),
            (EnvelopeVersion::Soap12, Some("urn:y".to_owned()))
        );
        assert_eq!(
            parsed("application/soap+xml; action=\"urn:a;b \\\"q\\\"\"", None),
            (EnvelopeVersion::Soap12, Some("urn:a;b \"q\"".to_owned()))
        );
    }

    #[test]
    fn content_type_media_type_is_case_insensitive() {
        assert_eq!(parsed("TEXT/XML", None).0, EnvelopeVersion::Soap11);
        assert_eq!(parsed("Application/SOAP+XML; Charset=Utf-8", None).0, EnvelopeVersion::Soap12);
    }

    #[test]
    fn content_type_missing_charset_is_accepted() {
        assert_eq!(parsed("application/soap+xml", None), (EnvelopeVersion::Soap12, None));
    }

    #[test]
    fn content_type_wrong_charset_is_invalid_format() {
        assert_eq!(kind("text/xml; charset=iso-8859-1"), ErrorKind::InvalidFormat);
        assert_eq!(kind("application/soap+xml; charset=utf-16"), ErrorKind::InvalidFormat);
    }

    #[test]
    fn content_type_unsupported_types_are_refused() {
        assert_eq!(kind("application/json"), ErrorKind::InvalidFormat);
        assert_eq!(kind(""), ErrorKind::InvalidFormat);
        assert_eq!(kind("multipart/related; type=\"application/xop+xml\""), ErrorKind::NotSupported);
    }

    #[test]
    fn content_type_malformed_parameters_are_invalid_format() {
        assert_eq!(kind("text/xml; charset"), ErrorKind::InvalidFormat);
        assert_eq!(kind("application/soap+xml; action=\"urn:x"), ErrorKind::InvalidFormat);
        assert_eq!(kind("application/soap+xml; action=\"urn:x\"junk"), ErrorKind::InvalidFormat);
    }

    #[test]
    fn generated_content_type_parses_back() {
        let action = "urn:odd \"quoted\" \\ action;x";
        let ct = content_type(EnvelopeVersion::Soap12, Some(action));
        assert_eq!(parsed(&ct, None), (EnvelopeVersion::Soap12, Some(action.to_owned())));
        let header = soap_action_header(EnvelopeVersion::Soap11, Some(action)).unwrap();
        assert_eq!(parsed(SOAP11_CONTENT_TYPE, Some(&header)), (EnvelopeVersion::Soap11, Some(action.to_owned())));
    }

    #[test]
    fn control_characters_never_reach_a_header() {
        let header = soap_action_header(EnvelopeVersion::Soap11, Some("urn:a\r\nX-Injected: 1")).unwrap();
        assert_eq!(header, "\"urn:aX-Injected: 1\"");
        assert!(!content_type(EnvelopeVersion::Soap12, Some("a\nb")).contains('\n'));
    }
}
