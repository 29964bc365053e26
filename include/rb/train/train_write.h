/*
 * train_write: a trained model to the files the service loads, atomically:
 * NAME.keras (a zip of config.json, metadata.json and model.weights.h5 with
 * the old service's layout: Keras 2.15's functional config, weights under
 * layers/<class counter>/vars/<i>, LSTM under layers/lstm[_k]/cell/vars/<i>,
 * float32, as ../shared/upstream/traffic.keras), NAME.ini (the old keys plus
 * our [rb-aioutliers] and [training] sections) and, when
 * given, NAME.druid.json.
 *
 * Atomic: every file is first written under a temporary name in the same
 * directory (".NAME.<ext>.tmp.<pid>") and fsync'ed; the temporary .keras and
 * .ini are loaded back with model_load_files (a model the service would
 * refuse is never installed); then each existing NAME.<ext> is renamed to
 * NAME.prev.<ext>, the new files renamed into place and the directory
 * fsync'ed. On any failure the temporary files are removed and nothing else
 * changed (a rename that fails midway moves the files already moved back).
 * Not the training, not the data.
 * The bytes depend only on the arguments (fixed zip times, no HDF5 object
 * times, metadata's date_saved from the caller): same model, same bytes.
 */
#ifndef RB_TRAIN_WRITE_H
#define RB_TRAIN_WRITE_H

#include <stddef.h>

#include "rb/base/error.h"
#include "rb/model/model.h"
#include "rb/train/train_net.h"

struct train_write_args {
	const char *dir;         /* the models directory (must exist and be writable) */
	const char *name;        /* model_name_valid() */
	const char *date_saved;  /* metadata.json "date_saved" ("2024-04-10@09:13:24"); NULL: none */
	const char *ini_training;/* NULL, or the "key = value\n" lines of NAME.ini's [training]
	                          * section (what it was trained on; the loader ignores them) */
	const char *druid_json;  /* NULL: no NAME.druid.json (an existing one is moved to .prev) */
	size_t druid_json_len;
};

/*
 * Writes m (its weights and m->spec, which must hold the columns, window
 * size, number of windows, avg_loss, std_loss, score statistics) as
 * a->name in a->dir. net (may be NULL) gives the Dropout rates, the noise
 * and the L2 factors written into config.json (else the old model's).
 * RB_E_INPUT for a bad name, RB_E_CONFIG for a directory that cannot be
 * written (the message says which and why), RB_E_MODEL when the written
 * files do not load back, RB_E_INTERNAL for an HDF5 or zip failure.
 */
enum rb_code train_write(const struct model *m, const struct train_net *net,
                         const struct train_write_args *a, struct rb_err *err);

/* RB_OK when dir is a directory this process can create files in; RB_E_CONFIG saying why not. */
enum rb_code train_write_check_dir(const char *dir, struct rb_err *err);

/* The config.json text of m (malloc'd, NUL-terminated; NULL on allocation failure). */
char *train_write_config_json(const struct model *m, const struct train_net *net);

#endif
