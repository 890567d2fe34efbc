//! A small compiler from a seccomp [`Policy`] to classic BPF.
//!
//! The program checks the architecture (any other, such as the i386 ABI reached through
//! `int 0x80`, gets the foreign-architecture action), refuses the x32 ABI (numbers with bit
//! 30 set), answers numbers above the highest known call with the unknown action, then finds
//! the system call's rules by binary search over the numbers that have any:
//!
//! ```text
//!     ld  arch ; jeq AUDIT_ARCH_X86_64 ? +1 : ret FOREIGN
//!     ld  nr   ; jge X32_BIT ? ret X32 : ; jgt MAX ? ret UNKNOWN :
//!     jge nr_mid ? ja upper : lower          (repeated down to a few numbers)
//! lower:
//!     jeq nr1 ? : skip1 ; <rules of nr1> ; ret DEFAULT
//! skip1:
//!     ...                ; ret DEFAULT
//! ```
//!
//! The search keeps every call's path short, which matters twice: each system call the
//! payload makes runs the filter, and the kernel runs it once per system-call number when
//! the filter is installed, to find the calls it can allow without running it again.
//!
//! A rule is a list of argument conditions (all must hold) and an action; the first rule
//! whose conditions hold decides. Arguments are 64 bits wide and compared as two 32-bit
//! words, except conditions marked `low_32`, which compare the low word only (as the kernel
//! itself does for `ioctl` requests, so `TIOCSTI | 1 << 32` is still `TIOCSTI`).

use std::collections::BTreeMap;

/// What the filter does with a system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Allow,
    Errno(u16),
    KillThread,
    KillProcess,
    Trap,
    Log,
    Trace(u16),
}

impl Action {
    fn value(self) -> u32 {
        match self {
            Action::Allow => 0x7fff_0000,
            Action::Errno(errno) => 0x0005_0000 | u32::from(errno),
            Action::KillThread => 0x0000_0000,
            Action::KillProcess => 0x8000_0000,
            Action::Trap => 0x0003_0000,
            Action::Log => 0x7ffc_0000,
            Action::Trace(data) => 0x7ff0_0000 | u32::from(data),
        }
    }
}

/// How an argument is compared with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    /// `(argument & mask) == value`.
    MaskedEqual { mask: u64 },
}

/// One condition on one system-call argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Condition {
    pub index: u8,
    pub compare: Compare,
    pub value: u64,
    /// Compare the low 32 bits only.
    pub low_32: bool,
}

/// Conditions that must all hold, and the action when they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub conditions: Vec<Condition>,
    pub action: Action,
}

/// A complete filter, before compilation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    /// For a known call without a matching rule.
    pub default: Action,
    /// For a call numbered above the highest known one.
    pub unknown: Action,
    /// For a call made through another architecture's ABI (i386).
    pub foreign: Action,
    /// For a call of the x32 ABI.
    pub x32: Action,
    /// The highest system-call number the policy knows.
    pub max_known: u32,
    /// Rules by system-call number, in the order they are tried.
    pub rules: BTreeMap<u32, Vec<Rule>>,
}

/// `struct sock_filter`.
pub(crate) type Instruction = libc::sock_filter;

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
const BPF_AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_JGT_K: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const BPF_JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const BPF_JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;

/// A search over this many numbers or fewer tests them one by one.
const LINEAR_SEARCH: usize = 4;

/// Offsets in `struct seccomp_data`.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const OFFSET_ARGS: u32 = 16;

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// The kernel's limit on a filter's length.
const MAX_INSTRUCTIONS: usize = 4096;

/// A jump target: the next instruction or a label placed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Next,
    Label(usize),
}

/// An instruction whose jump targets are still symbolic.
enum Pending {
    Statement { code: u16, k: u32 },
    Jump { code: u16, k: u32, if_true: Target, if_false: Target },
    /// An unconditional jump, whose offset may be far.
    Always(usize),
    Label(usize),
}

/// Collects instructions with forward labels and resolves them into offsets.
#[derive(Default)]
struct Assembler {
    code: Vec<Pending>,
    labels: usize,
}

impl Assembler {
    fn label(&mut self) -> usize {
        self.labels += 1;
        self.labels - 1
    }

    fn place(&mut self, label: usize) {
        self.code.push(Pending::Label(label));
    }

    fn load(&mut self, offset: u32) {
        self.code.push(Pending::Statement { code: BPF_LD_W_ABS, k: offset });
    }

    fn and(&mut self, mask: u32) {
        self.code.push(Pending::Statement { code: BPF_AND_K, k: mask });
    }

    fn ret(&mut self, action: Action) {
        self.code.push(Pending::Statement { code: BPF_RET_K, k: action.value() });
    }

