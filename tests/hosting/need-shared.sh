# need_shared REL...: for the hosting scripts (sourced). Each REL must exist under
# RB_SHARED_DIR (the upstream models live outside the repository, in shared/); the
# first that does not ends the script with one line on stderr and exit 1: a failure,
# never a skip, so that a run without shared/ cannot pass.
need_shared() {
	local rel
	for rel in "$@"; do
		if [ -z "${RB_SHARED_DIR:-}" ] || [ ! -e "$RB_SHARED_DIR/$rel" ]; then
			echo "test needs the shared/ folder (RB_SHARED_DIR=${RB_SHARED_DIR:-}):" \
			     "missing ${RB_SHARED_DIR:-}/$rel" >&2
			exit 1
		fi
	done
}
