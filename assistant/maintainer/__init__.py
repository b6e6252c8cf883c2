"""The maintainer's work without a window: the session (library, warm-up, retrain, compare,
activate, rollback), the child process heavy work runs in, and the retrain/models commands."""
