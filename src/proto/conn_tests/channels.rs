//! Channels: order of a session's end, windows, opens and refusals, the memory budget.

use super::*;

/// Output handed over beyond the room is a caller's bug; it must end the connection with a
/// reason, never vanish while the session goes on.
#[test]
fn output_beyond_the_room_closes_the_connection() {
    let (mut conn, mut host, mut c, ch) = exec_session(b"cat");
    let too_much = vec![7u8; conn.channel_send_room(ch) + 1];
    assert!(!conn.channel_send(ch, false, &too_much));
    assert_eq!(
        conn.closing().map(|d| d.reason),
        Some(msg::reason::BY_APPLICATION)
    );
    c.pump(&mut conn, &mut host);
    assert_eq!(disconnect_reason(&mut c), msg::reason::BY_APPLICATION);
}

#[test]
fn login_exec_output_exit_close_in_order() {
    let (mut conn, mut host, mut c, ch) = exec_session(b"echo hi");
    assert_eq!(host.started, vec![(ch, Some(b"echo hi".to_vec()))]);
    // Client stdin reaches the process side.
    c.send_data(ch as u32, b"input");
    c.pump(&mut conn, &mut host);
    assert_eq!(conn.channel_input(ch), b"input");
    conn.channel_consumed(ch, 5, &mut host);
    // Process output, then exit: data, EOF, exit-status, CLOSE, in that order.
    assert!(conn.channel_send_room(ch) >= 32768);
    assert!(conn.channel_send(ch, false, b"out"));
    assert!(conn.channel_send(ch, true, b"err"));
    conn.channel_finish(ch, Some(ExitInfo::Status(7)), &mut host);
    c.pump(&mut conn, &mut host);
    let d = c.recv_kind(msg::CHANNEL_DATA);
    assert_eq!(&d[9..], b"out");
    let e = c.recv_kind(msg::CHANNEL_EXTENDED_DATA);
    assert_eq!(&e[13..], b"err");
    c.recv_kind(msg::CHANNEL_EOF);
    let x = c.recv_kind(msg::CHANNEL_REQUEST);
    assert!(x.windows(11).any(|w| w == b"exit-status"));
    assert_eq!(&x[x.len() - 4..], &7u32.to_be_bytes());
    c.recv_kind(msg::CHANNEL_CLOSE);
    c.send(|w| {
        w.u8(msg::CHANNEL_CLOSE)?;
        w.u32(ch as u32)
    });
    c.pump(&mut conn, &mut host);
    assert_eq!(host.freed, vec![ch]);
    assert!(conn.closing().is_none());
}

/// Output read straight into a packet: what `read` put there arrives as CHANNEL_DATA (or
/// extended data) and counts against the window; nothing read, or an error, queues nothing.
#[test]
fn output_read_into_the_packet() {
    let (mut conn, mut host, mut c, ch) = exec_session(b"cat");
    let mut offered = 0;
    let got: Result<usize, ()> = conn.channel_read_into(ch, false, 5, |area| {
        offered = area.len();
        area[..3].copy_from_slice(b"abc");
        Ok(3)
    });
    assert_eq!((got, offered), (Ok(3), 5), "at most `max` bytes offered");
    let room = conn.channel_send_room(ch);
    let got: Result<usize, ()> = conn.channel_read_into(ch, true, usize::MAX, |area| {
        offered = area.len();
        area[..2].copy_from_slice(b"de");
        Ok(2)
    });
    assert_eq!((got, offered), (Ok(2), room), "never beyond the room");
    assert_eq!(
        conn.channel_read_into(ch, false, 9, |_| Ok::<_, ()>(0)),
        Ok(0)
    );
    assert_eq!(
        conn.channel_read_into(ch, false, 9, |_| Err::<usize, _>(7)),
        Err(7)
    );
    c.pump(&mut conn, &mut host);
    let d = c.recv_kind(msg::CHANNEL_DATA);
    assert_eq!(&d[9..], b"abc");
    let e = c.recv_kind(msg::CHANNEL_EXTENDED_DATA);
    assert_eq!(&e[13..], b"de");
    assert!(conn.closing().is_none());
    // Nothing else was queued by the empty and the failed reads.
    conn.channel_finish(ch, Some(ExitInfo::Status(0)), &mut host);
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::CHANNEL_EOF);
}

