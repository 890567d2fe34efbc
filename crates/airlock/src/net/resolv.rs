//! The sandbox's `/etc/resolv.conf`: which resolvers it names, and the host's search domains
//! and options around them.

use std::net::IpAddr;

/// The contents of the host's `/etc/resolv.conf` that matter to a sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ResolvConf {
    pub nameservers: Vec<IpAddr>,
    /// `search`, `domain` and `options` lines, kept as written.
    pub other: Vec<String>,
}

impl ResolvConf {
    /// Reads the host's file; a missing or unreadable file names no resolver.
    pub(crate) fn host() -> ResolvConf {
        ResolvConf::parse(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
    }

    pub(crate) fn parse(text: &str) -> ResolvConf {
        let mut conf = ResolvConf::default();
        for line in text.lines().map(str::trim) {
            let mut words = line.split_whitespace();
            match words.next() {
                // A zone index (`fe80::1%eth0`) names a host interface, useless inside.
                Some("nameserver") => {
                    if let Some(address) = words.next().and_then(|word| word.split('%').next()?.parse().ok()) {
                        conf.nameservers.push(address);
                    }
                }
                Some("search" | "domain" | "options") => conf.other.push(line.to_string()),
                _ => {}
            }
        }
        conf
    }

    /// The file's text with `nameservers` in place of the host's.
    pub(crate) fn render(&self, nameservers: &[IpAddr]) -> String {
        let mut text = String::from("# written by airlock for this sandbox\n");
        for address in nameservers {
            text.push_str(&format!("nameserver {address}\n"));
        }
        for line in &self.other {
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        let conf = ResolvConf::parse("# comment\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nsearch example.org\noptions edns0 trust-ad\nbogus line\n");
        assert_eq!(conf.nameservers, vec!["127.0.0.53".parse::<IpAddr>().unwrap(), "fe80::1".parse().unwrap()]);
        assert_eq!(conf.other, vec!["search example.org", "options edns0 trust-ad"]);
        let text = conf.render(&["10.89.0.1".parse().unwrap()]);
        assert!(text.contains("nameserver 10.89.0.1\nsearch example.org\noptions edns0 trust-ad\n"), "{text}");
        assert!(!text.contains("127.0.0.53"));
    }
}
