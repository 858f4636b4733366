//! The WWSAPI error model: one [`Error`] with a [`ErrorKind`] and the exact SDK `HRESULT`.
//!
//! This module owns the mapping from every failure soapwire can report to the value a
//! Windows program would see from `webservices.h` (`WS_E_*`, `E_INVALIDARG`,
//! `E_OUTOFMEMORY`). The values are the ones in the SDK's `winerror.h` (facility `0x3D`),
//! not the mistyped ones of the public "return values" table (see
//! `shared/spec/wwsapi-wsdapi.md` §0 errata).
//!
//! Like `WS_ERROR`, an [`Error`] carries a chain of human-readable strings (most specific
//! first) and, when a SOAP fault was received, the fault itself as structured data
//! ([`Error::fault`]).
//!
//! ```
//! use soapwire_proto::error::{Error, ErrorKind, Hresult};
//!
//! let e = Error::new(ErrorKind::InvalidOperation, "close is not allowed in state Created");
//! assert_eq!(e.hresult(), Hresult::WS_E_INVALID_OPERATION);
//! assert_eq!(e.hresult().0 as u32, 0x803D_0003);
//! assert!(e.hresult().is_failure());
//! ```

use std::fmt;

use crate::soap::Fault;

/// A Windows `HRESULT` value (a signed 32-bit status code).
///
/// Success codes (`S_OK`, `S_FALSE`, `WS_S_ASYNC`, `WS_S_END`, `STG_S_BLOCK`) have the top
/// bit clear; failure codes have it set.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hresult(pub i32);

