//! Stops the build, with one clear message, on any machine the steps cannot run on.
//!
//! Every step reads x86_64 registers through ptrace (orig_rax, rax, rdi, …), and
//! step 1 is x86_64 assembly, so they only make sense on Linux x86_64. Cargo
//! compiles this library before the step binaries: on another target the build
//! stops here, before the steps' own code produces a wall of confusing errors.

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
compile_error!(
    "strace from scratch runs only on Linux x86_64: the steps read x86_64 registers \
     with ptrace. On macOS or Windows, open the repository in its devcontainer \
     (.devcontainer/) or use a Linux x86_64 VM. On Apple Silicon or another ARM \
     machine, use a hosted x86_64 machine (a GitHub codespace, a cloud VM) or a fully \
     emulated x86_64 VM: an arm64 VM or container will not do. See the README's \
     \"Before the workshop\" and the book's appendix \"When it does not run\"."
);
