//! The framings of the session bindings (net.tcp and its Unix-socket analogue).
//!
//! | module | owns |
//! | --- | --- |
//! | [`nmf`] | .NET Message Framing ([MC-NMF]): records, their quota-checked decoder, the preamble rules and fault strings |
//! | [`binary`] | .NET Binary XML ([MC-NBFX]) with the static ([MC-NBFS]) and in-band session ([MC-NBFSE]) dictionaries |

pub mod binary;
pub mod nmf;
