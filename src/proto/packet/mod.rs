//! The binary packet protocol (RFC 4253 §6): framing, padding, sequence numbers, encryption,
//! over two buffers allocated once per connection (by the caller: `Conn::try_new` takes them
//! from the memory budget).
//!
//! Input: the edge reads socket bytes into `Input::space()`, then `Input::next_packet()`
//! yields complete, authenticated, decrypted payloads in place. Output: `Output::packet()`
//! builds a payload directly inside the output buffer and seals it there; the edge writes
//! `Output::pending()` to the socket.

use super::cipher::{Cipher, MAX_TAG_LEN, TAG_LEN};
use super::limits::{MAX_PACKET, MAX_PAYLOAD};
use super::wire::{WireError, Writer};

/// Bytes of input buffer: one maximal packet plus its length field and longest MAC, twice, so
/// that a socket read can bring in the next packet while one is being handled.
pub const INPUT_BUFFER: usize = 2 * (4 + MAX_PACKET + MAX_TAG_LEN);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    /// packet_length over the limit, or not a multiple of the block size, or bad padding.
    BadLength,
    /// The authentication tag did not match.
    BadMac,
}

/// Number of bytes and packets since the last key exchange, for rekeying.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub bytes: u64,
    pub packets: u64,
}

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Input {
    buf: Box<[u8]>,
    /// Bytes in `buf[start..end]` are received and not yet consumed.
    start: usize,
    end: usize,
    /// The length of the packet at `start`, once known (decrypted, or read in clear).
    length: Option<u32>,
    pub seq: u32,
    cipher: Option<Cipher>,
    pub counters: Counters,
}

impl Input {
    /// An input with its own buffer, allocated infallibly: for clients and tests, not for
    /// connections a peer opens.
    pub fn new() -> Self {
        Self::with_buffer(vec![0u8; INPUT_BUFFER].into_boxed_slice())
    }

    /// An input over `buf` (`INPUT_BUFFER` bytes, or more).
    pub fn with_buffer(buf: Box<[u8]>) -> Self {
        debug_assert!(buf.len() >= INPUT_BUFFER);
        Input {
            buf,
            start: 0,
            end: 0,
            length: None,
            seq: 0,
            cipher: None,
            counters: Counters::default(),
        }
    }