macro_rules! hresults {
    ($( $(#[$doc:meta])* $name:ident = $value:literal; )*) => {
        impl Hresult {
            $( $(#[$doc])* pub const $name: Hresult = Hresult($value as u32 as i32); )*

            /// The SDK name of a known code (`"WS_E_INVALID_FORMAT"`), or `None`.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( Hresult::$name => Some(stringify!($name)), )*
                    _ => None,
                }
            }
        }
    };
}

hresults! {
    /// The operation succeeded.
    S_OK = 0x0000_0000u32;
    /// Success, with a "false" or "end of data" meaning (WSDAPI reads use it for end of stream).
    S_FALSE = 0x0000_0001u32;
    /// The operation is completing asynchronously.
    WS_S_ASYNC = 0x003D_0000u32;
    /// End of input: no more messages, or the session was shut down.
    WS_S_END = 0x003D_0001u32;
    /// A success code: the data was not taken because internal buffers are full; retry later.
    STG_S_BLOCK = 0x0003_0201u32;
    /// The input data was not in the expected format.
    WS_E_INVALID_FORMAT = 0x803D_0000u32;
    /// The object faulted because of an earlier unrecoverable error.
    WS_E_OBJECT_FAULTED = 0x803D_0001u32;
    /// A numeric overflow.
    WS_E_NUMERIC_OVERFLOW = 0x803D_0002u32;
    /// The operation is not allowed in the object's current state.
    WS_E_INVALID_OPERATION = 0x803D_0003u32;
    /// The operation was aborted.
    WS_E_OPERATION_ABORTED = 0x803D_0004u32;
    /// Access was denied by the remote endpoint.
    WS_E_ENDPOINT_ACCESS_DENIED = 0x803D_0005u32;
    /// The operation did not complete within the time allotted.
    WS_E_OPERATION_TIMED_OUT = 0x803D_0006u32;
    /// The operation was abandoned.
    WS_E_OPERATION_ABANDONED = 0x803D_0007u32;
    /// A quota was exceeded.
    WS_E_QUOTA_EXCEEDED = 0x803D_0008u32;
    /// The information was not available in the specified language.
    WS_E_NO_TRANSLATION_AVAILABLE = 0x803D_0009u32;
    /// Security verification was not successful for the received data.
    WS_E_SECURITY_VERIFICATION_FAILURE = 0x803D_000Au32;
    /// The address is already being used.
    WS_E_ADDRESS_IN_USE = 0x803D_000Bu32;
    /// The address is not valid for this context.
    WS_E_ADDRESS_NOT_AVAILABLE = 0x803D_000Cu32;
    /// The remote endpoint does not exist or could not be located.
    WS_E_ENDPOINT_NOT_FOUND = 0x803D_000Du32;
    /// The remote endpoint is not currently in service at this location.
    WS_E_ENDPOINT_NOT_AVAILABLE = 0x803D_000Eu32;
    /// The remote endpoint could not process the request.
    WS_E_ENDPOINT_FAILURE = 0x803D_000Fu32;
    /// The remote endpoint was not reachable.
    WS_E_ENDPOINT_UNREACHABLE = 0x803D_0010u32;
    /// The operation was not supported by the remote endpoint.
    WS_E_ENDPOINT_ACTION_NOT_SUPPORTED = 0x803D_0011u32;
    /// The remote endpoint is too busy.
    WS_E_ENDPOINT_TOO_BUSY = 0x803D_0012u32;
    /// A fault was received from the remote endpoint.
    WS_E_ENDPOINT_FAULT_RECEIVED = 0x803D_0013u32;
    /// The connection with the remote endpoint was terminated.
    WS_E_ENDPOINT_DISCONNECTED = 0x803D_0014u32;
    /// The HTTP proxy server could not process the request.
    WS_E_PROXY_FAILURE = 0x803D_0015u32;
    /// Access was denied by the HTTP proxy server.
    WS_E_PROXY_ACCESS_DENIED = 0x803D_0016u32;
    /// The requested feature is not available on this platform.
    WS_E_NOT_SUPPORTED = 0x803D_0017u32;
    /// The HTTP proxy server requires HTTP authentication scheme 'basic'.
    WS_E_PROXY_REQUIRES_BASIC_AUTH = 0x803D_0018u32;
    /// The HTTP proxy server requires HTTP authentication scheme 'digest'.
    WS_E_PROXY_REQUIRES_DIGEST_AUTH = 0x803D_0019u32;
    /// The HTTP proxy server requires HTTP authentication scheme 'NTLM'.
    WS_E_PROXY_REQUIRES_NTLM_AUTH = 0x803D_001Au32;
    /// The HTTP proxy server requires HTTP authentication scheme 'negotiate'.
    WS_E_PROXY_REQUIRES_NEGOTIATE_AUTH = 0x803D_001Bu32;
    /// The remote endpoint requires HTTP authentication scheme 'basic'.
    WS_E_SERVER_REQUIRES_BASIC_AUTH = 0x803D_001Cu32;
    /// The remote endpoint requires HTTP authentication scheme 'digest'.
    WS_E_SERVER_REQUIRES_DIGEST_AUTH = 0x803D_001Du32;
    /// The remote endpoint requires HTTP authentication scheme 'NTLM'.
    WS_E_SERVER_REQUIRES_NTLM_AUTH = 0x803D_001Eu32;
    /// The remote endpoint requires HTTP authentication scheme 'negotiate'.
    WS_E_SERVER_REQUIRES_NEGOTIATE_AUTH = 0x803D_001Fu32;
    /// The endpoint address URL is invalid.
    WS_E_INVALID_ENDPOINT_URL = 0x803D_0020u32;
    /// Unrecognized error occurred in the Windows Web Services framework.
    WS_E_OTHER = 0x803D_0021u32;
    /// A security token was rejected by the server because it has expired.
    WS_E_SECURITY_TOKEN_EXPIRED = 0x803D_0022u32;
    /// A security operation failed in the Windows Web Services framework.
    WS_E_SECURITY_SYSTEM_FAILURE = 0x803D_0023u32;
    /// One or more arguments are invalid.
    E_INVALIDARG = 0x8007_0057u32;
    /// Ran out of memory.
    E_OUTOFMEMORY = 0x8007_000Eu32;
    /// `HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION)`: what WSDAPI attachments return for a misplaced call.
    HRESULT_INVALID_OPERATION_WIN32 = 0x8007_10DDu32;
}

impl Hresult {
    /// `SUCCEEDED(hr)`: true for every code with the top bit clear, including `S_FALSE`,
    /// `WS_S_END` and `STG_S_BLOCK`.
    pub fn is_success(self) -> bool {
        self.0 >= 0
    }

    /// `FAILED(hr)`.
    pub fn is_failure(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Debug for Hresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} (0x{:08X})", self.0 as u32),
            None => write!(f, "0x{:08X}", self.0 as u32),
        }
    }
}

