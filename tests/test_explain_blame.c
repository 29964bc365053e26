/*
 * test_explain_blame: the blame rule (include/rb/explain/blame.h) on crafted
 * matrices whose answer is known: a big steady row is not blamed, a small one
 * that jumped is; ties answer in row order; missing cells read as 0; one
 * column only answers the rows carrying the total; a drop blames the row that
 * dropped; a flat total with nobody moving blames nobody.
 */
#include <math.h>
#include <string.h>

#include "rb/explain/blame.h"
#include "testutil.h"

#define T 24

/* Rows: 0 big steady (1000 +- 40), 1 small (10 +- 1) that jumps to `jump` at column 20. */
static void fill(double *x, double jump, double big_at)
{
	for (int t = 0; t < T; t++) {
		x[t] = 1000 + 40 * ((t * 7) % 5 - 2);
		x[T + t] = 10 + (t % 3 - 1);
	}
	x[20] = big_at;
	x[T + 20] = jump;
}

int main(void)
{
	struct rb_err err = {0};
	struct blame_result br;
	double x[3 * T];

	/* The big row moves by +70 (inside its own spread: z ~ 1.2), the small one by +90. */
	fill(x, 100, 1070);
	CHECK(blame_rows(x, 2, T, 20, &br, &err) == RB_OK);
	CHECKF(br.n == 1 && br.items[0].row == 1, "n=%zu", br.n);
	CHECK(br.items[0].z > BLAME_Z && br.items[0].share > 0.5);
	CHECK(fabs(br.items[0].baseline - 10) < 1.5);
	blame_release(&br);

	/* No jump: nobody. */
	fill(x, 10, 1000);
	CHECK(blame_rows(x, 2, T, 20, &br, &err) == RB_OK);
	CHECKF(br.n == 0, "n=%zu", br.n);
	blame_release(&br);

	/* The big row jumps far out of its spread too, by more: both, big first (larger share). */
	fill(x, 100, 1600);
	CHECK(blame_rows(x, 2, T, 20, &br, &err) == RB_OK);
	CHECK(br.n == 2 && br.items[0].row == 0 && br.items[1].row == 1);
	CHECK(br.items[0].share > br.items[1].share);
	blame_release(&br);

	/* Ties: rows 1 and 2 identical jumpers: both, in row order. */
	fill(x, 100, 1000);
	memcpy(x + 2 * T, x + T, T * sizeof x[0]);
	CHECK(blame_rows(x, 3, T, 20, &br, &err) == RB_OK);
	CHECK(br.n == 2 && br.items[0].row == 1 && br.items[1].row == 2);
	CHECK(br.items[0].share == br.items[1].share);
	blame_release(&br);

	/* Missing cells: row 2 is absent (NaN) everywhere but column 20: a new client. */
	fill(x, 10, 1000);
	for (int t = 0; t < T; t++)
		x[2 * T + t] = NAN;
	x[2 * T + 20] = 300;
	CHECK(blame_rows(x, 3, T, 20, &br, &err) == RB_OK);
	CHECK(br.n == 1 && br.items[0].row == 2 && isinf(br.items[0].z));
	CHECK(br.items[0].baseline == 0);
	blame_release(&br);
	/* ... and a row missing at the anomaly (NaN = 0): a drop, against a rising total: not blamed. */
	x[T + 20] = NAN;
	CHECK(blame_rows(x, 3, T, 20, &br, &err) == RB_OK);
	CHECK(br.n == 1 && br.items[0].row == 2);
	blame_release(&br);

	/* A drop: the big row falls to 100; the total falls; the big row is blamed. */
	fill(x, 10, 100);
	CHECK(blame_rows(x, 2, T, 20, &br, &err) == RB_OK);
	CHECK(br.n == 1 && br.items[0].row == 0 && br.items[0].z < -BLAME_Z);
	CHECK(br.items[0].share > 0.9);
	blame_release(&br);

	/* One column only: no baseline; the rows carrying a tenth of the total or more. */
	double one[3] = {900, 95, 5};
	CHECK(blame_rows(one, 3, 1, 0, &br, &err) == RB_OK);
	CHECK(br.n == 1 && br.items[0].row == 0 && fabs(br.items[0].share - 0.9) < 1e-12);
	blame_release(&br);
	double one2[2] = {50, 50};
	CHECK(blame_rows(one2, 2, 1, 0, &br, &err) == RB_OK);
	CHECK(br.n == 2 && br.items[0].row == 0 && br.items[1].row == 1);
	blame_release(&br);

	/* A row that never moved, then moves by 0.5 %: under the 1 % scale floor, not blamed. */
	double flat[2 * T];
	for (int t = 0; t < T; t++) {
		flat[t] = 1000;
		flat[T + t] = 0;
	}
	flat[20] = 1005;
	CHECK(blame_rows(flat, 2, T, 20, &br, &err) == RB_OK);
	CHECK(br.n == 0);
	blame_release(&br);
	/* Nothing at all: nobody, no division by zero. */
	flat[20] = 1000;
	CHECK(blame_rows(flat, 2, T, 20, &br, &err) == RB_OK);
	CHECK(br.n == 0);
	blame_release(&br);
	/* Degenerate calls. */
	CHECK(blame_rows(x, 0, T, 0, &br, &err) == RB_OK && br.n == 0);
	CHECK(blame_rows(x, 2, T, T, &br, &err) == RB_OK && br.n == 0);
	blame_release(NULL);
	return 0;
}
