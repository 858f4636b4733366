//! Probe matching: Types by QName and Scopes by the WS-Discovery `MatchBy` rules.
//!
//! A target matches a Probe when every probe type is one of its types (by namespace and
//! local name, whatever the prefixes) and every probe scope matches at least one of its
//! scopes under the Probe's rule. The rules:
//!
//! | rule | URI (2005/04 / 1.1) | S1 (probe) matches S2 (target) when |
//! | --- | --- | --- |
//! | [`MatchBy::Rfc3986`] (default) | `…/rfc2396` / `…/rfc3986` | scheme and authority equal ignoring case, and the path segments of S1 are a segment-wise prefix of S2's; query and fragment are not compared; `.`/`..` segments never match |
//! | [`MatchBy::Strcmp0`] | `…/strcmp0` | the strings are equal (case-sensitive) |
//! | [`MatchBy::Uuid`] | `…/uuid` | both are `uuid:` / `urn:uuid:` URIs of the same 128-bit UUID (hex case ignored) |
//! | [`MatchBy::Ldap`] | `…/ldap` | both `ldap:`, same hostport (case ignored), and the RDN sequence of S1's DN is a prefix of S2's (i.e. S1's DN is a suffix of S2's in string form), RDN attribute types compared ignoring case; the RFC 2253 §4 variants are not supported, as the spec allows |
//! | [`MatchBy::None`] | — / `…/none` | the target has no scopes |
//!
//! WSDAPI implements every rule but LDAP; soapwire implements LDAP too. An unknown rule
//! matches nothing and is reported as [`ScopeMatch::UnsupportedRule`] so that a
//! responder can send the `MatchingRuleNotSupported` fault.
//!
//! A trailing `/` on the probe's path is ignored (`http://x/a/` matches `http://x/a/b`).

use bytes::Bytes;

use super::messages::{EndpointInfo, Probe};
use super::{DiscoveryVersion, WSD_1_1_NAMESPACE, WSD_2005_04_NAMESPACE};
use crate::soap::{Fault, FaultCode};
use crate::xml::{QName, XmlWriter};

/// A scope matching rule (`Scopes/@MatchBy`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MatchBy {
    /// RFC 3986 (RFC 2396 in 2005/04) segment-wise prefix matching; the default.
    Rfc3986,
    /// Case-sensitive string equality.
    Strcmp0,
    /// UUID equality.
    Uuid,
    /// LDAP DN prefix matching.
    Ldap,
    /// WS-Discovery 1.1 `none`: matches targets without scopes.
    None,
    /// A rule soapwire does not know (the URI as received).
    Unknown(String),
}

impl MatchBy {
    /// The rule named by a `MatchBy` URI of either version (`None` = the default rule).
    pub fn from_uri(uri: Option<&str>) -> MatchBy {
        let Some(uri) = uri.map(str::trim) else { return MatchBy::Rfc3986 };
        let rest = uri
            .strip_prefix(WSD_2005_04_NAMESPACE)
            .or_else(|| uri.strip_prefix(WSD_1_1_NAMESPACE))
            .and_then(|r| r.strip_prefix('/'));
        match rest {
            Some("rfc2396" | "rfc3986") => MatchBy::Rfc3986,
            Some("strcmp0") => MatchBy::Strcmp0,
            Some("uuid") => MatchBy::Uuid,
            Some("ldap") => MatchBy::Ldap,
            Some("none") if uri.starts_with(WSD_1_1_NAMESPACE) => MatchBy::None,
            _ => MatchBy::Unknown(uri.to_owned()),
        }
    }

    /// The URI naming this rule in `version` (`rfc2396` in 2005/04, `rfc3986` in 1.1).
    pub fn uri(&self, version: DiscoveryVersion) -> String {
        let ns = version.namespace();
        let name = match (self, version) {
            (MatchBy::Rfc3986, DiscoveryVersion::V2005_04) => "rfc2396",
            (MatchBy::Rfc3986, DiscoveryVersion::V1_1) => "rfc3986",
            (MatchBy::Strcmp0, _) => "strcmp0",
            (MatchBy::Uuid, _) => "uuid",
            (MatchBy::Ldap, _) => "ldap",
            (MatchBy::None, _) => "none",
            (MatchBy::Unknown(uri), _) => return uri.clone(),
        };
        format!("{ns}/{name}")
    }
}

