// ANCHOR: all
//! The eBPF programs of step 10, written instruction by instruction: two on
//! the syscall tracepoints, and, with `-f`, three that follow processes.
//!
//! An eBPF program is an array of 8-byte instructions for a small virtual
//! machine inside the kernel: eleven 64-bit registers, r0 to r10, and a
//! 512-byte stack. The kernel checks the program (the verifier), translates
//! it to x86_64 instructions, and runs it each time the event it is attached
//! to happens: here, every syscall's entry (`sys_enter`) and exit
//! (`sys_exit`), in every process, before and after the syscall itself; and
//! with `-f`, every new thread or process (`sched_process_fork`), every
//! thread's end (`sched_process_exit`) and every new program
//! (`sched_process_exec`).
//!
//! The calling convention, as for a syscall in step 1, is all in registers:
//!
//! - r1 holds the program's argument when it starts: for a raw tracepoint, a
//!   pointer to the tracepoint's arguments, 8 bytes each;
//! - r1 to r5 carry the arguments of a helper call, and are lost by it;
//! - r0 holds a helper's result, and the program's when it exits;
//! - r6 to r9 survive helper calls: we keep what we need there;
//! - r10 points to the top of the stack, read only; we write below it.

/// One instruction, laid out as `struct bpf_insn` in linux/bpf.h: an opcode,
/// the destination register in the low 4 bits of one byte and the source
/// register in the high 4, a 16-bit offset, a 32-bit immediate value.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Instruction {
    opcode: u8,
    registers: u8,
    offset: i16,
    immediate: i32,
}

// ANCHOR: encoding
// The registers.
pub const R0: u8 = 0;
pub const R1: u8 = 1;
pub const R2: u8 = 2;
pub const R3: u8 = 3;
pub const R4: u8 = 4;
pub const R6: u8 = 6;
pub const R7: u8 = 7;
pub const R8: u8 = 8;
pub const R9: u8 = 9;
pub const R10: u8 = 10;

// The helpers a program may call, by number (`enum bpf_func_id`).
pub const MAP_LOOKUP_ELEM: i32 = 1;
pub const MAP_UPDATE_ELEM: i32 = 2;
pub const MAP_DELETE_ELEM: i32 = 3;
pub const KTIME_GET_NS: i32 = 5;
pub const GET_CURRENT_PID_TGID: i32 = 14;
// These two reach the kernel's own structures: the kernel lets only
// programs whose license is compatible with the GPL call them (bpf.rs says
// ours). The first copies bytes from any address of the kernel's; the
// second returns the thread's `task_struct` with its type (BTF, Linux 5.11
// and later), so that the verifier lets the program read its fields.
pub const PROBE_READ_KERNEL: i32 = 113;
pub const GET_CURRENT_TASK_BTF: i32 = 158;

