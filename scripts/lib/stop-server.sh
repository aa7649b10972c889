# Sourced by es.sh and kafka.sh: stop the server whose pid file is $1, named $2 in messages.
# SIGTERM, then up to 30 s for it to exit, then SIGKILL; the pid file goes once it is gone.
stop_server() {
  local pid_file="$1" label="$2" pid waited=0
  pid="$(running_pid)" || { echo "$label: none of ours is running" >&2; return 0; }
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    [ "$waited" -eq 60 ] && { echo "$label did not stop in 30s; killing it" >&2; kill -KILL "$pid"; }
    sleep 0.5
    waited=$((waited + 1))
  done
  rm -f "$pid_file"
  echo "$label stopped" >&2
}
