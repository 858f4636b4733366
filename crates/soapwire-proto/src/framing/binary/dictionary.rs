//! The static dictionary of [MC-NBFS] §2: the 487 strings that every .NET binary XML
//! (`application/soap+msbin1`, `application/soap+msbinsession1`) document may refer to by an
//! even `DictionaryString` id (0x000, 0x002, … 0x3CC), without sending them.
//!
//! This module owns the table, the two lookups ([`static_string`], [`static_id`], the latter
//! through a hash index built at compile time) and the fast string hasher of the session
//! dictionary ([`FastHashMap`]). Ids are
//! *wire* ids: the value of the `DictionaryString` itself, so entry `n` of the table has id
//! `2 * n`; odd ids belong to the session dictionary ([MC-NBFSE], see `session.rs`).
//!
//! The table is `System.ServiceModel.ServiceModelStringsVersion1` as WCF ships it. It was
//! checked entry by entry against the [MC-NBFS] table, the `pynettcp` peer's table (read from
//! .NET 4.0 by reflection) and the `wcf` (python-wcfbin) peer's table. All four agree on all
//! 487 entries except one: id 0x1A8 is `" http://schemas.xmlsoap.org/ws/2005/02/trust/tlsnego"`
//! **with a leading space** in WCF (and in pynettcp, and in Mono's copy, which calls it a
//! ".NET bug"), but without it in [MC-NBFS] and in python-wcfbin. We follow WCF, because
//! WCF is what sends and reads the id on the wire.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The [MC-NBFS] static dictionary, indexed by `wire id / 2`.
static STATIC_STRINGS: [&str; 487] = STRINGS;

