"""WhatsApp Cloud API on AWS: the shared domain package used by every function."""