    /// Where the edge may put received bytes; compacts first so a whole packet always fits.
    pub fn space(&mut self) -> &mut [u8] {
        if self.start > 0
            && (self.start == self.end || self.buf.len() - self.end < 4 + MAX_PACKET + MAX_TAG_LEN)
        {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Unconsumed bytes (used while reading the version line, before packets start).
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// The whole buffer when it holds nothing (`Conn::spare`); its contents may then change.
    pub fn spare(&mut self) -> Option<&mut [u8]> {
        if self.start != self.end || self.length.is_some() {
            return None;
        }
        self.start = 0;
        self.end = 0;
        Some(&mut self.buf)
    }

    pub fn set_cipher(&mut self, cipher: Cipher) {
        self.cipher = Some(cipher);
    }

    fn tag_len(&self) -> usize {
        self.cipher.as_ref().map_or(0, Cipher::tag_len)
    }

    /// If a whole packet is buffered, authenticates and decrypts it and returns the range of
    /// its payload within `self.payload_buf()`; the packet stays buffered until
    /// `consume_packet`. `Ok(None)` means more bytes are needed.
    pub fn next_packet(&mut self) -> Result<Option<(usize, usize)>, PacketError> {
        let avail = self.end - self.start;
        if avail < 4 {
            return Ok(None);
        }
        let s = self.start;
        let len = match self.length {
            Some(l) => l,
            None => match self.read_length()? {
                Some(l) => l,
                None => return Ok(None),
            },
        };
        // Checked before waiting for the body, and before any MAC or decryption work, so a
        // lying length is refused at once.
        if !(5..=MAX_PACKET as u32).contains(&len) {
            return Err(PacketError::BadLength);
        }
        let (block, length_outside) = match &self.cipher {
            Some(c) => (c.block() as u32, c.length_outside()),
            None => (8, false),
        };
        let padded = if length_outside { len } else { len + 4 };
        if padded % block != 0 {
            return Err(PacketError::BadLength);
        }
        self.length = Some(len);
        let tag_len = self.tag_len();
        let total = 4 + len as usize + tag_len;
        if avail < total {
            return Ok(None);
        }
        let body = s + 4 + len as usize;
        let mut tag = [0u8; MAX_TAG_LEN];
        tag[..tag_len].copy_from_slice(&self.buf[body..body + tag_len]);
        let packet = &mut self.buf[s..body];
        let opened = match &mut self.cipher {
            None => Ok(()),
            Some(Cipher::ChaChaPoly(c)) => {
                let mut t = [0u8; TAG_LEN];
                t.copy_from_slice(&tag[..TAG_LEN]);
                c.open(self.seq, packet, &t)
            }
            #[cfg(feature = "aes-ctr")]
            Some(Cipher::CtrHmac(c)) => c.open(self.seq, packet, &tag[..tag_len]),
            #[cfg(feature = "aes")]
            Some(Cipher::Gcm(c)) => {
                let mut t = [0u8; quoll_aead::GCM_TAG_LEN];
                t.copy_from_slice(&tag[..quoll_aead::GCM_TAG_LEN]);
                c.open(packet, &t)
            }
        };
        opened.map_err(|_| PacketError::BadMac)?;
        let pad = self.buf[s + 4] as usize;
        if pad < 4 || pad + 1 > len as usize {
            return Err(PacketError::BadLength);
        }
        let payload = (s + 5, body - pad);
        Ok(Some(payload))
    }

    /// The length field of the packet at `start`: decrypted (chacha20-poly1305; the first
    /// block with encrypt-and-MAC, once enough bytes are in) or in clear (no cipher, EtM,
    /// GCM). `Ok(None)`: more bytes are needed.
    fn read_length(&mut self) -> Result<Option<u32>, PacketError> {
        let s = self.start;
        let mut enc = [0u8; 4];
        enc.copy_from_slice(&self.buf[s..s + 4]);
        match &mut self.cipher {
            Some(Cipher::ChaChaPoly(c)) => Ok(Some(c.decrypt_length(self.seq, &enc))),
            #[cfg(feature = "aes-ctr")]
            Some(Cipher::CtrHmac(c)) if !c.etm() => {
                const B: usize = quoll_aead::AES_BLOCK;
                if self.end - s < B {
                    return Ok(None);
                }
                // The keystream moves on: the length is kept from here on, and a bad one
                // ends the connection.
                c.decrypt_first_block(&mut self.buf[s..s + B]);
                let len = u32::from_be_bytes([
                    self.buf[s],
                    self.buf[s + 1],
                    self.buf[s + 2],
                    self.buf[s + 3],
                ]);
                self.length = Some(len);
                Ok(Some(len))
            }
            _ => Ok(Some(u32::from_be_bytes(enc))),
        }
    }

    pub fn payload_buf(&self) -> &[u8] {
        &self.buf
    }

    /// Overwrites part of the buffer with zeros (a payload that held a password).
    /// The whole buffer, consumed bytes included.
    #[cfg(test)]
    pub fn all(&self) -> &[u8] {
        &self.buf
    }

    pub fn wipe(&mut self, range: core::ops::Range<usize>) {
        if let Some(b) = self.buf.get_mut(range) {
            zeroize::Zeroize::zeroize(b);
        }
    }

    /// Drops the packet that `next_packet` returned and advances the sequence number.
    pub fn consume_packet(&mut self) {
        if let Some(len) = self.length.take() {
            let total = 4 + len as usize + self.tag_len();
            self.start += total;
            self.seq = self.seq.wrapping_add(1);
            self.counters.bytes += total as u64;
            self.counters.packets += 1;
        }
    }
}

impl Default for Input {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg_attr(any(test, feature = "fuzzing"), derive(Clone))]
pub struct Output {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    pub seq: u32,
    cipher: Option<Cipher>,
    pub counters: Counters,
}

/// The most a packet adds around its payload: length, padding length, padding (at most two
/// AES blocks), MAC.
const OVERHEAD: usize = 4 + 1 + 32 + MAX_TAG_LEN;

impl Output {
    /// An output over `buf`.
    pub fn with_buffer(buf: Box<[u8]>) -> Self {
        Output {
            buf,
            start: 0,
            end: 0,
            seq: 0,
            cipher: None,
            counters: Counters::default(),
        }
    }

    /// An output with its own buffer of `size` bytes, allocated infallibly: for clients and
    /// tests, not for connections a peer opens.
    pub fn new(size: usize) -> Self {
        Self::with_buffer(vec![0u8; size].into_boxed_slice())
    }

    pub fn set_cipher(&mut self, cipher: Cipher) {
        self.cipher = Some(cipher);
    }

    /// Bytes waiting for the socket.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The whole buffer when nothing waits in it (`Conn::spare`); its contents may then change.
    pub fn spare(&mut self) -> Option<&mut [u8]> {
        self.is_empty().then_some(&mut self.buf[..])
    }

    pub fn sent(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Payload bytes a packet built now could hold (0: none, not even an empty one).
    pub fn room(&self) -> usize {
        (self.buf.len() - (self.end - self.start))
            .saturating_sub(OVERHEAD)
            .min(MAX_PAYLOAD)
    }

    /// Raw bytes before packets start (the version line).
    pub fn raw(&mut self, data: &[u8]) -> Result<(), WireError> {
        self.make_room(data.len())?;
        self.buf[self.end..self.end + data.len()].copy_from_slice(data);
        self.end += data.len();
        Ok(())
    }

    /// Moves the pending bytes to the front of the buffer.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    fn make_room(&mut self, n: usize) -> Result<(), WireError> {
        if self.buf.len() - self.end < n {
            self.compact();
        }
        if self.buf.len() - self.end < n {
            return Err(WireError::NoSpace);
        }
        Ok(())
    }

    /// Builds one packet: `fill` writes the payload; padding, length, sequence number and
    /// encryption are done here. On `Err` nothing is queued. A payload of up to `room()` bytes
    /// always fits. (Only the payload writing is generic: the framing is one copy, not one per
    /// message kind.)
    pub fn packet(
        &mut self,
        rand_pad: u8,
        fill: impl FnOnce(&mut Writer) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        let (p, limit) = self.begin_packet()?;
        let plen = {
            let mut w = Writer::new(&mut self.buf[p + 5..p + 5 + limit]);
            fill(&mut w)?;
            w.len()
        };
        self.finish_packet(p, plen, rand_pad);
        Ok(())
    }

    /// Where the next packet starts and how long its payload may be.
    #[inline(never)]
    fn begin_packet(&mut self) -> Result<(usize, usize), WireError> {
        // `room()` counts the free space before `start` too: when the tail cannot take the
        // largest packet, move the pending bytes to the front first, or a payload that
        // `room()` promised would not fit (a socket that took only part of the output leaves
        // such a gap).
        if self.buf.len() - self.end < MAX_PAYLOAD + OVERHEAD {
            self.compact();
        }
        self.make_room(OVERHEAD)?;
        let limit = (self.buf.len() - self.end).min(MAX_PAYLOAD + OVERHEAD) - OVERHEAD;
        Ok((self.end, limit))
    }

    /// Frames, pads and seals the payload of `plen` bytes written at `p + 5`.
    #[inline(never)]
    fn finish_packet(&mut self, p: usize, plen: usize, rand_pad: u8) {
        let (block, length_outside) = match &self.cipher {
            Some(c) => (c.block(), c.length_outside()),
            None => (8, false),
        };
        let unpadded = if length_outside { 1 + plen } else { 5 + plen };
        let mut pad = block - unpadded % block;
        if pad < 4 {
            pad += block;
        }
        // A little random extra padding hides exact lengths; at most two blocks in all, which
        // OVERHEAD (and so `room()`) allows for.
        if (rand_pad & 1) == 1 && pad <= block {
            pad += block;
        }
        let packet_len = 1 + plen + pad;
        self.buf[p..p + 4].copy_from_slice(&(packet_len as u32).to_be_bytes());
        self.buf[p + 4] = pad as u8;
        // Padding content need not be random: every cipher's keystream covers it.
        self.buf[p + 5 + plen..p + 5 + plen + pad].fill(0);
        let mut total = 4 + packet_len;
        if let Some(c) = &mut self.cipher {
            let (packet, after) = self.buf[p..].split_at_mut(total);
            let tag_len = c.tag_len();
            let tag = &mut after[..tag_len];
            match c {
                Cipher::ChaChaPoly(c) => tag.copy_from_slice(&c.seal(self.seq, packet)),
                #[cfg(feature = "aes-ctr")]
                Cipher::CtrHmac(c) => c.seal(self.seq, packet, tag),
                #[cfg(feature = "aes")]
                Cipher::Gcm(c) => tag.copy_from_slice(&c.seal(packet)),
            }
            total += tag_len;
        }
        self.end = p + total;
        self.seq = self.seq.wrapping_add(1);
        self.counters.bytes += total as u64;
        self.counters.packets += 1;
    }
}

#[cfg(test)]
mod tests;
