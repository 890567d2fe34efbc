//! `airlock net`: bridge networks.

use crate::cli::{LsArgs, NetCommand, NetCreateArgs, NetInspectArgs, NetRmArgs};
use airlock::net::Networks;
use airlock::Error;

pub fn run(command: &NetCommand) -> Result<u8, Error> {
    match command {
        NetCommand::Create(args) => create(args),
        NetCommand::Ls(args) => ls(args),
        NetCommand::Inspect(args) => inspect(args),
        NetCommand::Rm(args) => rm(args),
    }
}

fn create(args: &NetCreateArgs) -> Result<u8, Error> {
    let networks = Networks::open()?;
    let network = networks.create(&args.name, args.subnet, args.ipv6, args.internal)?;
    println!("{}", network.name);
    Ok(0)
}

fn ls(args: &LsArgs) -> Result<u8, Error> {
    let networks = Networks::open()?;
    let list = networks.list()?;
    let mut rows = Vec::new();
    for network in &list {
        let sandboxes = networks.leases(&network.name)?.len();
        rows.push((network, sandboxes));
    }
    if args.json {
        let values: Vec<serde_json::Value> = rows
            .iter()
            .map(|(network, sandboxes)| {
                let mut value = serde_json::to_value(network).unwrap_or_default();
                value["sandboxes"] = (*sandboxes).into();
                value
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&values).unwrap_or_default());
        return Ok(0);
    }
    println!("{:<12}  {:<15}  {:<18}  {:<24}  {:<8}  SANDBOXES", "NAME", "BRIDGE", "SUBNET", "IPV6", "INTERNAL");
    for (network, sandboxes) in rows {
        let ipv6 = network.ipv6.map(|cidr| cidr.to_string()).unwrap_or_else(|| "-".into());
        let internal = if network.internal { "yes" } else { "no" };
        println!("{:<12}  {:<15}  {:<18}  {:<24}  {:<8}  {sandboxes}", network.name, network.bridge, network.subnet.to_string(), ipv6, internal);
    }
    Ok(0)
}

fn inspect(args: &NetInspectArgs) -> Result<u8, Error> {
    let networks = Networks::open()?;
    let network = networks.read(&args.name)?;
    let leases = networks.leases(&args.name)?;
    if args.json {
        let mut value = serde_json::to_value(&network).unwrap_or_default();
        value["gateways"] = serde_json::to_value(network.gateways()).unwrap_or_default();
        value["leases"] = serde_json::to_value(&leases).unwrap_or_default();
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(0);
    }
    println!("name:      {}", network.name);
    println!("bridge:    {}", network.bridge);
    println!("subnet:    {}", network.subnet);
    if let Some(ipv6) = network.ipv6 {
        println!("ipv6:      {ipv6}");
    }
    let gateways: Vec<String> = network.gateways().iter().map(ToString::to_string).collect();
    println!("gateways:  {}", gateways.join(", "));
    println!("internal:  {}", if network.internal { "yes: no NAT, no traffic out" } else { "no: NAT to the host's uplinks" });
    for lease in &leases {
        let addresses: Vec<String> = lease.addresses.iter().map(ToString::to_string).collect();
        println!("lease:     {} (supervisor pid {}, host link {})", addresses.join(", "), lease.owner.pid, lease.host_link);
    }
    Ok(0)
}

fn rm(args: &NetRmArgs) -> Result<u8, Error> {
    let networks = Networks::open()?;
    for name in &args.names {
        networks.remove(name)?;
    }
    Ok(0)
}
