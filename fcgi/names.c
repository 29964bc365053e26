/*
 * names: the name rules of the config and the request fields, and the list
 * text of a name table (see names.h). The model rule itself is the model
 * module's (model_name_valid); this file only gives it a length.
 */
#include "rb/fcgi/names.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "rb/model/model.h"

static_assert(NAMES_MAX + 1 == MODEL_NAME_MAX, "a request's model name fits a model's");

static int name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

int names_metric_ok(const char *s, size_t len)
{
	if (len == 0 || len > NAMES_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!name_char(s[i]))
			return 0;
	return 1;
}

int names_model_ok(const char *s, size_t len)
{
	char name[NAMES_MAX + 1];
	if (len == 0 || len > NAMES_MAX || memchr(s, '\0', len) != NULL)
		return 0;
	memcpy(name, s, len);
	name[len] = '\0';
	return model_name_valid(name);
}

void names_list(const char *const *names, char *buf, size_t cap)
{
	size_t n = 0, o = 0;
	while (names[n] != NULL)
		n++;
	if (cap == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && o < cap; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(buf + o, cap - o, "%s%s", sep, names[i]);
		if (w < 0)
			return;
		o += (size_t)w;
	}
}
