//! chacha20-poly1305@openssh.com: the implementation lives in the `quoll-aead` workspace crate,
//! which is compiled for speed while the rest of quoll is compiled for size.

pub use quoll_aead::{BadTag, ChaChaPoly, KEY_LEN, TAG_LEN};
