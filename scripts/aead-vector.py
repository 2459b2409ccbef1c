#!/usr/bin/env python3
"""Known-answer vector for chacha20-poly1305@openssh.com, from an implementation
independent of quoll's (Python `cryptography`, i.e. OpenSSL).

The construction (OpenSSH PROTOCOL.chacha20poly1305, DESIGN.md §2):
  key[0:32] = K_2 (payload), key[32:64] = K_1 (length); nonce = seq as big-endian u64.
  length:  ChaCha20(K_1, nonce, counter 0) over the 4 length bytes
  poly key: first 32 bytes of ChaCha20(K_2, nonce, counter 0)
  payload: ChaCha20(K_2, nonce, counter 1) over the rest
  tag = Poly1305(poly key, encrypted length || encrypted payload)

Output is pasted into `aead_known_answer` in src/proto/cipher.rs.
"""
import struct

from cryptography.hazmat.primitives import poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms


def chacha20(key, seq, counter, data):
    # cryptography's ChaCha20 nonce is 16 bytes: 8-byte little-endian block counter,
    # then the 8-byte nonce (here the big-endian sequence number), as in DJB's original.
    nonce = struct.pack("<Q", counter) + struct.pack(">Q", seq)
    return Cipher(algorithms.ChaCha20(key, nonce), mode=None).encryptor().update(data)


def seal(key, seq, packet):
    k2, k1 = key[:32], key[32:]
    enc_len = chacha20(k1, seq, 0, packet[:4])
    poly_key = chacha20(k2, seq, 0, bytes(32))
    enc_rest = chacha20(k2, seq, 1, packet[4:])
    ciphertext = enc_len + enc_rest
    return ciphertext, poly1305.Poly1305.generate_tag(poly_key, ciphertext)


def main():
    key = bytes(range(1, 65))
    seq = 0x01020304
    # A packet: length, padding length, payload, padding; long enough to cross two
    # ChaCha blocks and end in a partial Poly1305 block.
    payload = b"quoll known-answer test: " + bytes(range(100))
    pad = 8 - (1 + len(payload)) % 8 + 8
    body = bytes([pad]) + payload + bytes(range(0xA0, 0xA0 + pad))
    packet = struct.pack(">I", len(body)) + body
    ciphertext, tag = seal(key, seq, packet)
    print("key       ", key.hex())
    print("seq       ", hex(seq))
    print("plaintext ", packet.hex())
    print("ciphertext", ciphertext.hex())
    print("tag       ", tag.hex())
    # A full-size packet (32 KiB of payload and more): every SIMD batch width (AVX-512 takes
    # sixteen blocks at a time) and its tail. The tag covers every ciphertext byte.
    seq = 0x0A0B0C0D
    packet = bytes((i * 7 + 3) & 0xFF for i in range(4 + 32768 + 12))
    ciphertext, tag = seal(key, seq, packet)
    print("long packet (%d bytes, byte i = 7i + 3), seq %s" % (len(packet), hex(seq)))
    print("tag       ", tag.hex())
    print("bytes 1024..1040", ciphertext[1024:1040].hex())
    print("last 16   ", ciphertext[-16:].hex())


if __name__ == "__main__":
    main()
