/*
 * ip_identifier: the old service's /api/v1/ip_identifier (CONTRACT §7) on the
 * blame rule (blame.h). The payload is plain JSON:
 *   {"outliers":[{"timestamp":"2023-09-21T09:31:00.000Z"},...],
 *    "all_ips_data":{"10.0.1.11":[{"timestamp":...,"result":{"bytes":N}},...],...}}
 * Timestamps are ISO-8601 instants (series_parse_instant), matched by instant,
 * not by text. Per outlier, in order, the answer names the IPs blamed at that
 * instant, each IP judged against its own other instants (the union of all
 * IPs' instants; an IP without a row at an instant has 0 there):
 *   {"ips":[{"timestamp":"...","caused_by":["10.0.1.13"]},...]}
 * An outlier at an instant no IP has a row for gets "caused_by": [].
 * Unlike the old service the answer is a JSON object, not a JSON string.
 *
 * Errors: RB_E_INPUT (400) naming the first thing of the wrong shape (not
 * JSON, duplicate keys, a missing or mistyped member, a bad instant, a
 * non-finite or missing "bytes", a duplicate instant within one IP);
 * RB_E_TOO_LARGE (413) past a cap below. Members other than the ones named
 * are ignored (as the old service did).
 */
#ifndef RB_EXPLAIN_IP_IDENTIFIER_H
#define RB_EXPLAIN_IP_IDENTIFIER_H

#include <stddef.h>

#include "rb/base/error.h"

#define IPID_MAX_DEPTH 16          /* JSON nesting (the shape needs 5) */
#define IPID_MAX_IPS 10000         /* keys of all_ips_data */
#define IPID_MAX_OUTLIERS 10000
#define IPID_MAX_CELLS (1u << 22)  /* IPs x distinct instants */
#define IPID_MAX_NAME 255          /* bytes of an IP key */

/*
 * Answers len bytes of payload text (need not be NUL-terminated) with a new
 * NUL-terminated JSON text in *answer (caller frees); NULL on failure.
 */
enum rb_code ip_identifier_run(const char *payload, size_t len, char **answer,
                               struct rb_err *err);

#endif
