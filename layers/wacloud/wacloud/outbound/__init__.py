"""The outbound flow: the queue contract and the messages API that feed it, and the sender that
turns each document into at most one Graph call and a recorded outcome."""
