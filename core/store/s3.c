/*
 * s3: the S3 client of rb/store/s3.h: path-style requests signed by libcurl's
 * CURLOPT_AWS_SIGV4 ("aws:amz:REGION:s3"), the payload hash sent as
 * x-amz-content-sha256 (computed here, so libcurl versions that hash the body
 * themselves and those that read the header agree), ListObjectsV2 pages read
 * with a small XML scanner (only the elements we use). Not a general XML
 * parser, not multipart, not retries.
 */
#include "rb/store/s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if LIBCURL_VERSION_NUM < 0x074b00
#error "S3 signing needs libcurl >= 7.75.0 (CURLOPT_AWS_SIGV4)"
#endif

#define S3_LIST_PAGE_MAX ((size_t)8 << 20)  /* one ListObjectsV2 answer */
#define S3_ERRBODY_MAX ((size_t)64 << 10)
#define S3_URL_MAX 4096
/* SHA-256 of the empty string: the payload hash of GET. */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
	struct s3_conf conf;
	CURL *curl;
	char sigv4[96];   /* aws:amz:REGION:s3 */
	char userpwd[400];
};

/* Where an answer's body goes: memory (cap) or a file descriptor (cap). */
struct sink {
	char *buf;
	size_t len, cap;
	int fd;              /* >= 0: write here, buf unused */
	unsigned long long written, max;
	int over;            /* the cap was passed */
	int io_errno;        /* a write failed */
};

