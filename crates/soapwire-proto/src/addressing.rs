//! WS-Addressing. (stub)