/// An opcode is a class (ALU, jump, load, store) ORed with an operation and,
/// for memory, a size; the ones used here, with their names from linux/bpf.h.
mod op {
    pub const MOV64_IMM: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
    pub const MOV64_REG: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
    pub const ADD64_IMM: u8 = 0x07; // BPF_ALU64 | BPF_ADD | BPF_K
    pub const ADD64_REG: u8 = 0x0f; // BPF_ALU64 | BPF_ADD | BPF_X
    pub const SUB64_REG: u8 = 0x1f; // BPF_ALU64 | BPF_SUB | BPF_X
    pub const AND64_IMM: u8 = 0x57; // BPF_ALU64 | BPF_AND | BPF_K
    pub const RSH64_IMM: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
    pub const LSH64_IMM: u8 = 0x67; // BPF_ALU64 | BPF_LSH | BPF_K
    pub const OR64_REG: u8 = 0x4f; // BPF_ALU64 | BPF_OR | BPF_X
    pub const LOAD64: u8 = 0x79; // BPF_LDX | BPF_MEM | BPF_DW
    pub const LOAD32: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
    pub const STORE64: u8 = 0x7b; // BPF_STX | BPF_MEM | BPF_DW
    pub const STORE32: u8 = 0x63; // BPF_STX | BPF_MEM | BPF_W
    pub const STORE64_IMM: u8 = 0x7a; // BPF_ST | BPF_MEM | BPF_DW
    pub const ATOMIC64: u8 = 0xdb; // BPF_STX | BPF_ATOMIC | BPF_DW
    pub const LOAD_IMM64: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
    pub const JUMP: u8 = 0x05; // BPF_JMP | BPF_JA
    pub const JEQ_IMM: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    pub const JNE_IMM: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
    pub const JGE_IMM: u8 = 0x35; // BPF_JMP | BPF_JGE | BPF_K (unsigned)
    pub const JSET_IMM: u8 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    pub const JEQ32_IMM: u8 = 0x16; // BPF_JMP32 | BPF_JEQ | BPF_K
    pub const JEQ_REG: u8 = 0x1d; // BPF_JMP | BPF_JEQ | BPF_X
    pub const JSGT_IMM: u8 = 0x65; // BPF_JMP | BPF_JSGT | BPF_K
    pub const JSLT_IMM: u8 = 0xc5; // BPF_JMP | BPF_JSLT | BPF_K
    pub const CALL: u8 = 0x85; // BPF_JMP | BPF_CALL
    pub const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT
}

const fn instruction(opcode: u8, dst: u8, src: u8, offset: i16, immediate: i32) -> Instruction {
    Instruction {
        opcode,
        registers: src << 4 | dst,
        offset,
        immediate,
    }
}

