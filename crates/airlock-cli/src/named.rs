//! The commands for named sandboxes: create, exec, ls, ps, inspect, stop, rm, logs, gc.

use crate::cli;
use airlock::named::{self, ExecOptions, Record, StateDir, Status};
use airlock::Error;
use std::io::{Read, Seek, Write};

pub fn create(args: &cli::CreateArgs, matches: &clap::ArgMatches) -> Result<u8, Error> {
    let spec = args.spec.to_spec(&args.command, matches)?;
    let state = StateDir::open()?;
    let record = named::create(&state, &args.name, &spec)?;
    println!("{}", record.name);
    Ok(0)
}

pub fn exec(args: &cli::ExecArgs) -> Result<u8, Error> {
    let state = StateDir::open()?;
    let options = ExecOptions {
        command: args.command.clone(),
        env: args.env.clone(),
        uid: args.uid,
        chdir: args.chdir.clone(),
        tty: args.tty,
        only: args.ns.clone(),
    };
    let status = named::exec(&state, &args.name, &options)?;
    Ok(status.code().clamp(0, 255) as u8)
}

pub fn ls(args: &cli::LsArgs) -> Result<u8, Error> {
    let state = StateDir::open()?;
    let records: Vec<Record> = state.names()?.iter().filter_map(|name| state.read(name).ok()).collect();
    if args.json {
        let list: Vec<serde_json::Value> = records.iter().map(summary).collect();
        println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
        return Ok(0);
    }
    println!("{:<20} {:<26} {:<10} {:<18} COMMAND", "NAME", "STATE", "UPTIME", "ADDRESSES");
    for record in &records {
        let uptime = record.uptime().map(format_uptime).unwrap_or_else(|| "-".into());
        let addresses = if record.addresses.is_empty() { "-".to_string() } else { record.addresses.join(",") };
        println!(
            "{:<20} {:<26} {:<10} {:<18} {}",
            record.name,
            record.status().to_string(),
            uptime,
            addresses,
            record.spec.process.command.join(" ")
        );
    }
    Ok(0)
}

/// The fields `ls --json` shows for one sandbox.
fn summary(record: &Record) -> serde_json::Value {
    let status = record.status();
    let mut value = serde_json::json!({
        "name": record.name,
        "state": match status {
            Status::Starting => "starting",
            Status::Running => "running",
            Status::Exited { .. } => "exited",
            Status::Died => "died",
        },
        "command": record.spec.process.command,
        "uptime-seconds": record.uptime(),
        "addresses": record.addresses,
        "created": record.created,
    });
    if let Some(exit) = &record.exit {
        value["exit-code"] = serde_json::json!(exit.status.code());
    }
    value
}

fn format_uptime(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s => format!("{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

pub fn ps(args: &cli::PsArgs) -> Result<u8, Error> {
    let state = StateDir::open()?;
    let record = state.read(&args.name)?;
    record.verify_running()?;
    let Some(&pid_namespace) = record.namespaces.get("pid") else {
        return Err(named::NamedError::NotRunning(args.name.clone()).into());
    };
    let processes = named::processes(pid_namespace);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&processes).unwrap_or_default());
        return Ok(0);
    }
    println!("{:>7} {:>9} {:>7}  COMMAND", "PID", "HOST-PID", "PPID");
    if args.tree {
        let roots: Vec<&named::SandboxProcess> = processes.iter().filter(|p| !processes.iter().any(|q| q.pid == p.parent)).collect();
        for root in roots {
            print_tree(&processes, root, 0);
        }
    } else {
        for process in &processes {
            println!("{:>7} {:>9} {:>7}  {}", process.pid, process.host_pid, process.parent, process.command);
        }
    }
    Ok(0)
}

fn print_tree(all: &[named::SandboxProcess], process: &named::SandboxProcess, depth: usize) {
    let indent = if depth == 0 { String::new() } else { format!("{}└─ ", "   ".repeat(depth - 1)) };
    println!("{:>7} {:>9} {:>7}  {indent}{}", process.pid, process.host_pid, process.parent, process.command);
    // Bounded by the number of processes: a PID has one parent, so no cycle.
    for child in all.iter().filter(|p| p.parent == process.pid && p.pid != process.pid) {
        if depth < all.len() {
            print_tree(all, child, depth + 1);
        }
    }
}