impl fmt::Display for Hresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08X}", self.0 as u32)
    }
}

/// What went wrong, one variant per documented error code. The doc of each variant says
/// what a caller should usually do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `WS_E_INVALID_FORMAT`: the peer sent bytes that are not valid XML, SOAP or HTTP for
    /// this exchange. Retrying the same exchange will not help; report it.
    InvalidFormat,
    /// `WS_E_OBJECT_FAULTED`: the object (listener) was aborted or failed earlier; close it,
    /// then reset or drop it.
    ObjectFaulted,
    /// `WS_E_NUMERIC_OVERFLOW`: a number did not fit its type.
    NumericOverflow,
    /// `WS_E_INVALID_OPERATION`: the call is not allowed in the object's current state
    /// (a programming error on the caller's side).
    InvalidOperation,
    /// `WS_E_OPERATION_ABORTED`: the object was aborted or closed while the call was pending.
    OperationAborted,
    /// `WS_E_ENDPOINT_ACCESS_DENIED`: the remote endpoint refused access.
    EndpointAccessDenied,
    /// `WS_E_OPERATION_TIMED_OUT`: a configured timeout expired; the channel is usually
    /// faulted afterwards and must be closed.
    OperationTimedOut,
    /// `WS_E_OPERATION_ABANDONED`: the operation was abandoned by the caller.
    OperationAbandoned,
    /// `WS_E_QUOTA_EXCEEDED`: a size or count quota was exceeded; raise the quota if the
    /// peer is trusted.
    QuotaExceeded,
    /// `WS_E_NO_TRANSLATION_AVAILABLE`: text not available in the requested language.
    NoTranslationAvailable,
    /// `WS_E_SECURITY_VERIFICATION_FAILURE`: security verification failed.
    SecurityVerificationFailure,
    /// `WS_E_ADDRESS_IN_USE`: the local address is already in use; pick another port.
    AddressInUse,
    /// `WS_E_ADDRESS_NOT_AVAILABLE`: the local address is not usable on this machine.
    AddressNotAvailable,
    /// `WS_E_ENDPOINT_NOT_FOUND`: the host or endpoint could not be located (DNS failure,
    /// connection refused, HTTP 404).
    EndpointNotFound,
    /// `WS_E_ENDPOINT_NOT_AVAILABLE`: the remote endpoint is out of service (HTTP 503).
    EndpointNotAvailable,
    /// `WS_E_ENDPOINT_FAILURE`: the remote endpoint could not process the request (HTTP 5xx
    /// without a SOAP fault).
    EndpointFailure,
    /// `WS_E_ENDPOINT_UNREACHABLE`: no route to the remote endpoint.
    EndpointUnreachable,
    /// `WS_E_ENDPOINT_ACTION_NOT_SUPPORTED`: the remote endpoint does not support the action.
    EndpointActionNotSupported,
    /// `WS_E_ENDPOINT_TOO_BUSY`: the remote endpoint is too busy; retry later.
    EndpointTooBusy,
    /// `WS_E_ENDPOINT_FAULT_RECEIVED`: the peer answered with a SOAP fault; see
    /// [`Error::fault`].
    EndpointFaultReceived,
    /// `WS_E_ENDPOINT_DISCONNECTED`: the connection was closed or reset by the peer.
    EndpointDisconnected,
    /// `WS_E_PROXY_FAILURE`: the HTTP proxy failed.
    ProxyFailure,
    /// `WS_E_PROXY_ACCESS_DENIED`: the HTTP proxy denied access.
    ProxyAccessDenied,
    /// `WS_E_NOT_SUPPORTED`: the feature is not supported.
    NotSupported,
    /// `WS_E_PROXY_REQUIRES_BASIC_AUTH`.
    ProxyRequiresBasicAuth,
    /// `WS_E_PROXY_REQUIRES_DIGEST_AUTH`.
    ProxyRequiresDigestAuth,
    /// `WS_E_PROXY_REQUIRES_NTLM_AUTH`.
    ProxyRequiresNtlmAuth,
    /// `WS_E_PROXY_REQUIRES_NEGOTIATE_AUTH`.
    ProxyRequiresNegotiateAuth,
    /// `WS_E_SERVER_REQUIRES_BASIC_AUTH`: supply credentials.
    ServerRequiresBasicAuth,
    /// `WS_E_SERVER_REQUIRES_DIGEST_AUTH`.
    ServerRequiresDigestAuth,
    /// `WS_E_SERVER_REQUIRES_NTLM_AUTH`.
    ServerRequiresNtlmAuth,
    /// `WS_E_SERVER_REQUIRES_NEGOTIATE_AUTH`.
    ServerRequiresNegotiateAuth,
    /// `WS_E_INVALID_ENDPOINT_URL`: the URL cannot be used for this binding; fix the address.
    InvalidEndpointUrl,
    /// `WS_E_OTHER`: an unrecognized platform error; the strings say more.
    Other,
    /// `WS_E_SECURITY_TOKEN_EXPIRED`.
    SecurityTokenExpired,
    /// `WS_E_SECURITY_SYSTEM_FAILURE`.
    SecuritySystemFailure,
    /// `E_INVALIDARG`: an argument is invalid (API misuse).
    InvalidArgument,
    /// `E_OUTOFMEMORY`: an allocation failed or a heap limit was reached.
    OutOfMemory,
}

