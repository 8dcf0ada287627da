//! The floor of step 10's cost, for `bench/run`: runs a command with two
//! empty eBPF programs attached to `sys_enter` and `sys_exit`, built with step
//! 10's own code. Once any program sits on those tracepoints, every syscall on
//! the machine takes the kernel's slower path; this measures that alone.
//!
//! With `--clocks`, each program reads the clock once and does nothing else:
//! the two readings per syscall that step 10's time columns need, and their
//! cost on top of the floor.
//!
//!   floor [--clocks] COMMAND [ARGS...]

use std::process::{Command, exit};

#[allow(dead_code)]
#[path = "../steps/step10-ebpf/bpf.rs"]
mod bpf;
#[allow(dead_code)]
#[path = "../steps/step10-ebpf/program.rs"]
mod program;

use program::{KTIME_GET_NS, R0, call, exit as return_r0, mov_imm};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let clocks = args.first().is_some_and(|arg| arg == "--clocks");
    if clocks {
        args.remove(0);
    }
    let Some((program, args)) = args.split_first() else {
        eprintln!("usage: floor [--clocks] COMMAND [ARGS...]");
        exit(2);
    };
    // A program that does nothing: r0 = 0, return r0. Or that reads the
    // clock first, and drops what it read.
    let instructions = if clocks {
        vec![call(KTIME_GET_NS), mov_imm(R0, 0), return_r0()]
    } else {
        vec![mov_imm(R0, 0), return_r0()]
    };
    let load = |name| match bpf::load_program(name, &instructions) {
        Ok(fd) => fd,
        Err(_) => {
            eprintln!("floor: cannot load an empty BPF program (run as root)");
            exit(1);
        }
    };
    let (on_enter, on_exit) = (load("floor_enter"), load("floor_exit"));
    let _attached = [c"sys_enter", c"sys_exit"].map(|tracepoint| {
        let program = if tracepoint == c"sys_enter" {
            &on_enter
        } else {
            &on_exit
        };
        bpf::attach(program, tracepoint).unwrap_or_else(|errno| {
            eprintln!("floor: cannot attach: {errno}");
            exit(1);
        })
    });
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| {
            eprintln!("floor: cannot run {program}: {e}");
            exit(1);
        });
    exit(status.code().unwrap_or(1));
}
