use super::units::{format_duration, format_size, parse_duration, parse_size};
use super::SpecError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Resource limits: cgroup limits, rlimits and a wall-clock timeout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Limits {
    /// Maximum memory in bytes; past it the kernel's OOM killer ends the payload.
    #[serde(with = "optional_size")]
    #[schemars(with = "optional_size::Size")]
    pub memory: Option<u64>,
    /// Maximum memory plus swap in bytes.
    #[serde(with = "optional_size")]
    #[schemars(with = "optional_size::Size")]
    pub memory_swap: Option<u64>,
    /// Maximum number of processes and threads.
    pub pids: Option<u64>,
    /// CPU time per wall-clock time, as a number of CPUs (`0.5` is half of one).
    pub cpus: Option<Cpus>,
    /// Relative CPU weight, 1 to 10000 (100 is the default of every cgroup).
    pub cpu_weight: Option<u64>,
    /// The CPUs the payload may run on, such as `0-1,3`.
    pub cpuset: Option<String>,
    /// Relative I/O weight, 1 to 10000.
    pub io_weight: Option<u64>,
    /// Resource limits set with `setrlimit`.
    pub rlimits: Vec<Rlimit>,
    /// Wall-clock time after which the payload gets SIGTERM.
    #[serde(with = "optional_duration")]
    #[schemars(with = "optional_duration::DurationText")]
    pub timeout: Option<Duration>,
    /// Time between that SIGTERM and SIGKILL for everything left; 10 s by default.
    #[serde(with = "optional_duration")]
    #[schemars(with = "optional_duration::DurationText")]
    pub kill_after: Option<Duration>,
    /// Where the sandbox's cgroup is created, relative to the root of each cgroup hierarchy;
    /// by default below airlock's own cgroup.
    pub cgroup_parent: Option<PathBuf>,
}

impl Limits {
    pub const DEFAULT_KILL_AFTER: Duration = Duration::from_secs(10);

    /// Keeps only the last rlimit given for each resource, so that a later profile or the
    /// command line replaces an earlier value instead of adding a second one.
    pub fn keep_last_rlimits(&mut self) {
        let mut seen = Vec::new();
        let mut kept: Vec<Rlimit> = Vec::new();
        for rlimit in self.rlimits.iter().rev() {
            if !seen.contains(&rlimit.resource) {
                seen.push(rlimit.resource);
                kept.push(*rlimit);
            }
        }
        kept.reverse();
        self.rlimits = kept;
    }

    /// Whether any limit needs a cgroup.
    pub fn needs_cgroup(&self) -> bool {
        self.memory.is_some()
            || self.memory_swap.is_some()
            || self.pids.is_some()
            || self.cpus.is_some()
            || self.cpu_weight.is_some()
            || self.cpuset.is_some()
            || self.io_weight.is_some()
    }

    pub(crate) fn validate(&self) -> Result<(), SpecError> {
        if self.memory == Some(0) {
            return Err(SpecError::invalid("memory limit", "0", "the limit must be more than 0"));
        }
        if let (Some(memory), Some(swap)) = (self.memory, self.memory_swap) {
            if swap < memory {
                return Err(SpecError::invalid(
                    "memory and swap limit",
                    format_size(swap),
                    format!("it counts memory too, so it must be at least --memory {}", format_size(memory)),
                ));
            }
        }
        if self.memory_swap.is_some() && self.memory.is_none() {
            return Err(SpecError::Conflict("--memory-swap needs --memory as well".into()));
        }
        if self.pids == Some(0) {
            return Err(SpecError::invalid("process limit", "0", "at least 1 process is needed to run anything"));
        }
        for (what, weight) in [("CPU weight", self.cpu_weight), ("I/O weight", self.io_weight)] {
            if let Some(weight) = weight {
                if !(1..=10000).contains(&weight) {
                    return Err(SpecError::invalid(what, weight, "use a number from 1 to 10000"));
                }
            }
        }
        if let Some(cpuset) = &self.cpuset {
            parse_cpu_list(cpuset).map_err(|why| SpecError::invalid("CPU list", cpuset, why))?;
        }
        if self.kill_after.is_some() && self.timeout.is_none() {
            return Err(SpecError::Conflict("--kill-after needs --timeout".into()));
        }
        for rlimit in &self.rlimits {
            if rlimit.soft > rlimit.hard {
                return Err(SpecError::invalid("rlimit", rlimit, "the soft limit must not exceed the hard limit"));
            }
        }
        Ok(())
    }
}

/// A number of CPUs, kept in thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "f64", into = "f64")]
#[schemars(extend("minimum" = 0.01, "maximum" = 100_000), example = 0.5, example = 2)]
pub struct Cpus {
    thousandths: u32,
}

impl Cpus {
    /// The cgroup quota for `period_us` microseconds of wall time.
    pub fn quota_us(self, period_us: u64) -> u64 {
        period_us * u64::from(self.thousandths) / 1000
    }
}

