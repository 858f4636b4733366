//! XML reader and writer over quick-xml. (stub)
