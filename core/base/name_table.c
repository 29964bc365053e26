/* name_table: the exact-bytes lookup of a closed set's names (rb/base/name_table.h). */
#include "rb/base/name_table.h"

#include <string.h>

long name_table_find(const char *const *names, size_t count, const char *s, size_t len)
{
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < count; i++)
		if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0)
			return (long)i;
	return -1;
}