impl TryFrom<f64> for Cpus {
    type Error = String;
    fn try_from(value: f64) -> Result<Cpus, String> {
        if !value.is_finite() || !(0.01..=100_000.0).contains(&value) {
            return Err(format!("invalid number of CPUs {value}: use a number such as 0.5 or 2, at least 0.01"));
        }
        Ok(Cpus {
            thousandths: (value * 1000.0).round() as u32,
        })
    }
}

impl From<Cpus> for f64 {
    fn from(cpus: Cpus) -> f64 {
        f64::from(cpus.thousandths) / 1000.0
    }
}

impl FromStr for Cpus {
    type Err = String;
    fn from_str(text: &str) -> Result<Cpus, String> {
        let value: f64 = text.parse().map_err(|_| format!("invalid number of CPUs {text:?}: use a number such as 0.5 or 2"))?;
        Cpus::try_from(value)
    }
}

impl fmt::Display for Cpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", f64::from(*self))
    }
}

/// Checks a CPU list such as `0-3,6`.
pub fn parse_cpu_list(text: &str) -> Result<Vec<u32>, String> {
    let mut cpus = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let (low, high) = match part.split_once('-') {
            Some((low, high)) => (low, high),
            None => (part, part),
        };
        let low: u32 = low.parse().map_err(|_| format!("{part:?} is not a CPU number or range"))?;
        let high: u32 = high.parse().map_err(|_| format!("{part:?} is not a CPU number or range"))?;
        if low > high || high > 8191 {
            return Err(format!("{part:?} is not a valid range"));
        }
        cpus.extend(low..=high);
    }
    Ok(cpus)
}

/// A resource limit set with `setrlimit`, written `NAME=SOFT[:HARD]`. `NAME` is the resource
/// without `RLIMIT_`, such as `nofile`. Each value is a whole number, `unlimited`, or for
/// limits that count bytes a size such as `64M`. Without `HARD`, the hard limit is the soft one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(
    extend("pattern" = "^[^=]+=[^:]+(:[^:]+)?$"),
    example = "nofile=1024:4096",
    example = "as=64M:unlimited"
)]
pub struct Rlimit {
    pub resource: RlimitResource,
    pub soft: u64,
    pub hard: u64,
}

/// `RLIM_INFINITY`.
pub const UNLIMITED: u64 = u64::MAX;

macro_rules! rlimit_resources {
    ($($variant:ident $name:literal $constant:ident $bytes:literal,)*) => {
        /// A resource `setrlimit` limits, by its name without `RLIMIT_`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum RlimitResource {
            $($variant,)*
        }

        impl RlimitResource {
            pub const ALL: &'static [RlimitResource] = &[$(RlimitResource::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(RlimitResource::$variant => $name,)*
                }
            }

            /// The `RLIMIT_*` number.
            pub fn number(self) -> libc::__rlimit_resource_t {
                match self {
                    $(RlimitResource::$variant => libc::$constant,)*
                }
            }

            /// Whether the limit counts bytes, so sizes like `64M` make sense.
            pub fn counts_bytes(self) -> bool {
                match self {
                    $(RlimitResource::$variant => $bytes,)*
                }
            }
        }
    };
}

rlimit_resources! {
    As "as" RLIMIT_AS true,
    Core "core" RLIMIT_CORE true,
    Cpu "cpu" RLIMIT_CPU false,
    Data "data" RLIMIT_DATA true,
    Fsize "fsize" RLIMIT_FSIZE true,
    Locks "locks" RLIMIT_LOCKS false,
    Memlock "memlock" RLIMIT_MEMLOCK true,
    Msgqueue "msgqueue" RLIMIT_MSGQUEUE true,
    Nice "nice" RLIMIT_NICE false,
    Nofile "nofile" RLIMIT_NOFILE false,
    Nproc "nproc" RLIMIT_NPROC false,
    Rss "rss" RLIMIT_RSS true,
    Rtprio "rtprio" RLIMIT_RTPRIO false,
    Rttime "rttime" RLIMIT_RTTIME false,
    Sigpending "sigpending" RLIMIT_SIGPENDING false,
    Stack "stack" RLIMIT_STACK true,
}

impl FromStr for Rlimit {
    type Err = SpecError;

    /// Parses `NAME=SOFT[:HARD]`; values are numbers, `unlimited`, or for byte limits sizes
    /// such as `64M`. Without a hard limit, the hard limit is the soft one.
    fn from_str(text: &str) -> Result<Rlimit, SpecError> {
        let bad = |why: String| SpecError::invalid("rlimit", text, why);
        let (name, values) = text.split_once('=').ok_or_else(|| bad("expected NAME=SOFT[:HARD], such as nofile=1024:4096".into()))?;
        let name = name.trim().to_ascii_lowercase();
        let name = name.strip_prefix("rlimit_").unwrap_or(&name);
        let resource = RlimitResource::ALL.iter().copied().find(|r| r.name() == name).ok_or_else(|| {
            let closest = RlimitResource::ALL
                .iter()
                .min_by_key(|r| super::security::edit_distance(r.name(), name))
                .map(|r| r.name())
                .unwrap_or("nofile");
            bad(format!("no such resource; did you mean {closest}?"))
        })?;
        let value = |part: &str| -> Result<u64, SpecError> {
            let part = part.trim();
            if part == "unlimited" || part == "infinity" {
                return Ok(UNLIMITED);
            }
            if resource.counts_bytes() {
                parse_size(part).map_err(bad)
            } else {
                part.parse().map_err(|_| bad(format!("{part:?} is not a whole number or \"unlimited\"")))
            }
        };
        let (soft, hard) = match values.split_once(':') {
            Some((soft, hard)) => (value(soft)?, value(hard)?),
            None => {
                let both = value(values)?;
                (both, both)
            }
        };
        Ok(Rlimit { resource, soft, hard })
    }
}