impl ErrorKind {
    /// Every kind, in `HRESULT` order (useful for exhaustive tests and tables).
    pub const ALL: [ErrorKind; 38] = [
        ErrorKind::InvalidFormat,
        ErrorKind::ObjectFaulted,
        ErrorKind::NumericOverflow,
        ErrorKind::InvalidOperation,
        ErrorKind::OperationAborted,
        ErrorKind::EndpointAccessDenied,
        ErrorKind::OperationTimedOut,
        ErrorKind::OperationAbandoned,
        ErrorKind::QuotaExceeded,
        ErrorKind::NoTranslationAvailable,
        ErrorKind::SecurityVerificationFailure,
        ErrorKind::AddressInUse,
        ErrorKind::AddressNotAvailable,
        ErrorKind::EndpointNotFound,
        ErrorKind::EndpointNotAvailable,
        ErrorKind::EndpointFailure,
        ErrorKind::EndpointUnreachable,
        ErrorKind::EndpointActionNotSupported,
        ErrorKind::EndpointTooBusy,
        ErrorKind::EndpointFaultReceived,
        ErrorKind::EndpointDisconnected,
        ErrorKind::ProxyFailure,
        ErrorKind::ProxyAccessDenied,
        ErrorKind::NotSupported,
        ErrorKind::ProxyRequiresBasicAuth,
        ErrorKind::ProxyRequiresDigestAuth,
        ErrorKind::ProxyRequiresNtlmAuth,
        ErrorKind::ProxyRequiresNegotiateAuth,
        ErrorKind::ServerRequiresBasicAuth,
        ErrorKind::ServerRequiresDigestAuth,
        ErrorKind::ServerRequiresNtlmAuth,
        ErrorKind::ServerRequiresNegotiateAuth,
        ErrorKind::InvalidEndpointUrl,
        ErrorKind::Other,
        ErrorKind::SecurityTokenExpired,
        ErrorKind::SecuritySystemFailure,
        ErrorKind::InvalidArgument,
        ErrorKind::OutOfMemory,
    ];

