#!/usr/bin/env python3
"""A minimal raw SSH client for quoll's bad-input tests.

    python3 tests/rawssh.py SCENARIO PORT [HOST]

It speaks just enough of the protocol to misbehave in well-defined places: version exchange,
KEXINIT, curve25519-sha256 (host key ssh-ed25519, signature verified), strict kex, and the
chacha20-poly1305@openssh.com packet cipher. Written from RFC 4253, RFC 8731 and OpenSSH's
PROTOCOL.chacha20poly1305; uses the `cryptography` package for the primitives.

Scenarios (each prints "RESULT ..." last):
  happy              full key exchange, SERVICE_REQUEST ssh-userauth -> SERVICE_ACCEPT, then
                     USERAUTH_REQUEST "none" -> USERAUTH_FAILURE listing publickey.
                     Exit 0 when all of that worked.
  slow_auth          as happy, with RAWSSH_WAIT seconds (default 3) of silence after the key
                     exchange
  garbage            random bytes instead of a version line
  long_version       an over-long version line (20000 bytes)
  huge_length        a packet length of 0xffffffff before key exchange
  truncated          half a KEXINIT packet, then silence: prints HOLDING and waits until its
                     stdin is closed (the caller checks other sessions meanwhile), then
                     shuts down its sending side
  out_of_order       KEXINIT, then SERVICE_REQUEST before the key exchange is done
  ignore_first       (strict kex) an IGNORE packet before the KEXINIT
  ignore_during_kex  (strict kex) KEXINIT, then IGNORE before KEX_ECDH_INIT
  bad_mac            full key exchange, then an encrypted packet with a corrupted tag
  bad_etm_mac        as bad_mac with aes128-ctr and hmac-sha2-256-etm@openssh.com
  bad_plain_mac      as bad_mac with aes256-ctr and hmac-sha2-512 (encrypt-and-MAC)
  bad_gcm_tag        as bad_mac with aes256-gcm@openssh.com
  happy_mlkem_aes    as happy, with mlkem768x25519-sha256 (kyber-py) and aes128-gcm
  mlkem_tampered_ciphertext
                     mlkem768x25519-sha256 with a bit of the server's ciphertext flipped
                     before decapsulating, then an encrypted packet under the wrong keys
  mlkem_short_share  KEXINIT with mlkem768x25519-sha256 only, then a 1215-byte client share
  mlkem_zero_x25519  as mlkem_short_share with a 1216-byte share whose X25519 key gives the
                     all-zero secret
  huge_length_enc    full key exchange, then an encrypted length of 0x7fffffff
  key_then_other_password
                     (for a server with -t) publickey for RAWSSH_USER with the key in
                     RAWSSH_KEY (an OpenSSH private key file), expecting partial success;
                     then RAWSSH_OTHER's password RAWSSH_OTHER_PASS, expecting a plain
                     FAILURE; then RAWSSH_USER's password RAWSSH_PASS, expecting SUCCESS; then
                     a session running `echo unforced`. Prints "output: ..." with what the
                     session printed (a forced command of the key must still apply).
For every scenario but happy, exit 0 means the server rejected the input: it sent
SSH_MSG_DISCONNECT (plaintext or encrypted, whichever applied) or closed the connection.
Exit 1: the server did something else (kept the connection open, answered normally).
Exit 2: usage error or a failure of this client itself.
"""

import base64
import hashlib
import os
import socket
import struct
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
import hmac
from cryptography.hazmat.primitives.poly1305 import Poly1305

TIMEOUT = 10.0
MAX_PACKET = 256 * 1024

MSG_DISCONNECT = 1
MSG_IGNORE = 2
MSG_UNIMPLEMENTED = 3
MSG_DEBUG = 4
MSG_SERVICE_REQUEST = 5
MSG_SERVICE_ACCEPT = 6
MSG_EXT_INFO = 7
MSG_KEXINIT = 20
MSG_NEWKEYS = 21
MSG_KEX_ECDH_INIT = 30
MSG_KEX_ECDH_REPLY = 31
MSG_USERAUTH_REQUEST = 50
MSG_USERAUTH_FAILURE = 51
MSG_USERAUTH_SUCCESS = 52
MSG_USERAUTH_BANNER = 53
MSG_CHANNEL_OPEN = 90
MSG_CHANNEL_OPEN_CONFIRMATION = 91
MSG_CHANNEL_DATA = 94
MSG_CHANNEL_EOF = 96
MSG_CHANNEL_CLOSE = 97
MSG_CHANNEL_REQUEST = 98

VERSION = b"SSH-2.0-rawssh_0.1"


class Disconnected(Exception):
    def __init__(self, code, desc):
        super().__init__("DISCONNECT %d %s" % (code, desc))
        self.code = code
        self.desc = desc


class Closed(Exception):
    pass


class Fail(Exception):
    """This client could not go on: the server misbehaved or answered unexpectedly."""


# ---- wire encoding ------------------------------------------------------------------------

def u32(n):
    return struct.pack(">I", n)


