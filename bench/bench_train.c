/*
 * bench_train: seconds per epoch of rb-aioutliers-train's loop on the plain-C
 * reference path and the oneDNN path (trainer.h's path option), on the
 * issue's yardstick: 4 weeks of one-minute rows of 11 metrics (40,320 rows;
 * windows of 32 at stride 16, the last 10 % validation), the default
 * architecture (24 units), batch 32 (and any other batch sizes given), the
 * same seed on both paths. Synthetic daily-periodic traffic written as a
 * Druid result to a temporary file, read as the command reads it. Prints a
 * table: phase, path, batch, seconds (wall clock, and the process's CPU time,
 * which a busy machine inflates less). Usage:
 *   bench_train [--path ref|dnnl|both] [EPOCHS [BATCH...]]
 * (default both paths, 2 epochs, batch 32). Threads: set OMP_NUM_THREADS=1
 * for the one-thread figure (oneDNN uses OpenMP). Not a test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rb/train/train_arch.h"
#include "rb/train/train_data.h"
#include "rb/train/train_net.h"
#include "rb/train/trainer.h"

#define ROWS 40320
#define NM 11

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void write_data(const char *path)
{
	static const char *const names[NM] = {
	    "bits_per_sec_per_client", "bps", "bytes", "bytes_per_client", "clients", "flows",
	    "flows_per_client", "flows_per_sec_per_client", "fps", "pkts", "pps"};
	FILE *f = fopen(path, "w");
	if (f == NULL)
		exit(1);
	uint64_t s = 12345;
	fputc('[', f);
	for (long i = 0; i < ROWS; i++) {
		time_t t = (time_t)(1693526400 + i * 60); /* 2023-09-01 */
		struct tm tm;
		gmtime_r(&t, &tm);
		char ts[40];
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		double day = 1.5 + sin(2 * M_PI * (double)(i % 1440) / 1440.0);
		fprintf(f, "%s{\"timestamp\":\"%s\",\"result\":{", i ? "," : "", ts);
		for (int c = 0; c < NM; c++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			double u = (double)(s >> 11) / 9007199254740992.0;
			fprintf(f, "%s\"%s\":%.3f", c ? "," : "", names[c],
			        day * pow(10.0, 1 + c % 6) * (0.95 + 0.1 * u));
		}
		fputs("}}", f);
	}
	fputs("]", f);
	fclose(f);
}

struct timing {
	double sum;
	size_t n;
};

static void on_epoch(void *ctx, size_t epoch, size_t epochs, double tl, double vl, double sec,
                     int best)
{
	struct timing *t = ctx;
	(void)best;
	t->sum += sec;
	t->n++;
	printf("  epoch %zu/%zu: train %.5f validation %.5f, %.2f s\n", epoch, epochs, tl, vl, sec);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int want[TRAINER_PATH_COUNT] = {1, 1};
	if (argc > 2 && strcmp(argv[1], "--path") == 0) {
		enum trainer_path only;
		if (strcmp(argv[2], "both") != 0) {
			if (trainer_path_parse(argv[2], strlen(argv[2]), &only) != 0) {
				fprintf(stderr, "bench_train: --path ref, dnnl or both\n");
				return 2;
			}
			want[0] = want[1] = 0;
			want[only] = 1;
		}
		argc -= 2;
		argv += 2;
	}
	size_t epochs = argc > 1 ? (size_t)atoi(argv[1]) : 2;
	char path[] = "/tmp/bench_train.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || epochs < 1)
		return 1;
	close(fd);
	double t0 = now();
	write_data(path);
	double t1 = now();
	struct rb_err err = {0};
	struct train_data d;
	struct train_data_options o = {32, 16, 0.1};
	const char *paths[] = {path};
	if (train_data_load(&d, paths, 1, &o, &err) != RB_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	double t2 = now();
	const char *omp = getenv("OMP_NUM_THREADS");
	printf("bench_train: %zu rows of %d metrics, %zu training + %zu validation windows "
	       "(window 32, stride 16), OMP_NUM_THREADS=%s\n",
	       d.n_rows, NM, d.n_train, d.n_val, omp != NULL ? omp : "(unset)");
	printf("| phase | path | batch | seconds |\n|---|---|---|---|\n");
	printf("| write the Druid result (synthetic) | | | %.2f |\n", t1 - t0);
	printf("| read + parse + features + windows | | | %.2f |\n", t2 - t1);
	int nb = argc > 2 ? argc - 2 : 1;
	for (int run = 0; run < nb * TRAINER_PATH_COUNT; run++) {
		size_t batch = argc > 2 ? (size_t)atoi(argv[2 + run / TRAINER_PATH_COUNT]) : 32;
		enum trainer_path path = (enum trainer_path)(run % TRAINER_PATH_COUNT);
		const char *pn = trainer_path_names[path];
		if (!want[path])
			continue;
		struct train_arch a = TRAIN_ARCH_TRAFFIC(NM);
		struct model *m = NULL;
		struct train_net *net = NULL;
		if (train_arch_build(&m, &a, 1, &err) != RB_OK || train_net_new(&net, m, &err) != RB_OK)
			return 1;
		train_arch_regularise(net);
		train_arch_input_stats(net, d.train_rows, d.n_train_rows, &err);
		struct timing tm = {0, 0};
		struct trainer_options to = {epochs, batch, 0.00657, 0.004, 1, 0, on_epoch, &tm, path, 0};
		struct trainer_result r;
		double c0 = cpu_now();
		enum rb_code trc = trainer_run(net, &d, &to, &r, &err);
		double cpu = cpu_now() - c0;
		if (trc != RB_OK) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		printf("| epoch (train %zu windows + validation %zu), mean of %zu | %s | %zu | %.3f |\n",
		       d.n_train, d.n_val, tm.n, pn, batch, tm.sum / (double)tm.n);
		printf("| epoch, CPU seconds of the process (robust to load), mean of %zu | %s | %zu | %.3f |\n",
		       tm.n, pn, batch, cpu / (double)tm.n);
		printf("| per training window (incl. validation) | %s | %zu | %.6f |\n", pn, batch,
		       tm.sum / (double)tm.n / (double)d.n_train);
		printf("| final losses: train %.6f, validation %.6f | %s | %zu | |\n", r.train_loss,
		       r.val_loss, pn, batch);
		double t3 = now();
		train_net_store(net, m);
		m->spec = d.spec; /* borrowed for the calibration */
		size_t scored = 0;
		if (trainer_calibrate(m, &d, &scored, &err) != RB_OK) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		printf("| calibration (%zu validation rows) | %s | | %.2f |\n", scored, pn, now() - t3);
		memset(&m->spec, 0, sizeof m->spec);
		train_net_free(net);
		model_free(m);
	}
	train_data_release(&d);
	unlink(path);
	return 0;
}