    /// The exact SDK `HRESULT` for this kind.
    pub fn hresult(self) -> Hresult {
        match self {
            ErrorKind::InvalidFormat => Hresult::WS_E_INVALID_FORMAT,
            ErrorKind::ObjectFaulted => Hresult::WS_E_OBJECT_FAULTED,
            ErrorKind::NumericOverflow => Hresult::WS_E_NUMERIC_OVERFLOW,
            ErrorKind::InvalidOperation => Hresult::WS_E_INVALID_OPERATION,
            ErrorKind::OperationAborted => Hresult::WS_E_OPERATION_ABORTED,
            ErrorKind::EndpointAccessDenied => Hresult::WS_E_ENDPOINT_ACCESS_DENIED,
            ErrorKind::OperationTimedOut => Hresult::WS_E_OPERATION_TIMED_OUT,
            ErrorKind::OperationAbandoned => Hresult::WS_E_OPERATION_ABANDONED,
            ErrorKind::QuotaExceeded => Hresult::WS_E_QUOTA_EXCEEDED,
            ErrorKind::NoTranslationAvailable => Hresult::WS_E_NO_TRANSLATION_AVAILABLE,
            ErrorKind::SecurityVerificationFailure => Hresult::WS_E_SECURITY_VERIFICATION_FAILURE,
            ErrorKind::AddressInUse => Hresult::WS_E_ADDRESS_IN_USE,
            ErrorKind::AddressNotAvailable => Hresult::WS_E_ADDRESS_NOT_AVAILABLE,
            ErrorKind::EndpointNotFound => Hresult::WS_E_ENDPOINT_NOT_FOUND,
            ErrorKind::EndpointNotAvailable => Hresult::WS_E_ENDPOINT_NOT_AVAILABLE,
            ErrorKind::EndpointFailure => Hresult::WS_E_ENDPOINT_FAILURE,
            ErrorKind::EndpointUnreachable => Hresult::WS_E_ENDPOINT_UNREACHABLE,
            ErrorKind::EndpointActionNotSupported => Hresult::WS_E_ENDPOINT_ACTION_NOT_SUPPORTED,
            ErrorKind::EndpointTooBusy => Hresult::WS_E_ENDPOINT_TOO_BUSY,
            ErrorKind::EndpointFaultReceived => Hresult::WS_E_ENDPOINT_FAULT_RECEIVED,
            ErrorKind::EndpointDisconnected => Hresult::WS_E_ENDPOINT_DISCONNECTED,
            ErrorKind::ProxyFailure => Hresult::WS_E_PROXY_FAILURE,
            ErrorKind::ProxyAccessDenied => Hresult::WS_E_PROXY_ACCESS_DENIED,
            ErrorKind::NotSupported => Hresult::WS_E_NOT_SUPPORTED,
            ErrorKind::ProxyRequiresBasicAuth => Hresult::WS_E_PROXY_REQUIRES_BASIC_AUTH,
            ErrorKind::ProxyRequiresDigestAuth => Hresult::WS_E_PROXY_REQUIRES_DIGEST_AUTH,
            ErrorKind::ProxyRequiresNtlmAuth => Hresult::WS_E_PROXY_REQUIRES_NTLM_AUTH,
            ErrorKind::ProxyRequiresNegotiateAuth => Hresult::WS_E_PROXY_REQUIRES_NEGOTIATE_AUTH,
            ErrorKind::ServerRequiresBasicAuth => Hresult::WS_E_SERVER_REQUIRES_BASIC_AUTH,
            ErrorKind::ServerRequiresDigestAuth => Hresult::WS_E_SERVER_REQUIRES_DIGEST_AUTH,
            ErrorKind::ServerRequiresNtlmAuth => Hresult::WS_E_SERVER_REQUIRES_NTLM_AUTH,
            ErrorKind::ServerRequiresNegotiateAuth => Hresult::WS_E_SERVER_REQUIRES_NEGOTIATE_AUTH,
            ErrorKind::InvalidEndpointUrl => Hresult::WS_E_INVALID_ENDPOINT_URL,
            ErrorKind::Other => Hresult::WS_E_OTHER,
            ErrorKind::SecurityTokenExpired => Hresult::WS_E_SECURITY_TOKEN_EXPIRED,
            ErrorKind::SecuritySystemFailure => Hresult::WS_E_SECURITY_SYSTEM_FAILURE,
            ErrorKind::InvalidArgument => Hresult::E_INVALIDARG,
            ErrorKind::OutOfMemory => Hresult::E_OUTOFMEMORY,
        }
    }

