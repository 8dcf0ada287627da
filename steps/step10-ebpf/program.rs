// ANCHOR: all
//! The two eBPF programs of step 10, written instruction by instruction.
//!
//! An eBPF program is an array of 8-byte instructions for a small virtual
//! machine inside the kernel: eleven 64-bit registers, r0 to r10, and a
//! 512-byte stack. The kernel checks the program (the verifier), translates
//! it to x86_64 instructions, and runs it each time the event it is attached
//! to happens: here, every syscall's entry (`sys_enter`) and exit
//! (`sys_exit`), in every process, before and after the syscall itself.
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
pub const KTIME_GET_NS: i32 = 5;
pub const GET_CURRENT_PID_TGID: i32 = 14;

/// An opcode is a class (ALU, jump, load, store) ORed with an operation and,
/// for memory, a size; the ones used here, with their names from linux/bpf.h.
mod op {
    pub const MOV64_IMM: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
    pub const MOV64_REG: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
    pub const ADD64_IMM: u8 = 0x07; // BPF_ALU64 | BPF_ADD | BPF_K
    pub const SUB64_REG: u8 = 0x1f; // BPF_ALU64 | BPF_SUB | BPF_X
    pub const RSH64_IMM: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
    pub const LOAD64: u8 = 0x79; // BPF_LDX | BPF_MEM | BPF_DW
    pub const STORE64: u8 = 0x7b; // BPF_STX | BPF_MEM | BPF_DW
    pub const STORE32: u8 = 0x63; // BPF_STX | BPF_MEM | BPF_W
    pub const STORE64_IMM: u8 = 0x7a; // BPF_ST | BPF_MEM | BPF_DW
    pub const ATOMIC64: u8 = 0xdb; // BPF_STX | BPF_ATOMIC | BPF_DW
    pub const LOAD_IMM64: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
    pub const JUMP: u8 = 0x05; // BPF_JMP | BPF_JA
    pub const JEQ_IMM: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    pub const JNE_IMM: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
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
/// `dst -= src`
pub const fn sub(dst: u8, src: u8) -> Instruction {
    instruction(op::SUB64_REG, dst, src, 0, 0)
}
/// `dst >>= bits`
pub const fn shift_right(dst: u8, bits: i32) -> Instruction {
    instruction(op::RSH64_IMM, dst, 0, 0, bits)
}
/// `dst = *(u64 *)(src + offset)`
pub const fn load(dst: u8, src: u8, offset: i16) -> Instruction {
    instruction(op::LOAD64, dst, src, offset, 0)
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

/// The syscalls the programs must know by number (x86_64).
const EXECVE: i32 = 59;
const EXIT: i32 = 60;
const EXIT_GROUP: i32 = 231;

/// The file descriptors of the maps the programs use.
pub struct Maps {
    /// One value, `[0]`: 0 until the traced process calls `execve`, then 1.
    pub armed: i32,
    /// The syscall each thread is inside: thread → `Entered`.
    pub entered: i32,
    /// What we add up, by syscall number: number → `Counts`.
    pub counts: i32,
}

/// A value of the `entered` map, as the sys_enter program writes it. The
/// sys_exit program sets `start_ns` to 0 when the thread leaves the syscall.
#[repr(C)]
#[derive(Default)]
pub struct Entered {
    pub number: u64,
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

// ANCHOR: sys_enter
/// Runs as any thread on the machine enters a syscall. For the threads of
/// process `tgid`, once it has called `execve`, it notes in `entered` which
/// syscall the thread is in, and since when.
pub fn sys_enter(tgid: u32, maps: &Maps) -> Vec<Instruction> {
    let [armed, armed_2] = load_map(R1, maps.armed);
    let [entered, entered_2] = load_map(R1, maps.entered);
    vec![
        // r1 = the tracepoint's arguments: [0] the registers, [1] the number.
        mov(R6, R1),                            //  0: r6 = the arguments, kept
        call(GET_CURRENT_PID_TGID),             //  1: r0 = process id << 32 | thread id
        store(R10, -8, R0),                     //  2: stack[-8] = that: the thread's key
        shift_right(R0, 32),                    //  3: r0 = the process id alone
        jump_if_not_equal(R0, tgid as i32, 36), //  4: another process: to 41
        load(R7, R6, 8),                        //  5: r7 = the syscall's number
        // exit and exit_group never return: strace does not count them.
        jump_if_equal(R7, EXIT, 34),       //  6: to 41
        jump_if_equal(R7, EXIT_GROUP, 33), //  7: to 41
        // Is counting on yet? r1 = the map, r2 = &key, key 0 on the stack.
        store_imm(R10, -16, 0),           //  8: stack[-16] = 0
        mov(R2, R10),                     //  9: r2 = the top of the stack
        add_imm(R2, -16),                 // 10: r2 = &stack[-16]
        armed,                            // 11: r1 = the map `armed`
        armed_2,                          // 12:      (its upper half)
        call(MAP_LOOKUP_ELEM),            // 13: r0 = &armed[0], or 0 (null)
        jump_if_equal(R0, 0, 26),         // 14: null: to 41 (the verifier insists)
        jump_if_not_equal(R7, EXECVE, 2), // 15: not execve: to 18
        store_imm(R0, 0, 1),              // 16: execve: armed[0] = 1, from now on
        jump(2),                          // 17: to 20
        load(R1, R0, 0),                  // 18: r1 = armed[0]
        jump_if_equal(R1, 0, 21),         // 19: not yet: to 41
        // Find the thread's entry in `entered`.
        mov(R2, R10),            // 20: r2 = &stack[-8], the thread
        add_imm(R2, -8),         // 21:
        entered,                 // 22: r1 = the map `entered`
        entered_2,               // 23:      (its upper half)
        call(MAP_LOOKUP_ELEM),   // 24: r0 = &entered[thread], or 0
        mov(R9, R0),             // 25: r9 = the same, kept
        call(KTIME_GET_NS),      // 26: r0 = now, in nanoseconds
        jump_if_equal(R9, 0, 3), // 27: the thread's first syscall: to 31
        store(R9, 0, R7),        // 28: entered[thread].number = r7
        store(R9, 8, R0),        // 29: entered[thread].start_ns = now
        jump(10),                // 30: to 41
        // A new thread: make its entry, on the stack, then in the map.
        store(R10, -32, R7),   // 31: stack[-32] = the number
        store(R10, -24, R0),   // 32: stack[-24] = now
        mov(R2, R10),          // 33: r2 = &stack[-8], the key
        add_imm(R2, -8),       // 34:
        mov(R3, R10),          // 35: r3 = &stack[-32], the value
        add_imm(R3, -32),      // 36:
        entered,               // 37: r1 = the map `entered`
        entered_2,             // 38:      (its upper half)
        mov_imm(R4, 0),        // 39: r4 = 0: create, or replace
        call(MAP_UPDATE_ELEM), // 40: entered[thread] = { number, now }
        mov_imm(R0, 0),        // 41: r0 = 0
        exit(),                // 42: return 0
    ]
}
// ANCHOR_END: sys_enter

// ANCHOR: sys_exit
/// Runs as any thread on the machine leaves a syscall. For a thread of
/// process `tgid` whose entry `sys_enter` noted, it adds the call, its time,
/// and whether it failed, to the syscall's row in `counts`.
pub fn sys_exit(tgid: u32, maps: &Maps) -> Vec<Instruction> {
    let [entered, entered_2] = load_map(R1, maps.entered);
    let [counts, counts_2] = load_map(R1, maps.counts);
    vec![
        // r1 = the tracepoint's arguments: [0] the registers, [1] the result.
        mov(R6, R1),                            //  0: r6 = the arguments, kept
        call(GET_CURRENT_PID_TGID),             //  1: r0 = process id << 32 | thread id
        store(R10, -8, R0),                     //  2: stack[-8] = that: the thread's key
        shift_right(R0, 32),                    //  3: r0 = the process id alone
        jump_if_not_equal(R0, tgid as i32, 28), //  4: another process: to 33
        // Which syscall is the thread leaving, and since when?
        mov(R2, R10),             //  5: r2 = &stack[-8], the thread
        add_imm(R2, -8),          //  6:
        entered,                  //  7: r1 = the map `entered`
        entered_2,                //  8:      (its upper half)
        call(MAP_LOOKUP_ELEM),    //  9: r0 = &entered[thread], or 0
        jump_if_equal(R0, 0, 22), // 10: never seen: to 33
        load(R8, R0, 8),          // 11: r8 = its start_ns
        jump_if_equal(R8, 0, 20), // 12: no entry noted: to 33
        load(R7, R0, 0),          // 13: r7 = its number
        store_imm(R0, 8, 0),      // 14: start_ns = 0: out of it now
        call(KTIME_GET_NS),       // 15: r0 = now
        sub(R0, R8),              // 16: r0 = now - start_ns
        mov(R8, R0),              // 17: r8 = the time it took
        // Find the syscall's row: the number is the key, as a u32.
        store32(R10, -12, R7),      // 18: stack[-12] = the number
        mov(R2, R10),               // 19: r2 = &stack[-12]
        add_imm(R2, -12),           // 20:
        counts,                     // 21: r1 = the map `counts`
        counts_2,                   // 22:      (its upper half)
        call(MAP_LOOKUP_ELEM),      // 23: r0 = &counts[number], or 0
        jump_if_equal(R0, 0, 8),    // 24: no such row: to 33
        mov_imm(R1, 1),             // 25: r1 = 1
        atomic_add(R0, 0, R1),      // 26: counts[number].calls += 1
        atomic_add(R0, 16, R8),     // 27: counts[number].nanoseconds += time
        load(R1, R6, 8),            // 28: r1 = the syscall's result
        jump_if_greater(R1, -1, 3), // 29: 0 or more: success, to 33
        jump_if_less(R1, -4095, 2), // 30: below -4095: an address, to 33
        mov_imm(R1, 1),             // 31: r1 = 1
        atomic_add(R0, 8, R1),      // 32: counts[number].errors += 1
        mov_imm(R0, 0),             // 33: r0 = 0
        exit(),                     // 34: return 0
    ]
}
// ANCHOR_END: sys_exit
// ANCHOR_END: all
