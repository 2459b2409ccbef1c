//! Standard base64 (RFC 4648), for key files, authorized_keys and fingerprints.
//! STUB: signatures fixed, bodies to be written.

pub fn encode(data: &[u8]) -> String {
    let _ = data;
    todo!()
}

/// Without `=` padding, as SSH fingerprints are printed.
pub fn encode_unpadded(data: &[u8]) -> String {
    let _ = data;
    todo!()
}

/// Decodes standard base64 (padding optional); `None` on any invalid character.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let _ = text;
    todo!()
}