    /// The kind whose `HRESULT` is `hr`, if any.
    pub fn from_hresult(hr: Hresult) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.hresult() == hr)
    }

    /// A short generic description, used when no more specific string is known.
    pub fn description(self) -> &'static str {
        match self {
            ErrorKind::InvalidFormat => "the input data was not in the expected format",
            ErrorKind::ObjectFaulted => "the object has faulted and cannot be used",
            ErrorKind::NumericOverflow => "numeric overflow",
            ErrorKind::InvalidOperation => "the operation is not allowed in the current state",
            ErrorKind::OperationAborted => "the operation was aborted",
            ErrorKind::EndpointAccessDenied => "access was denied by the remote endpoint",
            ErrorKind::OperationTimedOut => "the operation did not complete within the time allotted",
            ErrorKind::OperationAbandoned => "the operation was abandoned",
            ErrorKind::QuotaExceeded => "a quota was exceeded",
            ErrorKind::NoTranslationAvailable => "no translation available",
            ErrorKind::SecurityVerificationFailure => "security verification failed",
            ErrorKind::AddressInUse => "the address is already in use",
            ErrorKind::AddressNotAvailable => "the address is not available",
            ErrorKind::EndpointNotFound => "the remote endpoint was not found",
            ErrorKind::EndpointNotAvailable => "the remote endpoint is not available",
            ErrorKind::EndpointFailure => "the remote endpoint could not process the request",
            ErrorKind::EndpointUnreachable => "the remote endpoint was not reachable",
            ErrorKind::EndpointActionNotSupported => "the remote endpoint does not support the action",
            ErrorKind::EndpointTooBusy => "the remote endpoint is too busy",
            ErrorKind::EndpointFaultReceived => "a fault was received from the remote endpoint",
            ErrorKind::EndpointDisconnected => "the connection with the remote endpoint was terminated",
            ErrorKind::ProxyFailure => "the HTTP proxy could not process the request",
            ErrorKind::ProxyAccessDenied => "access was denied by the HTTP proxy",
            ErrorKind::NotSupported => "the feature is not supported",
            ErrorKind::ProxyRequiresBasicAuth => "the HTTP proxy requires basic authentication",
            ErrorKind::ProxyRequiresDigestAuth => "the HTTP proxy requires digest authentication",
            ErrorKind::ProxyRequiresNtlmAuth => "the HTTP proxy requires NTLM authentication",
            ErrorKind::ProxyRequiresNegotiateAuth => "the HTTP proxy requires negotiate authentication",
            ErrorKind::ServerRequiresBasicAuth => "the server requires basic authentication",
            ErrorKind::ServerRequiresDigestAuth => "the server requires digest authentication",
            ErrorKind::ServerRequiresNtlmAuth => "the server requires NTLM authentication",
            ErrorKind::ServerRequiresNegotiateAuth => "the server requires negotiate authentication",
            ErrorKind::InvalidEndpointUrl => "the endpoint address URL is invalid",
            ErrorKind::Other => "an unrecognized error occurred",
            ErrorKind::SecurityTokenExpired => "the security token has expired",
            ErrorKind::SecuritySystemFailure => "a security operation failed",
            ErrorKind::InvalidArgument => "one or more arguments are invalid",
            ErrorKind::OutOfMemory => "insufficient memory",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// The one error type of soapwire: a [`ErrorKind`] (with its `HRESULT`), a chain of
/// human-readable strings like `WS_ERROR`'s (most specific first), and the received SOAP
/// fault when the kind is [`ErrorKind::EndpointFaultReceived`].
///
/// Strings may contain text chosen by the remote peer (fault reasons); treat them as
/// untrusted when displaying them.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    strings: Vec<String>,
    fault: Option<Box<Fault>>,
}