/// Client data while nothing waits in the channel's buffer goes straight to the edge's sink
/// (`Buffers::deliver`); what the sink leaves, and everything behind it, is buffered in
/// order; the window counts every byte either way and reopens as the sink takes them.
#[test]
fn data_goes_straight_to_the_sink_and_the_rest_is_buffered_in_order() {
    let (mut conn, mut host, mut c) = setup(32768);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    let ch = c.open_exec(&mut conn, &mut host, b"cat");
    let stream: Vec<u8> = (0..38000u32).map(|i| (i % 251) as u8).collect();
    host.sink_room = 15000;
    // 15000 taken at once, 5000 buffered; the next packet queues behind them.
    c.send_data(ch, &stream[..20000]);
    c.send_data(ch, &stream[20000..30000]);
    c.pump(&mut conn, &mut host);
    assert_eq!(
        host.delivered,
        vec![(ch as usize, stream[..15000].to_vec())]
    );
    assert_eq!(conn.channel_input(ch as usize), &stream[15000..30000]);
    assert!(
        c.recv().is_none(),
        "no window to grant while 15000 bytes wait"
    );
    conn.channel_consumed(ch as usize, 15000, &mut host);
    c.pump(&mut conn, &mut host);
    let adj = c.recv_kind(msg::CHANNEL_WINDOW_ADJUST);
    assert_eq!(&adj[5..9], &30000u32.to_be_bytes());
    // The buffer is empty again: the next packet goes straight through, whole.
    c.send_data(ch, &stream[30000..]);
    c.pump(&mut conn, &mut host);
    assert_eq!(host.delivered[1], (ch as usize, stream[30000..].to_vec()));
    assert!(conn.channel_input(ch as usize).is_empty());
    assert!(conn.closing().is_none());
}

/// Client stderr (CHANNEL_EXTENDED_DATA) is dropped, but counts against the window like
/// data, and the window is granted again: a client that sent some never sees its window
/// shrink for good.
#[test]
fn client_extended_data_uses_up_window_and_gets_it_back() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    let ch = c.open_exec(&mut conn, &mut host, b"cat");
    let ext = |c: &mut Client, n: usize| {
        c.send(|w| {
            w.u8(msg::CHANNEL_EXTENDED_DATA)?;
            w.u32(ch)?;
            w.u32(1)?;
            w.string(&vec![b'e'; n])
        })
    };
    ext(&mut c, 20000);
    c.pump(&mut conn, &mut host);
    assert!(c.recv().is_none(), "less than half the window used");
    ext(&mut c, 20000);
    c.pump(&mut conn, &mut host);
    let adj = c.recv_kind(msg::CHANNEL_WINDOW_ADJUST);
    assert_eq!(&adj[5..9], &40000u32.to_be_bytes());
    assert!(conn.channel_input(ch as usize).is_empty());
    assert!(host.delivered.is_empty());
    // The window is 65536 again: one byte more than that is an overrun.
    ext(&mut c, 32768);
    ext(&mut c, 32768);
    c.pump(&mut conn, &mut host);
    assert!(conn.closing().is_none());
    assert_eq!(
        &c.recv_kind(msg::CHANNEL_WINDOW_ADJUST)[5..9],
        &65536u32.to_be_bytes()
    );
    ext(&mut c, 32768);
    ext(&mut c, 32768);
    c.send_data(ch, b"x");
    c.pump(&mut conn, &mut host);
    assert!(conn.closing().is_some());
}

#[test]
fn window_overrun_disconnects() {
    let (mut conn, mut host, mut c) = setup(32768);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    let ch = c.open_exec(&mut conn, &mut host, b"cat");
    for _ in 0..2 {
        c.send_data(ch, &[0; 20000]);
    }
    c.pump(&mut conn, &mut host);
    assert_eq!(disconnect_reason(&mut c), msg::reason::PROTOCOL_ERROR);
}