pub fn inspect(args: &cli::InspectArgs) -> Result<u8, Error> {
    let state = StateDir::open()?;
    let record = state.read(&args.name)?;
    let status = record.status();
    let usage = named::usage(&record);
    if args.json {
        // One flat object: the record's fields, then what is known only now.
        let mut value = serde_json::to_value(&record).unwrap_or_default();
        if let (Some(object), Ok(serde_json::Value::Object(status))) = (value.as_object_mut(), serde_json::to_value(status)) {
            object.extend(status);
            object.insert("usage".into(), serde_json::to_value(usage).unwrap_or_default());
            object.insert("state-dir".into(), serde_json::to_value(state.slot(&args.name)).unwrap_or_default());
        }
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(0);
    }
    println!("name:        {}", record.name);
    println!("state:       {status}");
    println!("command:     {}", record.spec.process.command.join(" "));
    if let Some(supervisor) = &record.supervisor {
        println!("supervisor:  pid {}", supervisor.pid);
    }
    if let Some(init) = &record.init {
        println!("init:        pid {} on the host", init.pid);
    }
    for (kind, id) in &record.namespaces {
        println!("namespace:   {kind} {id}");
    }
    for cgroup in &record.cgroups {
        println!("cgroup:      {}", cgroup.display());
    }
    if !record.addresses.is_empty() {
        println!("addresses:   {}", record.addresses.join(", "));
    }
    if let Some(applied) = &record.applied {
        println!("seccomp:     {}", applied.seccomp);
        println!("landlock:    {}", applied.landlock);
        let caps = if applied.capabilities.is_empty() { "none".to_string() } else { applied.capabilities.join(", ") };
        println!("capabilities: {caps}");
    }
    let show = |value: Option<u64>| value.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    println!("memory:      {} bytes (peak {})", show(usage.memory_bytes), show(usage.memory_peak_bytes));
    println!("cpu:         {} µs", show(usage.cpu_usec));
    println!("processes:   {}", show(usage.processes));
    if let Some(exit) = &record.exit {
        println!("exit:        {}", exit.status);
        if let Some(limit) = &exit.limit {
            println!("limit:       {limit}");
        }
    }
    Ok(0)
}

pub fn stop(args: &cli::StopArgs) -> Result<u8, Error> {
    let state = StateDir::open()?;
    let record = named::stop(&state, &args.name, args.signal, args.timeout)?;
    if let Some(exit) = &record.exit {
        println!("{}: {}", record.name, exit.status);
    }
    Ok(0)
}

pub fn rm(args: &cli::RmArgs) -> Result<u8, Error> {
    let state = StateDir::open()?;
    for name in &args.names {
        named::remove(&state, name, args.force)?;
    }
    Ok(0)
}

pub fn gc() -> Result<u8, Error> {
    let state = StateDir::open()?;
    for name in named::collect_garbage(&state)? {
        println!("removed {name}: its supervisor was killed");
    }
    let leases = airlock::net::collect_garbage()?;
    if leases > 0 {
        println!("reclaimed {leases} network lease(s) of sandboxes whose supervisor was killed");
    }
    let cgroups = airlock::cgroup::collect_all_garbage();
    if cgroups > 0 {
        println!("removed {cgroups} cgroup(s) of sandboxes whose supervisor was killed");
    }
    Ok(0)
}

pub fn logs(args: &cli::LogsArgs) -> Result<u8, Error> {
    let state = StateDir::open()?;
    let path = named::log_path(&state, &args.name)?;
    let mut file = std::fs::File::open(&path).map_err(|error| Error::io(format!("cannot open the log {}", path.display()), error))?;
    let mut stdout = std::io::stdout().lock();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let count = file.read(&mut buffer).map_err(|error| Error::io("cannot read the log", error))?;
        if count > 0 {
            let _ = stdout.write_all(&buffer[..count]);
            continue;
        }
        if !args.follow {
            break;
        }
        let _ = stdout.flush();
        let record = state.read(&args.name)?;
        if !matches!(record.status(), Status::Running | Status::Starting) {
            // Whatever the payload wrote last is in the file by now; read it, then stop.
            let position = file.stream_position().unwrap_or(0);
            let _ = file.seek(std::io::SeekFrom::Start(position));
            let count = file.read(&mut buffer).unwrap_or(0);
            let _ = stdout.write_all(&buffer[..count]);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(0)
}
