//! chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305).
//! STUB: signatures fixed, bodies to be written.

use super::crypto::CryptoError;

pub const KEY_LEN: usize = 64;
pub const TAG_LEN: usize = 16;

/// One direction's keys: bytes 0..32 K_2 (payload), 32..64 K_1 (length). Zeroized on drop.
pub struct ChaChaPoly {
    _private: (),
}

impl ChaChaPoly {
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        let _ = key;
        todo!()
    }

    /// Decrypts the 4-byte packet length field of packet number `seq`.
    pub fn decrypt_length(&self, seq: u32, enc: &[u8; 4]) -> u32 {
        let _ = (seq, enc);
        todo!()
    }

    /// `buf` is the encrypted length (4 bytes) followed by the encrypted rest of the packet;
    /// checks `tag` in constant time over all of `buf`, then decrypts `buf[4..]` in place.
    /// On a bad tag `buf` is left untouched.
    pub fn open(&self, seq: u32, buf: &mut [u8], tag: &[u8; TAG_LEN]) -> Result<(), CryptoError> {
        let _ = (seq, buf, tag);
        todo!()
    }

    /// `buf` is the plain length (4 bytes) followed by the plain rest of the packet; encrypts
    /// all of it in place and returns the tag.
    pub fn seal(&self, seq: u32, buf: &mut [u8]) -> [u8; TAG_LEN] {
        let _ = (seq, buf);
        todo!()
    }
}