/// `dst = value`
pub const fn mov_imm(dst: u8, value: i32) -> Instruction {
    instruction(op::MOV64_IMM, dst, 0, 0, value)
}
/// `dst = src`
pub const fn mov(dst: u8, src: u8) -> Instruction {
    instruction(op::MOV64_REG, dst, src, 0, 0)
}
/// `dst += value`
pub const fn add_imm(dst: u8, value: i32) -> Instruction {
    instruction(op::ADD64_IMM, dst, 0, 0, value)
}
/// `dst += src`
pub const fn add(dst: u8, src: u8) -> Instruction {
    instruction(op::ADD64_REG, dst, src, 0, 0)
}
/// `dst &= value`
pub const fn and_imm(dst: u8, value: i32) -> Instruction {
    instruction(op::AND64_IMM, dst, 0, 0, value)
}
/// `dst -= src`
pub const fn sub(dst: u8, src: u8) -> Instruction {
    instruction(op::SUB64_REG, dst, src, 0, 0)
}
/// `dst >>= bits`
pub const fn shift_right(dst: u8, bits: i32) -> Instruction {
    instruction(op::RSH64_IMM, dst, 0, 0, bits)
}
/// `dst <<= bits`
pub const fn shift_left(dst: u8, bits: i32) -> Instruction {
    instruction(op::LSH64_IMM, dst, 0, 0, bits)
}
/// `dst |= src`
pub const fn or(dst: u8, src: u8) -> Instruction {
    instruction(op::OR64_REG, dst, src, 0, 0)
}
/// `dst = *(u64 *)(src + offset)`
pub const fn load(dst: u8, src: u8, offset: i16) -> Instruction {
    instruction(op::LOAD64, dst, src, offset, 0)
}
/// `dst = *(u32 *)(src + offset)`
pub const fn load32(dst: u8, src: u8, offset: i16) -> Instruction {
    instruction(op::LOAD32, dst, src, offset, 0)
}
/// `*(u64 *)(dst + offset) = src`
pub const fn store(dst: u8, offset: i16, src: u8) -> Instruction {
    instruction(op::STORE64, dst, src, offset, 0)
}
/// `*(u32 *)(dst + offset) = src`
pub const fn store32(dst: u8, offset: i16, src: u8) -> Instruction {
    instruction(op::STORE32, dst, src, offset, 0)
}
/// `*(u64 *)(dst + offset) = value`
pub const fn store_imm(dst: u8, offset: i16, value: i32) -> Instruction {
    instruction(op::STORE64_IMM, dst, 0, offset, value)
}
/// `*(u64 *)(dst + offset) += src`, as one atomic instruction (`lock xadd`
/// on x86_64): two threads of the program may count on two CPUs at once.
pub const fn atomic_add(dst: u8, offset: i16, src: u8) -> Instruction {
    const BPF_ADD: i32 = 0x00;
    instruction(op::ATOMIC64, dst, src, offset, BPF_ADD)
}
/// `dst = the map whose file descriptor is fd`: the only instruction that is
/// 16 bytes long, two slots, the second holding the upper half of a 64-bit
/// value. The kernel replaces the descriptor with the map's address.
pub const fn load_map(dst: u8, fd: i32) -> [Instruction; 2] {
    const BPF_PSEUDO_MAP_FD: u8 = 1;
    [
        instruction(op::LOAD_IMM64, dst, BPF_PSEUDO_MAP_FD, 0, fd),
        instruction(0, 0, 0, 0, 0),
    ]
}
/// `goto +skip`: jumps count instructions from the next one.
pub const fn jump(skip: i16) -> Instruction {
    instruction(op::JUMP, 0, 0, skip, 0)
}
/// `if dst == value goto +skip`
pub const fn jump_if_equal(dst: u8, value: i32, skip: i16) -> Instruction {
    instruction(op::JEQ_IMM, dst, 0, skip, value)
}
/// `if dst != value goto +skip`
pub const fn jump_if_not_equal(dst: u8, value: i32, skip: i16) -> Instruction {
    instruction(op::JNE_IMM, dst, 0, skip, value)
}
/// `if dst == src goto +skip`
pub const fn jump_if_same(dst: u8, src: u8, skip: i16) -> Instruction {
    instruction(op::JEQ_REG, dst, src, skip, 0)
}
/// `if (u64)dst >= value goto +skip`
pub const fn jump_if_at_least(dst: u8, value: i32, skip: i16) -> Instruction {
    instruction(op::JGE_IMM, dst, 0, skip, value)
}
/// `if dst & value goto +skip`: if any of `value`'s bits is set in `dst`
pub const fn jump_if_set(dst: u8, value: i32, skip: i16) -> Instruction {
    instruction(op::JSET_IMM, dst, 0, skip, value)
}
/// `if (u32)dst == value goto +skip`: the low half of `dst` only
pub const fn jump32_if_equal(dst: u8, value: i32, skip: i16) -> Instruction {
    instruction(op::JEQ32_IMM, dst, 0, skip, value)
}
/// `if (s64)dst > value goto +skip`
pub const fn jump_if_greater(dst: u8, value: i32, skip: i16) -> Instruction {
    instruction(op::JSGT_IMM, dst, 0, skip, value)
}
/// `if (s64)dst < value goto +skip`
pub const fn jump_if_less(dst: u8, value: i32, skip: i16) -> Instruction {
    instruction(op::JSLT_IMM, dst, 0, skip, value)
}
/// `r0 = helper(r1, r2, r3, r4, r5)`
pub const fn call(helper: i32) -> Instruction {
    instruction(op::CALL, 0, 0, 0, helper)
}
/// `return r0`
pub const fn exit() -> Instruction {
    instruction(op::EXIT, 0, 0, 0, 0)
}
// ANCHOR_END: encoding

/// The numbers the programs must know (x86_64's `execve`, the x32 bit, and
/// the flag of `thread_info.status` that marks a 32-bit call).
const EXECVE: i32 = 59;
const X32_SYSCALL_BIT: i32 = 0x4000_0000;
const TS_COMPAT: i32 = 0x0002;
/// SIGKILL (9) in a mask of signals, where signal N is bit N - 1.
const SIGKILL_BIT: i32 = 1 << 8;

/// Rows of `counts` for each ABI: x86_64's calls from row 0, i386's (`int
/// $0x80`) from 1024, x32's from 2048, each at its number in its table.
pub const ROWS_PER_ABI: i32 = 1024;

