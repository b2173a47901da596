"""The adapters to AWS (session, table, queues, S3, credentials) and to Meta (the Graph client):
the only code that talks to them, and the one place their errors become the package's own."""
