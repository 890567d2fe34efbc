//! The payload's last walls: capabilities, no_new_privs, Landlock and seccomp.

mod capabilities;

use crate::child::{AtStep, SetupError};
use crate::launch::channel::Step;
use crate::spec::Spec;

/// Applies the payload's restrictions in order; seccomp comes last so its filter does not
/// apply to the setup's own system calls.
pub(crate) fn restrict(spec: &Spec) -> Result<(), SetupError> {
    capabilities::drop_all(spec)?;
    rustix::thread::set_no_new_privs(true).at(Step::NoNewPrivs, || "cannot set no_new_privs".into())?;
    Ok(())
}