#[test]
fn direct_tcpip_confirmed_after_connect_and_refused_on_failure() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    for (peer_id, target) in [(10u32, "127.0.0.1"), (11, "refused"), (12, "10.9.9.9")] {
        c.send(|w| {
            w.u8(msg::CHANNEL_OPEN)?;
            w.string(b"direct-tcpip")?;
            w.u32(peer_id)?;
            w.u32(65536)?;
            w.u32(32768)?;
            w.string(target.as_bytes())?;
            w.u32(80)?;
            w.string(b"127.0.0.1")?;
            w.u32(5555)
        });
    }
    c.pump(&mut conn, &mut host);
    // "refused" is refused at once; the other two wait for their connects.
    let f = c.recv_kind(msg::CHANNEL_OPEN_FAILURE);
    assert_eq!(&f[1..9], &[0, 0, 0, 11, 0, 0, 0, 1]);
    assert!(c.recv().is_none());
    let (ok_ch, _, _) = host.direct[0].clone();
    let (bad_ch, _, _) = host.direct[2].clone();
    conn.channel_open_result(bad_ch, false, &mut host);
    conn.channel_open_result(ok_ch, true, &mut host);
    c.pump(&mut conn, &mut host);
    let f = c.recv_kind(msg::CHANNEL_OPEN_FAILURE);
    assert_eq!(&f[1..9], &[0, 0, 0, 12, 0, 0, 0, 2]);
    let ok = c.recv_kind(msg::CHANNEL_OPEN_CONFIRMATION);
    assert_eq!(&ok[1..5], &10u32.to_be_bytes());
    // Bytes flow both ways; the stream's EOF leaves the channel open for input.
    c.send_data(ok_ch as u32, b"GET /");
    c.pump(&mut conn, &mut host);
    assert_eq!(conn.channel_input(ok_ch), b"GET /");
    assert!(conn.channel_send(ok_ch, false, b"200"));
    conn.channel_send_eof(ok_ch, &mut host);
    c.pump(&mut conn, &mut host);
    assert_eq!(&c.recv_kind(msg::CHANNEL_DATA)[9..], b"200");
    c.recv_kind(msg::CHANNEL_EOF);
    assert!(c.recv().is_none(), "no CLOSE before both sides are done");
}

#[test]
fn channel_open_refusals_name_the_reason() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    let mut open = |c: &mut Client, kind: &[u8], peer_id: u32| {
        c.send(|w| {
            w.u8(msg::CHANNEL_OPEN)?;
            w.string(kind)?;
            w.u32(peer_id)?;
            w.u32(65536)?;
            w.u32(32768)?;
            if kind == b"direct-tcpip" {
                w.string(b"10.0.0.1")?;
                w.u32(80)?;
                w.string(b"127.0.0.1")?;
                w.u32(5555)?;
            }
            Ok(())
        });
        c.pump(&mut conn, &mut host);
        c.recv().expect("an answer to CHANNEL_OPEN")
    };
    let f = open(&mut c, b"x11", 1);
    assert_eq!(f[0], msg::CHANNEL_OPEN_FAILURE);
    assert_eq!(&f[1..9], &[0, 0, 0, 1, 0, 0, 0, 3], "UNKNOWN_CHANNEL_TYPE");
    // A name that shares a prefix with a known one is still unknown.
    let f = open(&mut c, b"sessions", 2);
    assert_eq!(&f[5..9], &[0, 0, 0, 3]);
    let mut opened = 0;
    loop {
        let f = open(&mut c, b"session", 100 + opened);
        if f[0] == msg::CHANNEL_OPEN_FAILURE {
            assert_eq!(&f[5..9], &[0, 0, 0, 4], "RESOURCE_SHORTAGE");
            break;
        }
        assert_eq!(f[0], msg::CHANNEL_OPEN_CONFIRMATION);
        opened += 1;
        assert!(opened <= 64, "the channel table never filled");
    }
    assert!(opened >= 1);
    let f = open(&mut c, b"direct-tcpip", 3);
    assert_eq!(&f[1..9], &[0, 0, 0, 3, 0, 0, 0, 4]);
}

