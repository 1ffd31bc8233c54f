#!/bin/sh
# Entrypoint of the host image. Started as root, it makes the host's folders (a fresh
# Fly volume is empty and root's), gives them to the `cockpit` user, seeds the default
# MCP servers, and runs the command as `cockpit`. Started as another user, it only seeds.
set -e
ws="${COCKPIT_WORKSPACE:-/workspace}"
data="${COCKPIT_DATA_DIR:-/data}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$ws" "$data"
  chown cockpit:cockpit "$ws" "$data"
  if [ ! -e "$ws/.mcp.json" ]; then
    cp /etc/cockpit/host.mcp.json "$ws/.mcp.json"
    chown cockpit:cockpit "$ws/.mcp.json"
  fi
  export HOME=/home/cockpit
  exec setpriv --reuid=cockpit --regid=cockpit --init-groups "$@"
fi
[ -e "$ws/.mcp.json" ] || cp /etc/cockpit/host.mcp.json "$ws/.mcp.json"
exec "$@"
