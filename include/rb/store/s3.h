/*
 * s3: a small client of an S3-compatible object store (AWS S3, MinIO, s3rver):
 * list a prefix (ListObjectsV2), get an object into a file (temporary name,
 * fsync, rename), put an object from memory. Requests are signed with AWS
 * Signature V4 by libcurl (CURLOPT_AWS_SIGV4, libcurl >= 7.75); path-style
 * URLs (ENDPOINT/BUCKET/KEY), so any endpoint works without DNS tricks.
 * Shared by the daemon's model sync (its helper process) and
 * rb-aioutliers-train --upload. Not a general S3 library: no multipart, no
 * versioning, no retries (the caller's next sync is the retry).
 * A struct s3 holds one curl handle: create it in the process that uses it
 * (never before a fork). curl_global_init is the caller's business.
 */
#ifndef RB_STORE_S3_H
#define RB_STORE_S3_H

#include <stddef.h>

#include "rb/base/error.h"

/* Where and as whom; a plain value. */
struct s3_conf {
	char endpoint[512];     /* http(s)://host[:port], no trailing path */
	char region[64];        /* e.g. us-east-1 */
	char bucket[256];
	char access_key[128];
	char secret_key[256];
	unsigned connect_timeout_ms;
	unsigned timeout_ms;    /* one whole request */
};

/* One object of a listing. */
struct s3_object {
	char key[1024];
	char etag[128];         /* as the server quotes it, quotes removed */
	char last_modified[40]; /* ISO-8601 as the server gives it */
	unsigned long long size;
};

struct s3;

/*
 * Splits "s3://BUCKET/PREFIX" (PREFIX may be empty; a missing trailing '/' is
 * added) into bucket and prefix. RB_E_CONFIG when it is not such a URL.
 */
enum rb_code s3_url_parse(const char *url, char *bucket, size_t bucket_cap, char *prefix,
                          size_t prefix_cap, struct rb_err *err);

/*
 * Reads the access key and secret from a credentials file into conf: lines
 * "key = value", keys access_key_id / secret_access_key (the AWS CLI's
 * aws_access_key_id / aws_secret_access_key are accepted too; '#' comments and
 * [sections] are ignored). RB_E_CONFIG when the file cannot be read or lacks one.
 */
enum rb_code s3_credentials_load(const char *path, struct s3_conf *conf, struct rb_err *err);

/* A client for conf (copied). RB_E_NOMEM, or RB_E_CONFIG for a bad endpoint. */
enum rb_code s3_new(struct s3 **out, const struct s3_conf *conf, struct rb_err *err);
void s3_free(struct s3 *s);

/*
 * Lists every object under prefix (all pages); *out is malloc'd (free() it),
 * at most max_objects entries (more: RB_E_TOO_LARGE). Errors: RB_E_UPSTREAM
 * (connect failure, HTTP error: the message has the status and the server's
 * error code, e.g. 403 SignatureDoesNotMatch), RB_E_TIMEOUT.
 */
enum rb_code s3_list(struct s3 *s, const char *prefix, size_t max_objects,
                     struct s3_object **out, size_t *n, struct rb_err *err);

/*
 * Downloads key into path: written to path + ".part", fsync'd, renamed over
 * path. At most max_bytes (more: RB_E_TOO_LARGE, nothing left behind).
 */
enum rb_code s3_get_file(struct s3 *s, const char *key, const char *path,
                         unsigned long long max_bytes, struct rb_err *err);

/* Uploads data[0..len) as key (one PUT, payload signed). */
enum rb_code s3_put(struct s3 *s, const char *key, const void *data, size_t len,
                    struct rb_err *err);

/* The SHA-256 of data[0..len) as 64 lower-case hex digits and a NUL (hex: 65 bytes). */
void s3_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