#[test]
fn remote_forward_reply_carries_port_and_outgoing_channel_opens() {
    let (mut conn, mut host, mut c) = setup(65536);
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    c.send(|w| {
        w.u8(msg::GLOBAL_REQUEST)?;
        w.string(b"tcpip-forward")?;
        w.bool(true)?;
        w.string(b"")?;
        w.u32(0)
    });
    c.send(|w| {
        w.u8(msg::GLOBAL_REQUEST)?;
        w.string(b"keepalive@openssh.com")?;
        w.bool(true)
    });
    c.pump(&mut conn, &mut host);
    let ok = c.recv_kind(msg::REQUEST_SUCCESS);
    assert_eq!(&ok[1..], &4242u32.to_be_bytes());
    c.recv_kind(msg::REQUEST_FAILURE);
    let what = Outgoing::ForwardedTcpip {
        address: "",
        port: 4242,
        originator: "127.0.0.1",
        originator_port: 999,
    };
    let ch = conn.channel_open(&what, &mut host).unwrap();
    c.pump(&mut conn, &mut host);
    let open = c.recv_kind(msg::CHANNEL_OPEN);
    assert!(open.windows(15).any(|w| w == b"forwarded-tcpip"));
    // Nothing may be sent before the client confirms.
    assert_eq!(conn.channel_send_room(ch), 0);
    c.send(|w| {
        w.u8(msg::CHANNEL_OPEN_CONFIRMATION)?;
        w.u32(ch as u32)?;
        w.u32(77)?;
        w.u32(1000)?;
        w.u32(500)
    });
    c.pump(&mut conn, &mut host);
    assert_eq!(conn.channel_send_room(ch), 500);
    assert!(conn.channel_send(ch, false, b"hello"));
    c.pump(&mut conn, &mut host);
    let d = c.recv_kind(msg::CHANNEL_DATA);
    assert_eq!(&d[1..5], &77u32.to_be_bytes());
    // A refused open frees the channel.
    let ch2 = conn.channel_open(&Outgoing::Agent, &mut host).unwrap();
    c.pump(&mut conn, &mut host);
    c.recv_kind(msg::CHANNEL_OPEN);
    c.send(|w| {
        w.u8(msg::CHANNEL_OPEN_FAILURE)?;
        w.u32(ch2 as u32)?;
        w.u32(1)?;
        w.string(b"no")?;
        w.string(b"")
    });
    c.pump(&mut conn, &mut host);
    assert_eq!(host.freed, vec![ch2]);
}

/// The client closes channel `ch`, its process ends, and the channel is freed.
fn close_finished(c: &mut Client, conn: &mut Conn, host: &mut TestHost, ch: u32) {
    c.send(|w| {
        w.u8(msg::CHANNEL_CLOSE)?;
        w.u32(ch)
    });
    c.pump(conn, host);
    conn.channel_finish(ch as usize, Some(ExitInfo::Status(0)), host);
    c.pump(conn, host);
    assert_eq!(host.freed, vec![ch as usize]);
}

/// A logged-in connection whose host has `spare` bytes of budget beyond what it holds.
fn budgeted_session(window: u32, spare: usize) -> (Box<Conn>, TestHost, Client) {
    let (mut conn, mut host, mut c) = setup(window);
    let held = host.budget.used();
    host.budget = Budget::new(held + spare, budget::zeroed);
    host.budget.take(held).unwrap();
    c.handshake(&mut conn, &mut host, true);
    c.login(&mut conn, &mut host);
    (conn, host, c)
}

fn open_kind(
    c: &mut Client,
    conn: &mut Conn,
    host: &mut TestHost,
    kind: &[u8],
    id: u32,
) -> Vec<u8> {
    c.send(|w| {
        w.u8(msg::CHANNEL_OPEN)?;
        w.string(kind)?;
        w.u32(id)?;
        w.u32(65536)?;
        w.u32(32768)?;
        if kind == b"direct-tcpip" {
            // The test host refuses this target at once.
            w.string(b"refused")?;
            w.u32(80)?;
            w.string(b"127.0.0.1")?;
            w.u32(5555)?;
        }
        Ok(())
    });
    c.pump(conn, host);
    c.recv().expect("an answer to CHANNEL_OPEN")
}

