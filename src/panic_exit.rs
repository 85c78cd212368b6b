//! What a panic (a bug in lbctl) does to the process.
//!
//! The release build aborts on panic instead of unwinding: no unwinding tables or landing pads,
//! about 3 MB less binary (docs/benchmarks.md). Aborting would end in SIGABRT; the hook below
//! ends the process first, in every build, the way an unwinding panic ends it: Rust's message
//! on stderr and exit code 101, plus a line saying it is a bug and what to report.

/// Exit code of a panic: Rust's own for a panicking main thread, kept under `panic = "abort"`.
pub const PANIC_EXIT_CODE: i32 = 101;

/// Installs the hook. Call first thing in `main`.
pub fn install() {
    let print_panic = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        print_panic(info);
        eprintln!(
            "error: lbctl stopped on an internal error; this is a bug. Please report it with the \
             lines above and the output of `{}`.",
            crate::invocation::command_line("version")
        );
        // Ends every thread at once: a panic in a runtime worker must not leave the command
        // waiting for a result that will never come, under either panic strategy.
        std::process::exit(PANIC_EXIT_CODE);
    }));
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// Runs in a child process started by the test below; a no-op in a normal test run.
    #[test]
    fn child_panics_in_a_runtime_worker() {
        if std::env::var_os("LBCTL_PANIC_EXIT_CHILD").is_none() {
            return;
        }
        super::install();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        // A panic inside a spawned task: tokio would catch it and the caller would wait on.
        runtime.block_on(async {
            let task = tokio::spawn(async { panic!("a bug in a task") });
            let _ = task.await;
            std::thread::sleep(std::time::Duration::from_secs(30));
        });
    }

    #[test]
    fn a_panic_ends_the_process_with_101_and_asks_for_a_report() {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "panic_exit::tests::child_panics_in_a_runtime_worker",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env("LBCTL_PANIC_EXIT_CHILD", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(super::PANIC_EXIT_CODE), "{stderr}");
        assert!(stderr.contains("a bug in a task"), "{stderr}");
        assert!(
            stderr.contains("this is a bug. Please report it"),
            "{stderr}"
        );
        assert!(stderr.contains("version`"), "{stderr}");
    }
}
