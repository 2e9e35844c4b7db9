//! SIGTERM and SIGINT request a graceful shutdown through a
//! [`CancellationToken`]; a second signal exits at once.

use rmq_remoting::CancellationToken;

/// Exit status after a second signal: 128 + SIGINT, as shells report it.
const FORCED_EXIT: i32 = 130;

/// A token cancelled by the first SIGTERM or SIGINT. Must be called inside a
/// tokio runtime; the listening task lives as long as the runtime.
pub fn shutdown_token() -> std::io::Result<CancellationToken> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!("{name} received, shutting down");
        cancel.cancel();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::warn!("second signal received, exiting without waiting");
        // Not waiting for the server, but for the log lines already queued:
        // `exit` skips the drop that would write them.
        crate::logging::finish();
        std::process::exit(FORCED_EXIT);
    });
    Ok(token)
}
