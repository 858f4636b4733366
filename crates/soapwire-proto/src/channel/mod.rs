//! Channel, listener and message state machines. (stub)
