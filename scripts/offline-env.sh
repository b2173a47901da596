#!/usr/bin/env bash
# Run a command (sam, cfn-lint) with an AWS environment that cannot reach AWS: fixed region, fake
# credentials, no shared config/credentials files, no EC2 metadata probe, no SAM telemetry.
# Linting and building need no AWS account; the only network access left is PyPI (sam build).
set -euo pipefail

unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN \
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
  AWS_ENDPOINT_URL

export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=us-east-1
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null

exec "$@"