#[test]
fn a_channel_takes_its_window_at_open_and_gives_it_back_at_close() {
    let (mut conn, mut host, mut c) = budgeted_session(65536, 1 << 20);
    let fixed = conn.held_bytes();
    assert_eq!(
        host.budget.used(),
        fixed,
        "nothing per channel before one opens"
    );
    let ch = c.open_exec(&mut conn, &mut host, b"cat");
    assert_eq!(host.budget.used(), fixed + 65536);
    assert_eq!(conn.held_bytes(), host.budget.used());
    close_finished(&mut c, &mut conn, &mut host, ch);
    assert_eq!(host.budget.used(), fixed, "the window came back");
    while c.recv().is_some() {}
    // A connection that ends with a channel open gives back its window too.
    c.open_exec(&mut conn, &mut host, b"cat");
    assert_eq!(host.budget.used(), fixed + 65536);
    conn.free(&mut host.budget);
    assert_eq!(host.budget.used(), 0);
}

/// The grant of the one CHANNEL_WINDOW_ADJUST the client has received.
fn grant(c: &mut Client) -> u32 {
    let adj = c.recv_kind(msg::CHANNEL_WINDOW_ADJUST);
    assert!(c.recv().is_none(), "one adjustment");
    u32::from_be_bytes(adj[5..9].try_into().unwrap())
}

/// While the process takes every byte at once, the receive buffer doubles each time the
/// client has used half its window, and the adjustment grants the larger window; only from
/// the growth room, up to `MAX_WINDOW`; a process that falls behind stops it; closing gives
/// everything back. Every byte arrives, in order.
#[test]
fn a_window_the_upload_outruns_grows_within_the_growth_room() {
    use crate::proto::limits::MAX_WINDOW;
    let (mut conn, mut host, mut c) = budgeted_session(65536, 8 << 20);
    // Room to grow 64 KiB to 128 and to 256, not to 512.
    host.budget.set_growth_room(65536 + 131072);
    let fixed = host.budget.used();
    let ch = c.open_exec(&mut conn, &mut host, b"cat");
    host.sink_room = usize::MAX;
    let stream: Vec<u8> = (0..(1u32 << 22)).map(|i| (i % 247) as u8).collect();
    let mut sent = 0;
    let mut send = |c: &mut Client, conn: &mut Conn, host: &mut TestHost, n: usize| {
        for _ in 0..n {
            c.send_data(ch, &stream[sent..sent + 32768]);
            sent += 32768;
            c.pump(conn, host);
        }
    };
    // Half of 64 KiB used: 128 KiB, of which 32 KiB are still the client's.
    send(&mut c, &mut conn, &mut host, 1);
    assert_eq!(grant(&mut c), 131072 - 32768);
    assert_eq!(
        (host.budget.used(), host.budget.grown()),
        (fixed + 131072, 65536)
    );
    // Half of 128 KiB: 256 KiB.
    send(&mut c, &mut conn, &mut host, 2);
    assert_eq!(grant(&mut c), 262144 - 65536);
    assert_eq!(
        (host.budget.used(), host.budget.grown()),
        (fixed + 262144, 196608)
    );
    // Half of 256 KiB: the room is used up, so the window stays.
    send(&mut c, &mut conn, &mut host, 4);
    assert_eq!(grant(&mut c), 131072);
    assert_eq!(
        (host.budget.used(), host.budget.grown()),
        (fixed + 262144, 196608)
    );
    // With room again, a process that falls behind grows nothing.
    host.budget.set_growth_room(4 << 20);
    host.sink_room = 1000;
    send(&mut c, &mut conn, &mut host, 4);
    assert!(c.recv().is_none(), "nothing to grant while the bytes wait");
    assert_eq!(host.budget.used(), fixed + 262144);
    let waiting = conn.channel_input(ch as usize).to_vec();
    assert_eq!(waiting.len(), 131072 - 1000);
    conn.channel_consumed(ch as usize, waiting.len(), &mut host);
    host.delivered.push((ch as usize, waiting));
    c.pump(&mut conn, &mut host);
    assert_eq!(grant(&mut c), 131072);
    // One that keeps up grows again, up to MAX_WINDOW and no further.
    host.sink_room = usize::MAX;
    let mut window = 262144;
    while window < MAX_WINDOW as usize {
        send(&mut c, &mut conn, &mut host, window / 2 / 32768);
        assert_eq!(grant(&mut c) as usize, 2 * window - window / 2);
        window *= 2;
    }
    send(&mut c, &mut conn, &mut host, window / 2 / 32768);
    assert_eq!(grant(&mut c) as usize, window / 2);
    assert_eq!(host.budget.used(), fixed + MAX_WINDOW as usize);
    assert_eq!(host.budget.grown(), MAX_WINDOW as usize - 65536);
    // Every byte, in order, and nothing over the window.
    let mut got = Vec::new();
    for (i, d) in &host.delivered {
        assert_eq!(*i, ch as usize);
        got.extend_from_slice(d);
    }
    assert!(conn.channel_input(ch as usize).is_empty());
    assert!(
        got == stream[..sent],
        "{} bytes of {sent} in order",
        got.len()
    );
    assert!(conn.closing().is_none());
    assert_eq!(
        (conn.held_bytes(), conn.grown_bytes()),
        (host.budget.used(), host.budget.grown())
    );
    // Closing the channel gives back the grown buffer and its growth.
    close_finished(&mut c, &mut conn, &mut host, ch);
    assert_eq!((host.budget.used(), host.budget.grown()), (fixed, 0));
    // A connection that ends with a grown channel open gives back both too.
    while c.recv().is_some() {}
    let ch = c.open_exec(&mut conn, &mut host, b"cat");
    for i in 0..2 {
        c.send_data(ch, &stream[i * 32768..(i + 1) * 32768]);
        c.pump(&mut conn, &mut host);
    }
    assert_eq!(host.budget.grown(), 65536);
    conn.free(&mut host.budget);
    assert_eq!((host.budget.used(), host.budget.grown()), (0, 0));
}

