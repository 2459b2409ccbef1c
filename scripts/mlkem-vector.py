#!/usr/bin/env python3
"""A known answer for quoll's mlkem768x25519-sha256, from implementations independent of
quoll's: kyber-py (a pure-Python FIPS 203 ML-KEM, from PyPI) and Python `cryptography`
(OpenSSL's X25519).

    build/venv/bin/pip install kyber-py && build/venv/bin/python scripts/mlkem-vector.py

The client's ML-KEM key comes from the seed d = z = 05..05, its X25519 key from 09..09; the
server's X25519 key is 03..03 and its encapsulation randomness m = 07..07. Prints the SHA-256
of the server's share Q_S (ciphertext || X25519 key) and the exchange hash H over the fixed
prefix that `kex::tests::mlkem768x25519_known_answer` uses, with
K = SHA-256(ML-KEM secret || X25519 secret) encoded as a string.
"""
import hashlib
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from kyber_py.ml_kem import ML_KEM_768


def sstr(b):
    return struct.pack(">I", len(b)) + b


def raw(pub):
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


ek, _dk = ML_KEM_768._keygen_internal(bytes([5] * 32), bytes([5] * 32))
client_x = X25519PrivateKey.from_private_bytes(bytes([9] * 32))
server_x = X25519PrivateKey.from_private_bytes(bytes([3] * 32))
q_c = ek + raw(client_x.public_key())
pq, ct = ML_KEM_768._encaps_internal(ek, bytes([7] * 32))
classic = server_x.exchange(client_x.public_key())
q_s = ct + raw(server_x.public_key())
k = hashlib.sha256(pq + classic).digest()
h = hashlib.sha256(
    b"".join(sstr(s) for s in [b"SSH-2.0-c", b"SSH-2.0-s", b"i_c", b"i_s", b"blob", q_c, q_s, k])
).digest()
print("sha256(Q_C) %s" % hashlib.sha256(q_c).hexdigest())
print("sha256(Q_S) %s" % hashlib.sha256(q_s).hexdigest())
print("H           %s" % h.hex())