impl Error {
    /// An error of `kind` with one descriptive string.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, strings: vec![message.into()], fault: None }
    }

    /// An error of `kind` with no string but the kind's generic description.
    pub fn from_kind(kind: ErrorKind) -> Error {
        Error { kind, strings: Vec::new(), fault: None }
    }

    /// The `WS_E_ENDPOINT_FAULT_RECEIVED` error for a received fault; its reason becomes the
    /// first string.
    pub fn fault_received(fault: Fault) -> Error {
        let reason = format!("the remote endpoint returned a fault: {}", fault.reason);
        Error { kind: ErrorKind::EndpointFaultReceived, strings: vec![reason], fault: Some(Box::new(fault)) }
    }

    /// Shorthand for an [`ErrorKind::InvalidOperation`] error.
    pub fn invalid_operation(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidOperation, message)
    }

    /// Shorthand for an [`ErrorKind::InvalidFormat`] error.
    pub fn invalid_format(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidFormat, message)
    }

    /// Shorthand for an [`ErrorKind::QuotaExceeded`] error.
    pub fn quota_exceeded(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::QuotaExceeded, message)
    }

    /// Shorthand for an [`ErrorKind::OperationAborted`] error.
    pub fn aborted(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::OperationAborted, message)
    }

    /// Shorthand for an [`ErrorKind::OperationTimedOut`] error.
    pub fn timed_out(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::OperationTimedOut, message)
    }

    /// Adds a less specific string of context (like `WsAddErrorString`), e.g. the operation
    /// that failed. Strings are listed most specific first.
    #[must_use]
    pub fn context(mut self, message: impl Into<String>) -> Error {
        self.strings.push(message.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The exact SDK `HRESULT` of this error.
    pub fn hresult(&self) -> Hresult {
        self.kind.hresult()
    }

    /// The chain of strings, most specific first (`WS_ERROR_PROPERTY_STRING_COUNT` of them).
    pub fn strings(&self) -> &[String] {
        &self.strings
    }

    /// The received fault, for [`ErrorKind::EndpointFaultReceived`].
    pub fn fault(&self) -> Option<&Fault> {
        self.fault.as_deref()
    }

    /// True for [`ErrorKind::OperationTimedOut`].
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::OperationTimedOut
    }

    /// True for [`ErrorKind::OperationAborted`].
    pub fn is_aborted(&self) -> bool {
        self.kind == ErrorKind::OperationAborted
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::from_kind(kind)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("hresult", &self.hresult())
            .field("strings", &self.strings)
            .field("fault", &self.fault)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.strings.is_empty() {
            f.write_str(self.kind.description())?;
        } else {
            for (i, s) in self.strings.iter().enumerate() {
                if i > 0 {
                    f.write_str(": ")?;
                }
                f.write_str(s)?;
            }
        }
        write!(f, " ({})", self.hresult())
    }
}

impl std::error::Error for Error {}