/// The table itself, as a constant so that [`INDEX`] can be built from it at compile time.
const STRINGS: [&str; 487] = [
    /* 0x000 */ "mustUnderstand",
    /* 0x002 */ "Envelope",
    /* 0x004 */ "http://www.w3.org/2003/05/soap-envelope",
    /* 0x006 */ "http://www.w3.org/2005/08/addressing",
    /* 0x008 */ "Header",
    /* 0x00A */ "Action",
    /* 0x00C */ "To",
    /* 0x00E */ "Body",
    /* 0x010 */ "Algorithm",
    /* 0x012 */ "RelatesTo",
    /* 0x014 */ "http://www.w3.org/2005/08/addressing/anonymous",
    /* 0x016 */ "URI",
    /* 0x018 */ "Reference",
    /* 0x01A */ "MessageID",
    /* 0x01C */ "Id",
    /* 0x01E */ "Identifier",
    /* 0x020 */ "http://schemas.xmlsoap.org/ws/2005/02/rm",
    /* 0x022 */ "Transforms",
    /* 0x024 */ "Transform",
    /* 0x026 */ "DigestMethod",
    /* 0x028 */ "DigestValue",
    /* 0x02A */ "Address",
    /* 0x02C */ "ReplyTo",
    /* 0x02E */ "SequenceAcknowledgement",
    /* 0x030 */ "AcknowledgementRange",
    /* 0x032 */ "Upper",
    /* 0x034 */ "Lower",
    /* 0x036 */ "BufferRemaining",
    /* 0x038 */ "http://schemas.microsoft.com/ws/2006/05/rm",
    /* 0x03A */ "http://schemas.xmlsoap.org/ws/2005/02/rm/SequenceAcknowledgement",
    /* 0x03C */ "SecurityTokenReference",
    /* 0x03E */ "Sequence",
    /* 0x040 */ "MessageNumber",
    /* 0x042 */ "http://www.w3.org/2000/09/xmldsig#",
    /* 0x044 */ "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    /* 0x046 */ "KeyInfo",
    /* 0x048 */ "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    /* 0x04A */ "http://www.w3.org/2001/04/xmlenc#",
    /* 0x04C */ "http://schemas.xmlsoap.org/ws/2005/02/sc",
    /* 0x04E */ "DerivedKeyToken",
    /* 0x050 */ "Nonce",
    /* 0x052 */ "Signature",
    /* 0x054 */ "SignedInfo",
    /* 0x056 */ "CanonicalizationMethod",
    /* 0x058 */ "SignatureMethod",
    /* 0x05A */ "SignatureValue",
    /* 0x05C */ "DataReference",
    /* 0x05E */ "EncryptedData",
    /* 0x060 */ "EncryptionMethod",
    /* 0x062 */ "CipherData",
    /* 0x064 */ "CipherValue",
    /* 0x066 */ "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    /* 0x068 */ "Security",
    /* 0x06A */ "Timestamp",
    /* 0x06C */ "Created",
    /* 0x06E */ "Expires",
    /* 0x070 */ "Length",
    /* 0x072 */ "ReferenceList",
    /* 0x074 */ "ValueType",
    /* 0x076 */ "Type",
    /* 0x078 */ "EncryptedHeader",
    /* 0x07A */ "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd",
    /* 0x07C */ "RequestSecurityTokenResponseCollection",
    /* 0x07E */ "http://schemas.xmlsoap.org/ws/2005/02/trust",
    /* 0x080 */ "http://schemas.xmlsoap.org/ws/2005/02/trust#BinarySecret",
    /* 0x082 */ "http://schemas.microsoft.com/ws/2006/02/transactions",
    /* 0x084 */ "s",
    /* 0x086 */ "Fault",
    /* 0x088 */ "MustUnderstand",
    /* 0x08A */ "role",
    /* 0x08C */ "relay",
    /* 0x08E */ "Code",
    /* 0x090 */ "Reason",
    /* 0x092 */ "Text",
    /* 0x094 */ "Node",
    /* 0x096 */ "Role",
    /* 0x098 */ "Detail",
    /* 0x09A */ "Value",
    /* 0x09C */ "Subcode",
    /* 0x09E */ "NotUnderstood",
    /* 0x0A0 */ "qname",
    /* 0x0A2 */ "",
    /* 0x0A4 */ "From",
    /* 0x0A6 */ "FaultTo",
    /* 0x0A8 */ "EndpointReference",
    /* 0x0AA */ "PortType",
    /* 0x0AC */ "ServiceName",
    /* 0x0AE */ "PortName",
    /* 0x0B0 */ "ReferenceProperties",
    /* 0x0B2 */ "RelationshipType",
    /* 0x0B4 */ "Reply",
    /* 0x0B6 */ "a",
    /* 0x0B8 */ "http://schemas.xmlsoap.org/ws/2006/02/addressingidentity",
    /* 0x0BA */ "Identity",
    /* 0x0BC */ "Spn",
    /* 0x0BE */ "Upn",
    /* 0x0C0 */ "Rsa",
    /* 0x0C2 */ "Dns",
    /* 0x0C4 */ "X509v3Certificate",
    /* 0x0C6 */ "http://www.w3.org/2005/08/addressing/fault",
    /* 0x0C8 */ "ReferenceParameters",
    /* 0x0CA */ "IsReferenceParameter",
    /* 0x0CC */ "http://www.w3.org/2005/08/addressing/reply",
    /* 0x0CE */ "http://www.w3.org/2005/08/addressing/none",
    /* 0x0D0 */ "Metadata",
    /* 0x0D2 */ "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    /* 0x0D4 */ "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous",
    /* 0x0D6 */ "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault",
    /* 0x0D8 */ "http://schemas.xmlsoap.org/ws/2004/06/addressingex",
    /* 0x0DA */ "RedirectTo",
    /* 0x0DC */ "Via",
    /* 0x0DE */ "http://www.w3.org/2001/10/xml-exc-c14n#",
    /* 0x0E0 */ "PrefixList",
    /* 0x0E2 */ "InclusiveNamespaces",
    /* 0x0E4 */ "ec",
    /* 0x0E6 */ "SecurityContextToken",
    /* 0x0E8 */ "Generation",
    /* 0x0EA */ "Label",
    /* 0x0EC */ "Offset",
    /* 0x0EE */ "Properties",
    /* 0x0F0 */ "Cookie",
    /* 0x0F2 */ "wsc",
    /* 0x0F4 */ "http://schemas.xmlsoap.org/ws/2004/04/sc",
    /* 0x0F6 */ "http://schemas.xmlsoap.org/ws/2004/04/security/sc/dk",
    /* 0x0F8 */ "http://schemas.xmlsoap.org/ws/2004/04/security/sc/sct",
    /* 0x0FA */ "http://schemas.xmlsoap.org/ws/2004/04/security/trust/RST/SCT",
    /* 0x0FC */ "http://schemas.xmlsoap.org/ws/2004/04/security/trust/RSTR/SCT",
    /* 0x0FE */ "RenewNeeded",
    /* 0x100 */ "BadContextToken",
    /* 0x102 */ "c",
    /* 0x104 */ "http://schemas.xmlsoap.org/ws/2005/02/sc/dk",
    /* 0x106 */ "http://schemas.xmlsoap.org/ws/2005/02/sc/sct",
    /* 0x108 */ "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/SCT",
    /* 0x10A */ "http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/SCT",
    /* 0x10C */ "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/SCT/Renew",
    /* 0x10E */ "http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/SCT/Renew",
    /* 0x110 */ "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/SCT/Cancel",
    /* 0x112 */ "http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/SCT/Cancel",
    /* 0x114 */ "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    /* 0x116 */ "http://www.w3.org/2001/04/xmlenc#kw-aes128",
    /* 0x118 */ "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
    /* 0x11A */ "http://www.w3.org/2001/04/xmlenc#kw-aes192",
    /* 0x11C */ "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    /* 0x11E */ "http://www.w3.org/2001/04/xmlenc#kw-aes256",
    /* 0x120 */ "http://www.w3.org/2001/04/xmlenc#des-cbc",
    /* 0x122 */ "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
    /* 0x124 */ "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    /* 0x126 */ "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
    /* 0x128 */ "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
    /* 0x12A */ "http://schemas.xmlsoap.org/ws/2005/02/sc/dk/p_sha1",
    /* 0x12C */ "http://www.w3.org/2001/04/xmlenc#ripemd160",
    /* 0x12E */ "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    /* 0x130 */ "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    /* 0x132 */ "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    /* 0x134 */ "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
    /* 0x136 */ "http://www.w3.org/2000/09/xmldsig#sha1",
    /* 0x138 */ "http://www.w3.org/2001/04/xmlenc#sha256",
    /* 0x13A */ "http://www.w3.org/2001/04/xmlenc#sha512",
    /* 0x13C */ "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
    /* 0x13E */ "http://www.w3.org/2001/04/xmlenc#kw-tripledes",
    /* 0x140 */ "http://schemas.xmlsoap.org/2005/02/trust/tlsnego#TLS_Wrap",
    /* 0x142 */ "http://schemas.xmlsoap.org/2005/02/trust/spnego#GSS_Wrap",
    /* 0x144 */ "http://schemas.microsoft.com/ws/2006/05/security",
    /* 0x146 */ "dnse",
    /* 0x148 */ "o",
    /* 0x14A */ "Password",
    /* 0x14C */ "PasswordText",
    /* 0x14E */ "Username",
    /* 0x150 */ "UsernameToken",
    /* 0x152 */ "BinarySecurityToken",
    /* 0x154 */ "EncodingType",
    /* 0x156 */ "KeyIdentifier",
    /* 0x158 */ "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary",
    /* 0x15A */ "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#HexBinary",
    /* 0x15C */ "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Text",
    /* 0x15E */
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier",
    /* 0x160 */ "http://docs.oasis-open.org/wss/oasis-wss-kerberos-token-profile-1.1#GSS_Kerberosv5_AP_REQ",
    /* 0x162 */ "http://docs.oasis-open.org/wss/oasis-wss-kerberos-token-profile-1.1#GSS_Kerberosv5_AP_REQ1510",
    /* 0x164 */ "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID",
    /* 0x166 */ "Assertion",
    /* 0x168 */ "urn:oasis:names:tc:SAML:1.0:assertion",
    /* 0x16A */ "http://docs.oasis-open.org/wss/oasis-wss-rel-token-profile-1.0.pdf#license",
    /* 0x16C */ "FailedAuthentication",
    /* 0x16E */ "InvalidSecurityToken",
    /* 0x170 */ "InvalidSecurity",
    /* 0x172 */ "k",
    /* 0x174 */ "SignatureConfirmation",
    /* 0x176 */ "TokenType",
    /* 0x178 */ "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1",
    /* 0x17A */ "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKey",
    /* 0x17C */ "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKeySHA1",
    /* 0x17E */ "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1",
    /* 0x180 */ "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0",
    /* 0x182 */ "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID",
    /* 0x184 */ "AUTH-HASH",
    /* 0x186 */ "RequestSecurityTokenResponse",
    /* 0x188 */ "KeySize",
    /* 0x18A */ "RequestedTokenReference",
    /* 0x18C */ "AppliesTo",
    /* 0x18E */ "Authenticator",
    /* 0x190 */ "CombinedHash",
    /* 0x192 */ "BinaryExchange",
    /* 0x194 */ "Lifetime",
    /* 0x196 */ "RequestedSecurityToken",
    /* 0x198 */ "Entropy",
    /* 0x19A */ "RequestedProofToken",
    /* 0x19C */ "ComputedKey",
    /* 0x19E */ "RequestSecurityToken",
    /* 0x1A0 */ "RequestType",
    /* 0x1A2 */ "Context",
    /* 0x1A4 */ "BinarySecret",
    /* 0x1A6 */ "http://schemas.xmlsoap.org/ws/2005/02/trust/spnego",
    /* 0x1A8 */ " http://schemas.xmlsoap.org/ws/2005/02/trust/tlsnego",
    /* 0x1AA */ "wst",
    /* 0x1AC */ "http://schemas.xmlsoap.org/ws/2004/04/trust",
    /* 0x1AE */ "http://schemas.xmlsoap.org/ws/2004/04/security/trust/RST/Issue",
    /* 0x1B0 */ "http://schemas.xmlsoap.org/ws/2004/04/security/trust/RSTR/Issue",
    /* 0x1B2 */ "http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue",
    /* 0x1B4 */ "http://schemas.xmlsoap.org/ws/2004/04/security/trust/CK/PSHA1",
    /* 0x1B6 */ "http://schemas.xmlsoap.org/ws/2004/04/security/trust/SymmetricKey",
    /* 0x1B8 */ "http://schemas.xmlsoap.org/ws/2004/04/security/trust/Nonce",
    /* 0x1BA */ "KeyType",
    /* 0x1BC */ "http://schemas.xmlsoap.org/ws/2004/04/trust/SymmetricKey",
    /* 0x1BE */ "http://schemas.xmlsoap.org/ws/2004/04/trust/PublicKey",
    /* 0x1C0 */ "Claims",
    /* 0x1C2 */ "InvalidRequest",
    /* 0x1C4 */ "RequestFailed",
    /* 0x1C6 */ "SignWith",
    /* 0x1C8 */ "EncryptWith",
    /* 0x1CA */ "EncryptionAlgorithm",
    /* 0x1CC */ "CanonicalizationAlgorithm",
    /* 0x1CE */ "ComputedKeyAlgorithm",
    /* 0x1D0 */ "UseKey",
    /* 0x1D2 */ "http://schemas.microsoft.com/net/2004/07/secext/WS-SPNego",
    /* 0x1D4 */ "http://schemas.microsoft.com/net/2004/07/secext/TLSNego",
    /* 0x1D6 */ "t",
    /* 0x1D8 */ "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue",
    /* 0x1DA */ "http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/Issue",
    /* 0x1DC */ "http://schemas.xmlsoap.org/ws/2005/02/trust/Issue",
    /* 0x1DE */ "http://schemas.xmlsoap.org/ws/2005/02/trust/SymmetricKey",
    /* 0x1E0 */ "http://schemas.xmlsoap.org/ws/2005/02/trust/CK/PSHA1",
    /* 0x1E2 */ "http://schemas.xmlsoap.org/ws/2005/02/trust/Nonce",
    /* 0x1E4 */ "RenewTarget",
    /* 0x1E6 */ "CancelTarget",
    /* 0x1E8 */ "RequestedTokenCancelled",
    /* 0x1EA */ "RequestedAttachedReference",
    /* 0x1EC */ "RequestedUnattachedReference",
    /* 0x1EE */ "IssuedTokens",
    /* 0x1F0 */ "http://schemas.xmlsoap.org/ws/2005/02/trust/Renew",
    /* 0x1F2 */ "http://schemas.xmlsoap.org/ws/2005/02/trust/Cancel",
    /* 0x1F4 */ "http://schemas.xmlsoap.org/ws/2005/02/trust/PublicKey",
    /* 0x1F6 */ "Access",
    /* 0x1F8 */ "AccessDecision",
    /* 0x1FA */ "Advice",
    /* 0x1FC */ "AssertionID",
    /* 0x1FE */ "AssertionIDReference",
    /* 0x200 */ "Attribute",
    /* 0x202 */ "AttributeName",
    /* 0x204 */ "AttributeNamespace",
    /* 0x206 */ "AttributeStatement",
    /* 0x208 */ "AttributeValue",
    /* 0x20A */ "Audience",
    /* 0x20C */ "AudienceRestrictionCondition",
    /* 0x20E */ "AuthenticationInstant",
    /* 0x210 */ "AuthenticationMethod",
    /* 0x212 */ "AuthenticationStatement",
    /* 0x214 */ "AuthorityBinding",
    /* 0x216 */ "AuthorityKind",
    /* 0x218 */ "AuthorizationDecisionStatement",
    /* 0x21A */ "Binding",
    /* 0x21C */ "Condition",
    /* 0x21E */ "Conditions",
    /* 0x220 */ "Decision",
    /* 0x222 */ "DoNotCacheCondition",
    /* 0x224 */ "Evidence",
    /* 0x226 */ "IssueInstant",
    /* 0x228 */ "Issuer",
    /* 0x22A */ "Location",
    /* 0x22C */ "MajorVersion",
    /* 0x22E */ "MinorVersion",
    /* 0x230 */ "NameIdentifier",
    /* 0x232 */ "Format",
    /* 0x234 */ "NameQualifier",
    /* 0x236 */ "Namespace",
    /* 0x238 */ "NotBefore",
    /* 0x23A */ "NotOnOrAfter",
    /* 0x23C */ "saml",
    /* 0x23E */ "Statement",
    /* 0x240 */ "Subject",
    /* 0x242 */ "SubjectConfirmation",
    /* 0x244 */ "SubjectConfirmationData",
    /* 0x246 */ "ConfirmationMethod",
    /* 0x248 */ "urn:oasis:names:tc:SAML:1.0:cm:holder-of-key",
    /* 0x24A */ "urn:oasis:names:tc:SAML:1.0:cm:sender-vouches",
    /* 0x24C */ "SubjectLocality",
    /* 0x24E */ "DNSAddress",
    /* 0x250 */ "IPAddress",
    /* 0x252 */ "SubjectStatement",
    /* 0x254 */ "urn:oasis:names:tc:SAML:1.0:am:unspecified",
    /* 0x256 */ "xmlns",
    /* 0x258 */ "Resource",
    /* 0x25A */ "UserName",
    /* 0x25C */ "urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName",
    /* 0x25E */ "EmailName",
    /* 0x260 */ "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    /* 0x262 */ "u",
    /* 0x264 */ "ChannelInstance",
    /* 0x266 */ "http://schemas.microsoft.com/ws/2005/02/duplex",
    /* 0x268 */ "Encoding",
    /* 0x26A */ "MimeType",
    /* 0x26C */ "CarriedKeyName",
    /* 0x26E */ "Recipient",
    /* 0x270 */ "EncryptedKey",
    /* 0x272 */ "KeyReference",
    /* 0x274 */ "e",
    /* 0x276 */ "http://www.w3.org/2001/04/xmlenc#Element",
    /* 0x278 */ "http://www.w3.org/2001/04/xmlenc#Content",
    /* 0x27A */ "KeyName",
    /* 0x27C */ "MgmtData",
    /* 0x27E */ "KeyValue",
    /* 0x280 */ "RSAKeyValue",
    /* 0x282 */ "Modulus",
    /* 0x284 */ "Exponent",
    /* 0x286 */ "X509Data",
    /* 0x288 */ "X509IssuerSerial",
    /* 0x28A */ "X509IssuerName",
    /* 0x28C */ "X509SerialNumber",
    /* 0x28E */ "X509Certificate",
    /* 0x290 */ "AckRequested",
    /* 0x292 */ "http://schemas.xmlsoap.org/ws/2005/02/rm/AckRequested",
    /* 0x294 */ "AcksTo",
    /* 0x296 */ "Accept",
    /* 0x298 */ "CreateSequence",
    /* 0x29A */ "http://schemas.xmlsoap.org/ws/2005/02/rm/CreateSequence",
    /* 0x29C */ "CreateSequenceRefused",
    /* 0x29E */ "CreateSequenceResponse",
    /* 0x2A0 */ "http://schemas.xmlsoap.org/ws/2005/02/rm/CreateSequenceResponse",
    /* 0x2A2 */ "FaultCode",
    /* 0x2A4 */ "InvalidAcknowledgement",
    /* 0x2A6 */ "LastMessage",
    /* 0x2A8 */ "http://schemas.xmlsoap.org/ws/2005/02/rm/LastMessage",
    /* 0x2AA */ "LastMessageNumberExceeded",
    /* 0x2AC */ "MessageNumberRollover",
    /* 0x2AE */ "Nack",
    /* 0x2B0 */ "netrm",
    /* 0x2B2 */ "Offer",
    /* 0x2B4 */ "r",
    /* 0x2B6 */ "SequenceFault",
    /* 0x2B8 */ "SequenceTerminated",
    /* 0x2BA */ "TerminateSequence",
    /* 0x2BC */ "http://schemas.xmlsoap.org/ws/2005/02/rm/TerminateSequence",
    /* 0x2BE */ "UnknownSequence",
    /* 0x2C0 */ "http://schemas.microsoft.com/ws/2006/02/tx/oletx",
    /* 0x2C2 */ "oletx",
    /* 0x2C4 */ "OleTxTransaction",
    /* 0x2C6 */ "PropagationToken",
    /* 0x2C8 */ "http://schemas.xmlsoap.org/ws/2004/10/wscoor",
    /* 0x2CA */ "wscoor",
    /* 0x2CC */ "CreateCoordinationContext",
    /* 0x2CE */ "CreateCoordinationContextResponse",
    /* 0x2D0 */ "CoordinationContext",
    /* 0x2D2 */ "CurrentContext",
    /* 0x2D4 */ "CoordinationType",
    /* 0x2D6 */ "RegistrationService",
    /* 0x2D8 */ "Register",
    /* 0x2DA */ "RegisterResponse",
    /* 0x2DC */ "ProtocolIdentifier",
    /* 0x2DE */ "CoordinatorProtocolService",
    /* 0x2E0 */ "ParticipantProtocolService",
    /* 0x2E2 */ "http://schemas.xmlsoap.org/ws/2004/10/wscoor/CreateCoordinationContext",
    /* 0x2E4 */ "http://schemas.xmlsoap.org/ws/2004/10/wscoor/CreateCoordinationContextResponse",
    /* 0x2E6 */ "http://schemas.xmlsoap.org/ws/2004/10/wscoor/Register",
    /* 0x2E8 */ "http://schemas.xmlsoap.org/ws/2004/10/wscoor/RegisterResponse",
    /* 0x2EA */ "http://schemas.xmlsoap.org/ws/2004/10/wscoor/fault",
    /* 0x2EC */ "ActivationCoordinatorPortType",
    /* 0x2EE */ "RegistrationCoordinatorPortType",
    /* 0x2F0 */ "InvalidState",
    /* 0x2F2 */ "InvalidProtocol",
    /* 0x2F4 */ "InvalidParameters",
    /* 0x2F6 */ "NoActivity",
    /* 0x2F8 */ "ContextRefused",
    /* 0x2FA */ "AlreadyRegistered",
    /* 0x2FC */ "http://schemas.xmlsoap.org/ws/2004/10/wsat",
    /* 0x2FE */ "wsat",
    /* 0x300 */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/Completion",
    /* 0x302 */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/Durable2PC",
    /* 0x304 */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/Volatile2PC",
    /* 0x306 */ "Prepare",
    /* 0x308 */ "Prepared",
    /* 0x30A */ "ReadOnly",
    /* 0x30C */ "Commit",
    /* 0x30E */ "Rollback",
    /* 0x310 */ "Committed",
    /* 0x312 */ "Aborted",
    /* 0x314 */ "Replay",
    /* 0x316 */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/Commit",
    /* 0x318 */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/Rollback",
    /* 0x31A */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/Committed",
    /* 0x31C */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/Aborted",
    /* 0x31E */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/Prepare",
    /* 0x320 */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/Prepared",
    /* 0x322 */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/ReadOnly",
    /* 0x324 */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/Replay",
    /* 0x326 */ "http://schemas.xmlsoap.org/ws/2004/10/wsat/fault",
    /* 0x328 */ "CompletionCoordinatorPortType",
    /* 0x32A */ "CompletionParticipantPortType",
    /* 0x32C */ "CoordinatorPortType",
    /* 0x32E */ "ParticipantPortType",
    /* 0x330 */ "InconsistentInternalState",
    /* 0x332 */ "mstx",
    /* 0x334 */ "Enlistment",
    /* 0x336 */ "protocol",
    /* 0x338 */ "LocalTransactionId",
    /* 0x33A */ "IsolationLevel",
    /* 0x33C */ "IsolationFlags",
    /* 0x33E */ "Description",
    /* 0x340 */ "Loopback",
    /* 0x342 */ "RegisterInfo",
    /* 0x344 */ "ContextId",
    /* 0x346 */ "TokenId",
    /* 0x348 */ "AccessDenied",
    /* 0x34A */ "InvalidPolicy",
    /* 0x34C */ "CoordinatorRegistrationFailed",
    /* 0x34E */ "TooManyEnlistments",
    /* 0x350 */ "Disabled",
    /* 0x352 */ "ActivityId",
    /* 0x354 */ "http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics",
    /* 0x356 */ "http://docs.oasis-open.org/wss/oasis-wss-kerberos-token-profile-1.1#Kerberosv5APREQSHA1",
    /* 0x358 */ "http://schemas.xmlsoap.org/ws/2002/12/policy",
    /* 0x35A */ "FloodMessage",
    /* 0x35C */ "LinkUtility",
    /* 0x35E */ "Hops",
    /* 0x360 */ "http://schemas.microsoft.com/net/2006/05/peer/HopCount",
    /* 0x362 */ "PeerVia",
    /* 0x364 */ "http://schemas.microsoft.com/net/2006/05/peer",
    /* 0x366 */ "PeerFlooder",
    /* 0x368 */ "PeerTo",
    /* 0x36A */ "http://schemas.microsoft.com/ws/2005/05/routing",
    /* 0x36C */ "PacketRoutable",
    /* 0x36E */ "http://schemas.microsoft.com/ws/2005/05/addressing/none",
    /* 0x370 */ "http://schemas.microsoft.com/ws/2005/05/envelope/none",
    /* 0x372 */ "http://www.w3.org/2001/XMLSchema-instance",
    /* 0x374 */ "http://www.w3.org/2001/XMLSchema",
    /* 0x376 */ "nil",
    /* 0x378 */ "type",
    /* 0x37A */ "char",
    /* 0x37C */ "boolean",
    /* 0x37E */ "byte",
    /* 0x380 */ "unsignedByte",
    /* 0x382 */ "short",
    /* 0x384 */ "unsignedShort",
    /* 0x386 */ "int",
    /* 0x388 */ "unsignedInt",
    /* 0x38A */ "long",
    /* 0x38C */ "unsignedLong",
    /* 0x38E */ "float",
    /* 0x390 */ "double",
    /* 0x392 */ "decimal",
    /* 0x394 */ "dateTime",
    /* 0x396 */ "string",
    /* 0x398 */ "base64Binary",
    /* 0x39A */ "anyType",
    /* 0x39C */ "duration",
    /* 0x39E */ "guid",
    /* 0x3A0 */ "anyURI",
    /* 0x3A2 */ "QName",
    /* 0x3A4 */ "time",
    /* 0x3A6 */ "date",
    /* 0x3A8 */ "hexBinary",
    /* 0x3AA */ "gYearMonth",
    /* 0x3AC */ "gYear",
    /* 0x3AE */ "gMonthDay",
    /* 0x3B0 */ "gDay",
    /* 0x3B2 */ "gMonth",
    /* 0x3B4 */ "integer",
    /* 0x3B6 */ "positiveInteger",
    /* 0x3B8 */ "negativeInteger",
    /* 0x3BA */ "nonPositiveInteger",
    /* 0x3BC */ "nonNegativeInteger",
    /* 0x3BE */ "normalizedString",
    /* 0x3C0 */ "ConnectionLimitReached",
    /* 0x3C2 */ "http://schemas.xmlsoap.org/soap/envelope/",
    /* 0x3C4 */ "actor",
    /* 0x3C6 */ "faultcode",
    /* 0x3C8 */ "faultstring",
    /* 0x3CA */ "faultactor",
    /* 0x3CC */ "detail",
];

