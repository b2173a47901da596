"""The simulated Meta side of the local run: the Graph API with Meta's rules, and customers with phones."""
