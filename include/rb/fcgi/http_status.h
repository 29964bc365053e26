/*
 * http_status: the reason phrase of an HTTP status code, for the FastCGI
 * "Status: NNN Reason" line and the access log.
 *
 * Not here: which status an error maps to (fcgi/app.c).
 */
#ifndef RB_HTTP_STATUS_H
#define RB_HTTP_STATUS_H

/*
 * The reason phrase of RFC 9110 §15 for code (every code it registers, plus
 * 429 of RFC 6585); an unregistered code in 100..599 gets its class's name
 * ("Informational", "Success", "Redirection", "Client Error", "Server
 * Error"), anything else "Unknown". A static string, never NULL.
 */
const char *http_status_reason(int code);

#endif