impl MatchBy {
    /// The rules soapwire supports in `version` (what a `MatchingRuleNotSupported` fault
    /// lists).
    pub fn supported(version: DiscoveryVersion) -> Vec<MatchBy> {
        let mut rules = vec![MatchBy::Rfc3986, MatchBy::Strcmp0, MatchBy::Uuid, MatchBy::Ldap];
        if version == DiscoveryVersion::V1_1 {
            rules.push(MatchBy::None);
        }
        rules
    }
}

/// The `MatchingRuleNotSupported` fault a responder may send for
/// [`ScopeMatch::UnsupportedRule`]: code `Sender`, subcode `d:MatchingRuleNotSupported`,
/// detail `d:SupportedMatchingRules` listing [`MatchBy::supported`]. Send it with
/// [`Fault::to_envelope`] for SOAP 1.2 and the addressing fault action of the version.
pub fn matching_rule_not_supported_fault(version: DiscoveryVersion) -> Fault {
    let ns = version.namespace();
    let mut fault = Fault::new(FaultCode::Sender, "the matching rule specified is not supported");
    fault.subcodes = vec![QName::new(ns, "MatchingRuleNotSupported")];
    let uris: Vec<String> = MatchBy::supported(version).iter().map(|r| r.uri(version)).collect();
    let mut w = XmlWriter::with_capacity(512);
    w.start_element(Some("d"), "SupportedMatchingRules");
    w.namespace_decl(Some("d"), ns);
    w.text(&uris.join(" "));
    w.end_element();
    fault.detail = Some(Bytes::from(w.into_bytes()));
    fault
}

/// The outcome of scope matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScopeMatch {
    /// Every probe scope matched.
    Match,
    /// Some probe scope matched no target scope.
    NoMatch,
    /// The rule is unknown: no match; a responder may answer with the
    /// `MatchingRuleNotSupported` fault.
    UnsupportedRule,
}

impl ScopeMatch {
    /// True for [`ScopeMatch::Match`].
    pub fn is_match(self) -> bool {
        self == ScopeMatch::Match
    }
}

/// True if every probe type is among the target types (compared by namespace and local
/// name; an empty probe list matches every target).
pub fn types_match(probe_types: &[QName], target_types: &[QName]) -> bool {
    probe_types.iter().all(|t| target_types.contains(t))
}

/// Scope matching under `match_by` (see the module table). An empty probe list matches
/// every target (except under an unknown rule).
pub fn scopes_match(match_by: &MatchBy, probe_scopes: &[String], target_scopes: &[String]) -> ScopeMatch {
    let rule: fn(&str, &str) -> bool = match match_by {
        MatchBy::Unknown(_) => return ScopeMatch::UnsupportedRule,
        MatchBy::None => {
            return if target_scopes.is_empty() { ScopeMatch::Match } else { ScopeMatch::NoMatch };
        }
        MatchBy::Rfc3986 => rfc3986_match,
        MatchBy::Strcmp0 => |a, b| a == b,
        MatchBy::Uuid => uuid_match,
        MatchBy::Ldap => ldap_match,
    };
    if probe_scopes.iter().all(|p| target_scopes.iter().any(|t| rule(p, t))) {
        ScopeMatch::Match
    } else {
        ScopeMatch::NoMatch
    }
}

/// Whole-probe matching: types and scopes of `probe` against a target's `info`.
pub fn probe_matches(probe: &Probe, info: &EndpointInfo) -> ScopeMatch {
    let scopes = match &probe.scopes {
        Some(s) => scopes_match(&s.rule(), &s.uris, &info.scopes),
        None => ScopeMatch::Match,
    };
    if scopes == ScopeMatch::Match && !types_match(&probe.types, &info.types) {
        return ScopeMatch::NoMatch;
    }
    scopes
}

