# Readiness waits for the lab scripts (sourced). A fixed sleep that hopes a
# server or a capture is ready passes on an idle machine and fails under
# load; these poll a condition and give up, naming it, at a deadline.

# wait_until SECONDS WHAT CMD...: run CMD until it succeeds.
wait_until() {
	local secs=$1 what=$2 end
	shift 2
	end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "lab: no $what after ${secs}s" >&2
			return 1
		fi
		sleep 0.05
	done
}

# tcpdump_listening ERRFILE: tcpdump printed that it captures.
tcpdump_listening() { grep -q 'listening on' "$1"; }

# tcpdump_drained PID ERRFILE: every packet the kernel handed tcpdump is
# written. Without --immediate-mode libpcap leaves packets in the ring
# until a block fills or its 1 s timer fires, and SIGINT then drops them:
# SIGUSR1 makes tcpdump print its counters, and captured = received by
# filter means nothing is left in the ring.
tcpdump_drained() {
	local n
	n=$(grep -c 'received by filter' "$2")
	kill -USR1 "$1" 2>/dev/null || return 0 # gone: nothing left to drain
	wait_until 5 "tcpdump $1 counters" more_counters "$2" "$n" || return 1
	grep 'received by filter' "$2" | tail -n1 |
		sed -nE 's/^tcpdump: ([0-9]+) packets? captured, ([0-9]+) packets? received by filter.*/\1 \2/p' |
		{ read -r c r && [ "$c" = "$r" ]; }
}

# more_counters ERRFILE N: tcpdump has printed its counters more than N
# times (a function, so each poll counts again).
more_counters() { [ "$(grep -c 'received by filter' "$1")" -gt "$2" ]; }

# no_open_tcp NETNS PORT: no TCP connection to or from PORT in NETNS is
# still closing (ESTABLISHED, FIN-WAIT, CLOSE-WAIT, LAST-ACK, ...): its
# last segment has been sent.
no_open_tcp() {
	[ -z "$(ip netns exec "$1" ss -tnH state connected "( sport = :$2 or dport = :$2 )" 2>/dev/null | grep -v TIME-WAIT)" ]
}