#define CURL_TRY(call)                                                                     \
	do {                                                                               \
		CURLcode curl_try_rc_ = (call);                                            \
		if (curl_try_rc_ != CURLE_OK) {                                            \
			rc = rb_err_set(err, RB_E_INTERNAL, "s3.c:%d: %s: %s", __LINE__,   \
			                #call, curl_easy_strerror(curl_try_rc_));         \
			goto done;                                                         \
		}                                                                          \
	} while (0)

/* ---- small text helpers -------------------------------------------------------------------- */

/* Appends s[0..len) percent-encoded (unreserved kept; '/' kept when keep_slash). */
static int uri_encode(char *out, size_t cap, size_t *o, const char *s, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
		if (*o + 4 >= cap)
			return -1;
		if (plain) {
			out[(*o)++] = (char)c;
		} else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
	out[*o] = '\0';
	return 0;
}

static int append(char *out, size_t cap, size_t *o, const char *s)
{
	size_t l = strlen(s);
	if (*o + l + 1 > cap)
		return -1;
	memcpy(out + *o, s, l + 1);
	*o += l;
	return 0;
}

/*
 * Finds <tag>value</tag> in [p, end); v and vl get the raw value, returns the end of the
 * element, or NULL when there is none.
 */
static const char *xml_find(const char *p, const char *end, const char *tag, const char **v,
                            size_t *vl)
{
	char open[64], close[64];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	size_t ol = strlen(open), cl = strlen(close);
	for (const char *q = p; q + ol <= end; q++) {
		if (memcmp(q, open, ol) != 0)
			continue;
		for (const char *r = q + ol; r + cl <= end; r++) {
			if (memcmp(r, close, cl) == 0) {
				*v = q + ol;
				*vl = (size_t)(r - (q + ol));
				return r + cl;
			}
		}
		return NULL;
	}
	return NULL;
}

/* Copies an XML text value into out, decoding the five predefined entities; -1 if too long. */
static int xml_text(const char *v, size_t vl, char *out, size_t cap)
{
	static const struct { const char *ent; char c; } ents[] = {
		{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''},
		{"&#34;", '"'}, {"&#39;", '\''}};
	size_t o = 0;
	for (size_t i = 0; i < vl;) {
		char c = v[i];
		size_t step = 1;
		if (c == '&') {
			for (size_t e = 0; e < sizeof ents / sizeof ents[0]; e++) {
				size_t el = strlen(ents[e].ent);
				if (i + el <= vl && memcmp(v + i, ents[e].ent, el) == 0) {
					c = ents[e].c;
					step = el;
					break;
				}
			}
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
		i += step;
	}
	out[o] = '\0';
	return 0;
}

/* ---- configuration ------------------------------------------------------------------------- */

enum rb_code s3_url_parse(const char *url, char *bucket, size_t bucket_cap, char *prefix,
                          size_t prefix_cap, struct rb_err *err)
{
	if (strncmp(url, "s3://", 5) != 0)
		return rb_err_set(err, RB_E_CONFIG, "'%.200s' is not an s3://BUCKET/PREFIX URL", url);
	const char *b = url + 5, *slash = strchr(b, '/');
	size_t bl = slash != NULL ? (size_t)(slash - b) : strlen(b);
	if (bl < 3 || bl >= bucket_cap || bl > 63)
		return rb_err_set(err, RB_E_CONFIG, "'%.200s': the bucket name must be 3..63 bytes", url);
	for (size_t i = 0; i < bl; i++) {
		char c = b[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return rb_err_set(err, RB_E_CONFIG,
			                  "'%.200s': a bucket name has only a-z 0-9 . -", url);
	}
	const char *p = slash != NULL ? slash + 1 : "";
	size_t pl = strlen(p);
	int add_slash = pl > 0 && p[pl - 1] != '/';
	if (pl + (size_t)add_slash >= prefix_cap)
		return rb_err_set(err, RB_E_CONFIG, "'%.200s': the prefix is too long", url);
	for (size_t i = 0; i < pl; i++)
		if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f)
			return rb_err_set(err, RB_E_CONFIG, "'%.200s': a space or control character", url);
	memcpy(bucket, b, bl);
	bucket[bl] = '\0';
	snprintf(prefix, prefix_cap, "%s%s", p, add_slash ? "/" : "");
	return RB_OK;
}

enum rb_code s3_credentials_load(const char *path, struct s3_conf *conf, struct rb_err *err)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return rb_err_set(err, RB_E_CONFIG, "credentials file %s: %s", path, strerror(errno));
	char line[1024];
	int have_id = 0, have_secret = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		char *eq = strchr(line, '=');
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (eq == NULL || *s == '#' || *s == ';' || *s == '[')
			continue;
		char *ke = eq;
		while (ke > s && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		char *v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strcspn(v, "\r\n");
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		size_t kl = (size_t)(ke - s);
		char *dst = NULL;
		size_t cap = 0;
		if ((kl == 13 && memcmp(s, "access_key_id", 13) == 0) ||
		    (kl == 17 && memcmp(s, "aws_access_key_id", 17) == 0)) {
			dst = conf->access_key;
			cap = sizeof conf->access_key;
			have_id = 1;
		} else if ((kl == 17 && memcmp(s, "secret_access_key", 17) == 0) ||
		           (kl == 21 && memcmp(s, "aws_secret_access_key", 21) == 0)) {
			dst = conf->secret_key;
			cap = sizeof conf->secret_key;
			have_secret = 1;
		}
		if (dst == NULL)
			continue;
		if (vl == 0 || vl >= cap || (dst == conf->access_key && memchr(v, ':', vl) != NULL)) {
			fclose(f);
			return rb_err_set(err, RB_E_CONFIG, "credentials file %s: a bad %.*s", path,
			                  (int)kl, s);
		}
		memcpy(dst, v, vl);
		dst[vl] = '\0';
	}
	fclose(f);
	if (!have_id || !have_secret)
		return rb_err_set(err, RB_E_CONFIG,
		                  "credentials file %s: needs access_key_id and secret_access_key", path);
	return RB_OK;
}

/* ---- the client ---------------------------------------------------------------------------- */

enum rb_code s3_new(struct s3 **out, const struct s3_conf *conf, struct rb_err *err)
{
	*out = NULL;
	if (strncmp(conf->endpoint, "http://", 7) != 0 && strncmp(conf->endpoint, "https://", 8) != 0)
		return rb_err_set(err, RB_E_CONFIG, "S3 endpoint '%.200s' is not an http(s):// URL",
		                  conf->endpoint);
	struct s3 *s = calloc(1, sizeof *s);
	if (s == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	s->conf = *conf;
	size_t el = strlen(s->conf.endpoint);
	while (el > 0 && s->conf.endpoint[el - 1] == '/')
		s->conf.endpoint[--el] = '\0';
	snprintf(s->sigv4, sizeof s->sigv4, "aws:amz:%s:s3", conf->region);
	snprintf(s->userpwd, sizeof s->userpwd, "%s:%s", conf->access_key, conf->secret_key);
	s->curl = curl_easy_init();
	if (s->curl == NULL) {
		free(s);
		return rb_err_set(err, RB_E_NOMEM, "curl_easy_init failed");
	}
	*out = s;
	return RB_OK;
}

void s3_free(struct s3 *s)
{
	if (s == NULL)
		return;
	curl_easy_cleanup(s->curl);
	memset(s->userpwd, 0, sizeof s->userpwd);
	free(s);
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct sink *k = ud;
	size_t len = size * n;
	if (k->written + len > k->max) {
		k->over = 1;
		return 0;
	}
	if (k->fd >= 0) {
		size_t done = 0;
		while (done < len) {
			ssize_t w = write(k->fd, p + done, len - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				k->io_errno = errno;
				return 0;
			}
			done += (size_t)w;
		}
	} else {
		if (k->len + len + 1 > k->cap) {
			size_t nc = k->cap == 0 ? 16384 : k->cap;
			while (nc < k->len + len + 1)
				nc *= 2;
			char *nb = realloc(k->buf, nc);
			if (nb == NULL) {
				k->io_errno = ENOMEM;
				return 0;
			}
			k->buf = nb;
			k->cap = nc;
		}
		memcpy(k->buf + k->len, p, len);
		k->len += len;
		k->buf[k->len] = '\0';
	}
	k->written += len;
	return len;
}

/*
 * One signed request: method on path_query (already encoded, starting with '/BUCKET'),
 * body (PUT) or none, answer into k. On an HTTP status other than 2xx the answer
 * (in k when it is a memory sink, else re-read: error bodies go to memory) gives the
 * message. *status the HTTP status.
 */
static enum rb_code request(struct s3 *s, const char *method, const char *path_query,
                            const void *body, size_t len, struct sink *k, long *status,
                            struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	char url[S3_URL_MAX], hash[65], hdr_hash[100];
	struct curl_slist *h = NULL, *h2;
	struct sink errsink = {NULL, 0, 0, -1, 0, S3_ERRBODY_MAX, 0, 0};
	CURL *c = s->curl;
	*status = 0;
	if (snprintf(url, sizeof url, "%s%s", s->conf.endpoint, path_query) >= (int)sizeof url)
		return rb_err_set(err, RB_E_INPUT, "S3 URL too long");
	if (body != NULL)
		s3_sha256_hex(body, len, hash);
	else
		snprintf(hash, sizeof hash, "%s", S3_EMPTY_SHA256);
	snprintf(hdr_hash, sizeof hdr_hash, "x-amz-content-sha256: %s", hash);
	/* No "Expect:" to turn off 100-continue: libcurl signs every header given here, also
	 * one it then does not send, and S3 answers SignatureDoesNotMatch (seen through
	 * tests/s3/sigv4_proxy.js). A 100-continue curl adds itself is outside the signature. */
	h = curl_slist_append(NULL, hdr_hash);
	h2 = h;
	if (h2 != NULL && body != NULL)
		h2 = curl_slist_append(h2, "Content-Type: application/octet-stream");
	if (h2 == NULL) {
		curl_slist_free_all(h);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	curl_easy_reset(c);
	CURL_TRY(curl_easy_setopt(c, CURLOPT_URL, url));
#if LIBCURL_VERSION_NUM >= 0x075500
	CURL_TRY(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https"));
#else
	CURL_TRY(curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)));
#endif
	CURL_TRY(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->conf.connect_timeout_ms));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->conf.timeout_ms));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_HTTPHEADER, h));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_USERAGENT, "rb-aioutliers"));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)k));
	if (body != NULL) {
		CURL_TRY(curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method));
		CURL_TRY(curl_easy_setopt(c, CURLOPT_POSTFIELDS, body));
		CURL_TRY(curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len));
	} else if (strcmp(method, "GET") != 0) {
		CURL_TRY(curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method));
	}
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = rb_err_set(err, RB_E_TIMEOUT, "S3 %s %s: timed out after %u ms", method,
		                path_query, s->conf.timeout_ms);
	} else if (cc == CURLE_WRITE_ERROR && k->over) {
		rc = rb_err_set(err, RB_E_TOO_LARGE, "S3 %s %s: more than %llu bytes", method,
		                path_query, k->max);
	} else if (cc == CURLE_WRITE_ERROR && *status >= 200 && *status < 300) {
		rc = rb_err_set(err, RB_E_INTERNAL, "S3 %s %s: writing the answer: %s", method,
		                path_query, strerror(k->io_errno));
	} else if (cc != CURLE_OK && *status == 0) {
		rc = rb_err_set(err, RB_E_UPSTREAM, "S3 %s %s: %s", method, path_query,
		                curl_easy_strerror(cc));
	} else if (*status < 200 || *status >= 300) {
		/* the error body: what the memory sink holds, else ask again into memory */
		const char *eb = k->fd < 0 ? k->buf : NULL;
		size_t el = k->fd < 0 ? k->len : 0;
		if (k->fd >= 0 && strcmp(method, "GET") == 0) {
			curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)&errsink);
			if (curl_easy_perform(c) == CURLE_OK) {
				eb = errsink.buf;
				el = errsink.len;
			}
		}
		char code[128] = "", msg[256] = "";
		const char *v;
		size_t vl;
		if (eb != NULL && xml_find(eb, eb + el, "Code", &v, &vl) != NULL)
			xml_text(v, vl, code, sizeof code);
		if (eb != NULL && xml_find(eb, eb + el, "Message", &v, &vl) != NULL)
			xml_text(v, vl, msg, sizeof msg);
		rc = rb_err_set(err, *status == 404 ? RB_E_NOT_FOUND : RB_E_UPSTREAM,
		                "S3 %s %s: HTTP %ld %s%s%s", method, path_query, *status,
		                code[0] != '\0' ? code : "(no error code)", msg[0] != '\0' ? ": " : "",
		                msg);
	}