impl fmt::Display for Rlimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |value: u64| if value == UNLIMITED { "unlimited".to_string() } else { value.to_string() };
        write!(f, "{}={}:{}", self.resource.name(), show(self.soft), show(self.hard))
    }
}

impl TryFrom<String> for Rlimit {
    type Error = SpecError;
    fn try_from(text: String) -> Result<Rlimit, SpecError> {
        text.parse()
    }
}

impl From<Rlimit> for String {
    fn from(rlimit: Rlimit) -> String {
        rlimit.to_string()
    }
}

/// Sizes in profiles and reports: `64M` as well as a plain number of bytes.
mod optional_size {
    use super::super::units::SIZE_PATTERN;
    use super::{format_size, parse_size};
    use schemars::JsonSchema;
    use serde::{Deserialize, Deserializer, Serializer};

    /// A size: a number of bytes, or a string with a whole number and an optional suffix K,
    /// M, G or T (powers of 1024).
    #[derive(Deserialize, JsonSchema)]
    #[serde(untagged)]
    pub(super) enum Size {
        Bytes(u64),
        #[schemars(extend("pattern" = SIZE_PATTERN), example = "64M", example = "2G")]
        Text(String),
    }

    pub fn serialize<S: Serializer>(value: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => serializer.serialize_str(&format_size(*bytes)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
        match Option::<Size>::deserialize(deserializer)? {
            None => Ok(None),
            Some(Size::Bytes(bytes)) => Ok(Some(bytes)),
            Some(Size::Text(text)) => parse_size(&text).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

/// Durations in profiles and reports, as `30s` or `5m`.
mod optional_duration {
    use super::super::units::DURATION_PATTERN;
    use super::{format_duration, parse_duration};
    use schemars::JsonSchema;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// A duration: a string with a number and a unit, ms, s, m or h, such as `30s` or `1.5m`.
    /// A number without a unit means seconds, but it must still be a string.
    #[derive(Deserialize, JsonSchema)]
    #[serde(transparent)]
    #[schemars(rename = "Duration", extend("pattern" = DURATION_PATTERN), example = "30s", example = "500ms")]
    pub(super) struct DurationText(String);

    pub fn serialize<S: Serializer>(value: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => serializer.serialize_str(&format_duration(*duration)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        match Option::<DurationText>::deserialize(deserializer)? {
            None => Ok(None),
            Some(DurationText(text)) => parse_duration(&text).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlimits_parse() {
        let limit: Rlimit = "nofile=16".parse().unwrap();
        assert_eq!((limit.resource, limit.soft, limit.hard), (RlimitResource::Nofile, 16, 16));
        let limit: Rlimit = "as=64M:unlimited".parse().unwrap();
        assert_eq!((limit.soft, limit.hard), (64 << 20, UNLIMITED));
        let limit: Rlimit = "RLIMIT_CPU=1:2".parse().unwrap();
        assert_eq!(limit.resource, RlimitResource::Cpu);
    }

    #[test]
    fn bad_rlimits_rejected() {
        let error = "nofiles=16".parse::<Rlimit>().unwrap_err().to_string();
        assert!(error.contains("did you mean nofile?"), "{error}");
        for text in ["nofile", "nofile=abc", "nofile=-1", "cpu=1M"] {
            assert!(text.parse::<Rlimit>().is_err(), "{text} was accepted");
        }
        let limits = Limits { rlimits: vec!["nofile=10:5".parse().unwrap()], ..Limits::default() };
        assert!(limits.validate().is_err());
    }

    #[test]
    fn cpus_in_thousandths() {
        let cpus: Cpus = "0.5".parse().unwrap();
        assert_eq!(cpus.quota_us(100_000), 50_000);
        assert!("0".parse::<Cpus>().is_err());
        assert!("-1".parse::<Cpus>().is_err());
        assert!("x".parse::<Cpus>().is_err());
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("a").is_err());
    }

    #[test]
    fn limits_checked_together() {
        let limits = Limits { memory: Some(64 << 20), memory_swap: Some(32 << 20), ..Limits::default() };
        assert!(limits.validate().is_err());
        let limits = Limits { cpu_weight: Some(0), ..Limits::default() };
        assert!(limits.validate().is_err());
        let limits = Limits { pids: Some(0), ..Limits::default() };
        assert!(limits.validate().is_err());
    }
}
