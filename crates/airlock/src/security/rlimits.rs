//! Resource limits set with `setrlimit`.

use crate::child::{AtStep, SetupError};
use crate::launch::channel::Step;
use crate::spec::{Rlimit, UNLIMITED};

/// Sets each limit on the calling process, which the payload inherits.
pub(crate) fn apply(rlimits: &[Rlimit]) -> Result<(), SetupError> {
    for limit in rlimits {
        let value = libc::rlimit {
            rlim_cur: to_rlim(limit.soft),
            rlim_max: to_rlim(limit.hard),
        };
        // SAFETY: setrlimit reads the struct, which lives for the call.
        if unsafe { libc::setrlimit(limit.resource.number(), &value) } == -1 {
            let error = std::io::Error::last_os_error();
            let hint = if error.raw_os_error() == Some(libc::EPERM) {
                ": raising a hard limit needs CAP_SYS_RESOURCE, which only root outside a user namespace has; stay at or below the current hard limit"
            } else {
                ""
            };
            return Err(error).at(Step::Rlimits, || format!("cannot set the rlimit {limit}{hint}"));
        }
    }
    Ok(())
}

fn to_rlim(value: u64) -> libc::rlim_t {
    if value == UNLIMITED {
        libc::RLIM_INFINITY
    } else {
        value as libc::rlim_t
    }
}