/// The file descriptors of the maps the programs use.
pub struct Maps {
    /// One value, `[0]`: 0 until the traced process calls `execve`, then 1.
    pub armed: i32,
    /// The syscall each thread is inside: thread → `Entered`.
    pub entered: i32,
    /// What we add up, by row: row → `Counts`.
    pub counts: i32,
    /// With `-f`, the processes whose calls we count: process id → 1.
    pub followed: i32,
}

/// Whom the programs count: the child's main thread, as strace does; or,
/// with `-f`, every thread of the child and of the processes it starts.
pub struct Whom {
    pub child: u32,
    pub follow: bool,
}

/// Where the programs read the kernel's structures, in bytes (btf.rs finds
/// them): `task_struct`'s `thread_info.status`, `pending.signal`, `tgid`
/// and `signal`, and `signal_struct`'s `live` and `group_exit_code`. An
/// instruction's offset is 16 bits.
pub struct Offsets {
    pub status: i16,
    pub pending: i16,
    pub tgid: i16,
    pub signal: i16,
    pub live: i16,
    pub exit_code: i16,
}

/// A value of the `entered` map, as the sys_enter program writes it. The
/// sys_exit program sets `start_ns` to 0 when the thread leaves the syscall.
#[repr(C)]
#[derive(Default)]
pub struct Entered {
    pub row: u64,
    pub start_ns: u64,
}

/// A value of the `counts` map, as the sys_exit program adds to it: a row
/// of the table, as the kernel keeps it.
#[repr(C)]
#[derive(Default)]
pub struct KernelCounts {
    pub calls: u64,
    pub errors: u64,
    pub nanoseconds: u64,
}

// ANCHOR: whose
/// Instructions 3 to 15 of both syscall programs: is this thread ours?
/// `r0` holds its ids (`bpf_get_current_pid_tgid`); a thread that is not
/// jumps to instruction `end`, the program's `r0 = 0` before `return`.
/// Without `-f`, only the child's own thread; with it, any thread of a
/// process in `followed`. `follow` is written into instruction 3, so the
/// verifier knows which way 4 goes, and checks only that path.
fn whose(whom: &Whom, followed: i32, end: i16) -> Vec<Instruction> {
    let [followed, followed_2] = load_map(R1, followed);
    vec![
        mov_imm(R1, whom.follow as i32), //  3: r1 = 1 with -f, 0 without
        jump_if_not_equal(R1, 0, 2),     //  4: -f: to 7
        jump32_if_equal(R0, whom.child as i32, 10), //  5: the child's thread: to 16
        jump(end - 7),                   //  6: another thread: to the end
        shift_right(R0, 32),             //  7: r0 = the process id alone
        jump_if_equal(R0, whom.child as i32, 7), //  8: the child: to 16
        store32(R10, -16, R0),           //  9: stack[-16] = the process id
        mov(R2, R10),                    // 10: r2 = &stack[-16]
        add_imm(R2, -16),                // 11:
        followed,                        // 12: r1 = the map `followed`
        followed_2,                      // 13:      (its upper half)
        call(MAP_LOOKUP_ELEM),           // 14: r0 = &followed[process], or 0
        jump_if_equal(R0, 0, end - 16),  // 15: not followed: to the end
    ]
}
// ANCHOR_END: whose

