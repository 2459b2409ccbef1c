#!/usr/bin/env python3
"""paramiko against quoll, as Ansible, Netmiko and Fabric use it (tests/paramiko.rs runs it).

    paramiko_client.py keys PORT USER RIGHT_KEY WRONG_KEY WORKDIR
        SSHClient.connect offering the wrong key, then the right one, on one transport; the
        same by hand on a Transport (the wrong key must be refused first); exec with output,
        stderr and exit status; SFTP put and get of 10 MiB, byte-exact.
    paramiko_client.py password PORT USER PASSWORD WRONG_KEY
        a key that is refused, then the password, on one transport; exec `id -un`.

Prints `cipher: C/C mac: M/M` (client->server/server->client) and `ok`; exits 1 with a
message on any failure.
"""
import hashlib
import os
import sys

import paramiko


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def show_algorithms(t):
    print("cipher: %s/%s mac: %s/%s" % (t.local_cipher, t.remote_cipher, t.local_mac, t.remote_mac))


def check_exec(client):
    _, out, err = client.exec_command("printf hello; echo err >&2; exit 3")
    status = out.channel.recv_exit_status()
    got_out, got_err = out.read(), err.read()
    if (got_out, got_err, status) != (b"hello", b"err\n", 3):
        fail("exec: stdout %r, stderr %r, status %r" % (got_out, got_err, status))


def check_sftp(client, workdir):
    src = os.path.join(workdir, "paramiko-src.bin")
    data = os.urandom(10 << 20)
    with open(src, "wb") as f:
        f.write(data)
    want = hashlib.sha256(data).hexdigest()
    up = os.path.join(workdir, "paramiko-up.bin")
    down = os.path.join(workdir, "paramiko-down.bin")
    sftp = client.open_sftp()
    sftp.put(src, up)
    sftp.get(up, down)
    sftp.close()
    for path in (up, down):
        with open(path, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        if got != want:
            fail("sftp: %s differs from what was put" % path)


def transport(port):
    t = paramiko.Transport(("127.0.0.1", port))
    t.start_client(timeout=20)
    return t


def keys(port, user, right_path, wrong_path, workdir):
    right = paramiko.Ed25519Key.from_private_key_file(right_path)
    wrong = paramiko.Ed25519Key.from_private_key_file(wrong_path)

    # By hand: the refusal of the wrong key, then the right key, on the same transport.
    t = transport(port)
    try:
        t.auth_publickey(user, wrong)
        fail("the wrong key was accepted")
    except paramiko.AuthenticationException:
        pass
    if t.auth_publickey(user, right) != []:
        fail("the right key did not complete authentication")
    if not t.is_authenticated():
        fail("not authenticated after the right key")
    show_algorithms(t)
    t.close()

    # As the tools do it: SSHClient tries the key files in order on one transport.
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        "127.0.0.1",
        port=port,
        username=user,
        key_filename=[wrong_path, right_path],
        look_for_keys=False,
        allow_agent=False,
        timeout=20,
    )
    check_exec(client)
    check_sftp(client, workdir)
    client.close()
    print("ok")


def password(port, user, pw, wrong_path):
    wrong = paramiko.Ed25519Key.from_private_key_file(wrong_path)
    t = transport(port)
    try:
        t.auth_publickey(user, wrong)
        fail("a key that is not authorized was accepted")
    except paramiko.AuthenticationException:
        pass
    if t.auth_password(user, pw) != []:
        fail("the password did not complete authentication")
    show_algorithms(t)
    ch = t.open_session(timeout=20)
    ch.exec_command("id -un")
    status = ch.recv_exit_status()
    name = b""
    while True:
        b = ch.recv(4096)
        if not b:
            break
        name += b
    if (name.strip().decode(), status) != (user, 0):
        fail("id -un: %r, status %r" % (name, status))
    t.close()
    print("ok")


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    what, args = sys.argv[1], sys.argv[2:]
    if what == "keys" and len(args) == 5:
        keys(int(args[0]), args[1], args[2], args[3], args[4])
    elif what == "password" and len(args) == 4:
        password(int(args[0]), args[1], args[2], args[3])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()
