"""The inbound flow: Meta's webhook verified and split into events (the webhook function), and each
event handled (the processor function)."""
