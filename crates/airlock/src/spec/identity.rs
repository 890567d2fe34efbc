use super::SpecError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Who the payload runs as, and how ids inside the user namespace map to ids outside.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Identity {
    /// The payload's uid inside; by default the caller's uid as seen through the map.
    pub uid: Option<u32>,
    /// The payload's gid inside; by default the caller's gid as seen through the map.
    pub gid: Option<u32>,
    /// Ranges for the user namespace's `uid_map`; empty maps only the payload's uid to the caller's.
    pub uid_map: Vec<IdRange>,
    /// Ranges for the user namespace's `gid_map`; empty maps only the payload's gid to the caller's.
    pub gid_map: Vec<IdRange>,
}

/// One line of a `uid_map` or `gid_map`: `count` ids starting at `inside` map to ids starting
/// at `outside`. Written as `INSIDE:OUTSIDE:COUNT`, such as `0:100000:65536`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(extend("pattern" = "^[0-9]+:[0-9]+:[0-9]+$"), example = "0:100000:65536")]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl IdRange {
    pub fn single(inside: u32, outside: u32) -> IdRange {
        IdRange {
            inside,
            outside,
            count: 1,
        }
    }

    /// Maps an id from inside to outside, if this range covers it.
    pub fn to_outside(&self, inside: u32) -> Option<u32> {
        let offset = inside.checked_sub(self.inside)?;
        (offset < self.count).then(|| self.outside + offset)
    }

    /// Maps an id from outside to inside, if this range covers it.
    pub fn to_inside(&self, outside: u32) -> Option<u32> {
        let offset = outside.checked_sub(self.outside)?;
        (offset < self.count).then(|| self.inside + offset)
    }

    fn inside_end(&self) -> u64 {
        u64::from(self.inside) + u64::from(self.count)
    }

    fn outside_end(&self) -> u64 {
        u64::from(self.outside) + u64::from(self.count)
    }

    /// Whether both ranges share an id on either side, which the kernel rejects.
    pub fn overlaps(&self, other: &IdRange) -> bool {
        let inside = u64::from(self.inside) < other.inside_end()
            && u64::from(other.inside) < self.inside_end();
        let outside = u64::from(self.outside) < other.outside_end()
            && u64::from(other.outside) < self.outside_end();
        inside || outside
    }

    /// Whether `[outside, outside + count)` lies inside `[start, start + len)`.
    pub fn outside_within(&self, start: u32, len: u32) -> bool {
        u64::from(self.outside) >= u64::from(start)
            && self.outside_end() <= u64::from(start) + u64::from(len)
    }
}

impl FromStr for IdRange {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<IdRange, SpecError> {
        let bad = |why: &str| SpecError::invalid("id range", text, why);
        let parts: Vec<&str> = text.split(':').collect();
        let [inside, outside, count] = parts[..] else {
            return Err(bad("expected INSIDE:OUTSIDE:COUNT, for example 0:100000:65536"));
        };
        let number = |part: &str| {
            part.parse::<u32>()
                .map_err(|_| bad("each part must be a whole number from 0 to 4294967295"))
        };
        let range = IdRange {
            inside: number(inside)?,
            outside: number(outside)?,
            count: number(count)?,
        };
        if range.count == 0 {
            return Err(bad("the count must be at least 1"));
        }
        if range.inside_end() > u64::from(u32::MAX) || range.outside_end() > u64::from(u32::MAX) {
            return Err(bad("the range runs past the largest id, 4294967294"));
        }
        Ok(range)
    }
}

impl TryFrom<String> for IdRange {
    type Error = SpecError;
    fn try_from(text: String) -> Result<IdRange, SpecError> {
        text.parse()
    }
}

impl From<IdRange> for String {
    fn from(range: IdRange) -> String {
        range.to_string()
    }
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.inside, self.outside, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_range() {
        let range: IdRange = "0:100000:65536".parse().unwrap();
        assert_eq!(range, IdRange { inside: 0, outside: 100000, count: 65536 });
        assert_eq!(range.to_outside(10), Some(100010));
        assert_eq!(range.to_outside(65536), None);
        assert_eq!(range.to_inside(100000), Some(0));
    }

    #[test]
    fn rejects_bad_ranges() {
        for text in ["", "1:2", "1:2:3:4", "a:1:1", "0:0:0", "-1:0:1", "4294967295:0:2"] {
            assert!(text.parse::<IdRange>().is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn detects_overlap() {
        let a = IdRange { inside: 0, outside: 1000, count: 10 };
        let b = IdRange { inside: 10, outside: 2000, count: 10 };
        let c = IdRange { inside: 20, outside: 1005, count: 1 };
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&c));
        assert!(a.overlaps(&a));
    }
}
