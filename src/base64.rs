//! Standard base64 (RFC 4648), for key files, authorized_keys and fingerprints.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn encode(data: &[u8]) -> String {
    let mut out = encode_unpadded(data);
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// Without `=` padding, as SSH fingerprints are printed.
pub fn encode_unpadded(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        // 1 input byte gives 2 output characters, 2 give 3, 3 give 4.
        for i in 0..=chunk.len() {
            let six = (n >> (18 - 6 * i)) & 0x3f;
            out.push(ALPHABET[six as usize] as char);
        }
    }
    out
}

fn value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(v as u32)
}

/// Decodes standard base64 (padding optional); `None` on any invalid character.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let body = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="))
        .unwrap_or(bytes);
    // Padding, when present, must bring the length to a multiple of 4.
    if body.len() != bytes.len() && !bytes.len().is_multiple_of(4) {
        return None;
    }
    // A lone trailing character carries only 6 bits: not a whole byte.
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    for chunk in body.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let [_, b0, b1, b2] = n.to_be_bytes();
        let got = [b0, b1, b2];
        let len = chunk.len() - 1;
        // Bits beyond the last whole byte must be zero (canonical encoding).
        if got[len..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&got[..len]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(
                encode_unpadded(plain.as_bytes()),
                coded.trim_end_matches('=')
            );
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
            assert_eq!(
                decode(coded.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
    }

    #[test]
    fn all_bytes_round_trip() {
        let data: Vec<u8> = (0..=255).collect();
        for n in 0..data.len() {
            assert_eq!(decode(&encode(&data[..n])).unwrap(), &data[..n]);
        }
        assert!(encode(&data).contains('+') && encode(&data).contains('/'));
    }

    #[test]
    fn invalid_rejected() {
        for bad in [
            "Zg=", "Z", "Zm9vY", "Zm 9v", "Zm9v\n", "Zm-v", "Zh==", "Zm9=", "=", "Zg===", "Z=g=",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}
