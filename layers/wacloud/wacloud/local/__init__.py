"""The local run: the three functions on this machine, with AWS emulated by moto, API Gateway by a
small HTTP front door, the SQS event source mappings by pollers, and the Graph API by a fake."""