/// Number of entries in the static dictionary (the largest id is `2 * (STATIC_LEN - 1)`).
#[cfg(test)]
pub(crate) const STATIC_LEN: usize = STATIC_STRINGS.len();

/// The string of static-dictionary wire id `id` (an even number from 0x000 to 0x3CC), or
/// `None` for an odd id (those belong to a session dictionary) or an id past the table.
///
/// ```
/// use soapwire_proto::framing::binary::static_string;
///
/// assert_eq!(static_string(0x02), Some("Envelope"));
/// assert_eq!(static_string(0x04), Some("http://www.w3.org/2003/05/soap-envelope"));
/// assert_eq!(static_string(0x03), None);
/// assert_eq!(static_string(0x3CE), None);
/// ```
pub fn static_string(id: u32) -> Option<&'static str> {
    if id % 2 != 0 {
        return None;
    }
    let index = usize::try_from(id / 2).ok()?;
    STATIC_STRINGS.get(index).copied()
}

/// The static-dictionary wire id (even) of `s`, if `s` is exactly one of its strings.
///
/// ```
/// use soapwire_proto::framing::binary::static_id;
///
/// assert_eq!(static_id("mustUnderstand"), Some(0x00));
/// assert_eq!(static_id("http://www.w3.org/2005/08/addressing"), Some(0x06));
/// assert_eq!(static_id("detail"), Some(0x3CC));
/// assert_eq!(static_id("Inventory"), None);
/// ```
pub fn static_id(s: &str) -> Option<u32> {
    let mut slot = slot_of(s.as_bytes());
    loop {
        // Entries are indexes + 1; an empty slot ends the probe sequence.
        let index = usize::from(INDEX.get(slot)?.checked_sub(1)?);
        if STATIC_STRINGS.get(index) == Some(&s) {
            return u32::try_from(index * 2).ok();
        }
        slot = (slot + 1) % SLOTS;
    }
}

