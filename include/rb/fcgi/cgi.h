/*
 * cgi: one request served as a plain CGI program (Apache mod_cgi, or any web
 * server that runs a program per request): the request from the process
 * environment and standard input, the answer on standard output, the access
 * line on standard error (the web server's error log).
 *
 * Not here: deciding that the process is a CGI invocation and loading the
 * configuration and models (fcgi/main.c), the FastCGI worker loop
 * (fcgi/worker.c), the request handling itself (fcgi/app.c).
 */
#ifndef RB_CGI_H
#define RB_CGI_H

#include "rb/fcgi/app.h"
#include "rb/fcgi/config.h"

/*
 * Serves the request of this invocation with app. Reads CONTENT_LENGTH bytes
 * of body (none when it is absent; over cfg->max_body_bytes: 413 without
 * reading it), routes by REQUEST_URI / SCRIPT_NAME / PATH_INFO
 * (route_request_path), writes the status line, headers and body. Returns 0
 * when an answer was written (whatever its HTTP status), 1 when the body
 * ended early or standard output failed (nothing more can be said to the
 * client).
 */
int cgi_serve(struct app *app, const struct rb_config *cfg);

#endif
