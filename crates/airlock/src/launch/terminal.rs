//! Relaying the sandbox's pseudo-terminal to the caller's terminal.
//!
//! The caller's terminal goes into raw mode, so every key (Ctrl-C, Ctrl-Z included) reaches
//! the sandbox's terminal, whose line discipline turns it into signals for the payload.
//! The caller's settings come back when the relay ends, also on errors.

use rustix::termios::{self, OptionalActions, Termios};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

const CHUNK: usize = 16 * 1024;

pub(crate) struct Relay {
    master: OwnedFd,
    saved: Option<Termios>,
    /// Input read from the caller and not yet written to the sandbox's terminal.
    pending: Vec<u8>,
    stdin_open: bool,
    master_open: bool,
}

impl Relay {
    pub(crate) fn start(master: OwnedFd) -> io::Result<Relay> {
        rustix::fs::fcntl_setfl(&master, rustix::fs::OFlags::NONBLOCK)?;
        let stdin = rustix::stdio::stdin();
        let saved = if termios::isatty(stdin) {
            let saved = termios::tcgetattr(stdin)?;
            let mut raw = saved.clone();
            raw.make_raw();
            termios::tcsetattr(stdin, OptionalActions::Drain, &raw)?;
            Some(saved)
        } else {
            None
        };
        Ok(Relay {
            master,
            saved,
            pending: Vec::new(),
            stdin_open: true,
            master_open: true,
        })
    }

    pub(crate) fn master(&self) -> BorrowedFd<'_> {
        self.master.as_fd()
    }

    /// Whether to poll standard input: only while earlier input has been passed on.
    pub(crate) fn wants_input(&self) -> bool {
        self.stdin_open && self.pending.is_empty() && self.master_open
    }

    pub(crate) fn wants_to_write(&self) -> bool {
        !self.pending.is_empty() && self.master_open
    }

    /// Adds the descriptors the relay waits on to `fds`; returns the indexes of the master
    /// and of standard input, where they were added.
    pub(crate) fn poll_on<'a>(&'a self, fds: &mut Vec<rustix::event::PollFd<'a>>, stdin: BorrowedFd<'a>) -> (Option<usize>, Option<usize>) {
        use rustix::event::{PollFd, PollFlags};
        let (mut master_index, mut stdin_index) = (None, None);
        if self.master_open() {
            let mut flags = PollFlags::IN;
            if self.wants_to_write() {
                flags |= PollFlags::OUT;
            }
            fds.push(PollFd::from_borrowed_fd(self.master(), flags));
            master_index = Some(fds.len() - 1);
        }
        if self.wants_input() {
            fds.push(PollFd::from_borrowed_fd(stdin, PollFlags::IN));
            stdin_index = Some(fds.len() - 1);
        }
        (master_index, stdin_index)
    }

    pub(crate) fn master_open(&self) -> bool {
        self.master_open
    }

    /// Copies the caller's window size to the sandbox's terminal, which signals SIGWINCH
    /// to the payload's foreground process group.
    pub(crate) fn resize(&self) {
        if let Ok(size) = termios::tcgetwinsize(rustix::stdio::stdin()) {
            let _ = termios::tcsetwinsize(&self.master, size);
        }
    }

    pub(crate) fn read_input(&mut self) {
        let mut buffer = [0u8; CHUNK];
        match rustix::io::read(rustix::stdio::stdin(), &mut buffer) {
            Ok(0) => self.stdin_open = false,
            Ok(count) => self.pending.extend_from_slice(&buffer[..count]),
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
            Err(_) => self.stdin_open = false,
        }
    }

    pub(crate) fn write_input(&mut self) {
        match rustix::io::write(&self.master, &self.pending) {
            Ok(count) => {
                self.pending.drain(..count);
            }
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
            Err(_) => self.master_open = false,
        }
    }

    /// Copies what the payload wrote to the caller's standard output.
    pub(crate) fn copy_output(&mut self) {
        let mut buffer = [0u8; CHUNK];
        match rustix::io::read(&self.master, &mut buffer) {
            Ok(0) => self.master_open = false,
            Ok(count) => write_all_stdout(&buffer[..count]),
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
            // EIO: every process that had the terminal open has closed it.
            Err(_) => self.master_open = false,
        }
    }

    /// Copies whatever output is left once the payload has ended.
    pub(crate) fn drain(&mut self) {
        // Bounded: a terminal buffer holds a few pages at most.
        for _ in 0..1024 {
            if !self.master_open {
                break;
            }
            let mut buffer = [0u8; CHUNK];
            match rustix::io::read(&self.master, &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(count) => write_all_stdout(&buffer[..count]),
            }
        }
    }

    fn restore(&mut self) {
        if let Some(saved) = self.saved.take() {
            let _ = termios::tcsetattr(rustix::stdio::stdin(), OptionalActions::Drain, &saved);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.restore();
    }
}

fn write_all_stdout(mut bytes: &[u8]) {
    let stdout = rustix::stdio::stdout();
    while !bytes.is_empty() {
        match rustix::io::write(stdout, bytes) {
            Ok(count) => bytes = &bytes[count..],
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) => {
                let mut fds = [rustix::event::PollFd::new(&stdout, rustix::event::PollFlags::OUT)];
                let _ = rustix::event::poll(&mut fds, None);
            }
            Err(_) => return,
        }
    }
}