// ANCHOR: sys_enter
/// Runs as any thread on the machine enters a syscall. For the threads we
/// count, once the child has called `execve`, it notes in `entered` which
/// syscall the thread is in (its row: its ABI, and its number in its ABI's
/// table), and since when.
pub fn sys_enter(whom: &Whom, maps: &Maps, offsets: &Offsets) -> Vec<Instruction> {
    let [armed, armed_2] = load_map(R1, maps.armed);
    let [entered, entered_2] = load_map(R1, maps.entered);
    let mut program = vec![
        // r1 = the tracepoint's arguments: [0] the registers, [1] the number.
        mov(R6, R1),                //  0: r6 = the arguments, kept
        call(GET_CURRENT_PID_TGID), //  1: r0 = process id << 32 | thread id
        store(R10, -8, R0),         //  2: stack[-8] = that: the thread's key
    ];
    program.extend(whose(whom, maps.followed, 61)); // 3 to 15
    program.extend([
        load(R7, R6, 8), // 16: r7 = the syscall's number
        // Is counting on yet? r1 = the map, r2 = &key, key 0 on the stack.
        store_imm(R10, -24, 0),           // 17: stack[-24] = 0
        mov(R2, R10),                     // 18: r2 = &stack[-24]
        add_imm(R2, -24),                 // 19:
        armed,                            // 20: r1 = the map `armed`
        armed_2,                          // 21:      (its upper half)
        call(MAP_LOOKUP_ELEM),            // 22: r0 = &armed[0], or 0 (null)
        jump_if_equal(R0, 0, 37),         // 23: null: to 61 (the verifier insists)
        jump_if_not_equal(R7, EXECVE, 2), // 24: not execve: to 27
        store_imm(R0, 0, 1),              // 25: execve: armed[0] = 1, from now on
        jump(2),                          // 26: to 29
        load(R1, R0, 0),                  // 27: r1 = armed[0]
        jump_if_equal(R1, 0, 32),         // 28: not yet: to 61
        // Which ABI? The kernel marks a 32-bit call in the thread's status.
        call(GET_CURRENT_TASK_BTF), // 29: r0 = the thread's task_struct
        load32(R1, R0, offsets.status), // 30: r1 = task->thread_info.status
        mov_imm(R8, ROWS_PER_ABI),  // 31: r8 = the first row of i386's calls
        jump_if_set(R1, TS_COMPAT, 5), // 32: a 32-bit call: to 38
        mov_imm(R8, 0),             // 33: r8 = the first row of x86_64's
        jump_if_set(R7, X32_SYSCALL_BIT, 1), // 34: the x32 bit: to 36
        jump(2),                    // 35: to 38
        mov_imm(R8, 2 * ROWS_PER_ABI), // 36: r8 = the first row of x32's
        and_imm(R7, !X32_SYSCALL_BIT), // 37: r7 = its number in x32's table
        jump_if_at_least(R7, ROWS_PER_ABI, 22), // 38: beyond its table: to 61
        add(R7, R8),                // 39: r7 = the call's row
        // Find the thread's entry in `entered`.
        mov(R2, R10),            // 40: r2 = &stack[-8], the thread
        add_imm(R2, -8),         // 41:
        entered,                 // 42: r1 = the map `entered`
        entered_2,               // 43:      (its upper half)
        call(MAP_LOOKUP_ELEM),   // 44: r0 = &entered[thread], or 0
        mov(R9, R0),             // 45: r9 = the same, kept
        call(KTIME_GET_NS),      // 46: r0 = now, in nanoseconds
        jump_if_equal(R9, 0, 3), // 47: the thread's first syscall: to 51
        store(R9, 0, R7),        // 48: entered[thread].row = r7
        store(R9, 8, R0),        // 49: entered[thread].start_ns = now
        jump(10),                // 50: to 61
        // A new thread: make its entry, on the stack, then in the map.
        store(R10, -48, R7),   // 51: stack[-48] = the row
        store(R10, -40, R0),   // 52: stack[-40] = now
        mov(R2, R10),          // 53: r2 = &stack[-8], the key
        add_imm(R2, -8),       // 54:
        mov(R3, R10),          // 55: r3 = &stack[-48], the value
        add_imm(R3, -48),      // 56:
        entered,               // 57: r1 = the map `entered`
        entered_2,             // 58:      (its upper half)
        mov_imm(R4, 0),        // 59: r4 = 0: create, or replace
        call(MAP_UPDATE_ELEM), // 60: entered[thread] = { row, now }
        mov_imm(R0, 0),        // 61: r0 = 0
        exit(),                // 62: return 0
    ]);
    program
}
// ANCHOR_END: sys_enter