done:
	free(errsink.buf);
	curl_slist_free_all(h);
	return rc;
}

/* "/BUCKET/" + the key, encoded. */
static int object_path(const struct s3 *s, const char *key, char *out, size_t cap)
{
	size_t o = 0;
	if (append(out, cap, &o, "/") != 0 ||
	    uri_encode(out, cap, &o, s->conf.bucket, strlen(s->conf.bucket), 0) != 0 ||
	    append(out, cap, &o, "/") != 0 || uri_encode(out, cap, &o, key, strlen(key), 1) != 0)
		return -1;
	return 0;
}

enum rb_code s3_list(struct s3 *s, const char *prefix, size_t max_objects,
                     struct s3_object **out, size_t *n, struct rb_err *err)
{
	*out = NULL;
	*n = 0;
	struct s3_object *objs = NULL;
	size_t count = 0, cap = 0;
	char token[1024] = "";
	enum rb_code rc = RB_OK;
	for (int page = 0; rc == RB_OK; page++) {
		/* the query's parameters in sorted order: the canonical form Signature V4 signs */
		char pq[S3_URL_MAX];
		size_t o = 0;
		int bad = append(pq, sizeof pq, &o, "/") != 0 ||
		          uri_encode(pq, sizeof pq, &o, s->conf.bucket, strlen(s->conf.bucket), 0) ||
		          append(pq, sizeof pq, &o, "?") != 0;
		if (!bad && token[0] != '\0')
			bad = append(pq, sizeof pq, &o, "continuation-token=") != 0 ||
			      uri_encode(pq, sizeof pq, &o, token, strlen(token), 0) != 0 ||
			      append(pq, sizeof pq, &o, "&") != 0;
		if (!bad)
			bad = append(pq, sizeof pq, &o, "list-type=2&prefix=") != 0 ||
			      uri_encode(pq, sizeof pq, &o, prefix, strlen(prefix), 0) != 0;
		if (bad) {
			rc = rb_err_set(err, RB_E_INPUT, "S3 list: prefix too long");
			break;
		}
		struct sink k = {NULL, 0, 0, -1, 0, S3_LIST_PAGE_MAX, 0, 0};
		long status;
		rc = request(s, "GET", pq, NULL, 0, &k, &status, err);
		if (rc == RB_OK && k.buf == NULL)
			rc = rb_err_set(err, RB_E_UPSTREAM, "S3 list: an empty answer");
		const char *p = k.buf, *end = k.buf + k.len, *v;
		size_t vl;
		while (rc == RB_OK) {
			const char *next = xml_find(p, end, "Contents", &v, &vl);
			if (next == NULL)
				break;
			const char *ce = v + vl, *f;
			size_t fl;
			if (count == cap) {
				size_t nc = cap == 0 ? 32 : cap * 2;
				struct s3_object *no = realloc(objs, nc * sizeof *no);
				if (no == NULL) {
					rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
					break;
				}
				objs = no;
				cap = nc;
			}
			if (count >= max_objects) {
				rc = rb_err_set(err, RB_E_TOO_LARGE, "S3 list: more than %zu objects",
				                max_objects);
				break;
			}
			struct s3_object *ob = &objs[count];
			memset(ob, 0, sizeof *ob);
			char etag[sizeof ob->etag + 2] = "", size[32] = "";
			if (xml_find(v, ce, "Key", &f, &fl) == NULL ||
			    xml_text(f, fl, ob->key, sizeof ob->key) != 0) {
				rc = rb_err_set(err, RB_E_UPSTREAM, "S3 list: an object without a usable Key");
				break;
			}
			if (xml_find(v, ce, "ETag", &f, &fl) != NULL)
				xml_text(f, fl, etag, sizeof etag);
			size_t tl = strlen(etag);
			if (tl >= 2 && etag[0] == '"' && etag[tl - 1] == '"')
				snprintf(ob->etag, sizeof ob->etag, "%.*s", (int)(tl - 2), etag + 1);
			else
				snprintf(ob->etag, sizeof ob->etag, "%.127s", etag);
			if (xml_find(v, ce, "LastModified", &f, &fl) != NULL)
				xml_text(f, fl, ob->last_modified, sizeof ob->last_modified);
			if (xml_find(v, ce, "Size", &f, &fl) != NULL &&
			    xml_text(f, fl, size, sizeof size) == 0)
				ob->size = strtoull(size, NULL, 10);
			count++;
			p = next;
		}
		token[0] = '\0';
		if (rc == RB_OK && xml_find(k.buf, end, "IsTruncated", &v, &vl) != NULL && vl == 4 &&
		    memcmp(v, "true", 4) == 0) {
			if (xml_find(k.buf, end, "NextContinuationToken", &v, &vl) == NULL ||
			    xml_text(v, vl, token, sizeof token) != 0 || token[0] == '\0')
				rc = rb_err_set(err, RB_E_UPSTREAM,
				                "S3 list: truncated without a continuation token");
		}
		free(k.buf);
		if (token[0] == '\0' || page > 10000)
			break;
	}
	if (rc != RB_OK) {
		free(objs);
		return rc;
	}
	*out = objs;
	*n = count;
	return RB_OK;
}

