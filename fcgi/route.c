/*
 * route: the table of paths the daemon serves (see include/rb/fcgi/route.h). No
 * decoding or normalisation beyond dropping "?query" and one trailing '/'.
 */
#include "rb/fcgi/route.h"

#include <stddef.h>
#include <string.h>

struct route_row {
	const char *path;
	enum route_id id;
	const char *const methods[3]; /* allowed methods, NULL-terminated */
	const char *allow;            /* the Allow header value: the methods joined */
};

static const struct route_row routes[] = {
	{"/api/v1/outliers", ROUTE_OUTLIERS, {"POST", NULL}, "POST"},
	{"/calculate", ROUTE_OUTLIERS, {"POST", NULL}, "POST"},
	{"/health", ROUTE_HEALTH, {"GET", "HEAD", NULL}, "GET, HEAD"},
	{"/metrics", ROUTE_METRICS, {"GET", "HEAD", NULL}, "GET, HEAD"},
	{"/api/v1/ip_identifier", ROUTE_IP_IDENTIFIER, {"POST", NULL}, "POST"},
	{"/api/v1/explain", ROUTE_EXPLAIN, {"POST", NULL}, "POST"},
};

enum route_id route_lookup(const char *method, const char *path, const char **allow)
{
	if (allow != NULL)
		*allow = NULL;
	if (method == NULL)
		method = "";
	if (path == NULL)
		path = "";
	size_t len = strcspn(path, "?");
	if (len > 1 && path[len - 1] == '/')
		len--;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const struct route_row *r = &routes[i];
		if (strlen(r->path) != len || memcmp(r->path, path, len) != 0)
			continue;
		for (size_t m = 0; r->methods[m] != NULL; m++)
			if (strcmp(r->methods[m], method) == 0)
				return r->id;
		if (allow != NULL)
			*allow = r->allow;
		return ROUTE_METHOD;
	}
	return ROUTE_NOT_FOUND;
}

/* 1 when path names a route (any method). */
static int names_route(const char *path)
{
	return path != NULL && route_lookup("", path, NULL) != ROUTE_NOT_FOUND;
}

const char *route_request_path(const char *request_uri, const char *script_name,
                               const char *path_info)
{
	if (names_route(request_uri))
		return request_uri;
	if (path_info != NULL && path_info[0] != '\0' && names_route(path_info))
		return path_info;
	if (request_uri != NULL)
		return request_uri;
	return script_name != NULL ? script_name : "/";
}

const char *route_name(enum route_id id)
{
	switch (id) {
	case ROUTE_OUTLIERS:
		return "outliers";
	case ROUTE_HEALTH:
		return "health";
	case ROUTE_METRICS:
		return "metrics";
	case ROUTE_IP_IDENTIFIER:
		return "ip_identifier";
	case ROUTE_EXPLAIN:
		return "explain";
	case ROUTE_NOT_FOUND:
		return "not_found";
	case ROUTE_METHOD:
		return "method_not_allowed";
	}
	return "unknown";
}
