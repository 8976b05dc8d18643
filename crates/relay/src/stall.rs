//! Deadlines on a connection's progress. A peer that stops reading (a response, a blob, a push)
//! or goes silent between requests must not hold its slot, its buffers or the response it is
//! being sent for ever: a write that makes no progress for `write_stall`, or a read that waits
//! longer than `idle` (between requests; the push socket pings well within it), fails the
//! connection, which then closes and gives its slots back.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// A connection whose reads and writes must make progress in time.
#[derive(Debug)]
pub struct Deadlined<T> {
    inner: T,
    idle: Duration,
    write_stall: Duration,
    read_deadline: Option<Pin<Box<Sleep>>>,
    write_deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> Deadlined<T> {
    pub fn new(inner: T, idle: Duration, write_stall: Duration) -> Deadlined<T> {
        Deadlined {
            inner,
            idle,
            write_stall,
            read_deadline: None,
            write_deadline: None,
        }
    }
}

/// Polls `deadline` (armed to `after` when not yet): an error once it has passed.
fn expired(deadline: &mut Option<Pin<Box<Sleep>>>, after: Duration, cx: &mut Context<'_>) -> bool {
    let sleep = deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(after)));
    sleep.as_mut().poll(cx).is_ready()
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_string())
}

/// After the inner poll: progress disarms the deadline, waiting keeps it (or fails past it).
macro_rules! with_deadline {
    ($this:ident, $deadline:ident, $after:expr, $cx:ident, $what:literal, $poll:expr) => {{
        match $poll {
            Poll::Pending => {
                if expired(&mut $this.$deadline, $after, $cx) {
                    $this.$deadline = None;
                    Poll::Ready(Err(timed_out($what)))
                } else {
                    Poll::Pending
                }
            }
            ready => {
                $this.$deadline = None;
                ready
            }
        }
    }};
}

impl<T: AsyncRead + Unpin> AsyncRead for Deadlined<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let idle = this.idle;
        with_deadline!(
            this,
            read_deadline,
            idle,
            cx,
            "the peer was silent too long",
            Pin::new(&mut this.inner).poll_read(cx, buf)
        )
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Deadlined<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let stall = this.write_stall;
        with_deadline!(
            this,
            write_deadline,
            stall,
            cx,
            "the peer stopped reading",
            Pin::new(&mut this.inner).poll_write(cx, buf)
        )
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let stall = this.write_stall;
        with_deadline!(
            this,
            write_deadline,
            stall,
            cx,
            "the peer stopped reading",
            Pin::new(&mut this.inner).poll_flush(cx)
        )
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