    fn jump(&mut self, code: u16, k: u32, if_true: Target, if_false: Target) {
        self.code.push(Pending::Jump { code, k, if_true, if_false });
    }

    fn always(&mut self, label: usize) {
        self.code.push(Pending::Always(label));
    }

    fn finish(self) -> Result<Vec<Instruction>, String> {
        let mut positions = vec![usize::MAX; self.labels];
        let mut index = 0;
        for item in &self.code {
            match item {
                Pending::Label(label) => positions[*label] = index,
                _ => index += 1,
            }
        }
        let mut program = Vec::with_capacity(index);
        for item in &self.code {
            let here = program.len();
            let offset = |target: Target| -> Result<u8, String> {
                match target {
                    Target::Next => Ok(0),
                    Target::Label(label) => {
                        let distance = positions[label]
                            .checked_sub(here + 1)
                            .ok_or("a seccomp jump goes backwards")?;
                        u8::try_from(distance).map_err(|_| "a seccomp rule is too long to jump over".to_string())
                    }
                }
            };
            match item {
                Pending::Label(_) => {}
                Pending::Always(label) => {
                    let distance = positions[*label].checked_sub(here + 1).ok_or("a seccomp jump goes backwards")?;
                    program.push(Instruction { code: BPF_JA, jt: 0, jf: 0, k: distance as u32 });
                }
                Pending::Statement { code, k } => program.push(Instruction { code: *code, jt: 0, jf: 0, k: *k }),
                Pending::Jump { code, k, if_true, if_false } => program.push(Instruction {
                    code: *code,
                    jt: offset(*if_true)?,
                    jf: offset(*if_false)?,
                    k: *k,
                }),
            }
        }
        if program.len() > MAX_INSTRUCTIONS {
            return Err(format!("the filter has {} instructions; the kernel accepts at most {MAX_INSTRUCTIONS}", program.len()));
        }
        Ok(program)
    }
}

/// Compiles a policy for x86-64.
pub(crate) fn compile(policy: &Policy) -> Result<Vec<Instruction>, String> {
    let mut asm = Assembler::default();

    let native = asm.label();
    asm.load(OFFSET_ARCH);
    asm.jump(BPF_JEQ_K, AUDIT_ARCH_X86_64, Target::Label(native), Target::Next);
    asm.ret(policy.foreign);
    asm.place(native);

    let not_x32 = asm.label();
    asm.load(OFFSET_NR);
    asm.jump(BPF_JGE_K, X32_SYSCALL_BIT, Target::Next, Target::Label(not_x32));
    asm.ret(policy.x32);
    asm.place(not_x32);
    let known = asm.label();
    asm.jump(BPF_JGT_K, policy.max_known, Target::Next, Target::Label(known));
    asm.ret(policy.unknown);
    asm.place(known);

    let entries = merge_ranges(&policy.rules);
    emit_search(&mut asm, &entries, policy.default);
    asm.finish()
}

/// System-call numbers `low..=high` that share one list of rules.
struct Entry<'a> {
    low: u32,
    high: u32,
    rules: &'a [Rule],
}

/// Groups consecutive numbers whose only rule is the same unconditional action (the deny
/// list has long runs, such as the mount calls), so the search has fewer entries.
fn merge_ranges(rules: &BTreeMap<u32, Vec<Rule>>) -> Vec<Entry<'_>> {
    let mut entries: Vec<Entry<'_>> = Vec::new();
    for (&number, list) in rules {
        let simple = list.len() == 1 && list[0].conditions.is_empty();
        if let Some(last) = entries.last_mut() {
            let last_simple = last.rules.len() == 1 && last.rules[0].conditions.is_empty();
            if simple && last_simple && last.high + 1 == number && last.rules == list.as_slice() {
                last.high = number;
                continue;
            }
        }
        entries.push(Entry { low: number, high: number, rules: list });
    }
    entries
}

