#!/usr/bin/env bash
# The API description (`reelforge openapi`, what /api/openapi.json serves):
#   1. is valid OpenAPI 3.1 for the reference validator (PyPI
#      openapi-spec-validator);
#   2. is what the web app's generated types (web/src/api/schema.d.ts, npm
#      openapi-typescript) were made from: they are regenerated and compared.
# Usage: scripts/check-openapi.sh          check (make test)
#        scripts/check-openapi.sh --write  regenerate web/src/api/schema.d.ts
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

write=""
case "${1:-}" in
    "") ;;
    --write) write=1 ;;
    *) echo "usage: scripts/check-openapi.sh [--write]" >&2; exit 2 ;;
esac

schema=web/src/api/schema.d.ts
use_scratch
bin="$(reelforge_bin debug)"
"$bin" openapi >"$work/openapi.json"

echo "check-openapi: OpenAPI 3.1 validation"
need_python_module openapi_spec_validator 'openapi-spec-validator>=0.9,<1' check-openapi
python3 -m openapi_spec_validator --schema 3.1 --validation-errors all "$work/openapi.json"

echo "check-openapi: generated web types ($schema)"
ensure_web_deps
(cd web && npx --no-install openapi-typescript "$work/openapi.json" -o "$work/schema.d.ts" >/dev/null)
if [ -n "$write" ]; then
    cp "$work/schema.d.ts" "$schema"
    echo "check-openapi: wrote $schema"
elif ! diff -u "$schema" "$work/schema.d.ts"; then
    echo "check-openapi: $schema is not what the API description generates; run scripts/check-openapi.sh --write" >&2
    exit 1
fi
