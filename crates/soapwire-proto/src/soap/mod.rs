//! SOAP 1.1 / 1.2 envelopes, headers, faults and the SOAP-over-HTTP content types. (stub)

/// A SOAP fault. (stub, replaced by the soap module)
#[derive(Clone, Debug)]
pub struct Fault {
    /// The human-readable reason.
    pub reason: String,
}
