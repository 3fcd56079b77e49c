#!/bin/sh
# Runs ON the machine, fed to `sh -s -- PYTHON` over SSH. Ensures one headless jupyter_server
# (the gateway) runs detached, bound to 127.0.0.1, with a random token kept in ~/.cloudlab (0600).
# Idempotent: a gateway that still runs is reused. Prints one line for the caller:
#   CLOUDLAB-GATEWAY <port> <token>
set -eu
umask 077
STATE="$HOME/.cloudlab"
PY="${1:-python3}"
mkdir -p "$STATE"

if ! "$PY" -c 'import jupyter_server, ipykernel' 2>/dev/null; then
  # Fresh machine: an isolated environment under the user's home, never the system's.
  if [ ! -x "$STATE/venv/bin/python" ]; then
    "$PY" -m venv "$STATE/venv" >"$STATE/install.log" 2>&1 || { tail -n 20 "$STATE/install.log" >&2; exit 3; }
  fi
  PY="$STATE/venv/bin/python"
  if ! "$PY" -c 'import jupyter_server, ipykernel' 2>/dev/null; then
    "$PY" -m pip install --quiet jupyter_server ipykernel >>"$STATE/install.log" 2>&1 \
      || { tail -n 20 "$STATE/install.log" >&2; exit 3; }
  fi
fi

[ -s "$STATE/token" ] || "$PY" -c 'import secrets; print(secrets.token_hex(32))' >"$STATE/token"
TOKEN=$(cat "$STATE/token")

# Whether OUR gateway answers on a port (a pid can be stale or reused after a reboot).
answers() {
  JUPYTER_TOKEN="$TOKEN" "$PY" -c "
import os, sys, urllib.request
request = urllib.request.Request('http://127.0.0.1:$1/api/status',
                                 headers={'Authorization': 'token ' + os.environ['JUPYTER_TOKEN']})
urllib.request.urlopen(request, timeout=2)" 2>/dev/null
}

if [ -s "$STATE/gateway.port" ] && answers "$(cat "$STATE/gateway.port")"; then
  echo "CLOUDLAB-GATEWAY $(cat "$STATE/gateway.port") $TOKEN"
  exit 0
fi

# Only the gateway itself: no front-end or other server extensions on the machine.
cat >"$STATE/jupyter_server_config.json" <<'JSON'
{"ServerApp": {"jpserver_extensions": {"jupyter_cloudlab": false, "jupyterlab": false,
  "jupyter_lsp": false, "notebook": false, "notebook_shim": false, "nbclassic": false}}}
JSON
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cd "$HOME"
# The token travels in the environment, never in argv (visible to every user in ps).
JUPYTER_TOKEN="$TOKEN" setsid nohup "$PY" -m jupyter_server \
  --config="$STATE/jupyter_server_config.json" \
  --ServerApp.ip=127.0.0.1 --ServerApp.port="$PORT" --ServerApp.port_retries=0 \
  --ServerApp.open_browser=False --ServerApp.root_dir="$HOME" --ServerApp.allow_root=True \
  >"$STATE/gateway.log" 2>&1 </dev/null &
echo $! >"$STATE/gateway.pid"
echo "$PORT" >"$STATE/gateway.port"

i=0
while [ "$i" -lt 240 ]; do
  if answers "$PORT"; then
    echo "CLOUDLAB-GATEWAY $PORT $TOKEN"
    exit 0
  fi
  if ! kill -0 "$(cat "$STATE/gateway.pid")" 2>/dev/null; then
    echo "The jupyter server on the machine exited:" >&2
    tail -n 20 "$STATE/gateway.log" >&2
    exit 4
  fi
  i=$((i + 1))
  sleep 0.25
done
echo "The jupyter server on the machine did not answer within 60 s:" >&2
tail -n 20 "$STATE/gateway.log" >&2
exit 5