/// Emits a binary search over `entries` (sorted by number) for the number in the
/// accumulator, ending in every branch with a `ret`.
fn emit_search(asm: &mut Assembler, entries: &[Entry<'_>], default: Action) {
    if entries.len() <= LINEAR_SEARCH {
        for entry in entries {
            emit_rules(asm, entry, default);
        }
        asm.ret(default);
        return;
    }
    let (lower, upper) = entries.split_at(entries.len() / 2);
    let upper_label = asm.label();
    let lower_label = asm.label();
    asm.jump(BPF_JGE_K, upper[0].low, Target::Next, Target::Label(lower_label));
    asm.always(upper_label);
    asm.place(lower_label);
    emit_search(asm, lower, default);
    asm.place(upper_label);
    emit_search(asm, upper, default);
}

/// Emits the rules of one entry: when the number is in its range, the first rule whose
/// conditions hold decides, else the default; otherwise it falls through with the number
/// still in the accumulator.
fn emit_rules(asm: &mut Assembler, entry: &Entry<'_>, default: Action) {
    let rules = entry.rules;
    let other = asm.label();
    if entry.low == entry.high {
        asm.jump(BPF_JEQ_K, entry.low, Target::Next, Target::Label(other));
    } else {
        asm.jump(BPF_JGT_K, entry.high, Target::Label(other), Target::Next);
        asm.jump(BPF_JGE_K, entry.low, Target::Next, Target::Label(other));
    }
    for rule in rules {
        let next_rule = asm.label();
        for condition in &rule.conditions {
            emit_condition(asm, condition, next_rule);
        }
        asm.ret(rule.action);
        asm.place(next_rule);
    }
    // After a rule without conditions nothing else is reachable.
    if rules.last().is_none_or(|rule| !rule.conditions.is_empty()) {
        asm.ret(default);
    }
    asm.place(other);
    // Conditions loaded arguments into the accumulator; the next test needs the number.
    if rules.iter().any(|rule| !rule.conditions.is_empty()) {
        asm.load(OFFSET_NR);
    }
}

/// Emits the test of one condition: falls through when it holds, jumps to `fail` otherwise.
fn emit_condition(asm: &mut Assembler, condition: &Condition, fail: usize) {
    let low = OFFSET_ARGS + 8 * u32::from(condition.index);
    let high = low + 4;
    let value_low = condition.value as u32;
    let value_high = (condition.value >> 32) as u32;
    let fail = Target::Label(fail);
    let pass = asm.label();
    let passed = Target::Label(pass);

    match condition.compare {
        Compare::Equal => {
            if !condition.low_32 {
                asm.load(high);
                asm.jump(BPF_JEQ_K, value_high, Target::Next, fail);
            }
            asm.load(low);
            asm.jump(BPF_JEQ_K, value_low, Target::Next, fail);
        }
        Compare::NotEqual => {
            if condition.low_32 {
                asm.load(low);
                asm.jump(BPF_JEQ_K, value_low, fail, Target::Next);
            } else {
                asm.load(high);
                asm.jump(BPF_JEQ_K, value_high, Target::Next, passed);
                asm.load(low);
                asm.jump(BPF_JEQ_K, value_low, fail, Target::Next);
            }
        }
        Compare::MaskedEqual { mask } => {
            if !condition.low_32 {
                asm.load(high);
                asm.and((mask >> 32) as u32);
                asm.jump(BPF_JEQ_K, value_high, Target::Next, fail);
            }
            asm.load(low);
            asm.and(mask as u32);
            asm.jump(BPF_JEQ_K, value_low, Target::Next, fail);
        }
        Compare::Greater | Compare::GreaterOrEqual => {
            let low_test = if condition.compare == Compare::Greater { BPF_JGT_K } else { BPF_JGE_K };
            if !condition.low_32 {
                asm.load(high);
                asm.jump(BPF_JGT_K, value_high, passed, Target::Next);
                asm.jump(BPF_JEQ_K, value_high, Target::Next, fail);
            }
            asm.load(low);
            asm.jump(low_test, value_low, Target::Next, fail);
        }
        Compare::Less | Compare::LessOrEqual => {
            // a < v is !(a >= v); a <= v is !(a > v).
            let low_test = if condition.compare == Compare::Less { BPF_JGE_K } else { BPF_JGT_K };
            if !condition.low_32 {
                asm.load(high);
                asm.jump(BPF_JGT_K, value_high, fail, Target::Next);
                asm.jump(BPF_JEQ_K, value_high, Target::Next, passed);
            }
            asm.load(low);
            asm.jump(low_test, value_low, fail, Target::Next);
        }
    }
    asm.place(pass);
}

/// Installs a compiled filter on the calling thread. `no_new_privs` must be set already.
pub(crate) fn install(program: &[Instruction]) -> std::io::Result<()> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut Instruction,
    };
    // SAFETY: `prog` points to `program`, which outlives the call; the kernel copies it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const libc::sock_fprog,
        )
    };
    if ret != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a compiled program over one `seccomp_data`, as the kernel would.
    fn evaluate(program: &[Instruction], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, arg) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_le_bytes());
        }
        let mut accumulator = 0u32;
        let mut pc = 0;
        loop {
            let insn = program[pc];
            match insn.code {
                BPF_LD_W_ABS => {
                    let k = insn.k as usize;
                    accumulator = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                }
                BPF_AND_K => accumulator &= insn.k,
                BPF_JA => pc += insn.k as usize,
                BPF_RET_K => return insn.k,
                BPF_JEQ_K | BPF_JGT_K | BPF_JGE_K => {
                    let taken = match insn.code {
                        BPF_JEQ_K => accumulator == insn.k,
                        BPF_JGT_K => accumulator > insn.k,
                        _ => accumulator >= insn.k,
                    };
                    pc += usize::from(if taken { insn.jt } else { insn.jf });
                }
                other => panic!("unexpected instruction {other:#x}"),
            }
            pc += 1;
        }
    }

    fn policy(rules: Vec<(u32, Vec<Rule>)>) -> Policy {
        Policy {
            default: Action::Allow,
            unknown: Action::Errno(libc::ENOSYS as u16),
            foreign: Action::Errno(libc::EPERM as u16),
            x32: Action::Errno(libc::EPERM as u16),
            max_known: 500,
            rules: rules.into_iter().collect(),
        }
    }

    const EPERM: u32 = 0x0005_0000 | libc::EPERM as u32;
    const ALLOW: u32 = 0x7fff_0000;

    #[test]
    fn architecture_and_ranges() {
        let program = compile(&policy(vec![])).unwrap();
        assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, 0, [0; 6]), ALLOW);
        assert_eq!(evaluate(&program, 0x4000_0003, 0, [0; 6]), EPERM, "i386");
        assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 39, [0; 6]), EPERM, "x32");
        assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, 501, [0; 6]), 0x0005_0000 | libc::ENOSYS as u32);
    }

    #[test]
    fn conditions_on_wide_arguments() {
        let rule = |compare, value| Rule {
            conditions: vec![Condition { index: 1, compare, value, low_32: false }],
            action: Action::Errno(1),
        };
        let cases: Vec<(Compare, u64, u64, bool)> = vec![
            (Compare::Equal, 5, 5, true),
            (Compare::Equal, 5, 5 | 1 << 32, false),
            (Compare::NotEqual, 5, 6, true),
            (Compare::NotEqual, 5, 5, false),
            (Compare::Greater, 1 << 32, (1 << 32) + 1, true),
            (Compare::Greater, 1 << 32, 1 << 32, false),
            (Compare::Greater, 10, 1 << 33, true),
            (Compare::GreaterOrEqual, 7, 7, true),
            (Compare::GreaterOrEqual, 7, 6, false),
            (Compare::Less, 1 << 32, 5, true),
            (Compare::Less, 1 << 32, 1 << 32, false),
            (Compare::LessOrEqual, 9, 9, true),
            (Compare::LessOrEqual, 9, 1 << 40, false),
            (Compare::MaskedEqual { mask: 0x10000000 }, 0x10000000, 0x10000011, true),
            (Compare::MaskedEqual { mask: 0x10000000 }, 0x10000000, 0x1, false),
        ];
        for (compare, value, argument, matches) in cases {
            let program = compile(&policy(vec![(7, vec![rule(compare, value)])])).unwrap();
            let result = evaluate(&program, AUDIT_ARCH_X86_64, 7, [0, argument, 0, 0, 0, 0]);
            assert_eq!(result == 0x0005_0001, matches, "{compare:?} {value:#x} against {argument:#x}");
        }
    }

    #[test]
    fn low_word_ignores_high_bits() {
        let rule = Rule {
            conditions: vec![Condition { index: 1, compare: Compare::Equal, value: 0x5412, low_32: true }],
            action: Action::Errno(libc::EPERM as u16),
        };
        let program = compile(&policy(vec![(16, vec![rule])])).unwrap();
        assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, 16, [0, 0x5412, 0, 0, 0, 0]), EPERM);
        assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, 16, [0, 0x1_0000_5412, 0, 0, 0, 0]), EPERM);
        assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, 16, [0, 0x5413, 0, 0, 0, 0]), ALLOW);
    }

    #[test]
    fn search_finds_every_rule() {
        let numbers: Vec<u32> = (0..300).step_by(3).collect();
        let rules = numbers.iter().map(|&n| (n, vec![Rule { conditions: vec![], action: Action::Errno(n as u16 % 100 + 1) }])).collect();
        let program = compile(&policy(rules)).unwrap();
        for nr in 0..310u32 {
            let expected = if nr % 3 == 0 && nr < 300 { 0x0005_0000 | (nr % 100 + 1) } else { ALLOW };
            assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, nr, [0; 6]), expected, "nr {nr}");
        }
    }

    #[test]
    fn first_matching_rule_wins() {
        let rules = vec![
            Rule {
                conditions: vec![Condition { index: 0, compare: Compare::Equal, value: 0, low_32: false }],
                action: Action::Allow,
            },
            Rule { conditions: vec![], action: Action::Errno(13) },
        ];
        let program = compile(&policy(vec![(135, rules)])).unwrap();
        assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, 135, [0; 6]), ALLOW);
        assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, 135, [8, 0, 0, 0, 0, 0]), 0x0005_000d);
        assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, 136, [8, 0, 0, 0, 0, 0]), ALLOW);
    }
}