// ANCHOR: sys_exit
/// Runs as any thread on the machine leaves a syscall. For a thread we
/// count whose entry `sys_enter` noted, it adds the call, its time, and
/// whether it failed, to the call's row in `counts`; unless the thread is
/// being killed, as strace would never see the call return.
pub fn sys_exit(whom: &Whom, maps: &Maps, offsets: &Offsets) -> Vec<Instruction> {
    let [entered, entered_2] = load_map(R1, maps.entered);
    let [counts, counts_2] = load_map(R1, maps.counts);
    let mut program = vec![
        // r1 = the tracepoint's arguments: [0] the registers, [1] the result.
        mov(R6, R1),                //  0: r6 = the arguments, kept
        call(GET_CURRENT_PID_TGID), //  1: r0 = process id << 32 | thread id
        store(R10, -8, R0),         //  2: stack[-8] = that: the thread's key
    ];
    program.extend(whose(whom, maps.followed, 53)); // 3 to 15
    program.extend([
        // Which syscall is the thread leaving, and since when?
        mov(R2, R10),             // 16: r2 = &stack[-8], the thread
        add_imm(R2, -8),          // 17:
        entered,                  // 18: r1 = the map `entered`
        entered_2,                // 19:      (its upper half)
        call(MAP_LOOKUP_ELEM),    // 20: r0 = &entered[thread], or 0
        jump_if_equal(R0, 0, 31), // 21: never seen: to 53
        load(R8, R0, 8),          // 22: r8 = its start_ns
        jump_if_equal(R8, 0, 29), // 23: no entry noted: to 53
        load(R7, R0, 0),          // 24: r7 = its row
        store_imm(R0, 8, 0),      // 25: start_ns = 0: out of it now
        // Killed? SIGKILL waits for the thread, put there by another
        // thread's exit_group or execve, or by a SIGKILL sent to the
        // process: strace's tracee stops no more, and strace never sees this
        // exit. (A fatal signal of another kind comes as SIGKILL too, when
        // nobody traces the process, but strace sees the exit then.)
        call(GET_CURRENT_TASK_BTF),    // 26: r0 = the thread's task_struct
        load(R1, R0, offsets.pending), // 27: r1 = the signals waiting for it
        jump_if_set(R1, SIGKILL_BIT, 1), // 28: SIGKILL among them: to 30
        jump(5),                       // 29: to 35
        load(R1, R0, offsets.signal),  // 30: r1 = task->signal
        load32(R1, R1, offsets.exit_code), // 31: r1 = signal->group_exit_code
        and_imm(R1, 0x7f),             // 32: r1 = the signal in it, or 0
        jump_if_equal(R1, 0, 19),      // 33: exit_group or execve: to 53
        jump_if_equal(R1, 9, 18),      // 34: SIGKILL itself: to 53
        call(KTIME_GET_NS),            // 35: r0 = now
        sub(R0, R8),                   // 36: r0 = now - start_ns
        mov(R8, R0),                   // 37: r8 = the time it took
        // Find the call's row: the row is the key, as a u32.
        store32(R10, -24, R7),      // 38: stack[-24] = the row
        mov(R2, R10),               // 39: r2 = &stack[-24]
        add_imm(R2, -24),           // 40:
        counts,                     // 41: r1 = the map `counts`
        counts_2,                   // 42:      (its upper half)
        call(MAP_LOOKUP_ELEM),      // 43: r0 = &counts[row], or 0
        jump_if_equal(R0, 0, 8),    // 44: no such row: to 53
        mov_imm(R1, 1),             // 45: r1 = 1
        atomic_add(R0, 0, R1),      // 46: counts[row].calls += 1
        atomic_add(R0, 16, R8),     // 47: counts[row].nanoseconds += time
        load(R1, R6, 8),            // 48: r1 = the syscall's result
        jump_if_greater(R1, -1, 3), // 49: 0 or more: success, to 53
        jump_if_less(R1, -4095, 2), // 50: below -4095: an address, to 53
        mov_imm(R1, 1),             // 51: r1 = 1
        atomic_add(R0, 8, R1),      // 52: counts[row].errors += 1
        mov_imm(R0, 0),             // 53: r0 = 0
        exit(),                     // 54: return 0
    ]);
    program
}
// ANCHOR_END: sys_exit