/// Slots of [`INDEX`]: a power of two, about twice the number of strings, so that probe
/// sequences stay short (see the test `static_index_probe_sequences_are_short`).
pub(crate) const SLOTS: usize = 1024;

/// An open-addressing table (linear probing) from [`slot_of`] a string to its index + 1
/// in the table, 0 for an empty slot; built at compile time. The encoder asks it about
/// every name, namespace URI and text it sends, so a lookup must cost a few dozen
/// instructions, hit or miss, whatever the length of the string.
static INDEX: [u16; SLOTS] = build_index();

/// The slot where the search for `s` starts: a hash of its length and of four of its bytes
/// (first, quarter, middle, last), which is O(1) for any length and tells the dictionary's
/// strings apart well (many share a prefix such as `http://schemas.xmlsoap.org/ws/`).
pub(crate) const fn slot_of(s: &[u8]) -> usize {
    let n = s.len();
    if n == 0 {
        return 0;
    }
    let mixed = (n as u32).wrapping_mul(0x9E37_79B1)
        ^ (s[0] as u32)
        ^ ((s[n / 2] as u32) << 8)
        ^ ((s[n - 1] as u32) << 16)
        ^ ((s[n / 4] as u32) << 24);
    (mixed.wrapping_mul(0x85EB_CA77) >> (32 - SLOTS.trailing_zeros())) as usize
}

