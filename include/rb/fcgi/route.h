/*
 * route: (method, path) → what the daemon does with the request. Pure and
 * table-driven; it does not read the request or write the answer.
 *
 * Routes: POST /api/v1/outliers and its alias POST /calculate (CONTRACT §1),
 * GET or HEAD /health, GET or HEAD /metrics, POST /api/v1/ip_identifier (CONTRACT §7). A query
 * string ("?...") is ignored, and so is one trailing slash ("/health/").
 * Paths are compared byte for byte (no percent-decoding, no case folding);
 * methods are case-sensitive as in HTTP. A known path with another method is
 * ROUTE_METHOD (405) with the value of the Allow header; anything else is
 * ROUTE_NOT_FOUND (404).
 */
#ifndef RB_ROUTE_H
#define RB_ROUTE_H

enum route_id {
	ROUTE_OUTLIERS = 0,   /* run detection (POST) */
	ROUTE_HEALTH,         /* liveness: 200 {"status":"ok"} (GET, HEAD) */
	ROUTE_METRICS,        /* Prometheus text of the pool's counters (GET, HEAD) */
	ROUTE_IP_IDENTIFIER,  /* which IPs caused the outliers (POST) */
	ROUTE_EXPLAIN,        /* which values of a dimension caused an anomaly (POST) */
	ROUTE_NOT_FOUND,      /* 404 */
	ROUTE_METHOD          /* 405; *allow holds the Allow header value */
};

/*
 * Routes method and path (NULL is treated as ""); path may be a REQUEST_URI
 * with a query string. *allow (when allow is not NULL) is set to the Allow
 * header value for ROUTE_METHOD, and to NULL otherwise; it is a static string.
 */
enum route_id route_lookup(const char *method, const char *path, const char **allow);

/*
 * The path a request is routed by, from its CGI/FastCGI parameters (any may
 * be NULL): REQUEST_URI when it names a route (the usual case: the web
 * server passes the paths of the old service through); else, for an
 * application mounted under a script path (mod_cgi, mod_fcgid: SCRIPT_NAME
 * "/rb", PATH_INFO "/api/v1/outliers"), PATH_INFO when it names a route;
 * else REQUEST_URI, or SCRIPT_NAME when there is none, or "/".
 */
const char *route_request_path(const char *request_uri, const char *script_name,
                               const char *path_info);

/* The route's name for logs ("outliers", "health", ...); never NULL. */
const char *route_name(enum route_id id);

#endif
