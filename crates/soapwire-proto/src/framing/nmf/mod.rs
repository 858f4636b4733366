//! .NET Message Framing ([MC-NMF]). (being written)
