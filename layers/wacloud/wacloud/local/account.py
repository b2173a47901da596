"""The region and account the local run pretends to be (moto's default account)."""

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
