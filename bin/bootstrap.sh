# Sourced by bin/up and bin/test: make sure uv is there and the environment matches uv.lock.
# Needs only python3 (3.11) on the machine; uv comes from PyPI.
set -euo pipefail
if command -v uv >/dev/null 2>&1; then
    UV=(uv)
elif python3 -m uv --version >/dev/null 2>&1; then
    UV=(python3 -m uv)
else
    echo "installing uv from PyPI ..."
    python3 -m pip install --quiet --disable-pip-version-check uv
    UV=(python3 -m uv)
fi
"${UV[@]}" sync --locked --all-packages --quiet
