# Helpers shared by the service scripts; sourced, not run. Callers set SERVICE (a log prefix).

log() { echo "[$SERVICE] $*" >&2; }

# Prints the last lines of each existing file to stderr, for failure reports.
tail_logs() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "----- tail $f" >&2
    tail -n 15 "$f" >&2
  done
}

# Seconds since T0 (an $EPOCHREALTIME value), with two decimals.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

# Asks the kernel for a free loopback port (node is always there: the project needs it).
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until SECONDS DESCRIPTION CMD...: polls CMD every 0.1 s; returns 1 on timeout.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

# True while PID runs. Zombies count as gone: PID 1 on these machines need not reap orphans.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# stop_pidfiles SIGNAL MARKER PIDFILE...: sends SIGNAL to each live process, SIGKILL to what is left
# after 10 s, then removes the pid files. A process is only touched when its command line contains
# MARKER, so a stale pid file whose pid was reused by something else is harmless.
stop_pidfiles() {
  local signal=$1 marker=$2 f pid pids=()
  shift 2
  for f in "$@"; do
    [[ -f $f ]] || continue
    pid=$(<"$f")
    if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" &&
      tr '\0' '\n' </proc/"$pid"/cmdline | grep -qF -- "$marker"; then
      kill "-$signal" "$pid" 2>/dev/null && pids+=("$pid")
    fi
  done
  local deadline=$((SECONDS + 10)) left
  while :; do
    left=()
    for pid in "${pids[@]}"; do alive "$pid" && left+=("$pid"); done
    ((${#left[@]} == 0)) && break
    if ((SECONDS >= deadline)); then
      log "killing ${left[*]} after 10 s"
      kill -KILL "${left[@]}" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.05
  done
  rm -f "$@"
}