/// The slots a lookup of `s` visits (1 when the first one is the answer), for tests.
#[cfg(test)]
pub(crate) fn probes(s: &str) -> usize {
    let start = slot_of(s.as_bytes());
    (0..SLOTS)
        .position(|i| {
            let entry = INDEX[(start + i) % SLOTS];
            entry == 0 || STATIC_STRINGS[usize::from(entry - 1)] == s
        })
        .map_or(SLOTS, |i| i + 1)
}

const fn build_index() -> [u16; SLOTS] {
    let mut slots = [0u16; SLOTS];
    let mut i = 0;
    while i < STRINGS.len() {
        let mut slot = slot_of(STRINGS[i].as_bytes());
        while slots[slot] != 0 {
            slot = (slot + 1) % SLOTS;
        }
        slots[slot] = (i + 1) as u16;
        i += 1;
    }
    slots
}

/// A `HashMap` keyed by strings with [`WordHasher`]: the encoder looks up every name, URI
/// and text it sends, so the hash must cost a few instructions per word, not SipHash's
/// rounds per byte.
pub(crate) type FastHashMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHasher>>;

/// An unkeyed hasher that folds its input 8 bytes at a time with a rotate, xor and multiply
/// (the construction of rustc's FxHash). It does not resist chosen collisions. That is
/// acceptable here: the static table's keys are fixed, and the session table holds only
/// names the local side itself sends, at most as many as the session quota allows.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.add(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
