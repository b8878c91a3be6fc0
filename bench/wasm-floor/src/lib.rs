//! Raw exports over tikcast-core (see Cargo.toml). The host writes a frame into the buffer
//! from `buf(len)` and calls `run()`, which returns a digest of everything written, so
//! nothing the sink receives can be optimised away.

use std::cell::RefCell;

thread_local! { static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) }; }

/// A buffer of `len` bytes the host fills before the next call.
#[no_mangle]
pub extern "C" fn buf(len: usize) -> *mut u8 {
    BUF.with(|b| {
        let mut b = b.borrow_mut();
        b.resize(len, 0);
        b.as_mut_ptr()
    })
}

/// Folds every value into one number: the cheapest sink that still uses all of them.
#[derive(Default)]
#[allow(dead_code)]
struct Digest {
    h: u64,
    n: usize,
}

#[allow(dead_code)]
impl Digest {
    fn mix(&mut self, v: u64) {
        self.h = (self.h ^ v).wrapping_mul(0x100_0000_01b3);
        self.n += 1;
    }
    /// A slice by where it is and how long, as the browser's tape records it (the bytes
    /// themselves are read later, by JS); hashing every byte would cost more than that.
    fn bytes(&mut self, b: &[u8]) {
        self.mix(b.as_ptr() as u64);
        self.mix(b.len() as u64);
    }
}

#[cfg(not(feature = "inflate-only"))]
impl tikcast_core::reader::Sink for Digest {
    fn begin_object(&mut self) {
        self.mix(1)
    }
    fn end_object(&mut self) {
        self.mix(2)
    }
    fn begin_array(&mut self) {
        self.mix(3)
    }
    fn end_array(&mut self) {
        self.mix(4)
    }
    fn key(&mut self, key: &'static str) {
        self.bytes(key.as_bytes())
    }
    fn key_str(&mut self, key: &str) {
        self.bytes(key.as_bytes())
    }
    fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes())
    }
    fn id(&mut self, v: u64) {
        self.mix(v)
    }
    fn int(&mut self, v: i64) {
        self.mix(v as u64)
    }
    fn uint(&mut self, v: u64) {
        self.mix(v)
    }
    fn bool(&mut self, v: bool) {
        self.mix(v as u64)
    }
    fn null(&mut self) {
        self.mix(5)
    }
    fn base64(&mut self, v: &[u8]) {
        self.bytes(v)
    }
    fn size(&self) -> usize {
        self.n
    }
    fn truncate(&mut self, mark: usize) {
        self.n = mark
    }
}

/// Inflates the buffer (one or more gzip members); returns the inflated length.
#[cfg(feature = "inflate-only")]
#[no_mangle]
pub extern "C" fn run() -> u64 {
    BUF.with(|b| {
        tikcast_core::gzip::gunzip(&b.borrow(), 8 << 20).map_or(0, |v| v.len() as u64)
    })
}

/// Decodes the buffer as a push frame and writes every event into the digest.
#[cfg(all(not(feature = "inflate-only"), not(feature = "session")))]
#[no_mangle]
pub extern "C" fn run() -> u64 {
    let opts = tikcast_core::DecodeOptions::default();
    let mut d = Digest::default();
    BUF.with(|b| {
        let _ = tikcast_core::write_frame(&b.borrow(), &opts, |_, _| true, &mut d);
    });
    d.h
}

#[cfg(all(not(feature = "inflate-only"), feature = "session"))]
thread_local! {
    static SESSION: RefCell<Option<(tikcast_core::session::Session, tikcast_core::ConnId)>> =
        const { RefCell::new(None) };
}

/// Feeds the buffer to a session (frames mode: dedup, gift streaks, like windows) and
/// writes the events it releases into the digest.
#[cfg(all(not(feature = "inflate-only"), feature = "session"))]
#[no_mangle]
pub extern "C" fn run() -> u64 {
    use tikcast_core::session::{Mode, Output, Session, SessionConfig};
    let mut d = Digest::default();
    SESSION.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_none() {
            let mut session = Session::new(SessionConfig {
                mode: Mode::Direct,
                room_id: 1,
                ..Default::default()
            });
            if let Some(conn) = session.start_open(0) {
                *s = Some((session, conn));
            }
        }
        let Some((session, conn)) = s.as_mut() else {
            return;
        };
        BUF.with(|b| session.on_frame(0, *conn, &b.borrow()));
        while let Some(o) = session.poll_output() {
            if let Output::Events(e) = o {
                let _ = e.write(&mut d);
            }
        }
    });
    d.h
}
