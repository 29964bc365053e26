#!/bin/sh
# train-models.sh: what rb-aioutliers-train.service runs (etc/systemd/): retrains every model
# configured in the train.d directory, one after the other, with the daemon's configuration.
#   NAME.json   a Druid timeseries query: model NAME (its aggregations are the columns)
#   NAME/       a directory of queries (*.json) with the same aggregations: model NAME
#               trained on all of them (e.g. one per sensor, each with its filter)
# Other files are ignored. Each model: rb-aioutliers-train -c CONFIG --name NAME
# $RB_TRAIN_ARGS --query FILE... (default interval: the last 7 days; default granularities:
# the old trainer's eight); its output goes to the journal.
# Environment: RB_CONFIG (default /etc/rb-aioutliers/rb-aioutliers.conf), RB_TRAIN_DIR
# (default /etc/rb-aioutliers/train.d), RB_TRAIN (the command, default
# /usr/bin/rb-aioutliers-train), RB_TRAIN_ARGS (extra options, split at blanks).
# Exit 0: every model trained (or none configured); 2: some trained, some failed; 1: none of
# several trained. The unit reloads the daemon on 0 and 2.
conf=${RB_CONFIG:-/etc/rb-aioutliers/rb-aioutliers.conf}
dir=${RB_TRAIN_DIR:-/etc/rb-aioutliers/train.d}
train=${RB_TRAIN:-/usr/bin/rb-aioutliers-train}
ok=0
bad=0
for entry in "$dir"/*; do
	[ -e "$entry" ] || continue
	base=${entry##*/}
	if [ -d "$entry" ]; then
		name=$base
		set -- "$entry"/*.json
		if [ ! -e "$1" ]; then
			echo "train-models.sh: $entry: no *.json query in it; model $name skipped" >&2
			bad=$((bad + 1))
			continue
		fi
	else
		case "$base" in
		*.json) name=${base%.json} ;;
		*) continue ;;
		esac
		set -- "$entry"
	fi
	echo "train-models.sh: model $name from $*"
	# RB_TRAIN_ARGS is split at blanks on purpose (several options).
	# shellcheck disable=SC2086
	if "$train" -c "$conf" --name "$name" $RB_TRAIN_ARGS --query "$@"; then
		ok=$((ok + 1))
	else
		echo "train-models.sh: model $name failed (its files are unchanged)" >&2
		bad=$((bad + 1))
	fi
done
echo "train-models.sh: $ok model(s) trained, $bad failed"
if [ "$bad" = 0 ]; then
	exit 0
elif [ "$ok" -gt 0 ]; then
	exit 2
fi
exit 1