def sstr(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b


def mpint(b):
    """An unsigned big-endian byte string as an SSH mpint."""
    b = b.lstrip(b"\x00")
    if b and b[0] & 0x80:
        b = b"\x00" + b
    return sstr(b)


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Fail("truncated message")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def byte(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def string(self):
        return self.take(self.u32())

    def boolean(self):
        return self.byte() != 0


# ---- chacha20-poly1305@openssh.com ----------------------------------------------------------

def chacha20(key, seq, counter, data):
    # OpenSSL's ChaCha20 takes a 16-byte IV: the 64-bit block counter (little endian) then the
    # 64-bit nonce, which OpenSSH sets to the packet sequence number in big endian.
    iv = struct.pack("<Q", counter) + struct.pack(">Q", seq)
    enc = Cipher(algorithms.ChaCha20(key, iv), mode=None).encryptor()
    return enc.update(data) + enc.finalize()


class ChaChaPoly:
    """64 key bytes: K_2 = key[0:32] for the payload and Poly1305 key, K_1 = key[32:64] for the
    length. Tag = Poly1305(enc length || enc payload), Poly1305 key = K_2 keystream block 0."""

    block = 8
    tag_len = 16
    length_in_alignment = False

    def __init__(self, key):
        assert len(key) == 64
        self.k_main = key[:32]
        self.k_len = key[32:]

    def encrypt(self, seq, plain_len4, body):
        enc_len = chacha20(self.k_len, seq, 0, plain_len4)
        enc_body = chacha20(self.k_main, seq, 1, body)
        poly_key = chacha20(self.k_main, seq, 0, b"\x00" * 32)
        tag = Poly1305.generate_tag(poly_key, enc_len + enc_body)
        return enc_len + enc_body + tag

    def decrypt_length(self, seq, enc_len):
        return struct.unpack(">I", chacha20(self.k_len, seq, 0, enc_len))[0]

    def open(self, seq, enc_len, enc_body, tag):
        poly_key = chacha20(self.k_main, seq, 0, b"\x00" * 32)
        try:
            Poly1305.verify_tag(poly_key, enc_len + enc_body, tag)
        except Exception:
            raise Fail("bad MAC on a packet from the server")
        return chacha20(self.k_main, seq, 1, enc_body)


# ---- aes*-ctr with hmac-sha2-*(-etm@openssh.com), aes*-gcm@openssh.com -----------------------

class AesCtrHmac:
    """AES-CTR (the counter runs on across packets) with HMAC-SHA2 over seq || packet:
    encrypt-then-MAC (length in clear, MAC over the ciphertext) or encrypt-and-MAC."""

    block = 16

    def __init__(self, key, iv, mac_key, digest, etm):
        self.enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
        self.mac_key = mac_key
        self.digest = digest
        self.etm = etm
        self.tag_len = hashlib.new(digest).digest_size
        self.length_in_alignment = not etm

    def mac(self, seq, data):
        return hmac.new(self.mac_key, u32(seq) + data, self.digest).digest()

    def encrypt(self, seq, plain_len4, body):
        if self.etm:
            ct = self.enc.update(body)
            return plain_len4 + ct + self.mac(seq, plain_len4 + ct)
        return self.enc.update(plain_len4 + body) + self.mac(seq, plain_len4 + body)

    def decrypt_length(self, seq, first4):
        if self.etm:
            self.first = first4
            return struct.unpack(">I", first4)[0]
        self.first = self.enc.update(first4)
        return struct.unpack(">I", self.first)[0]

    def open(self, seq, enc_len, enc_body, tag):
        if self.etm:
            ok = hmac.compare_digest(self.mac(seq, enc_len + enc_body), tag)
            body = self.enc.update(enc_body)
        else:
            body = self.enc.update(enc_body)
            ok = hmac.compare_digest(self.mac(seq, self.first + body), tag)
        if not ok:
            raise Fail("bad MAC on a packet from the server")
        return body


class AesGcm:
    """aes*-gcm@openssh.com: length in clear as the AAD, nonce = 4 fixed bytes || a 64-bit
    invocation counter that starts at the IV's last 8 bytes and goes up by one per packet."""

    block = 16
    tag_len = 16
    length_in_alignment = False

    def __init__(self, key, iv):
        self.aead = AESGCM(key)
        self.fixed = iv[:4]
        self.counter = struct.unpack(">Q", iv[4:12])[0]

    def nonce(self):
        n = self.fixed + struct.pack(">Q", self.counter)
        self.counter = (self.counter + 1) & 0xFFFFFFFFFFFFFFFF
        return n

    def encrypt(self, seq, plain_len4, body):
        return plain_len4 + self.aead.encrypt(self.nonce(), body, plain_len4)

    def decrypt_length(self, seq, enc_len):
        return struct.unpack(">I", enc_len)[0]

    def open(self, seq, enc_len, enc_body, tag):
        try:
            return self.aead.decrypt(self.nonce(), enc_body + tag, enc_len)
        except Exception:
            raise Fail("bad GCM tag on a packet from the server")


# ---- connection ---------------------------------------------------------------------------

class Conn:
    def __init__(self, host, port):
        # RAWSSH_BIND: the source address to connect from (a loopback address of its own).
        bind = os.environ.get("RAWSSH_BIND")
        self.sock = socket.create_connection(
            (host, port), timeout=TIMEOUT, source_address=(bind, 0) if bind else None)
        self.sock.settimeout(TIMEOUT)
        self.buf = b""
        self.send_seq = 0
        self.recv_seq = 0
        self.send_cipher = None
        self.recv_cipher = None
        self.server_version = None
        self.strict = False
        self.ext_info = {}
        self.bad_sent = False  # set by a scenario just before it misbehaves

    # raw bytes
    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            raise Closed()

    def fill(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                raise Closed()
            except socket.timeout:
                raise Fail("timed out after %.0f s waiting for the server" % TIMEOUT)
            if not chunk:
                raise Closed()
            self.buf += chunk

    def take(self, n):
        self.fill(n)
        b, self.buf = self.buf[:n], self.buf[n:]
        return b

    # version exchange
    def send_version(self, line=VERSION):
        self.send_raw(line + b"\r\n")

    def read_version(self):
        """Server lines until the one starting with SSH- (without CR LF)."""
        for _ in range(50):
            while b"\n" not in self.buf:
                if len(self.buf) > 8192:
                    raise Fail("no version line from the server")
                self.fill(len(self.buf) + 1)
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r")
            if line.startswith(b"SSH-"):
                self.server_version = line
                return line
        raise Fail("no version line from the server")

    # packets
    def packet(self, payload, pad_extra=0):
        """The bytes of one packet of `payload` as the current state sends it."""
        if self.send_cipher is None:
            # 4 + 1 + payload + padding is a multiple of 8, at least 4 bytes of padding.
            pad = 8 - ((5 + len(payload)) % 8)
        else:
            # With the AEADs and EtM the length is not part of the alignment.
            block = self.send_cipher.block
            aligned = 1 + len(payload) + (4 if self.send_cipher.length_in_alignment else 0)
            pad = block - (aligned % block)
        if pad < 4:
            pad += 8
        pad += 8 * pad_extra
        body = bytes([pad]) + payload + os.urandom(pad)
        length = u32(len(body))
        if self.send_cipher is None:
            out = length + body
        else:
            out = self.send_cipher.encrypt(self.send_seq, length, body)
        self.send_seq = (self.send_seq + 1) & 0xFFFFFFFF
        return out

    def send(self, payload):
        self.send_raw(self.packet(payload))

    def recv_any(self):
        """The next payload from the server, including IGNORE/DEBUG; DISCONNECT raises."""
        if self.recv_cipher is None:
            length = struct.unpack(">I", self.take(4))[0]
            if length > MAX_PACKET or length < 5:
                raise Fail("server sent a plaintext packet length of %d" % length)
            body = self.take(length)
        else:
            enc_len = self.take(4)
            length = self.recv_cipher.decrypt_length(self.recv_seq, enc_len)
            if length > MAX_PACKET or length < 5:
                raise Fail("server sent an encrypted packet length of %d" % length)
            enc_body = self.take(length)
            tag = self.take(self.recv_cipher.tag_len)
            body = self.recv_cipher.open(self.recv_seq, enc_len, enc_body, tag)
        self.recv_seq = (self.recv_seq + 1) & 0xFFFFFFFF
        pad = body[0]
        if pad + 1 > len(body):
            raise Fail("bad padding length from the server")
        payload = body[1:len(body) - pad]
        if not payload:
            raise Fail("empty payload from the server")
        if payload[0] == MSG_DISCONNECT:
            r = Reader(payload[1:])
            code = r.u32()
            desc = r.string().decode("utf-8", "replace")
            raise Disconnected(code, desc)
        return payload

    def recv(self):
        """The next payload, skipping IGNORE and DEBUG (never expected during a strict kex)."""
        while True:
            p = self.recv_any()
            if p[0] in (MSG_IGNORE, MSG_DEBUG) and not (self.strict and self.in_first_kex):
                continue
            return p

    in_first_kex = True

    def expect(self, msg_type):
        p = self.recv()
        if p[0] != msg_type:
            raise Fail("expected message %d, got %d" % (msg_type, p[0]))
        return p


def kexinit_payload(strict=True, ext_info=True, kex=None, cipher=None, mac=None):
    kex = list(kex or ["curve25519-sha256", "curve25519-sha256@libssh.org"])
    if ext_info:
        kex.append("ext-info-c")
    if strict:
        kex.append("kex-strict-c-v00@openssh.com")
    lists = [
        ",".join(kex),
        "ssh-ed25519",
        cipher or "chacha20-poly1305@openssh.com",
        cipher or "chacha20-poly1305@openssh.com",
        mac or "hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
        mac or "hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
        "none",
        "none",
        "",
        "",
    ]
    return bytes([MSG_KEXINIT]) + os.urandom(16) + b"".join(sstr(n) for n in lists) + b"\x00" + u32(0)


def name_list(b):
    return b.decode().split(",") if b else []


def fingerprint(blob):
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def derive(k_mpint, h, letter, session_id, need):
    out = hashlib.sha256(k_mpint + h + letter + session_id).digest()
    while len(out) < need:
        out += hashlib.sha256(k_mpint + h + out).digest()
    return out[:need]


def start(c, strict=True, kex=None, cipher=None, mac=None):
    """Version exchange and KEXINITs. Returns (I_C, I_S)."""
    c.send_version()
    c.read_version()
    i_c = kexinit_payload(strict=strict, kex=kex, cipher=cipher, mac=mac)
    c.send(i_c)
    i_s = c.expect(MSG_KEXINIT)
    return i_c, i_s


def new_ciphers(cipher, mac, k, h, session_id):
    """The (client-to-server, server-to-client) cipher objects of `cipher` (and `mac`)."""
    if cipher == "chacha20-poly1305@openssh.com":
        return (ChaChaPoly(derive(k, h, b"C", session_id, 64)),
                ChaChaPoly(derive(k, h, b"D", session_id, 64)))
    size = 32 if cipher.startswith("aes256") else 16
    if cipher.endswith("-gcm@openssh.com"):
        return tuple(AesGcm(derive(k, h, key, session_id, size), derive(k, h, iv, session_id, 12))
                     for iv, key in ((b"A", b"C"), (b"B", b"D")))
    digest = "sha512" if "512" in mac else "sha256"
    mac_len = hashlib.new(digest).digest_size
    return tuple(AesCtrHmac(derive(k, h, key, session_id, size), derive(k, h, iv, session_id, 16),
                            derive(k, h, m, session_id, mac_len), digest, mac.endswith("-etm@openssh.com"))
                 for iv, key, m in ((b"A", b"C", b"E"), (b"B", b"D", b"F")))


def key_exchange(c, strict=True, kex="curve25519-sha256", cipher="chacha20-poly1305@openssh.com",
                 mac="hmac-sha2-256-etm@openssh.com", tamper=False):
    """A full key exchange (curve25519-sha256, or mlkem768x25519-sha256 with kyber-py), with
    `cipher` and `mac` offered alone; the new keys are in use when it returns. `tamper`
    (mlkem only): flip a bit of the server's ciphertext before decapsulating, so the client
    ends up with other keys than the server (its signature check is then skipped)."""
    i_c, i_s = start(c, strict, kex=[kex], cipher=cipher, mac=mac)
    r = Reader(i_s[17:])
    lists = [name_list(r.string()) for _ in range(10)]
    server_kex, server_hostkey, enc_cs, enc_sc = lists[0], lists[1], lists[2], lists[3]
    if kex not in server_kex:
        raise Fail("server offers no %s: %s" % (kex, server_kex))
    if "ssh-ed25519" not in server_hostkey:
        raise Fail("server offers no ssh-ed25519 host key: %s" % server_hostkey)
    for lst in (enc_cs, enc_sc):
        if cipher not in lst:
            raise Fail("server offers no %s: %s" % (cipher, lst))
    c.strict = strict and "kex-strict-s-v00@openssh.com" in server_kex

    priv = X25519PrivateKey.generate()
    x_c = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    hybrid = kex == "mlkem768x25519-sha256"
    if hybrid:
        from kyber_py.ml_kem import ML_KEM_768
        ek, dk = ML_KEM_768.keygen()
        q_c = ek + x_c
    else:
        q_c = x_c
    c.send(bytes([MSG_KEX_ECDH_INIT]) + sstr(q_c))
    reply = c.expect(MSG_KEX_ECDH_REPLY)
    r = Reader(reply[1:])
    k_s = r.string()
    q_s = r.string()
    sig_blob = r.string()
    kr = Reader(k_s)
    if kr.string() != b"ssh-ed25519":
        raise Fail("host key is not ssh-ed25519")
    host_pub = kr.string()
    sr = Reader(sig_blob)
    if sr.string() != b"ssh-ed25519":
        raise Fail("signature is not ssh-ed25519")
    sig = sr.string()
    if len(q_s) != (1088 + 32 if hybrid else 32):
        raise Fail("server's share is %d bytes" % len(q_s))
    shared = priv.exchange(X25519PublicKey.from_public_bytes(q_s[-32:]))
    if shared == b"\x00" * 32:
        raise Fail("all-zero shared secret")
    if hybrid:
        ct = bytearray(q_s[:1088])
        if tamper:
            ct[100] ^= 0x04
        pq = ML_KEM_768.decaps(dk, bytes(ct))
        k = sstr(hashlib.sha256(pq + shared).digest())
    else:
        k = mpint(shared)
    h = hashlib.sha256(
        sstr(VERSION) + sstr(c.server_version) + sstr(i_c) + sstr(i_s) + sstr(k_s) + sstr(q_c) + sstr(q_s) + k
    ).digest()
    try:
        Ed25519PublicKey.from_public_bytes(host_pub).verify(sig, h)
    except InvalidSignature:
        if not tamper:
            raise Fail("the server's signature of the exchange hash does not verify")
    session_id = h
    c.session_id = h
    send, recv = new_ciphers(cipher, mac, k, h, session_id)

    c.send(bytes([MSG_NEWKEYS]))
    c.send_cipher = send
    if c.strict:
        c.send_seq = 0
    c.expect(MSG_NEWKEYS)
    c.recv_cipher = recv
    if c.strict:
        c.recv_seq = 0
    c.in_first_kex = False
    print("kex done: %s %s strict=%s host key %s" % (kex, cipher, "yes" if c.strict else "no", fingerprint(k_s)), flush=True)
    return k_s


def await_rejection(c):
    """Reads until the server disconnects or closes. Returns the RESULT text or raises Fail."""
    try:
        if c.server_version is None:
            c.read_version()
        for _ in range(1000):
            p = c.recv_any()
            print("note: server sent message %d while we waited for a disconnect" % p[0], flush=True)
            if p[0] not in (MSG_KEXINIT, MSG_IGNORE, MSG_DEBUG, MSG_EXT_INFO, MSG_KEX_ECDH_REPLY, MSG_NEWKEYS):
                if p[0] == MSG_UNIMPLEMENTED:
                    raise Fail("server answered UNIMPLEMENTED instead of disconnecting")
                raise Fail("server answered message %d instead of disconnecting" % p[0])
        raise Fail("server keeps sending")
    except Disconnected as d:
        return "disconnect %d %s" % (d.code, d.desc)
    except Closed:
        return "closed"
    except Fail as f:
        if "timed out" in str(f):
            raise
        # Bytes we cannot parse (e.g. a text line after a bad version): wait for the close.
        print("note: %s; waiting for the close" % f, flush=True)
        try:
            while True:
                c.take(len(c.buf) + 1)
        except Closed:
            return "closed"


# ---- scenarios ----------------------------------------------------------------------------

def sc_happy(c, wait=0, **kex):
    k_s = key_exchange(c, **kex)
    if wait:
        time.sleep(wait)
        print("waited %s s after the key exchange" % wait, flush=True)
    if not c.strict:
        print("note: server did not offer strict kex", flush=True)
    # EXT_INFO may come first (we offered ext-info-c).
    c.send(bytes([MSG_SERVICE_REQUEST]) + sstr("ssh-userauth"))
    p = c.recv()
    ext = None
    if p[0] == MSG_EXT_INFO:
        r = Reader(p[1:])
        ext = {}
        for _ in range(r.u32()):
            name = r.string().decode()
            ext[name] = r.string().decode("utf-8", "replace")
        print("ext-info: %s" % ", ".join("%s=%s" % kv for kv in sorted(ext.items())), flush=True)
        p = c.recv()
    if p[0] != MSG_SERVICE_ACCEPT:
        raise Fail("expected SERVICE_ACCEPT, got %d" % p[0])
    if Reader(p[1:]).string() != b"ssh-userauth":
        raise Fail("SERVICE_ACCEPT for another service")
    print("service accepted: ssh-userauth", flush=True)
    user = os.environ.get("RAWSSH_USER", "root")
    c.send(bytes([MSG_USERAUTH_REQUEST]) + sstr(user) + sstr("ssh-connection") + sstr("none"))
    while True:
        p = c.recv()
        if p[0] != MSG_USERAUTH_BANNER:
            break
    if p[0] != MSG_USERAUTH_FAILURE:
        raise Fail("expected USERAUTH_FAILURE for method none, got %d" % p[0])
    r = Reader(p[1:])
    methods = name_list(r.string())
    partial = r.boolean()
    print("auth none: methods=%s partial=%d" % (",".join(methods), partial), flush=True)
    if "publickey" not in methods:
        raise Fail("publickey missing from the methods list")
    problems = []
    if not c.strict:
        problems.append("no strict kex")
    if ext is None or "ssh-ed25519" not in ext.get("server-sig-algs", "").split(","):
        problems.append("no EXT_INFO with server-sig-algs listing ssh-ed25519")
    if problems:
        raise Fail("; ".join(problems))
    return "ok"


def sc_garbage(c):
    junk = os.urandom(20000).replace(b"\n", b" ").replace(b"SSH-", b"ssh_")
    c.bad_sent = True
    c.send_raw(junk)
    c.send_raw(b"\r\n" + b"not ssh\r\n" * 2000)
    return await_rejection(c)


def sc_long_version(c):
    c.bad_sent = True
    # Longer than any server's limit (RFC 4253: 255 bytes; OpenSSH stops at 8192).
    c.send_raw(b"SSH-2.0-" + b"A" * 20000 + b"\r\n")
    return await_rejection(c)


def sc_huge_length(c):
    c.send_version()
    c.read_version()
    c.bad_sent = True
    c.send_raw(b"\xff\xff\xff\xff" + os.urandom(64))
    return await_rejection(c)


def sc_truncated(c):
    c.send_version()
    c.read_version()
    pkt = c.packet(kexinit_payload())
    c.bad_sent = True
    c.send_raw(pkt[: len(pkt) // 2])
    print("HOLDING", flush=True)
    sys.stdin.read()  # until the caller closes our stdin
    c.sock.shutdown(socket.SHUT_WR)
    return await_rejection(c)


def sc_out_of_order(c):
    start(c)
    c.bad_sent = True
    c.send(bytes([MSG_SERVICE_REQUEST]) + sstr("ssh-userauth"))
    return await_rejection(c)


def sc_ignore_first(c):
    c.send_version()
    c.read_version()
    c.bad_sent = True
    c.send(bytes([MSG_IGNORE]) + sstr("hello"))
    c.send(kexinit_payload())
    return await_rejection(c)


def sc_ignore_during_kex(c):
    start(c)
    c.bad_sent = True
    c.send(bytes([MSG_IGNORE]) + sstr("hello"))
    return await_rejection(c)


def mlkem_bad_share(c, share):
    """KEXINIT offering only mlkem768x25519-sha256, then a KEX_HYBRID_INIT carrying `share`."""
    i_c, i_s = start(c, kex=["mlkem768x25519-sha256"])
    if b"mlkem768x25519-sha256" not in i_s:
        raise Fail("server offers no mlkem768x25519-sha256")
    c.bad_sent = True
    c.send(bytes([MSG_KEX_ECDH_INIT]) + sstr(share))
    return await_rejection(c)


def sc_mlkem_short_share(c):
    # One byte short of the 1184-byte encapsulation key and the 32-byte X25519 key.
    return mlkem_bad_share(c, os.urandom(1215))


def sc_mlkem_zero_x25519(c):
    # A well-formed (all-zero) encapsulation key; the X25519 key of small order makes the
    # X25519 secret all zero, which the server must refuse.
    return mlkem_bad_share(c, bytes(1184 + 32))


def sc_bad_mac(c, **kex):
    key_exchange(c, **kex)
    pkt = bytearray(c.packet(bytes([MSG_SERVICE_REQUEST]) + sstr("ssh-userauth")))
    pkt[-1] ^= 0x01
    c.bad_sent = True
    c.send_raw(bytes(pkt))
    return await_rejection(c)


def sc_mlkem_tampered_ciphertext(c):
    # The client decapsulates a ciphertext with one bit flipped: its keys differ from the
    # server's, so its first encrypted packet fails the server's tag check (GCM: the length
    # is in clear, so the tag is what fails).
    key_exchange(c, kex="mlkem768x25519-sha256", cipher="aes128-gcm@openssh.com", tamper=True)
    c.bad_sent = True
    c.send(bytes([MSG_SERVICE_REQUEST]) + sstr("ssh-userauth"))
    return await_rejection(c)


def sc_huge_length_enc(c):
    key_exchange(c)
    # Encrypt a length of 0x7fffffff with the length key; the rest is never sent whole.
    enc_len = chacha20(c.send_cipher.k_len, c.send_seq, 0, u32(0x7FFFFFFF))
    c.bad_sent = True
    c.send_raw(enc_len + os.urandom(100))
    return await_rejection(c)


def userauth_reply(c):
    while True:
        p = c.recv()
        if p[0] not in (MSG_USERAUTH_BANNER, MSG_EXT_INFO):
            return p


def sc_key_then_other_password(c):
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key
    env = os.environ
    user, other = env["RAWSSH_USER"], env["RAWSSH_OTHER"]
    with open(env["RAWSSH_KEY"], "rb") as f:
        key = load_ssh_private_key(f.read(), password=None)
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    blob = sstr("ssh-ed25519") + sstr(pub)
    k_s = key_exchange(c)
    session_id = c.session_id
    c.send(bytes([MSG_SERVICE_REQUEST]) + sstr("ssh-userauth"))
    p = userauth_reply(c)
    if p[0] != MSG_SERVICE_ACCEPT:
        raise Fail("expected SERVICE_ACCEPT, got %d" % p[0])
    req = (bytes([MSG_USERAUTH_REQUEST]) + sstr(user) + sstr("ssh-connection") + sstr("publickey")
           + b"\x01" + sstr("ssh-ed25519") + sstr(blob))
    sig = key.sign(sstr(session_id) + req)
    c.send(req + sstr(sstr("ssh-ed25519") + sstr(sig)))
    p = userauth_reply(c)
    if p[0] != MSG_USERAUTH_FAILURE or not Reader(p[1:]).string() or p[-1] != 1:
        raise Fail("expected partial success for the key, got message %d" % p[0])
    print("key step: partial success", flush=True)

    def password(name, pw):
        c.send(bytes([MSG_USERAUTH_REQUEST]) + sstr(name) + sstr("ssh-connection")
               + sstr("password") + b"\x00" + sstr(pw))
        return userauth_reply(c)[0]

    got = password(other, env["RAWSSH_OTHER_PASS"])
    print("other account's password: message %d" % got, flush=True)
    if got != MSG_USERAUTH_FAILURE:
        raise Fail("another account's password was not refused (message %d)" % got)
    got = password(user, env["RAWSSH_PASS"])
    print("own password: message %d" % got, flush=True)
    if got != MSG_USERAUTH_SUCCESS:
        raise Fail("the user's own password after the key was refused (message %d)" % got)
    c.send(bytes([MSG_CHANNEL_OPEN]) + sstr("session") + u32(0) + u32(1 << 20) + u32(32768))
    p = c.expect(MSG_CHANNEL_OPEN_CONFIRMATION)
    peer = Reader(p[1:])
    peer.u32()
    server_ch = peer.u32()
    c.send(bytes([MSG_CHANNEL_REQUEST]) + u32(server_ch) + sstr("exec") + b"\x00" + sstr("echo unforced"))
    out = b""
    while True:
        p = c.recv()
        if p[0] == MSG_CHANNEL_DATA:
            out += Reader(p[5:]).string()
        elif p[0] in (MSG_CHANNEL_EOF, MSG_CHANNEL_CLOSE):
            break
    print("output: %s" % out.decode("utf-8", "replace").strip(), flush=True)
    return "ok"



# ---- malformed user keys and signatures ----------------------------------------------------

def userauth_start(c):
    """Key exchange and the ssh-userauth service; returns the session id."""
    key_exchange(c)
    c.send(bytes([MSG_SERVICE_REQUEST]) + sstr("ssh-userauth"))
    p = userauth_reply(c)
    if p[0] != MSG_SERVICE_ACCEPT:
        raise Fail("expected SERVICE_ACCEPT, got %d" % p[0])
    return c.session_id


def pk_request(user, alg, blob, with_sig=True):
    return (bytes([MSG_USERAUTH_REQUEST]) + sstr(user) + sstr("ssh-connection") + sstr("publickey")
            + (b"\x01" if with_sig else b"\x00") + sstr(alg) + sstr(blob))


def expect_refused(c, label, req, sig, key_blob, why):
    """Sends a publickey request (with `sig` when not None) and wants USERAUTH_FAILURE; prints
    the log line the server owes for it (`expect-log: FINGERPRINT: WHY`), which the caller
    checks: any unlisted key is refused, so the reason is what shows the check ran."""
    c.send(req + (sstr(sig) if sig is not None else b""))
    p = userauth_reply(c)
    if p[0] != MSG_USERAUTH_FAILURE:
        raise Fail("%s: expected USERAUTH_FAILURE, got message %d" % (label, p[0]))
    print("refused: %s" % label, flush=True)
    print("expect-log: %s: %s" % (fingerprint(key_blob), why), flush=True)


def odd_number(bits, low=1):
    n = int.from_bytes(os.urandom(bits // 8), "big") | (1 << (bits - 1)) | low
    return n.to_bytes(bits // 8, "big")


def sc_bad_key_blobs(c):
    """Key blobs no standard allows, each in a publickey request with a signature of the
    right shape: each must be a failed attempt (the connection goes on)."""
    user = os.environ["RAWSSH_USER"]
    userauth_start(c)
    junk_sig = lambda alg, n: sstr(alg) + sstr(os.urandom(n))
    ecdsa_sig_1_1 = sstr("ecdsa-sha2-nistp256") + sstr(mpint(b"\x01") + mpint(b"\x01"))
    bad_exponent = "RSA exponent out of range"
    cases = [
        ("truncated ed25519 key", "ssh-ed25519",
         sstr("ssh-ed25519") + sstr(os.urandom(31)), junk_sig("ssh-ed25519", 64),
         "malformed key or signature"),
        ("key length past the blob", "ssh-ed25519",
         sstr("ssh-ed25519") + u32(32) + os.urandom(16), junk_sig("ssh-ed25519", 64),
         "malformed key or signature"),
        ("RSA modulus even", "rsa-sha2-256",
         sstr("ssh-rsa") + mpint(b"\x01\x00\x01") + mpint(odd_number(2048, 0)[:-1] + b"\x02"),
         junk_sig("rsa-sha2-256", 256), "RSA modulus is even"),
        ("RSA modulus shorter than its exponent", "rsa-sha2-256",
         sstr("ssh-rsa") + mpint(odd_number(4096)) + mpint(odd_number(2048)),
         junk_sig("rsa-sha2-256", 256), bad_exponent),
        ("RSA exponent 1", "rsa-sha2-512",
         sstr("ssh-rsa") + mpint(b"\x01") + mpint(odd_number(2048)),
         junk_sig("rsa-sha2-512", 256), bad_exponent),
        ("ECDSA point not on the curve", "ecdsa-sha2-nistp256",
         sstr("ecdsa-sha2-nistp256") + sstr("nistp256") + sstr(b"\x04" + b"\x00" * 31 + b"\x01" + b"\x00" * 31 + b"\x01"),
         ecdsa_sig_1_1, "ECDSA point invalid or not on the curve"),
        ("ECDSA point at infinity", "ecdsa-sha2-nistp256",
         sstr("ecdsa-sha2-nistp256") + sstr("nistp256") + sstr(b"\x00"),
         ecdsa_sig_1_1, "ECDSA point invalid or not on the curve"),
    ]
    for label, alg, blob, sig, why in cases:
        expect_refused(c, label, pk_request(user, alg, blob), sig, blob, why)
    # The query step (no signature yet) refuses a malformed key the same way.
    even = cases[2]
    expect_refused(c, "query with an even RSA modulus",
                   pk_request(user, even[1], even[2], with_sig=False), None, even[2], even[4])
    return "ok"


P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def ecdsa_sig(key, data):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return sstr("ecdsa-sha2-nistp256") + sstr(mpint(r.to_bytes(33, "big")) + mpint(s.to_bytes(33, "big")))


def ecdsa_blob(key):
    point = key.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    return sstr("ecdsa-sha2-nistp256") + sstr("nistp256") + sstr(point)


def user_cert(user_key, ca_key, principal, sig_alg):
    """An OpenSSH user certificate of `user_key` (ECDSA P-256) signed by the Ed25519
    `ca_key`, its signature labelled `sig_alg`."""
    point = user_key.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    ca_pub = ca_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body = (sstr("ecdsa-sha2-nistp256-cert-v01@openssh.com") + sstr(os.urandom(32)) + sstr("nistp256")
            + sstr(point) + struct.pack(">Q", 42) + u32(1) + sstr("rawssh") + sstr(sstr(principal))
            + struct.pack(">Q", 0) + struct.pack(">Q", 0xFFFFFFFFFFFFFFFF) + sstr(b"")
            + sstr(sstr("permit-pty") + sstr(b"")) + sstr(b"")
            + sstr(sstr("ssh-ed25519") + sstr(ca_pub)))
    return body + sstr(sstr(sig_alg) + sstr(ca_key.sign(body)))


def sc_bad_key_signatures(c):
    """With an authorized ECDSA key (RAWSSH_KEY) and a cert-authority (RAWSSH_CA): signatures
    whose r or s is out of range, and certificates whose CA signature claims another kind
    than the CA key, are failed attempts; then a well-formed certificate of this client's
    making logs in (the control: the refusals were for what was wrong, not for the form)."""
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key
    env = os.environ
    user = env["RAWSSH_USER"]
    with open(env["RAWSSH_KEY"], "rb") as f:
        key = load_ssh_private_key(f.read(), password=None)
    with open(env["RAWSSH_CA"], "rb") as f:
        ca = load_ssh_private_key(f.read(), password=None)
    session_id = userauth_start(c)
    alg = "ecdsa-sha2-nistp256"
    req = pk_request(user, alg, ecdsa_blob(key))
    real = Reader(Reader(ecdsa_sig(key, sstr(session_id) + req)[4 + len(alg):]).string())
    real_r, real_s = real.string(), real.string()
    n = P256_N.to_bytes(32, "big")
    for label, r, s in [("ECDSA r = 0", b"", real_s), ("ECDSA s = n", real_r, n),
                        ("ECDSA r = n + 1", (P256_N + 1).to_bytes(33, "big"), real_s)]:
        expect_refused(c, label, req, sstr(alg) + sstr(mpint(r) + mpint(s)), ecdsa_blob(key),
                       "bad signature")

    def cert_attempt(sig_alg):
        cert = user_cert(key, ca, user, sig_alg)
        calg = "ecdsa-sha2-nistp256-cert-v01@openssh.com"
        creq = pk_request(user, calg, cert)
        c.send(creq + sstr(ecdsa_sig(key, sstr(session_id) + creq)))
        return userauth_reply(c)[0]

    for sig_alg in ("rsa-sha2-256", "ecdsa-sha2-nistp256"):
        got = cert_attempt(sig_alg)
        if got != MSG_USERAUTH_FAILURE:
            raise Fail("certificate signed by ssh-ed25519 but labelled %s: message %d" % (sig_alg, got))
        print("refused: CA signature labelled %s" % sig_alg, flush=True)
        print("expect-log: %s: CA signature of another kind than its key"
              % fingerprint(ecdsa_blob(key)), flush=True)
    got = cert_attempt("ssh-ed25519")
    if got != MSG_USERAUTH_SUCCESS:
        raise Fail("the well-formed certificate was refused (message %d)" % got)
    print("well-formed certificate: logged in", flush=True)
    print("expect-log: %s: Pubkey auth succeeded" % fingerprint(ecdsa_blob(key)), flush=True)
    return "ok"

SCENARIOS = {
    "happy": sc_happy,
    "garbage": sc_garbage,
    "long_version": sc_long_version,
    "huge_length": sc_huge_length,
    "truncated": sc_truncated,
    "out_of_order": sc_out_of_order,
    "ignore_first": sc_ignore_first,
    "ignore_during_kex": sc_ignore_during_kex,
    "slow_auth": lambda c: sc_happy(c, float(os.environ.get("RAWSSH_WAIT", "3"))),
    "bad_mac": sc_bad_mac,
    "bad_etm_mac": lambda c: sc_bad_mac(c, cipher="aes128-ctr", mac="hmac-sha2-256-etm@openssh.com"),
    "bad_plain_mac": lambda c: sc_bad_mac(c, cipher="aes256-ctr", mac="hmac-sha2-512"),
    "bad_gcm_tag": lambda c: sc_bad_mac(c, cipher="aes256-gcm@openssh.com"),
    "happy_mlkem_aes": lambda c: sc_happy(c, kex="mlkem768x25519-sha256", cipher="aes128-gcm@openssh.com"),
    "mlkem_tampered_ciphertext": sc_mlkem_tampered_ciphertext,
    "mlkem_short_share": sc_mlkem_short_share,
    "mlkem_zero_x25519": sc_mlkem_zero_x25519,
    "huge_length_enc": sc_huge_length_enc,
    "key_then_other_password": sc_key_then_other_password,
    "bad_key_blobs": sc_bad_key_blobs,
    "bad_key_signatures": sc_bad_key_signatures,
}


def main(argv):
    if len(argv) not in (3, 4) or argv[1] not in SCENARIOS:
        sys.stderr.write("usage: rawssh.py {%s} PORT [HOST]\n" % "|".join(SCENARIOS))
        return 2
    name, port = argv[1], int(argv[2])
    host = argv[3] if len(argv) == 4 else "127.0.0.1"
    c = Conn(host, port)
    try:
        result = SCENARIOS[name](c)
    except Fail as f:
        print("RESULT fail %s" % f, flush=True)
        return 1
    except Disconnected as d:
        if c.bad_sent:
            print("RESULT disconnect %d %s" % (d.code, d.desc), flush=True)
            return 0
        print("RESULT fail disconnect before the bad input: %d %s" % (d.code, d.desc), flush=True)
        return 1
    except Closed:
        if c.bad_sent:
            print("RESULT closed", flush=True)
            return 0
        print("RESULT fail connection closed before the bad input", flush=True)
        return 1
    finally:
        c.sock.close()
    print("RESULT %s" % result, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