// ANCHOR: on_fork
/// With `-f`: runs as any thread on the machine starts a thread or a
/// process, in the parent, before the child ever runs. A child of a process
/// in `followed` is followed too: its process id, which the tracepoint's
/// second argument, the child's `task_struct`, holds, goes in. (A new thread
/// has its parent's process id, already in.)
pub fn on_fork(maps: &Maps, offsets: &Offsets) -> Vec<Instruction> {
    let [followed, followed_2] = load_map(R1, maps.followed);
    vec![
        // r1 = the tracepoint's arguments: [0] the parent, [1] the child.
        mov(R6, R1),                      //  0: r6 = the arguments, kept
        call(GET_CURRENT_PID_TGID),       //  1: r0 = the parent's ids
        shift_right(R0, 32),              //  2: r0 = its process id
        store32(R10, -4, R0),             //  3: stack[-4] = that
        mov(R2, R10),                     //  4: r2 = &stack[-4]
        add_imm(R2, -4),                  //  5:
        followed,                         //  6: r1 = the map `followed`
        followed_2,                       //  7:      (its upper half)
        call(MAP_LOOKUP_ELEM),            //  8: r0 = &followed[parent], or 0
        jump_if_equal(R0, 0, 15),         //  9: not followed: to 25
        load(R3, R6, 8),                  // 10: r3 = the child's task_struct
        add_imm(R3, offsets.tgid.into()), // 11: r3 = &child->tgid
        mov(R1, R10),                     // 12: r1 = &stack[-8], where to copy it
        add_imm(R1, -8),                  // 13:
        mov_imm(R2, 4),                   // 14: r2 = 4 bytes
        call(PROBE_READ_KERNEL),          // 15: stack[-8] = the child's process id
        store_imm(R10, -16, 1),           // 16: stack[-16] = 1, the value
        mov(R2, R10),                     // 17: r2 = &stack[-8], the key
        add_imm(R2, -8),                  // 18:
        mov(R3, R10),                     // 19: r3 = &stack[-16], the value
        add_imm(R3, -16),                 // 20:
        followed,                         // 21: r1 = the map `followed`
        followed_2,                       // 22:      (its upper half)
        mov_imm(R4, 0),                   // 23: r4 = 0: create, or replace
        call(MAP_UPDATE_ELEM),            // 24: followed[child] = 1
        mov_imm(R0, 0),                   // 25: r0 = 0
        exit(),                           // 26: return 0
    ]
}
// ANCHOR_END: on_fork

