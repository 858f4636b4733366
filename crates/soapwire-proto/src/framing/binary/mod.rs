//! .NET Binary XML ([MC-NBFX], [MC-NBFS], [MC-NBFSE]). (being written)
