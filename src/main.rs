use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match devenv::cli::parse_args() {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(devenv::error::exit::FAILURE);
        }
    };
    let code = runtime.block_on(devenv::cli::run(cli));
    // Don't wait for lingering log streams.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    ExitCode::from(code)
}
