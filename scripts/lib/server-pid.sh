# Sourced by es.sh and kafka.sh, which each keep a server's pid in $node/pid.

running_pid() { # the pid of the server if it is alive
  local pid
  [ -f "$node/pid" ] || return 1
  pid="$(cat "$node/pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Stops the server, named $1 in messages: SIGTERM, then up to 30 s for it to exit, then SIGKILL; the pid
# file goes once it is gone.
stop_server() {
  local label="$1" pid waited=0
  pid="$(running_pid)" || { echo "$label: none of ours is running" >&2; return 0; }
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    [ "$waited" -eq 60 ] && { echo "$label did not stop in 30s; killing it" >&2; kill -KILL "$pid"; }
    sleep 0.5
    waited=$((waited + 1))
  done
  rm -f "$node/pid"
  echo "$label stopped" >&2
}
