/*
 * iforest: an isolation forest (Liu, Ting & Zhou 2008) with scikit-learn's
 * IsolationForest semantics, for the legacy default detector.
 *
 * Each tree is grown on psi = min(max_samples, n) rows drawn without
 * replacement; a node splits on a feature drawn uniformly among those not
 * constant in the node, at a threshold uniform in (min, max); growth stops
 * at depth ceil(log2(psi)) or when a node holds one row or only identical
 * rows. The path length of a row is its leaf depth plus c(size of the leaf),
 * and its score 2^(-mean path / c(psi)), c(k) = 2 H(k-1) - 2 (k-1)/k (c(1) = 0,
 * c(2) = 1). Deterministic for a seed (xoshiro256** seeded by splitmix64);
 * the random stream is not sklearn's, so forests differ from sklearn's in
 * detail, not in law.
 * Not here: features, contamination and thresholds (core/detect/detector_legacy.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/detector.h"

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform double in [0, 1). */
static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, k), k >= 1 (the modulo bias is below 2^-40 for our k). */
static size_t rng_below(struct rng *r, size_t k)
{
	return (size_t)(rng_next(r) % (uint64_t)k);
}

/* Average path length of an unsuccessful BST search among k rows. */
static double avg_path(size_t k)
{
	if (k <= 1)
		return 0.0;
	if (k == 2)
		return 1.0;
	double km1 = (double)(k - 1);
	return 2.0 * (log(km1) + 0.5772156649015329) - 2.0 * km1 / (double)k;
}

struct node {
	long left, right;   /* child indices, -1 for a leaf */
	size_t feature;     /* split feature */
	double split;       /* go left when x[feature] < split */
	double leaf_path;   /* at a leaf: depth + c(size) */
};

struct tree_builder {
	const double *X;
	size_t d;
	struct node *nodes;
	size_t nnodes;
	size_t max_depth;
	size_t *feats;       /* [d] scratch: non-constant features of a node */
	double *lo, *hi;     /* [d] scratch: per-feature min and max in a node */
	struct rng *rng;
};

/* Grows the subtree over rows idx[0..k) at depth; returns its node index. */
static long grow(struct tree_builder *b, size_t *idx, size_t k, size_t depth)
{
	long me = (long)b->nnodes++;
	struct node *nd = &b->nodes[me];
	nd->left = nd->right = -1;
	nd->leaf_path = (double)depth + avg_path(k);
	if (depth >= b->max_depth || k <= 1)
		return me;
	for (size_t f = 0; f < b->d; f++) {
		b->lo[f] = INFINITY;
		b->hi[f] = -INFINITY;
	}
	for (size_t i = 0; i < k; i++) {
		const double *row = b->X + idx[i] * b->d;
		for (size_t f = 0; f < b->d; f++) {
			if (row[f] < b->lo[f])
				b->lo[f] = row[f];
			if (row[f] > b->hi[f])
				b->hi[f] = row[f];
		}
	}
	size_t nf = 0;
	for (size_t f = 0; f < b->d; f++)
		if (b->hi[f] > b->lo[f])
			b->feats[nf++] = f;
	if (nf == 0)
		return me;
	size_t f = b->feats[rng_below(b->rng, nf)];
	double lo = b->lo[f], hi = b->hi[f];
	double split = lo + rng_unit(b->rng) * (hi - lo);
	if (!(split > lo))
		split = hi; /* rounding: keep both sides non-empty */
	/* Partition: rows with x < split first. */
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (b->X[idx[i] * b->d + f] < split) {
			size_t tmp = idx[i];
			idx[i] = idx[m];
			idx[m] = tmp;
			m++;
		}
	}
	nd->feature = f;
	nd->split = split;
	long l = grow(b, idx, m, depth + 1);
	long r = grow(b, idx + m, k - m, depth + 1);
	b->nodes[me].left = l;
	b->nodes[me].right = r;
	return me;
}

static double path_length(const struct node *nodes, const double *row)
{
	long i = 0;
	while (nodes[i].left >= 0)
		i = row[nodes[i].feature] < nodes[i].split ? nodes[i].left : nodes[i].right;
	return nodes[i].leaf_path;
}

enum rb_code iforest_score(const double *X, size_t n, size_t d, const struct iforest_params *p,
                           double *score, struct rb_err *err)
{
	if (n == 0)
		return RB_OK;
	size_t psi = p->max_samples < n ? p->max_samples : n;
	if (psi < 2) {
		for (size_t i = 0; i < n; i++)
			score[i] = 0.5;
		return RB_OK;
	}
	size_t max_nodes = 2 * psi - 1;
	size_t *all = malloc(n * sizeof *all);
	size_t *feats = malloc(d * sizeof *feats);
	double *lohi = malloc(2 * d * sizeof *lohi);
	struct node *nodes = malloc(max_nodes * sizeof *nodes);
	double *sum = calloc(n, sizeof *sum);
	if (all == NULL || feats == NULL || lohi == NULL || nodes == NULL || sum == NULL) {
		free(all);
		free(feats);
		free(lohi);
		free(nodes);
		free(sum);
		return rb_err_set(err, RB_E_NOMEM, "out of memory for the isolation forest");
	}
	struct rng rng;
	rng_seed(&rng, p->seed);
	size_t max_depth = (size_t)ceil(log2((double)psi));
	for (size_t i = 0; i < n; i++)
		all[i] = i;
	struct tree_builder b = {.X = X, .d = d, .nodes = nodes, .max_depth = max_depth,
	                         .feats = feats, .lo = lohi, .hi = lohi + d, .rng = &rng};
	for (size_t tr = 0; tr < p->trees; tr++) {
		/* Partial Fisher-Yates: all[0..psi) becomes a uniform sample without replacement. */
		for (size_t i = 0; i < psi; i++) {
			size_t j = i + rng_below(&rng, n - i);
			size_t tmp = all[i];
			all[i] = all[j];
			all[j] = tmp;
		}
		b.nnodes = 0;
		grow(&b, all, psi, 0);
		for (size_t i = 0; i < n; i++)
			sum[i] += path_length(nodes, X + i * d);
	}
	double cpsi = avg_path(psi);
	for (size_t i = 0; i < n; i++)
		score[i] = pow(2.0, -(sum[i] / (double)p->trees) / cpsi);
	free(all);
	free(feats);
	free(lohi);
	free(nodes);
	free(sum);
	return RB_OK;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double iforest_percentile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof *v, cmp_double);
	double pos = q / 100.0 * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	if (lo >= n - 1)
		return v[n - 1];
	double frac = pos - (double)lo;
	return v[lo] + frac * (v[lo + 1] - v[lo]);
}