#[test]
fn a_channel_over_the_budget_is_refused_and_the_others_go_on() {
    // Room for one window and not quite a second.
    let (mut conn, mut host, mut c) = budgeted_session(65536, 2 * 65536 - 1);
    let ch = c.open_exec(&mut conn, &mut host, b"cat") as usize;
    let f = open_kind(&mut c, &mut conn, &mut host, b"session", 8);
    assert_eq!(f[0], msg::CHANNEL_OPEN_FAILURE);
    assert_eq!(&f[1..9], &[0, 0, 0, 8, 0, 0, 0, 4], "RESOURCE_SHORTAGE");
    let mut r = Reader::new(&f[9..]);
    assert_eq!(r.string().unwrap(), b"memory limit reached");
    // No memory, no connect started.
    let f = open_kind(&mut c, &mut conn, &mut host, b"direct-tcpip", 9);
    assert_eq!(&f[1..9], &[0, 0, 0, 9, 0, 0, 0, 4]);
    assert!(host.direct.is_empty());
    assert_eq!(conn.channel_open(&Outgoing::Agent, &mut host), None);
    assert!(c.recv().is_none());
    // The open channel is untouched.
    c.send_data(ch as u32, b"still here");
    c.pump(&mut conn, &mut host);
    assert_eq!(conn.channel_input(ch), b"still here");
    assert!(conn.channel_send(ch, false, b"yes"));
    c.pump(&mut conn, &mut host);
    assert_eq!(&c.recv_kind(msg::CHANNEL_DATA)[9..], b"yes");
    assert!(conn.closing().is_none());
}