enum rb_code s3_get_file(struct s3 *s, const char *key, const char *path,
                         unsigned long long max_bytes, struct rb_err *err)
{
	char pq[S3_URL_MAX], part[4200];
	if (object_path(s, key, pq, sizeof pq) != 0)
		return rb_err_set(err, RB_E_INPUT, "S3 key too long");
	if (snprintf(part, sizeof part, "%s.part", path) >= (int)sizeof part)
		return rb_err_set(err, RB_E_INPUT, "path too long");
	int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return rb_err_set(err, RB_E_INTERNAL, "cannot create %s: %s", part, strerror(errno));
	struct sink k = {NULL, 0, 0, fd, 0, max_bytes, 0, 0};
	long status;
	enum rb_code rc = request(s, "GET", pq, NULL, 0, &k, &status, err);
	if (rc == RB_OK && fsync(fd) != 0)
		rc = rb_err_set(err, RB_E_INTERNAL, "fsync %s: %s", part, strerror(errno));
	if (close(fd) != 0 && rc == RB_OK)
		rc = rb_err_set(err, RB_E_INTERNAL, "close %s: %s", part, strerror(errno));
	if (rc == RB_OK && rename(part, path) != 0)
		rc = rb_err_set(err, RB_E_INTERNAL, "rename %s: %s", part, strerror(errno));
	if (rc != RB_OK)
		unlink(part);
	return rc;
}

enum rb_code s3_put(struct s3 *s, const char *key, const void *data, size_t len,
                    struct rb_err *err)
{
	char pq[S3_URL_MAX];
	if (object_path(s, key, pq, sizeof pq) != 0)
		return rb_err_set(err, RB_E_INPUT, "S3 key too long");
	static const char empty[1] = "";
	struct sink k = {NULL, 0, 0, -1, 0, S3_ERRBODY_MAX, 0, 0};
	long status;
	enum rb_code rc = request(s, "PUT", pq, len > 0 ? data : empty, len, &k, &status, err);
	free(k.buf);
	return rc;
}