// ANCHOR: on_exit
/// With `-f`: runs as any thread on the machine ends. A thread of a
/// followed process leaves `entered`: the call it was in, `exit_group` or
/// another, never returns. When it is the last thread of its process (its
/// `signal_struct` counts those alive), the process leaves `followed`: its
/// id is free again, and a process that gets it next is none of ours.
pub fn on_exit(maps: &Maps, offsets: &Offsets) -> Vec<Instruction> {
    let [followed, followed_2] = load_map(R1, maps.followed);
    let [entered, entered_2] = load_map(R1, maps.entered);
    vec![
        call(GET_CURRENT_PID_TGID),   //  0: r0 = process id << 32 | thread id
        store(R10, -8, R0),           //  1: stack[-8] = that: the thread's key
        shift_right(R0, 32),          //  2: r0 = the process id alone
        store32(R10, -12, R0),        //  3: stack[-12] = that
        mov(R2, R10),                 //  4: r2 = &stack[-12]
        add_imm(R2, -12),             //  5:
        followed,                     //  6: r1 = the map `followed`
        followed_2,                   //  7:      (its upper half)
        call(MAP_LOOKUP_ELEM),        //  8: r0 = &followed[process], or 0
        jump_if_equal(R0, 0, 14),     //  9: not followed: to 24
        mov(R2, R10),                 // 10: r2 = &stack[-8], the thread
        add_imm(R2, -8),              // 11:
        entered,                      // 12: r1 = the map `entered`
        entered_2,                    // 13:      (its upper half)
        call(MAP_DELETE_ELEM),        // 14: the thread leaves `entered`
        call(GET_CURRENT_TASK_BTF),   // 15: r0 = the thread's task_struct
        load(R1, R0, offsets.signal), // 16: r1 = task->signal
        load32(R1, R1, offsets.live), // 17: r1 = signal->live, its threads alive
        jump_if_not_equal(R1, 0, 5),  // 18: others live on: to 24
        mov(R2, R10),                 // 19: r2 = &stack[-12], the process
        add_imm(R2, -12),             // 20:
        followed,                     // 21: r1 = the map `followed`
        followed_2,                   // 22:      (its upper half)
        call(MAP_DELETE_ELEM),        // 23: the process leaves `followed`
        mov_imm(R0, 0),               // 24: r0 = 0
        exit(),                       // 25: return 0
    ]
}
// ANCHOR_END: on_exit

// ANCHOR: on_exec
/// With `-f`: runs as any thread on the machine has called `execve` and is
/// the new program. A thread other than the first that calls it takes the
/// first one's id (the others are killed), and its entry in `entered` must
/// follow it there, for the `execve` to be counted at its exit. The
/// tracepoint's second argument is the id it had.
pub fn on_exec(maps: &Maps) -> Vec<Instruction> {
    let [entered, entered_2] = load_map(R1, maps.entered);
    vec![
        // r1 = the tracepoint's arguments: [1] the thread's id before.
        mov(R6, R1),                //  0: r6 = the arguments, kept
        call(GET_CURRENT_PID_TGID), //  1: r0 = process id << 32 | thread id
        store(R10, -8, R0),         //  2: stack[-8] = the thread's key now
        mov(R7, R0),                //  3: r7 = the same, kept
        shift_right(R0, 32),        //  4: r0 = the process id << 32
        shift_left(R0, 32),         //  5:
        load(R1, R6, 8),            //  6: r1 = the thread's id before
        or(R0, R1),                 //  7: r0 = the thread's key before
        jump_if_same(R0, R7, 19),   //  8: the same, the first thread's: to 28
        store(R10, -16, R0),        //  9: stack[-16] = that
        mov(R2, R10),               // 10: r2 = &stack[-16]
        add_imm(R2, -16),           // 11:
        entered,                    // 12: r1 = the map `entered`
        entered_2,                  // 13:      (its upper half)
        call(MAP_LOOKUP_ELEM),      // 14: r0 = &entered[before], or 0
        jump_if_equal(R0, 0, 12),   // 15: none: to 28
        mov(R3, R0),                // 16: r3 = that entry, the value
        mov(R2, R10),               // 17: r2 = &stack[-8], the key now
        add_imm(R2, -8),            // 18:
        entered,                    // 19: r1 = the map `entered`
        entered_2,                  // 20:      (its upper half)
        mov_imm(R4, 0),             // 21: r4 = 0: create, or replace
        call(MAP_UPDATE_ELEM),      // 22: entered[now] = entered[before]
        mov(R2, R10),               // 23: r2 = &stack[-16]
        add_imm(R2, -16),           // 24:
        entered,                    // 25: r1 = the map `entered`
        entered_2,                  // 26:      (its upper half)
        call(MAP_DELETE_ELEM),      // 27: entered[before] goes
        mov_imm(R0, 0),             // 28: r0 = 0
        exit(),                     // 29: return 0
    ]
}
// ANCHOR_END: on_exec
// ANCHOR_END: all