#[test]
fn refused_and_failed_opens_give_their_window_back() {
    let (mut conn, mut host, mut c) = budgeted_session(65536, 1 << 20);
    let fixed = host.budget.used();
    // A connect that fails.
    c.send(|w| {
        w.u8(msg::CHANNEL_OPEN)?;
        w.string(b"direct-tcpip")?;
        w.u32(1)?;
        w.u32(65536)?;
        w.u32(32768)?;
        w.string(b"10.0.0.1")?;
        w.u32(80)?;
        w.string(b"127.0.0.1")?;
        w.u32(5555)
    });
    c.pump(&mut conn, &mut host);
    let (ch, _, _) = host.direct[0].clone();
    assert_eq!(host.budget.used(), fixed + 65536, "held while connecting");
    conn.channel_open_result(ch, false, &mut host);
    assert_eq!(host.budget.used(), fixed);
    c.pump(&mut conn, &mut host);
    let f = c.recv_kind(msg::CHANNEL_OPEN_FAILURE);
    assert_eq!(&f[1..9], &[0, 0, 0, 1, 0, 0, 0, 2], "CONNECT_FAILED");
    // One the edge refuses at once.
    let f = open_kind(&mut c, &mut conn, &mut host, b"direct-tcpip", 2);
    assert_eq!(
        &f[1..9],
        &[0, 0, 0, 2, 0, 0, 0, 1],
        "ADMINISTRATIVELY_PROHIBITED"
    );
    assert_eq!(host.budget.used(), fixed);
    // An outgoing channel the client refuses.
    let ch = conn.channel_open(&Outgoing::Agent, &mut host).unwrap();
    assert_eq!(host.budget.used(), fixed + 65536);
    c.pump(&mut conn, &mut host);
    c.send(|w| {
        w.u8(msg::CHANNEL_OPEN_FAILURE)?;
        w.u32(ch as u32)?;
        w.u32(1)?;
        w.string(b"no")?;
        w.string(b"")
    });
    c.pump(&mut conn, &mut host);
    assert_eq!(host.budget.used(), fixed);
}

/// After a quiet second every empty buffer is handed to the edge once (the daemon gives their
/// pages back): what they held is dead, so the connection goes on with garbage there, and a
/// buffer that still holds bytes is kept.
#[test]
fn a_quiet_connection_hands_back_its_empty_buffers() {
    use crate::proto::packet::INPUT_BUFFER;
    let (mut conn, mut host, mut c, ch) = exec_session(b"cat");
    let spare = |conn: &mut Conn, now: u64| {
        let mut lens = Vec::new();
        conn.spare(now, &mut |b: &mut [u8]| {
            lens.push(b.len());
            b.fill(0xee);
        });
        lens
    };
    // The test client's traffic happens at no time of its own: the first call dates it.
    assert!(spare(&mut conn, 500).is_empty());
    assert!(spare(&mut conn, 1499).is_empty());
    assert_eq!(conn.next_spare(1499), Some(1));
    let out = crate::proto::limits::OUTPUT_BUFFER;
    assert_eq!(spare(&mut conn, 1500), vec![INPUT_BUFFER, out, 65536]);
    // Once per quiet spell, and no busy wakeups after it.
    assert!(spare(&mut conn, 9000).is_empty());
    assert_eq!(conn.next_spare(9000), None);

    // Data that the process does not take stays in the channel's buffer.
    host.sink_room = 0;
    // (Two packets: the window is granted again once half of its 64 KiB is free.)
    let data: Vec<u8> = (0..40000u32).map(|i| (i % 253) as u8).collect();
    c.send_data(ch as u32, &data[..20000]);
    c.send_data(ch as u32, &data[20000..]);
    c.pump(&mut conn, &mut host);
    assert_eq!(conn.channel_input(ch), &data[..]);
    assert!(spare(&mut conn, 10_000).is_empty());
    assert_eq!(spare(&mut conn, 11_000), vec![INPUT_BUFFER, out]);
    assert_eq!(conn.channel_input(ch), &data[..]);
    // The process takes it; the window reopens over the garbage, and packets both ways go on.
    conn.channel_consumed(ch, data.len(), &mut host);
    c.pump(&mut conn, &mut host);
    let adj = c.recv_kind(msg::CHANNEL_WINDOW_ADJUST);
    assert_eq!(&adj[5..9], &40000u32.to_be_bytes());
    host.sink_room = usize::MAX;
    c.send_data(ch as u32, b"after");
    c.pump(&mut conn, &mut host);
    assert_eq!(host.delivered.last().unwrap(), &(ch, b"after".to_vec()));
    assert!(conn.closing().is_none());
}
