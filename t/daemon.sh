# SPDX-License-Identifier: ISC
# daemon.sh - netdiskd for the shell tests and the benchmarks: processes,
# ports, keys, configuration files, starting netdiskd and waiting for it.
#
# Sourced by t/functions.sh (which adds TAP around it) and by
# contrib/bench.sh; nothing here writes to stdout but the values the
# functions return, so no TAP line leaks into a benchmark's output.  It
# works under "set -eu".
#
# The caller sets before using the functions:
#   T          a private temporary directory (write_conf, add_export)
#   ND_PORT    the TCP port netdiskd listens on, ND_KEY its key file,
#   ND_CTL     its control socket, ND_LOG its log (stdout and stderr)
# and may change ND_NETDISKD and ND_NETDISKCTL, the programs (default:
# netdiskd and netdiskctl from PATH).
#
# Processes:
#   track_pid PID...               killed by nd_kill_all
#   pid_alive PID                  running and not a zombie
#   nd_kill_all                    SIGTERM to every tracked process and
#                                  daemon, SIGKILL after 5 s; reaps them
# Ports:
#   free_port                      an unused TCP port on 127.0.0.1
#   port_listening PORT            something listens on it
#   wait_listening PORT [SECONDS]  until something does (10 s)
# The daemon:
#   make_key FILE                  netdiskctl genkey -o FILE
#   write_conf FILE [KEY=VALUE...] [global]: listen on 127.0.0.1:$ND_PORT,
#                                  keyfile $ND_KEY, a pidfile and the control
#                                  socket ($ND_CTL) in $T; "-KEY" drops one
#   add_export FILE NAME [KEY=VALUE...]   an export section; path defaults
#                                  to $T/NAME.img
#   netdiskd_start CONF            netdiskd -f -c CONF in the background
#                                  (its PID in $ND_PID, output to $ND_LOG);
#                                  0 once it listens on $ND_PORT, 1 if it
#                                  exited (status in $nd_exit), 2 if it
#                                  does not listen after 10 s

ND_NETDISKD=netdiskd
ND_NETDISKCTL=netdiskctl
ND_PID=""
nd_pids=""		# daemons
bg_pids=""		# other background processes

# ---------------------------------------------------------------- processes

# track_pid PID: kill PID on exit if it still runs.
track_pid() {
	bg_pids="$bg_pids $1"
}

# 0 if PID is a live (non-zombie) process.
pid_alive() {
	local st

	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) ||
		return 1
	test -n "$st" && test "$st" != Z
}

nd_kill_all() {
	local pid i

	for pid in $bg_pids $nd_pids; do
		kill -TERM "$pid" 2>/dev/null || :
	done
	for pid in $bg_pids $nd_pids; do
		i=0
		while pid_alive "$pid" && test $i -lt 50; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	done
}

# ---------------------------------------------------------------- ports

# A port nobody on this host uses, TCP or UDP (listening, connected or
# bound), below the kernel's range of ephemeral ports, which a connection
# or a datagram socket (a guest's DNS query through QEMU, say) may take
# after we looked: a UDP port of a QEMU socket network once collided
# with one.
free_port() {
	local i p hex lo

	lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range \
	    2>/dev/null) || lo=32768
	test "${lo:-0}" -gt 21000 || lo=60000
	for i in $(seq 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % (lo - 20000)))
		hex=$(printf '%04X' "$p")
		if ! grep -q ":$hex " /proc/net/tcp /proc/net/tcp6 \
		    /proc/net/udp /proc/net/udp6 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# 0 if something listens on 127.0.0.1:PORT (or the IPv4/IPv6 wildcard).
port_listening() {
	local hex

	hex=$(printf '%04X' "$1")
	awk -v h=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { f = 1 }
	    END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# wait_listening PORT [SECONDS]: 1 if nothing listens on PORT in time.
wait_listening() {
	local i

	for i in $(seq $((${2:-10} * 10))); do
		port_listening "$1" && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- the daemon

make_key() {
	"$ND_NETDISKCTL" genkey -o "$1"
}

# conf_lines KEY=VALUE...: one "key = value" line each.
conf_lines() {
	local kv

	for kv in "$@"; do
		printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
	done
}

# write_conf FILE [KEY=VALUE...]: the global section.  Defaults: listen on
# 127.0.0.1:$ND_PORT, the key $ND_KEY, a pidfile in $T, the control
# socket $ND_CTL.  A KEY=VALUE
# argument adds a line; "-KEY" drops a default.
write_conf() {
	local file=$1 kv drop=" "

	shift
	for kv in "$@"; do
		case $kv in
		-*) drop="$drop${kv#-} " ;;
		esac
	done
	{
		echo "# written by $(basename "$0")"
		echo "[global]"
		case $drop in *" listen "*) ;; *) echo "listen = 127.0.0.1:$ND_PORT" ;; esac
		case $drop in *" keyfile "*) ;; *) echo "keyfile = $ND_KEY" ;; esac
		case $drop in *" pidfile "*) ;; *) echo "pidfile = $T/netdiskd.pid" ;; esac
		case $drop in *" control_socket "*) ;; *) echo "control_socket = $ND_CTL" ;; esac
		for kv in "$@"; do
			case $kv in
			-*) ;;
			*) conf_lines "$kv" ;;
			esac
		done
		echo
	} >"$file"
}

# add_export FILE NAME [KEY=VALUE...]: an export section.  Unless a path=
# is given the backing file is $T/NAME.img.
add_export() {
	local file=$1 name=$2 kv havepath=no

	shift 2
	for kv in "$@"; do
		case $kv in path=*) havepath=yes ;; esac
	done
	{
		echo "[$name]"
		if test $havepath = no; then
			echo "path = $T/$name.img"
		fi
		conf_lines "$@"
		echo
	} >>"$file"
}

# netdiskd_start CONF: see the top of the file.
netdiskd_start() {
	local i

	"$ND_NETDISKD" -f -c "$1" >>"$ND_LOG" 2>&1 &
	ND_PID=$!
	nd_pids="$nd_pids $ND_PID"
	for i in $(seq 100); do
		if ! pid_alive "$ND_PID"; then
			nd_exit=0
			wait "$ND_PID" || nd_exit=$?
			return 1
		fi
		port_listening "$ND_PORT" && return 0
		sleep 0.1
	done
	return 2
}
