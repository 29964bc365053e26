/*
 * Fuzz target: model_ini_parse (a model .ini -> struct model_spec). Checks,
 * for every accepted input, the invariants the rest relies on: both column
 * lists present and capped, names non-empty and bounded, window sizes in
 * range, finite statistics. Seeds: tests/fuzz/corpus/model_ini/.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/model_internal.h"

static void require(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_spec s;
	struct rb_err err;
	if (model_ini_parse((const char *)data, size, "fuzz.ini", &s, &err) != RB_OK) {
		require(s.metrics == NULL && s.timestamp == NULL);
		return 0;
	}
	require(s.n_metrics >= 1 && s.n_metrics <= MODEL_MAX_COLUMNS && s.n_timestamp >= 1 &&
	        s.n_timestamp <= MODEL_MAX_COLUMNS);
	for (size_t k = 0; k < s.n_metrics; k++)
		require(strlen(s.metrics[k]) >= 1 && strlen(s.metrics[k]) < MODEL_NAME_MAX);
	for (size_t k = 0; k < s.n_timestamp; k++)
		require(strlen(s.timestamp[k]) >= 1 && strlen(s.timestamp[k]) < MODEL_NAME_MAX);
	require(s.window_size >= 1 && s.num_windows >= 1 && s.window_size * s.num_windows <= MODEL_MAX_DIM);
	require(isfinite(s.avg_loss) && s.avg_loss >= 0 && isfinite(s.std_loss) && s.std_loss >= 0);
	require(s.has_threshold_sigma ? (isfinite(s.threshold_sigma) && s.threshold_sigma > 0) : s.threshold_sigma == 0);
	require(!s.has_score_stats || (isfinite(s.score_mean) && s.score_std > 0));
	model_spec_clear(&s);
	return 0;
}
