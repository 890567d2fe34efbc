//! Networking: netlink for links, addresses and routes, and nf_tables rules.
