/*
 * route: every served (method, path) pair, the /calculate alias, query strings
 * and one trailing slash ignored, 405 with the right Allow value for a known
 * path with another method, 404 for everything else (near misses included);
 * route_request_path: which of REQUEST_URI, PATH_INFO and SCRIPT_NAME a
 * request is routed by (direct mounts, script-path mounts, missing params).
 */
#include <string.h>

#include "rb/fcgi/route.h"
#include "testutil.h"

struct route_case {
	const char *method, *path;
	enum route_id want;
	const char *allow; /* for ROUTE_METHOD */
};

static const struct route_case cases[] = {
	{"POST", "/api/v1/outliers", ROUTE_OUTLIERS, NULL},
	{"POST", "/api/v1/outliers/", ROUTE_OUTLIERS, NULL},
	{"POST", "/api/v1/outliers?x=1", ROUTE_OUTLIERS, NULL},
	{"POST", "/api/v1/outliers/?x=1&y=/", ROUTE_OUTLIERS, NULL},
	{"POST", "/calculate", ROUTE_OUTLIERS, NULL},
	{"POST", "/calculate/", ROUTE_OUTLIERS, NULL},
	{"GET", "/health", ROUTE_HEALTH, NULL},
	{"HEAD", "/health", ROUTE_HEALTH, NULL},
	{"GET", "/health/", ROUTE_HEALTH, NULL},
	{"GET", "/health?probe", ROUTE_HEALTH, NULL},
	{"GET", "/metrics", ROUTE_METRICS, NULL},
	{"HEAD", "/metrics/", ROUTE_METRICS, NULL},
	{"POST", "/metrics", ROUTE_METHOD, "GET, HEAD"},
	{"POST", "/api/v1/ip_identifier", ROUTE_IP_IDENTIFIER, NULL},
	{"POST", "/api/v1/explain", ROUTE_EXPLAIN, NULL},
	{"GET", "/api/v1/explain", ROUTE_METHOD, "POST"},
	/* wrong method on a known path */
	{"GET", "/api/v1/outliers", ROUTE_METHOD, "POST"},
	{"PUT", "/calculate", ROUTE_METHOD, "POST"},
	{"post", "/api/v1/outliers", ROUTE_METHOD, "POST"},
	{"POST", "/health", ROUTE_METHOD, "GET, HEAD"},
	{"DELETE", "/health/", ROUTE_METHOD, "GET, HEAD"},
	{"GET", "/api/v1/ip_identifier?a", ROUTE_METHOD, "POST"},
	{"", "/health", ROUTE_METHOD, "GET, HEAD"},
	{NULL, "/health", ROUTE_METHOD, "GET, HEAD"},
	/* unknown paths */
	{"POST", "/", ROUTE_NOT_FOUND, NULL},
	{"POST", "", ROUTE_NOT_FOUND, NULL},
	{"POST", NULL, ROUTE_NOT_FOUND, NULL},
	{"POST", "?", ROUTE_NOT_FOUND, NULL},
	{"POST", "/api/v1/outliers//", ROUTE_NOT_FOUND, NULL},
	{"POST", "/api/v1/outlier", ROUTE_NOT_FOUND, NULL},
	{"POST", "/api/v1/outliersx", ROUTE_NOT_FOUND, NULL},
	{"POST", "/API/V1/OUTLIERS", ROUTE_NOT_FOUND, NULL},
	{"POST", "api/v1/outliers", ROUTE_NOT_FOUND, NULL},
	{"POST", "/api/v1/%6Futliers", ROUTE_NOT_FOUND, NULL},
	{"POST", "/api/v2/outliers", ROUTE_NOT_FOUND, NULL},
	{"GET", "/healthz", ROUTE_NOT_FOUND, NULL},
	{"GET", "/health#x", ROUTE_NOT_FOUND, NULL},
	{"POST", "/calculate/x", ROUTE_NOT_FOUND, NULL},
};

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct route_case *c = &cases[i];
		const char *allow = "sentinel";
		enum route_id got = route_lookup(c->method, c->path, &allow);
		CHECKF(got == c->want, "case %zu: %s %s gave %s, want %s", i,
		       c->method ? c->method : "(null)", c->path ? c->path : "(null)", route_name(got),
		       route_name(c->want));
		if (c->want == ROUTE_METHOD)
			CHECKF(allow != NULL && strcmp(allow, c->allow) == 0, "case %zu: Allow '%s'", i,
			       allow ? allow : "(null)");
		else
			CHECKF(allow == NULL, "case %zu: Allow set for a non-405", i);
		/* allow is optional */
		CHECK(route_lookup(c->method, c->path, NULL) == c->want);
	}
	static const struct {
		const char *uri, *script, *info, *want;
	} picks[] = {
		/* proxy_fcgi, lighttpd, a ScriptAliasMatch on the route: the URI itself */
		{"/api/v1/outliers", "/api/v1/outliers", NULL, "/api/v1/outliers"},
		{"/health?x=1", "/health", "", "/health?x=1"},
		/* a script-path mount: SCRIPT_NAME /rb, PATH_INFO the route */
		{"/rb/api/v1/outliers", "/rb", "/api/v1/outliers", "/api/v1/outliers"},
		{"/rb/calculate/", "/rb", "/calculate/", "/calculate/"},
		/* PATH_INFO that is no route: the URI (404 on it) */
		{"/rb/other", "/rb", "/other", "/rb/other"},
		/* a URI that is a route wins over PATH_INFO */
		{"/health", "/x", "/api/v1/outliers", "/health"},
		/* missing parameters */
		{NULL, "/api/v1/outliers", NULL, "/api/v1/outliers"},
		{NULL, NULL, "/health", "/health"},
		{NULL, NULL, NULL, "/"},
	};
	for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
		const char *got = route_request_path(picks[i].uri, picks[i].script, picks[i].info);
		CHECKF(got != NULL && strcmp(got, picks[i].want) == 0, "pick %zu: %s, want %s", i,
		       got ? got : "(null)", picks[i].want);
	}
	CHECK(strcmp(route_name(ROUTE_OUTLIERS), "outliers") == 0);
	CHECK(strcmp(route_name((enum route_id)99), "unknown") == 0);
	return 0;
}