/// Result with soapwire's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The HRESULT table of `shared/spec/wwsapi-wsdapi.md` §1.15, value by value, as the
    /// SDK's `winerror.h` defines them.
    #[test]
    fn hresult_table_matches_sdk_winerror_h() {
        let table: [(ErrorKind, u32, &str); 38] = [
            (ErrorKind::InvalidFormat, 0x803D0000, "WS_E_INVALID_FORMAT"),
            (ErrorKind::ObjectFaulted, 0x803D0001, "WS_E_OBJECT_FAULTED"),
            (ErrorKind::NumericOverflow, 0x803D0002, "WS_E_NUMERIC_OVERFLOW"),
            (ErrorKind::InvalidOperation, 0x803D0003, "WS_E_INVALID_OPERATION"),
            (ErrorKind::OperationAborted, 0x803D0004, "WS_E_OPERATION_ABORTED"),
            (ErrorKind::EndpointAccessDenied, 0x803D0005, "WS_E_ENDPOINT_ACCESS_DENIED"),
            (ErrorKind::OperationTimedOut, 0x803D0006, "WS_E_OPERATION_TIMED_OUT"),
            (ErrorKind::OperationAbandoned, 0x803D0007, "WS_E_OPERATION_ABANDONED"),
            (ErrorKind::QuotaExceeded, 0x803D0008, "WS_E_QUOTA_EXCEEDED"),
            (ErrorKind::NoTranslationAvailable, 0x803D0009, "WS_E_NO_TRANSLATION_AVAILABLE"),
            (ErrorKind::SecurityVerificationFailure, 0x803D000A, "WS_E_SECURITY_VERIFICATION_FAILURE"),
            (ErrorKind::AddressInUse, 0x803D000B, "WS_E_ADDRESS_IN_USE"),
            (ErrorKind::AddressNotAvailable, 0x803D000C, "WS_E_ADDRESS_NOT_AVAILABLE"),
            (ErrorKind::EndpointNotFound, 0x803D000D, "WS_E_ENDPOINT_NOT_FOUND"),
            (ErrorKind::EndpointNotAvailable, 0x803D000E, "WS_E_ENDPOINT_NOT_AVAILABLE"),
            (ErrorKind::EndpointFailure, 0x803D000F, "WS_E_ENDPOINT_FAILURE"),
            (ErrorKind::EndpointUnreachable, 0x803D0010, "WS_E_ENDPOINT_UNREACHABLE"),
            (ErrorKind::EndpointActionNotSupported, 0x803D0011, "WS_E_ENDPOINT_ACTION_NOT_SUPPORTED"),
            (ErrorKind::EndpointTooBusy, 0x803D0012, "WS_E_ENDPOINT_TOO_BUSY"),
            (ErrorKind::EndpointFaultReceived, 0x803D0013, "WS_E_ENDPOINT_FAULT_RECEIVED"),
            (ErrorKind::EndpointDisconnected, 0x803D0014, "WS_E_ENDPOINT_DISCONNECTED"),
            (ErrorKind::ProxyFailure, 0x803D0015, "WS_E_PROXY_FAILURE"),
            (ErrorKind::ProxyAccessDenied, 0x803D0016, "WS_E_PROXY_ACCESS_DENIED"),
            (ErrorKind::NotSupported, 0x803D0017, "WS_E_NOT_SUPPORTED"),
            (ErrorKind::ProxyRequiresBasicAuth, 0x803D0018, "WS_E_PROXY_REQUIRES_BASIC_AUTH"),
            (ErrorKind::ProxyRequiresDigestAuth, 0x803D0019, "WS_E_PROXY_REQUIRES_DIGEST_AUTH"),
            (ErrorKind::ProxyRequiresNtlmAuth, 0x803D001A, "WS_E_PROXY_REQUIRES_NTLM_AUTH"),
            (ErrorKind::ProxyRequiresNegotiateAuth, 0x803D001B, "WS_E_PROXY_REQUIRES_NEGOTIATE_AUTH"),
            (ErrorKind::ServerRequiresBasicAuth, 0x803D001C, "WS_E_SERVER_REQUIRES_BASIC_AUTH"),
            (ErrorKind::ServerRequiresDigestAuth, 0x803D001D, "WS_E_SERVER_REQUIRES_DIGEST_AUTH"),
            (ErrorKind::ServerRequiresNtlmAuth, 0x803D001E, "WS_E_SERVER_REQUIRES_NTLM_AUTH"),
            (ErrorKind::ServerRequiresNegotiateAuth, 0x803D001F, "WS_E_SERVER_REQUIRES_NEGOTIATE_AUTH"),
            (ErrorKind::InvalidEndpointUrl, 0x803D0020, "WS_E_INVALID_ENDPOINT_URL"),
            (ErrorKind::Other, 0x803D0021, "WS_E_OTHER"),
            (ErrorKind::SecurityTokenExpired, 0x803D0022, "WS_E_SECURITY_TOKEN_EXPIRED"),
            (ErrorKind::SecuritySystemFailure, 0x803D0023, "WS_E_SECURITY_SYSTEM_FAILURE"),
            (ErrorKind::InvalidArgument, 0x80070057, "E_INVALIDARG"),
            (ErrorKind::OutOfMemory, 0x8007000E, "E_OUTOFMEMORY"),
        ];
        for (kind, value, name) in table {
            let e = Error::from_kind(kind);
            assert_eq!(e.hresult().0 as u32, value, "{kind:?}");
            assert_eq!(e.hresult().name(), Some(name), "{kind:?}");
            assert!(e.hresult().is_failure());
            assert_eq!(ErrorKind::from_hresult(Hresult(value as i32)), Some(kind));
        }
        assert_eq!(ErrorKind::ALL.len(), table.len());
    }

    #[test]
    fn success_codes_have_the_sdk_values_and_are_successes() {
        assert_eq!(Hresult::WS_S_ASYNC.0, 0x003D_0000);
        assert_eq!(Hresult::WS_S_END.0, 0x003D_0001);
        assert_eq!(Hresult::STG_S_BLOCK.0, 0x0003_0201);
        assert_eq!(Hresult::S_FALSE.0, 1);
        for hr in [Hresult::S_OK, Hresult::S_FALSE, Hresult::WS_S_ASYNC, Hresult::WS_S_END, Hresult::STG_S_BLOCK] {
            assert!(hr.is_success(), "{hr:?}");
        }
        assert_eq!(Hresult::HRESULT_INVALID_OPERATION_WIN32.0 as u32, 0x8007_10DD);
    }

    #[test]
    fn error_strings_chain_most_specific_first() {
        let e = Error::new(ErrorKind::QuotaExceeded, "message of 70000 bytes exceeds 65536").context("receiving reply");
        assert_eq!(e.strings().len(), 2);
        assert_eq!(e.to_string(), "message of 70000 bytes exceeds 65536: receiving reply (0x803D0008)");
        assert!(format!("{e:?}").contains("WS_E_QUOTA_EXCEEDED"));
    }
}