/// The parts of a URI that the RFC 3986 rule compares.
struct UriParts<'a> {
    scheme: &'a str,
    authority: Option<&'a str>,
    path: &'a str,
}

fn split_uri(uri: &str) -> Option<UriParts<'_>> {
    let colon = uri.find(':')?;
    let scheme = &uri[..colon];
    if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) {
        return None;
    }
    let rest = &uri[colon + 1..];
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let path = &after[end..];
        Some(UriParts { scheme, authority: Some(&after[..end]), path: if path.is_empty() { "/" } else { path } })
    } else {
        Some(UriParts { scheme, authority: None, path: rest })
    }
}

/// Percent-decodes unreserved characters and upper-cases the other escapes.
fn normalize_segment(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i + 1..i + 3).filter(|h| bytes[i] == b'%' && h.iter().all(u8::is_ascii_hexdigit));
        if let Some(hex) = escape.and_then(|h| std::str::from_utf8(h).ok()) {
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(v));
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        let ch = segment[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

fn rfc3986_match(probe: &str, target: &str) -> bool {
    let (Some(p), Some(t)) = (split_uri(probe), split_uri(target)) else { return false };
    if !p.scheme.eq_ignore_ascii_case(t.scheme) {
        return false;
    }
    match (p.authority, t.authority) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {}
        (None, None) => {}
        _ => return false,
    }
    let mut ps: Vec<String> = p.path.split('/').map(normalize_segment).collect();
    let ts: Vec<String> = t.path.split('/').map(normalize_segment).collect();
    if ps.iter().chain(&ts).any(|s| s == "." || s == "..") {
        return false;
    }
    if ps.len() > 1 && ps.last().is_some_and(String::is_empty) {
        ps.pop();
    }
    ps.len() <= ts.len() && ps.iter().zip(&ts).all(|(a, b)| a == b)
}

/// The 128-bit value of a `uuid:` / `urn:uuid:` URI.
fn parse_uuid_uri(uri: &str) -> Option<u128> {
    let lower = uri.trim().to_ascii_lowercase();
    let hex = lower.strip_prefix("urn:uuid:").or_else(|| lower.strip_prefix("uuid:"))?;
    let groups: Vec<&str> = hex.split('-').collect();
    if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return None;
    }
    let digits: String = groups.concat();
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&digits, 16).ok()
}

fn uuid_match(probe: &str, target: &str) -> bool {
    matches!((parse_uuid_uri(probe), parse_uuid_uri(target)), (Some(a), Some(b)) if a == b)
}

/// `(hostport, RDNs in string order)` of an `ldap://hostport/dn` URI.
fn split_ldap(uri: &str) -> Option<(String, Vec<(String, String)>)> {
    let colon = uri.find(':')?;
    if !uri[..colon].eq_ignore_ascii_case("ldap") {
        return None;
    }
    let rest = uri[colon + 1..].strip_prefix("//")?;
    let rest = rest.split('?').next().unwrap_or("");
    let (hostport, dn) = rest.split_once('/').unwrap_or((rest, ""));
    let mut rdns = Vec::new();
    if !dn.is_empty() {
        let mut current = String::new();
        let mut escaped = false;
        let mut parts = Vec::new();
        for ch in dn.chars() {
            if escaped {
                current.push(ch);
                escaped = false;
            } else if ch == '\\' {
                current.push(ch);
                escaped = true;
            } else if ch == ',' {
                parts.push(std::mem::take(&mut current));
            } else {
                current.push(ch);
            }
        }
        parts.push(current);
        for part in parts {
            let (ty, value) = part.split_once('=')?;
            rdns.push((ty.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    Some((hostport.to_ascii_lowercase(), rdns))
}

fn ldap_match(probe: &str, target: &str) -> bool {
    let (Some((ph, pr)), Some((th, tr))) = (split_ldap(probe), split_ldap(target)) else { return false };
    ph == th && pr.len() <= tr.len() && pr.iter().rev().zip(tr.iter().rev()).all(|(a, b)| a == b)
}
