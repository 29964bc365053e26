# Sourced by the hosting tests and bench/service.sh: free_port prints a TCP port on
# 127.0.0.1 that nothing listens on — the kernel's choice via python3 if present, else a
# random one in 20000-59999 that refuses connections (a small race either way).
free_port() {
	if command -v python3 >/dev/null; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
		return
	fi
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
