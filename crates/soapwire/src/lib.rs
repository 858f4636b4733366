//! soapwire runtime (stub)
