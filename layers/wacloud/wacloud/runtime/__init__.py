"""What every function runs with: log masking, metrics, tracing, idempotency, HTTP answers and the
per-process singletons."""
