#!/usr/bin/env python3
"""Known-answer packets for quoll's AES modes, from an implementation independent of quoll's
(Python `cryptography`, i.e. OpenSSL, and Python's hmac).

For each mode, two consecutive packets (sequence numbers 7 and 8) under one set of keys, so
the vectors also pin down that the CTR counter runs on across packets and that the GCM
invocation counter goes up by one per packet:
  *-etm@openssh.com: length clear, rest AES-CTR, MAC = HMAC(seq || length || ciphertext)
  plain hmac-sha2-*: MAC = HMAC(seq || plaintext packet), whole packet AES-CTR
  aes*-gcm@openssh.com: length clear and the AAD, IV = 4 fixed bytes || 8-byte counter
Output is pasted into `packet_known_answers` in crates/aead/src/aes_modes.rs.
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY = bytes(range(1, 33))
IV = bytes(range(0x40, 0x50))
MAC_KEY = bytes(range(0x80, 0xC0))
SEQ = 7


def packet(n, length_outside):
    """The n-th test packet, padded as quoll pads: to 16 bytes, at least 4 of padding."""
    payload = b"quoll aes known-answer %d: " % n + bytes(range(40 + n))
    unpadded = 1 + len(payload) + (0 if length_outside else 4)
    pad = 16 - unpadded % 16
    if pad < 4:
        pad += 16
    body = bytes([pad]) + payload + bytes(range(0xA0, 0xA0 + pad))
    return struct.pack(">I", len(body)) + body


def ctr_hmac(key_len, digest, etm):
    enc = Cipher(algorithms.AES(KEY[:key_len]), modes.CTR(IV)).encryptor()
    mac_key = MAC_KEY[: digest().digest_size]
    out = b""
    for n in range(2):
        p = packet(n, etm)
        seq = struct.pack(">I", SEQ + n)
        if etm:
            c = p[:4] + enc.update(p[4:])
            out += c + hmac.new(mac_key, seq + c, digest).digest()
        else:
            out += enc.update(p) + hmac.new(mac_key, seq + p, digest).digest()
    return out


def gcm(key_len):
    aead = AESGCM(KEY[:key_len])
    fixed, counter = IV[:4], int.from_bytes(IV[4:12], "big")
    out = b""
    for n in range(2):
        p = packet(n, True)
        nonce = fixed + (counter + n).to_bytes(8, "big")
        out += p[:4] + aead.encrypt(nonce, p[4:], p[:4])
    return out


def main():
    print("aes128-ctr hmac-sha2-256-etm", ctr_hmac(16, hashlib.sha256, True).hex())
    print("aes256-ctr hmac-sha2-512-etm", ctr_hmac(32, hashlib.sha512, True).hex())
    print("aes128-ctr hmac-sha2-256", ctr_hmac(16, hashlib.sha256, False).hex())
    print("aes256-ctr hmac-sha2-512", ctr_hmac(32, hashlib.sha512, False).hex())
    print("aes128-gcm", gcm(16).hex())
    print("aes256-gcm", gcm(32).hex())


if __name__ == "__main__":
    main()
