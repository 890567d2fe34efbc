//! The supervisor's signal handling: the signals it forwards are blocked and read from a
//! signalfd in the wait loop, and SIGCHLD gets its default action back, because a caller
//! that ignored it would make the kernel reap the sandbox behind airlock's back.

use crate::init::FORWARDED;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// Blocked forwarded signals and the descriptor that reads them; the caller's mask comes back
/// on drop.
pub(crate) struct Forwarder {
    pub fd: SignalFd,
    previous_mask: SigSet,
}

impl Forwarder {
    pub(crate) fn install() -> std::io::Result<Forwarder> {
        let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        // SAFETY: restoring the default action runs no code of ours in signal context.
        unsafe { sigaction(Signal::SIGCHLD, &default) }?;

        let mut mask = SigSet::empty();
        for signal in FORWARDED {
            mask.add(signal);
        }
        let mut previous_mask = SigSet::empty();
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut previous_mask))?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(Forwarder { fd, previous_mask })
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.previous_mask), None);
    }
}
