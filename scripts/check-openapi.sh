#!/usr/bin/env bash
# The API description (`reelforge openapi`, what /api/openapi.json serves) is
# valid OpenAPI 3.1 for the reference validator (PyPI openapi-spec-validator).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

use_scratch
bin="$(reelforge_bin debug)"
"$bin" openapi >"$work/openapi.json"

echo "check-openapi: OpenAPI 3.1 validation"
need_python_module openapi_spec_validator 'openapi-spec-validator>=0.9,<1' check-openapi
python3 -m openapi_spec_validator --schema 3.1 --validation-errors all "$work/openapi.json"

